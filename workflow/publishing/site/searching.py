"""The site's one door to the search index (:mod:`workflow.publishing.search`).

One entry per listed item (current or archived), none for a withdrawn one; the entry's text is what a
reader would look for: the index number, 文号, 主题词 and the body as plain text (no markdown marks).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from workflow.core.publication import PublicItem, item_path
from workflow.core.spoken import spoken_text
from workflow.publishing.search import SearchDoc, SearchIndex

INDEX_FOLDER = "search"
"""Where the index lives in the site (``data-index`` of the search page's script)."""
SCRIPT = "assets/search.js"
SCRIPT_SOURCE = Path(__file__).resolve().parent.parent / "static" / "search.js"


def doc_id(item: PublicItem) -> str:
    return item.reference


def doc_of(item: PublicItem, category_name: str, day: str) -> SearchDoc:
    """The search entry of a listed item."""
    text = "\n".join(part for part in (item.index_number, item.doc_number, " ".join(item.subjects)) if part)
    return SearchDoc(
        id=doc_id(item), url=item_path(item.reference), title=item.title,
        text=f"{text}\n{spoken_text(item.body)}", date=day, category=category_name,
    )  # fmt: skip


def write_full(root: Path, docs: Sequence[tuple[PublicItem, str, str]]) -> bool:
    """Write the whole index of a fresh build."""
    SearchIndex(root / INDEX_FOLDER).write_full([doc_of(item, name, day) for item, name, day in docs])
    return True


def update(root: Path, listed: Sequence[tuple[PublicItem, str, str]], removed: Sequence[str]) -> bool:
    """Upsert the entries of items now listed, remove those withdrawn."""
    index = SearchIndex(root / INDEX_FOLDER)
    if listed:
        index.upsert([doc_of(item, name, day) for item, name, day in listed])
    if removed:
        index.remove(list(removed))
    return True

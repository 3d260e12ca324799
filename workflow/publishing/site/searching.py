"""The site's one door to the search index (``workflow.publishing.search``, written apart).

The index is built from :class:`SearchDoc` entries: one per listed item (current or archived), none for
a withdrawn one. When the search module is not installed the calls do nothing and say so
(:data:`AVAILABLE`), so the rest of the site builds; this module is the only place that imports it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from workflow.core.publication import PublicItem, item_path

INDEX_FOLDER = "search"
"""Where the index lives in the site (``data-index`` of the search page's script)."""
SCRIPT = "assets/search.js"


class Index(Protocol):
    """What the site calls on the search index (``workflow.publishing.search.SearchIndex``)."""

    def write_full(self, docs: Iterable[Any]) -> None: ...
    def upsert(self, docs: Iterable[Any]) -> None: ...
    def remove(self, ids: Iterable[str]) -> None: ...


try:
    _search: Any = importlib.import_module("workflow.publishing.search")
except ImportError:  # the search index is not part of this installation yet
    _search = None
AVAILABLE = _search is not None


def index_at(site_root: Path) -> Index | None:
    """The search index of the build at ``site_root``, or None when search is not installed."""
    if _search is None:
        return None
    index: Index = _search.SearchIndex(site_root / INDEX_FOLDER)
    return index


def script_source() -> Path | None:
    """The search page's script, shipped with the search module (copied into ``assets/``)."""
    if _search is None:
        return None
    found = getattr(_search, "SCRIPT", None)
    if found is not None:
        return Path(found)
    candidate = Path(_search.__file__).parent / "static" / "search.js"
    return candidate if candidate.is_file() else None


def doc_id(item: PublicItem) -> str:
    return item.reference


def doc_of(item: PublicItem, category_name: str, day: str) -> Any:
    """The search entry of a listed item."""
    assert _search is not None
    return _search.SearchDoc(
        id=doc_id(item), url=item_path(item.reference), title=item.title,
        text="\n".join([item.index_number, item.doc_number or "", " ".join(item.subjects), item.body]),
        date=day, category=category_name,
    )  # fmt: skip


def write_full(root: Path, docs: Sequence[tuple[PublicItem, str, str]]) -> bool:
    """Write the whole index of a fresh build; False when search is not installed."""
    index = index_at(root)
    if index is None:
        return False
    index.write_full([doc_of(item, name, day) for item, name, day in docs])
    return True


def update(root: Path, listed: Sequence[tuple[PublicItem, str, str]], removed: Sequence[str]) -> bool:
    """Upsert the entries of items now listed, remove those withdrawn; False when search is not installed."""
    index = index_at(root)
    if index is None:
        return False
    if listed:
        index.upsert([doc_of(item, name, day) for item, name, day in listed])
    if removed:
        index.remove(list(removed))
    return True

"""Is every stored file still what was attached? Rehash each one ``stored_files`` knows.

Used by ``gongkai files verify`` and the worker's daily files check: a file changed on disk
after a reviewer cleared it, or gone, is named with the items whose revisions refer to it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, select

from workflow.store.db import reading
from workflow.store.files import FileStore
from workflow.store.models import Item, ItemRevision, StoredFile

stored_files = cast(Table, StoredFile.__table__)
items = cast(Table, Item.__table__)
revisions = cast(Table, ItemRevision.__table__)

MISMATCH = "mismatch"
MISSING = "missing"


@dataclass(frozen=True)
class FileProblem:
    """One stored file that is not what was attached: ``mismatch`` (``actual`` is what it hashes to
    now) or ``missing``; ``items`` are the references of the items whose revisions name it."""

    sha256: str
    kind: str
    actual: str | None
    items: tuple[str, ...]


@dataclass
class FilesReport:
    checked: int = 0
    problems: list[FileProblem] = field(default_factory=list)


def verify_files(db: Engine, store: FileStore) -> FilesReport:
    """Rehash every file of ``stored_files``; each one changed or missing, with who refers to it."""
    with reading(db) as conn:
        known = list(conn.execute(select(stored_files.c.sha256).order_by(stored_files.c.sha256)).scalars())
    report = FilesReport()
    bad: list[tuple[str, str, str | None]] = []
    for sha256 in known:
        report.checked += 1
        actual = store.rehash(sha256)
        if actual is None:
            bad.append((sha256, MISSING, None))
        elif actual != sha256:
            bad.append((sha256, MISMATCH, actual))
    if bad:
        with reading(db) as conn:
            where = referring_items(conn)
        report.problems = [FileProblem(sha, kind, actual, tuple(where.get(sha, ()))) for sha, kind, actual in bad]
    return report


def referring_items(conn: Connection) -> dict[str, list[str]]:
    """Each attached file's hash -> the references of the items naming it (now or in a revision)."""
    found: dict[str, set[str]] = defaultdict(set)
    current = select(items.c.reference, items.c.meta).where(items.c.meta.is_not(None))
    past = (
        select(items.c.reference, revisions.c.meta)
        .join(items, items.c.id == revisions.c.item_id)
        .where(revisions.c.meta.is_not(None))
    )
    for query in (current, past):
        for reference, meta in conn.execute(query):
            for entry in _attachments(meta):
                found[str(entry.get("sha256"))].add(reference)
    return {sha: sorted(refs) for sha, refs in found.items()}


def _attachments(meta: Any) -> list[dict[str, Any]]:
    if not isinstance(meta, dict):
        return []
    entries = meta.get("attachments") or []
    return [entry for entry in entries if isinstance(entry, dict)]

"""What a built site holds, kept beside it so an update never scans the site or the publications.

One SQLite file per build (``<stamp>.manifest.sqlite`` next to the build's folder, never served):
for each public item the facts its listings show, the listing it is in, its slot in every listing
it ever entered (slots are kept: pages never shift), each listing's last slot and count of items,
and the attachment files each item put in ``files/``. Every read an update makes is a primary-key
or index range lookup, so its cost does not grow with the number of items.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflow.core.publication import PublicItem
from workflow.publishing.site.layout import ARCHIVE, SITEMAP, listing_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    item_id INTEGER PRIMARY KEY, reference TEXT NOT NULL, index_number TEXT NOT NULL, title TEXT NOT NULL,
    category TEXT, status TEXT NOT NULL, status_at TEXT NOT NULL, first_published_at TEXT NOT NULL,
    published_at TEXT NOT NULL, expires_at TEXT, revision INTEGER NOT NULL, listing TEXT,
    current INTEGER NOT NULL, summary TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS items_newest ON items (current, first_published_at, item_id);
CREATE TABLE IF NOT EXISTS slots (
    listing TEXT NOT NULL, item_id INTEGER NOT NULL, slot INTEGER NOT NULL,
    PRIMARY KEY (listing, item_id), UNIQUE (listing, slot)
);
CREATE TABLE IF NOT EXISTS listings (listing TEXT PRIMARY KEY, last_slot INTEGER NOT NULL, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    item_id INTEGER NOT NULL, sha256 TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (item_id, sha256, name)
);
CREATE INDEX IF NOT EXISTS files_by_content ON files (sha256, name);
"""
SUMMARY_CHARS = 120
_MARKS = re.compile(r"[#*|>`_]+|[-:]{3,}|\[|\]\([^)]*\)")


def stamp(moment: dt.datetime) -> str:
    """A UTC moment as sortable text."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def moment(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def summary_of(body: str) -> str:
    """The first words of a body for listings and the feed: Markdown marks dropped, whitespace joined."""
    text = " ".join(_MARKS.sub(" ", body).split())
    return text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS].rstrip() + "……"


@dataclass(frozen=True)
class Entry:
    """One item as the listings, the home page, the feed and the sitemap show it."""

    item_id: int
    reference: str
    index_number: str
    title: str
    category: str | None
    status: str
    status_at: dt.datetime
    first_published_at: dt.datetime
    published_at: dt.datetime
    expires_at: dt.datetime | None
    revision: int
    listing: str | None
    summary: str

    @property
    def revised_at(self) -> dt.datetime | None:
        return self.published_at if self.published_at != self.first_published_at else None

    def shown_as(self, item: PublicItem) -> bool:
        """True when this entry is what the site shows of ``item`` as it is now (its page is up to date)."""
        return (
            self.revision == item.revision
            and self.status == item.status
            and self.published_at == item.published_at
            and self.status_at == item.status_at
            and self.expires_at == item.expires_at
        )


_COLUMNS = (
    "item_id, reference, index_number, title, category, status, status_at, first_published_at, published_at, "
    "expires_at, revision, listing, summary"
)


def _entry(row: Sequence[Any]) -> Entry:
    def at(text: Any) -> dt.datetime:
        found = moment(str(text))
        assert found is not None
        return found

    return Entry(
        item_id=int(row[0]), reference=str(row[1]), index_number=str(row[2]), title=str(row[3]),
        category=None if row[4] is None else str(row[4]), status=str(row[5]), status_at=at(row[6]),
        first_published_at=at(row[7]), published_at=at(row[8]), expires_at=None if row[9] is None else at(row[9]),
        revision=int(row[10]), listing=None if row[11] is None else str(row[11]), summary=str(row[12]),
    )  # fmt: skip


class Manifest:
    """The state of one build. Changes are made in one transaction, committed by :meth:`commit`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level="DEFERRED")
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(SCHEMA)
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()

    def commit(self) -> None:
        self.conn.commit()

    # ---- items -------------------------------------------------------------------------------------

    def entry(self, item_id: int) -> Entry | None:
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM items WHERE item_id = ?", (item_id,)).fetchone()
        return _entry(row) if row is not None else None

    def entries(self) -> Iterator[Entry]:
        """Every item the build knows (for a catch-up against the publications; not on the update path)."""
        for row in self.conn.execute(f"SELECT {_COLUMNS} FROM items"):
            yield _entry(row)

    def put(self, item: PublicItem) -> tuple[Entry | None, Entry]:
        """Record ``item`` as now shown; the entry before (None for a new item) and after.

        Gives the item a slot in its listing and in the sitemap the first time it enters them and keeps
        each listing's count.
        """
        before = self.entry(item.item_id)
        listing = listing_of(item)
        self.conn.execute(
            "INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                item.item_id, item.reference, item.index_number, item.title, item.category, item.status,
                stamp(item.status_at), stamp(item.first_published_at), stamp(item.published_at),
                stamp(item.expires_at) if item.expires_at else None, item.revision, listing,
                int(listing is not None and listing != ARCHIVE), summary_of(item.body),
            ),
        )  # fmt: skip
        old_listing = before.listing if before else None
        if old_listing != listing:
            if old_listing is not None:
                self._count(old_listing, -1)
            if listing is not None:
                self._count(listing, +1)
        if listing is not None:
            self.slot(listing, item.item_id)
            self.slot(SITEMAP, item.item_id)
        after = self.entry(item.item_id)
        assert after is not None
        return before, after

    def _count(self, listing: str, change: int) -> None:
        self.conn.execute("INSERT OR IGNORE INTO listings VALUES (?, 0, 0)", (listing,))
        self.conn.execute("UPDATE listings SET count = count + ? WHERE listing = ?", (change, listing))

    # ---- slots and listings ------------------------------------------------------------------------

    def slot(self, listing: str, item_id: int) -> int:
        """The item's slot in ``listing``, given the next one on its first entry."""
        found = self.conn.execute(
            "SELECT slot FROM slots WHERE listing = ? AND item_id = ?", (listing, item_id)
        ).fetchone()
        if found is not None:
            return int(found[0])
        self.conn.execute("INSERT OR IGNORE INTO listings VALUES (?, 0, 0)", (listing,))
        self.conn.execute("UPDATE listings SET last_slot = last_slot + 1 WHERE listing = ?", (listing,))
        last = int(self.conn.execute("SELECT last_slot FROM listings WHERE listing = ?", (listing,)).fetchone()[0])
        self.conn.execute("INSERT INTO slots VALUES (?, ?, ?)", (listing, item_id, last))
        return last

    def slot_if_any(self, listing: str, item_id: int) -> int | None:
        found = self.conn.execute(
            "SELECT slot FROM slots WHERE listing = ? AND item_id = ?", (listing, item_id)
        ).fetchone()
        return int(found[0]) if found is not None else None

    def last_slot(self, listing: str) -> int:
        found = self.conn.execute("SELECT last_slot FROM listings WHERE listing = ?", (listing,)).fetchone()
        return int(found[0]) if found is not None else 0

    def count(self, listing: str) -> int:
        found = self.conn.execute("SELECT count FROM listings WHERE listing = ?", (listing,)).fetchone()
        return int(found[0]) if found is not None else 0

    def in_slots(self, listing: str, first: int, last: int) -> list[tuple[int, Entry]]:
        """The entries still in ``listing`` whose slots lie in ``first..last``, newest slot first (the sitemap:
        every listed item)."""
        membership = "i.listing IS NOT NULL" if listing == SITEMAP else "i.listing = s.listing"
        rows = self.conn.execute(
            f"SELECT s.slot, {', '.join('i.' + c.strip() for c in _COLUMNS.split(','))} FROM slots s "
            f"JOIN items i ON i.item_id = s.item_id WHERE s.listing = ? AND s.slot BETWEEN ? AND ? AND {membership} "
            "ORDER BY s.slot DESC",
            (listing, first, last),
        )
        return [(int(row[0]), _entry(row[1:])) for row in rows]

    def newest(self, listing: str, limit: int) -> list[tuple[int, Entry]]:
        """The newest ``limit`` entries of ``listing`` with their slots (walks the slot index backwards)."""
        rows = self.conn.execute(
            f"SELECT s.slot, {', '.join('i.' + c.strip() for c in _COLUMNS.split(','))} FROM slots s "
            "JOIN items i ON i.item_id = s.item_id WHERE s.listing = ? AND i.listing = s.listing "
            "ORDER BY s.slot DESC LIMIT ?",
            (listing, limit),
        )
        return [(int(row[0]), _entry(row[1:])) for row in rows]

    def newest_current(self, limit: int) -> list[Entry]:
        """The newest current items of every sub-directory, by first publication."""
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM items WHERE current = 1 ORDER BY first_published_at DESC, item_id DESC LIMIT ?",
            (limit,),
        )
        return [_entry(row) for row in rows]

    # ---- files -------------------------------------------------------------------------------------

    def files_of(self, item_id: int) -> set[tuple[str, str]]:
        rows = self.conn.execute("SELECT sha256, name FROM files WHERE item_id = ?", (item_id,))
        return {(str(sha), str(name)) for sha, name in rows}

    def set_files(self, item_id: int, files: Iterable[tuple[str, str]]) -> None:
        self.conn.execute("DELETE FROM files WHERE item_id = ?", (item_id,))
        self.conn.executemany("INSERT OR IGNORE INTO files VALUES (?, ?, ?)", [(item_id, s, n) for s, n in files])

    def file_used(self, sha256: str, name: str) -> bool:
        found = self.conn.execute("SELECT 1 FROM files WHERE sha256 = ? AND name = ? LIMIT 1", (sha256, name))
        return found.fetchone() is not None

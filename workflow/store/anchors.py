"""Anchors of the audit chain kept outside the database: the file of daily anchors, and its check.

An anchor is the chain's head (seq, hash) on a day. The worker appends one JSON line a day to
``GONGKAI_ANCHOR_FILE`` (and mails it to the auditors); ``gongkai audit verify --anchors FILE`` then
checks that the log still extends every one of them. A log cut back, or rewritten from some entry on
(even with a new key, so that it verifies on its own), no longer holds the hash an anchor kept.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Table, select

from workflow.core.chain import ChainFault
from workflow.core.errors import InvalidInput
from workflow.store.audit_log import first_missing_after_head
from workflow.store.db import reading
from workflow.store.models import AuditEntry

audit_log = cast(Table, AuditEntry.__table__)
HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    day: str | None = None
    """The office day it was taken on (the worker's anchors); None for one written by ``audit anchor``."""
    taken_at: str | None = None
    line: int = 0
    """Its line in the file it was read from (1-based)."""

    def as_line(self) -> str:
        data: dict[str, Any] = {"day": self.day, "seq": self.seq, "hash": self.hash, "taken_at": self.taken_at}
        return json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False)


@dataclass(frozen=True)
class AnchorFault:
    """The first anchor the log no longer extends, and what is wrong at it."""

    anchor: Anchor
    number: int
    """Its place among the file's anchors (1-based)."""
    fault: ChainFault


def parse_anchor(data: object) -> Anchor:
    if not isinstance(data, dict):
        raise ValueError("a JSON object with seq and hash")
    seq, digest = data.get("seq"), data.get("hash")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ValueError("seq must be a whole number, 0 or more")
    if not isinstance(digest, str) or not HEX64.match(digest):
        raise ValueError("hash must be 64 hexadecimal digits")
    day, taken = data.get("day"), data.get("taken_at")
    if day is not None:
        try:
            dt.date.fromisoformat(str(day))
        except ValueError:
            raise ValueError(f"day {day!r} is not a date") from None
    return Anchor(seq, digest, str(day) if day is not None else None, str(taken) if taken else None)


def read_anchor_file(path: Path) -> list[Anchor]:
    """Every anchor of a file of JSON lines (blank lines skipped); a bad line is refused by its number."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput("audit.anchor_bad", path=str(path), detail=str(error)) from None
    found: list[Anchor] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            anchor = parse_anchor(json.loads(line))
        except ValueError as error:  # json.JSONDecodeError is a ValueError
            raise InvalidInput("audit.anchors_bad_line", path=str(path), line=number, detail=str(error)) from None
        found.append(Anchor(anchor.seq, anchor.hash, anchor.day, anchor.taken_at, number))
    if not found:
        raise InvalidInput("audit.anchors_empty", path=str(path))
    return found


def check_anchors(db: Engine, anchors: Sequence[Anchor]) -> AnchorFault | None:
    """The first anchor, in the file's order, whose entry is gone from the log or holds another hash.

    A missing entry is named as the first entry after the log's current end (what a cut took away),
    not the anchor's own seq.
    """
    wanted = sorted({a.seq for a in anchors if a.seq > 0})
    found: dict[int, str] = {}
    with reading(db) as conn:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            query = select(audit_log.c.seq, audit_log.c.hash).where(audit_log.c.seq.in_(chunk))
            found.update((int(row.seq), str(row.hash)) for row in conn.execute(query))
    for number, anchor in enumerate(anchors, start=1):
        if anchor.seq == 0:
            continue
        if anchor.seq not in found:
            return AnchorFault(anchor, number, ChainFault(first_missing_after_head(db), "missing"))
        if found[anchor.seq] != anchor.hash:
            return AnchorFault(anchor, number, ChainFault(anchor.seq, "anchor_mismatch"))
    return None


def append_anchor(path: Path, anchor: Anchor) -> bool:
    """Append ``anchor`` as one line unless the file holds that day's anchor already; True when written.

    The file is locked while it is read and written, so two workers of one machine write the day once.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.seek(0)
            text = handle.read()
            if anchor.day is not None and anchor.day in _days(text.splitlines()):
                return False
            handle.write(("" if not text or text.endswith("\n") else "\n") + anchor.as_line() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
            return True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _days(lines: Iterable[str]) -> set[str]:
    days: set[str] = set()
    for line in lines:
        try:
            data = json.loads(line)
        except ValueError:
            continue  # a line someone broke is for ``verify --anchors`` to name, not a reason to stop anchoring
        if isinstance(data, dict) and isinstance(data.get("day"), str):
            days.add(data["day"])
    return days

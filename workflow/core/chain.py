"""The audit chain: canonical encoding, HMAC-SHA-256 links, verification.

Each row's hash is an HMAC, keyed by a secret held outside the database, over a
canonical encoding of the row including the previous row's hash. Anyone who can
write the database but lacks the key cannot forge or re-link a row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64

CHAINED_COLUMNS = (
    "seq",
    "item_id",
    "definition",
    "definition_version",
    "trigger",
    "from_state",
    "to_state",
    "actor",
    "on_behalf_of",
    "role",
    "at",
    "comment",
    "fields",
    "details",
    "content_hash",
    "prev_hash",
    "person",
)
OPTIONAL_COLUMNS = frozenset({"person"})
"""Columns added after the first rows were written (``person``: 0009, whom a people change is about).

They enter the encoding only when set: a row that leaves them empty encodes exactly as before
they existed, so chains written earlier still verify, and a set value is a key of its own in the
canonical JSON, so no two different rows share an encoding.
"""


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text as is: one encoding for one value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_time(at: dt.datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def content_hash(
    title: str, body: str, category: str | None, fields: Mapping[str, Any], meta: Mapping[str, Any] | None = None
) -> str:
    """What a reviewer saw: title, body, category, fields and metadata (文号, 主题词, attachments), hashed together.

    Metadata keys with empty values are left out, and so is ``meta`` when nothing is left: an item
    without metadata hashes as it did before metadata existed.
    """
    content: dict[str, Any] = {"title": title, "body": body, "category": category, "fields": dict(fields)}
    present = meaningful_meta(meta)
    if present:
        content["meta"] = present
    payload = canonical_json(content)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def meaningful_meta(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    """``meta`` without its empty values (None, "", [], {})."""
    return {key: value for key, value in (meta or {}).items() if value not in (None, "", [], {}, ())}


def row_hash(key: bytes, row: Mapping[str, Any]) -> str:
    """The HMAC of a row's chained columns; ``fields`` and ``details`` are canonical JSON text."""
    payload = {name: row[name] for name in CHAINED_COLUMNS if name not in OPTIONAL_COLUMNS or row.get(name) is not None}
    payload["at"] = canonical_time(row["at"])
    return hmac.new(key, canonical_json(payload).encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ChainFault:
    seq: int
    reason: str
    """One of: changed, missing, reordered, head_mismatch."""
    expected: str | None = None

    @property
    def key(self) -> str:
        return f"audit.fault_{self.reason}"


@dataclass(frozen=True)
class VerifyResult:
    count: int
    fault: ChainFault | None


def verify_chain(key: bytes, rows: Iterable[Mapping[str, Any]], head: tuple[int, str] | None = None) -> VerifyResult:
    """Walk rows in ``seq`` order; the first fault found is reported.

    ``head`` is the recorded (last seq, last hash) of the chain, which catches
    rows removed from the end.
    """
    expected_seq = 1
    prev = GENESIS_HASH
    count = 0
    for row in rows:
        seq = row["seq"]
        if seq != expected_seq:
            return VerifyResult(count, ChainFault(expected_seq, "missing"))
        if not hmac.compare_digest(row_hash(key, row), row["hash"]):
            return VerifyResult(count, ChainFault(seq, "changed"))
        if row["prev_hash"] != prev:
            # A genuine row (its own HMAC holds) linked to another predecessor: moved.
            return VerifyResult(count, ChainFault(seq, "reordered", prev))
        prev = row["hash"]
        expected_seq += 1
        count += 1
    if head is not None and head[0] > count:
        return VerifyResult(count, ChainFault(count + 1, "missing"))
    if head is not None and (head[0] != count or head[1] != prev):
        return VerifyResult(count, ChainFault(count, "head_mismatch"))
    return VerifyResult(count, None)

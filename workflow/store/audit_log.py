"""Reading and verifying the audit log stored in the database."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Row, Table, func, or_, select

from workflow.core.chain import ChainFault, VerifyResult, verify_chain
from workflow.store.db import reading
from workflow.store.models import AuditEntry, AuditHead

audit_log = cast(Table, AuditEntry.__table__)
audit_head = cast(Table, AuditHead.__table__)

VERIFY_BATCH = 5_000


def read_entries(db: Engine, item_id: int | None = None, person: str | None = None) -> list[Row[Any]]:
    """Entries in chain order; of one item, or about one person (changes to them, and what they did)."""
    query = select(audit_log).order_by(audit_log.c.seq)
    if item_id is not None:
        query = query.where(audit_log.c.item_id == item_id)
    if person is not None:
        query = query.where(
            or_(audit_log.c.person == person, audit_log.c.actor == person, audit_log.c.on_behalf_of == person)
        )
    with reading(db) as conn:
        return list(conn.execute(query))


def entry_json(row: Row[Any]) -> dict[str, Any]:
    data = dict(row._mapping)
    data["at"] = row.at.isoformat()
    data["fields"] = json.loads(row.fields)
    data["details"] = json.loads(row.details)
    return data


def format_entries(rows: Iterable[Row[Any]], timezone: str) -> Iterator[str]:
    zone = ZoneInfo(timezone)
    for row in rows:
        at = row.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
        who = row.actor if not row.on_behalf_of else f"{row.actor} (for {row.on_behalf_of})"
        if row.item_id is None:  # a people change: whom it is about instead of an item and a move
            subject, move = f"person {row.person}", ""
        else:
            subject, move = f"item {row.item_id:<5}", f"{row.from_state or '-'} -> {row.to_state}"
        extra = [f"comment={row.comment!r}"] if row.comment else []
        if row.fields != "{}":
            extra.append(f"fields={row.fields}")
        if row.details != "{}":
            extra.append(f"details={row.details}")
        yield (
            f"#{row.seq:<5} {at}  {subject:<10} {row.trigger:<20} {move:<44} {who} [{row.role}]"
            f"  {row.hash[:12]}" + ("  " + " ".join(extra) if extra else "")
        )


def _all_rows(db: Engine) -> Iterator[dict[str, Any]]:
    """Every row in seq order, read in batches so memory stays flat on a long chain."""
    last = 0
    with reading(db) as conn:
        while True:
            batch = conn.execute(
                select(audit_log).where(audit_log.c.seq > last).order_by(audit_log.c.seq).limit(VERIFY_BATCH)
            ).all()
            if not batch:
                return
            for row in batch:
                yield dict(row._mapping)
            last = batch[-1].seq


def verify(db: Engine, key: bytes) -> VerifyResult:
    with reading(db) as conn:
        head = conn.execute(select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).one()
    return verify_chain(key, _all_rows(db), (head.seq, head.hash))


def anchor(db: Engine) -> dict[str, Any]:
    """The chain's head as a record to keep outside the database (print it, mail it, archive it)."""
    with reading(db) as conn:
        head = conn.execute(select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).one()
    return {"seq": head.seq, "hash": head.hash}


def check_anchor(db: Engine, kept: dict[str, Any]) -> ChainFault | None:
    """A kept anchor must still stand in the chain: catches truncation and whole-chain rewrites."""
    seq = int(kept["seq"])
    if seq == 0:
        return None
    with reading(db) as conn:
        found = conn.execute(select(audit_log.c.hash).where(audit_log.c.seq == seq)).scalar_one_or_none()
    if found is None:
        return ChainFault(first_missing_after_head(db), "missing")
    if found != kept["hash"]:
        return ChainFault(seq, "anchor_mismatch")
    return None


def first_missing_after_head(db: Engine) -> int:
    """The first entry a cut tail took away: the one after the last entry still in the log."""
    with reading(db) as conn:
        last = conn.execute(select(func.max(audit_log.c.seq))).scalar()
    return int(last or 0) + 1

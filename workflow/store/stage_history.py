"""The histories the timeliness report counts: every audit row of the items that moved in a period.

An item counts in a period when it left a stage (or met a time limit) in it, and the stage may have
been entered long before; so every item with a row in the period is read from its first row up to
the period's end. Rows are streamed in the order of the item and the chain, one item at a time, so
a year of a county's items keeps memory flat.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, select

from workflow.store.models import AuditEntry, Item

audit_log = cast(Table, AuditEntry.__table__)
items = cast(Table, Item.__table__)

BATCH = 2000
"""Rows fetched at a time from the server."""


@dataclass(frozen=True)
class Step:
    """One audit row of an item: a transition, an internal action or the creation."""

    seq: int
    at: dt.datetime
    trigger: str
    from_state: str | None
    to_state: str | None
    actor: str
    on_behalf_of: str | None


@dataclass(frozen=True)
class ItemHistory:
    item_id: int
    reference: str
    title: str
    category: str | None
    definition: str
    definition_version: str
    fields: dict[str, Any]
    steps: tuple[Step, ...]


def histories(conn: Connection, since: dt.datetime, before: dt.datetime) -> Iterator[ItemHistory]:
    """Items with an audit row at or after ``since`` and before ``before`` (UTC), each with its rows
    up to ``before``, in the order of the item id."""
    moved = (
        select(audit_log.c.item_id)
        .where(audit_log.c.item_id.is_not(None), audit_log.c.at >= since, audit_log.c.at < before)
        .distinct()
    )
    query = (
        select(
            audit_log.c.item_id,
            audit_log.c.seq,
            audit_log.c.at,
            audit_log.c.trigger,
            audit_log.c.from_state,
            audit_log.c.to_state,
            audit_log.c.actor,
            audit_log.c.on_behalf_of,
            items.c.reference,
            items.c.title,
            items.c.category,
            items.c.definition,
            items.c.definition_version,
            items.c.fields,
        )
        .join(items, items.c.id == audit_log.c.item_id)
        .where(audit_log.c.item_id.in_(moved), audit_log.c.at < before)
        .order_by(audit_log.c.item_id, audit_log.c.seq)
    )
    current: Any = None
    steps: list[Step] = []
    for row in conn.execute(query.execution_options(yield_per=BATCH)):
        if current is not None and row.item_id != current.item_id:
            yield _history(current, steps)
            steps = []
        current = row
        steps.append(Step(row.seq, row.at, row.trigger, row.from_state, row.to_state, row.actor, row.on_behalf_of))
    if current is not None:
        yield _history(current, steps)


def _history(row: Any, steps: list[Step]) -> ItemHistory:
    return ItemHistory(
        item_id=row.item_id, reference=row.reference, title=row.title, category=row.category,
        definition=row.definition, definition_version=row.definition_version, fields=dict(row.fields or {}),
        steps=tuple(steps),
    )  # fmt: skip

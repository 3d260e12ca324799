"""The rows the annual report is counted from, read in a few plain queries (the counting is in
:mod:`workflow.reports.annual`, pure over these rows).

Everything up to the end of the year is read, not only the year itself: an application received in an
earlier year and answered in this one is carried over, a normative document issued years ago may still be in
force. Times are UTC as stored; the counting turns them into office time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, select

from workflow.store.models import AuditEntry, Item
from workflow.store.publications import publication_jobs, publications

items = cast(Table, Item.__table__)
audit_log = cast(Table, AuditEntry.__table__)

CASE_DEFINITIONS = ("disclosure_request", "appeal", "consultation")
"""The definitions whose items are cases counted by their fields (received, filed) and moves."""
MOVE_DEFINITIONS = ("normative_document", *CASE_DEFINITIONS)
COUNTED_STATES = ("answered", "repealed", "expired", "withdrawn", "filed", "decided", "closed")
"""The states whose entering is an event of the report (answered, repealed, filed, result recorded...)."""


@dataclass(frozen=True)
class PublicationRow:
    """One published item: when it was first published, where it is catalogued, its 主题词."""

    item_id: int
    reference: str
    definition: str
    category: str | None
    first_published_at: dt.datetime
    subjects: tuple[str, ...]


@dataclass(frozen=True)
class ChannelRow:
    """One channel a publication was sent to (a ``publish`` job), when and how it stands."""

    item_id: int
    channel: str
    created_at: dt.datetime
    status: str


@dataclass(frozen=True)
class MoveRow:
    """One move of an item into a counted state, from the audit log (the log says when it happened)."""

    item_id: int
    definition: str
    trigger: str
    to_state: str
    at: dt.datetime


@dataclass(frozen=True)
class CaseRow:
    """An application, an appeal or a consultation: counted by its fields."""

    item_id: int
    reference: str
    definition: str
    state: str
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class AnnualRows:
    publications: tuple[PublicationRow, ...]
    channels: tuple[ChannelRow, ...]
    moves: tuple[MoveRow, ...]
    cases: tuple[CaseRow, ...]
    references: Mapping[int, str]
    """Item id -> reference, for every item a move or a channel names."""


def annual_rows(conn: Connection, start: dt.datetime, end: dt.datetime) -> AnnualRows:
    """What happened before ``end`` (UTC) that the report of the year ``[start, end)`` may count."""
    published = conn.execute(
        select(
            publications.c.item_id, publications.c.reference, items.c.definition, publications.c.category,
            publications.c.first_published_at, publications.c.meta,
        )
        .join(items, items.c.id == publications.c.item_id)
        .where(publications.c.first_published_at < end)
        .order_by(publications.c.first_published_at, publications.c.item_id)
    ).all()  # fmt: skip
    channels = conn.execute(
        select(publication_jobs.c.item_id, publication_jobs.c.channel, publication_jobs.c.created_at,
               publication_jobs.c.status)
        .where(publication_jobs.c.event == "publish", publication_jobs.c.created_at >= start,
               publication_jobs.c.created_at < end)
        .order_by(publication_jobs.c.id)
    ).all()  # fmt: skip
    moves = conn.execute(
        select(audit_log.c.item_id, audit_log.c.definition, audit_log.c.trigger, audit_log.c.to_state, audit_log.c.at)
        .where(
            audit_log.c.item_id.is_not(None), audit_log.c.definition.in_(MOVE_DEFINITIONS),
            audit_log.c.to_state.in_(COUNTED_STATES), audit_log.c.from_state != audit_log.c.to_state,
            audit_log.c.at < end,
        )
        .order_by(audit_log.c.seq)
    ).all()  # fmt: skip
    cases = conn.execute(
        select(items.c.id, items.c.reference, items.c.definition, items.c.state, items.c.fields)
        .where(items.c.definition.in_(CASE_DEFINITIONS))
        .order_by(items.c.id)
    ).all()  # fmt: skip
    named = {r.item_id for r in moves} | {r.item_id for r in channels}
    references: dict[int, str] = {r.item_id: r.reference for r in published}
    references |= {r.id: r.reference for r in cases}
    missing = sorted(named - set(references))
    for chunk in range(0, len(missing), 500):
        wanted = missing[chunk : chunk + 500]
        references |= dict(conn.execute(select(items.c.id, items.c.reference).where(items.c.id.in_(wanted))).tuples())
    return AnnualRows(
        publications=tuple(
            PublicationRow(
                item_id=r.item_id, reference=r.reference, definition=r.definition, category=r.category,
                first_published_at=r.first_published_at,
                subjects=tuple(str(s) for s in (r.meta or {}).get("subjects") or ()),
            )
            for r in published
        ),
        channels=tuple(ChannelRow(r.item_id, r.channel, r.created_at, r.status) for r in channels),
        moves=tuple(MoveRow(r.item_id, r.definition, r.trigger, r.to_state, r.at) for r in moves),
        cases=tuple(CaseRow(r.id, r.reference, r.definition, r.state, dict(r.fields or {})) for r in cases),
        references=references,
    )  # fmt: skip

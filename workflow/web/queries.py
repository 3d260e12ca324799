"""What the pages read: the inbox, an item's revisions and history, the audit log with filters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, or_, select

from workflow.core.acting import roles_today
from workflow.core.deadlines import working_days_left
from workflow.core.decisions import Person
from workflow.core.definition import Definition
from workflow.engine import WorkflowEngine, audit_log, body_snapshots, items, revisions
from workflow.store.queries import items_waiting, waiting_for


@dataclass(frozen=True)
class InboxRow:
    id: int
    reference: str
    title: str
    definition: Definition
    state: str
    due_on: dt.date | None
    days_left: int | None
    """Working days left until the due date; negative when overdue."""
    version: int

    @property
    def overdue(self) -> bool:
        return self.days_left is not None and self.days_left < 0


def inbox(engine: WorkflowEngine, conn: Connection, person: Person, today: dt.date) -> list[InboxRow]:
    """Items waiting for a decision of this person's: overdue first, then by due date, then oldest."""
    # Only someone holding a role globally can be assigned it, so the states where one of the
    # roles they may act in today acts are all the candidates.
    candidates = items_waiting(conn, engine.registry, roles_today(person))
    found: list[InboxRow] = []
    days_left: dict[dt.date, int] = {}
    for item in waiting_for(person, candidates):
        due = item.due_on
        if due is not None and due not in days_left:
            days_left[due] = working_days_left(engine.calendar, today, due)
        found.append(
            InboxRow(item.id, item.reference, item.title, item.definition, item.state, due,
                     days_left[due] if due else None, item.version)
        )  # fmt: skip
    found.sort(key=lambda r: (not r.overdue, r.due_on or dt.date.max, r.id))
    return found


def item_revisions(conn: Connection, item_id: int) -> list[Row[Any]]:
    return list(
        conn.execute(
            select(revisions.c.revision, revisions.c.title, revisions.c.body, revisions.c.updated_at)
            .where(revisions.c.item_id == item_id)
            .order_by(revisions.c.revision)
        )
    )


def item_history(conn: Connection, item_id: int) -> list[Row[Any]]:
    return list(conn.execute(select(audit_log).where(audit_log.c.item_id == item_id).order_by(audit_log.c.seq)))


@dataclass(frozen=True)
class AuditFilter:
    item: str | None = None
    person: str | None = None
    trigger: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None


def audit_rows(conn: Connection, wanted: AuditFilter, zone: dt.tzinfo, limit: int | None = 500) -> list[Row[Any]]:
    """Audit rows, newest first, matching every given filter; dates are office days, both ends included."""
    query = select(audit_log, items.c.reference).outerjoin(items, items.c.id == audit_log.c.item_id)
    if wanted.item:
        text = wanted.item.strip()
        query = query.where(audit_log.c.item_id == int(text) if text.isdigit() else items.c.reference == text.upper())
    if wanted.person:
        query = query.where(
            or_(
                audit_log.c.actor == wanted.person,
                audit_log.c.on_behalf_of == wanted.person,
                audit_log.c.person == wanted.person,
            )
        )
    if wanted.trigger:
        query = query.where(audit_log.c.trigger == wanted.trigger)
    if wanted.since:
        start = dt.datetime.combine(wanted.since, dt.time(), zone)
        query = query.where(audit_log.c.at >= start)
    if wanted.until:
        end = dt.datetime.combine(wanted.until + dt.timedelta(days=1), dt.time(), zone)
        query = query.where(audit_log.c.at < end)
    query = query.order_by(audit_log.c.seq.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(conn.execute(query))


def last_decision_in(conn: Connection, item_id: int, state: str) -> Row[Any, Any, Any, Any] | None:
    """The latest audit row that took the item out of ``state``: what was decided there last time, on which body."""
    return conn.execute(
        select(audit_log.c.actor, audit_log.c.trigger, audit_log.c.at, audit_log.c.content_hash)
        .where(audit_log.c.item_id == item_id, audit_log.c.from_state == state, audit_log.c.to_state != state)
        .order_by(audit_log.c.seq.desc())
        .limit(1)
    ).first()


def body_with_hash(conn: Connection, item_id: int, content_hash: str) -> str | None:
    """A body an edit replaced since (see ``body_snapshots``), by its content hash."""
    body: str | None = conn.execute(
        select(body_snapshots.c.body).where(
            body_snapshots.c.item_id == item_id, body_snapshots.c.content_hash == content_hash
        )
    ).scalar()
    return body

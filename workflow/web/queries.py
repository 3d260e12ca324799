"""What the pages read: the inbox, an item's revisions and history, the audit log with filters."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Select, and_, bindparam, case, func, or_, select

from workflow.core.acting import Holding, acting_names, holdings, holdings_to_act
from workflow.core.deadlines import overdue_before, working_days_left
from workflow.core.decisions import Person
from workflow.core.definition import Definition
from workflow.engine import WorkflowEngine, audit_log, body_snapshots, items, revisions
from workflow.store.holders import held
from workflow.store.people import user_roles, users
from workflow.store.queries import due_on_now
from workflow.web.access import READ_ALL_ROLES, definition_roles

PAGE_SIZE = 50
"""Items on one page of the inbox."""
VIEWS = ("waiting", "created", "acted")
"""What the inbox lists: what waits for me (the default), items I created, items I acted on."""


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


@dataclass(frozen=True)
class InboxQuery:
    """One view of the inbox with its filters and page, as the query string gives them (already checked)."""

    view: str = "waiting"
    definition: str | None = None
    state: str | None = None
    overdue: bool = False
    search: str = ""
    page: int = 1

    def words(self) -> list[str]:
        """The search split on spaces (Chinese titles have none: each run typed is one word)."""
        return self.search.split()


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    total: int
    """Items of the view with its filters, on every page."""
    overdue: int
    """Of those, how many are overdue."""
    page: int
    """The page shown (the one asked for, brought within 1..pages)."""
    pages: int


def inbox(
    engine: WorkflowEngine, conn: Connection, person: Person, today: dt.date, wanted: InboxQuery | None = None,
    page_size: int = PAGE_SIZE, definitions: Sequence[Definition] | None = None,
) -> InboxPage:  # fmt: skip
    """One page of a view of the inbox, in two statements: a count, then the page (LIMIT/OFFSET).

    "waiting" lists the items waiting for a decision of the person's (the core's rule, asked by the
    database through :func:`holdings_to_act`), overdue first, then by due date; "created" and "acted"
    the items they created or have an audit row on (as actor or stood in for), newest change first,
    among those they may see.
    """
    wanted = wanted or InboxQuery()
    if definitions is None:  # the stored versions items may be pinned to (the caller may have them)
        definitions = engine.registry.stored(conn)
    if wanted.view == "waiting":
        found = tuple(holdings_to_act(person, definitions))
    elif person.roles & READ_ALL_ROLES:
        found = None  # auditors and administrators see every item
    else:
        found = tuple(holdings_to_see(person, definitions))
    count, page_query = _statements(
        conn.dialect.name, found, acting_names(person), replace(wanted, page=1),
        overdue_before(engine.calendar, today),
    )  # fmt: skip
    total, overdue = conn.execute(count).one()
    pages = max(1, -(-int(total) // page_size))
    page = min(max(wanted.page, 1), pages)
    limits = {"page_limit": page_size, "page_offset": (page - 1) * page_size}
    days_left: dict[dt.date, int] = {}
    rows = []
    for row in conn.execute(page_query, limits):
        if row.due_on is not None and row.due_on not in days_left:
            days_left[row.due_on] = working_days_left(engine.calendar, today, row.due_on)
        rows.append(
            InboxRow(
                row.id, row.reference, row.title, engine.registry.pinned(conn, row.definition, row.definition_version),
                row.state, row.due_on, days_left[row.due_on] if row.due_on else None, row.version,
            )
        )  # fmt: skip
    return InboxPage(rows, int(total), int(overdue), page, pages)


@functools.lru_cache(maxsize=256)
def _statements(
    dialect: str, found: tuple[Holding, ...] | None, names: tuple[str, ...], wanted: InboxQuery, cutoff: dt.date
) -> tuple[Select[Any], Select[Any]]:
    """The count and the page statements of a view for one person, built once and kept: a person's
    inbox asks the same two statements on every visit (only the page's LIMIT and OFFSET are bound)."""
    due = due_on_now()
    if wanted.view == "waiting":
        assert found is not None
        where = held(dialect, found, names)
    else:
        if wanted.view == "created":
            where = items.c.created_by == names[0]
        else:
            where = items.c.id.in_(
                select(audit_log.c.item_id)
                .where(audit_log.c.actor == names[0])
                .union(select(audit_log.c.item_id).where(audit_log.c.on_behalf_of == names[0]))
            )
        if found is not None:
            where = and_(where, held(dialect, found, names))
    if wanted.definition:
        where = and_(where, items.c.definition == wanted.definition)
    if wanted.state:
        where = and_(where, items.c.state == wanted.state)
    if wanted.overdue:
        where = and_(where, due < cutoff)
    if wanted.search.strip():
        where = and_(where, _matching(wanted))
    count = select(func.count(), func.coalesce(func.sum(case((due < cutoff, 1), else_=0)), 0)).where(where)
    due_on = due.label("due_on")
    # Overdue first, then by due date, is due date first (what is overdue is due earliest); the due
    # date is named once, so each row's is looked up once.
    order: list[Any] = (
        [due_on.asc().nulls_last(), items.c.id]
        if wanted.view == "waiting"
        else [items.c.updated_at.desc(), items.c.id.desc()]
    )
    columns = (
        items.c.id, items.c.reference, items.c.title, items.c.definition, items.c.definition_version,
        items.c.state, items.c.version, due_on,
    )  # fmt: skip
    page = (
        select(*columns).where(where).order_by(*order).limit(bindparam("page_limit")).offset(bindparam("page_offset"))
    )
    return count, page


def _matching(wanted: InboxQuery) -> ColumnElement[bool]:
    """A reference given whole or by its start (any case), or every word somewhere in the title."""
    reference = items.c.reference.startswith(wanted.search.strip().upper(), autoescape=True)
    return or_(reference, and_(*(items.c.title.icontains(word, autoescape=True) for word in wanted.words())))


def holdings_to_see(person: Person, definitions: Iterable[Definition]) -> list[Holding]:
    """Where ``person`` may see an item (:func:`workflow.web.access.may_see` without the read-all roles):
    any role of the definition, in any state, held on the item."""
    return [
        holding
        for definition in definitions
        for holding in holdings(person, definition, {s: definition_roles(definition) for s in definition.states})
    ]


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


def people_holding(conn: Connection, roles: Iterable[str]) -> list[tuple[Person, str | None]]:
    """The active people holding one of ``roles``, each with all their roles and display name, by name."""
    wanted = sorted(set(roles))
    if not wanted:
        return []
    holding = select(user_roles.c.user_id).where(user_roles.c.role.in_(wanted))
    rows = conn.execute(
        select(users.c.name, users.c.display_name, user_roles.c.role)
        .select_from(users.join(user_roles, user_roles.c.user_id == users.c.id))
        .where(users.c.active.is_(True), users.c.id.in_(holding))
        .order_by(users.c.name)
    ).all()
    roles_of: dict[str, set[str]] = {}
    shown: dict[str, str | None] = {}
    for row in rows:
        roles_of.setdefault(row.name, set()).add(row.role)
        shown[row.name] = row.display_name
    return [(Person(name, frozenset(found)), shown[name]) for name, found in roles_of.items()]

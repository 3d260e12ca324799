"""The audit log as auditors ask for it: filters, keyset pages, and the CSV and JSON-lines exports.

One home for the query behind ``gongkai audit log`` and the web audit page. Rows are read a page at
a time by ``seq`` (keyset, never OFFSET) with one short read per page, up to the chain's head as it
was when the export began: exporting a million rows holds one page in memory, and rows appended
meanwhile are left for the next export rather than half-included.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Engine, Row, Select, Table, exists, func, or_, select

from workflow.core.errors import InvalidInput
from workflow.core.roles import ROLES
from workflow.core.spreadsheet import as_text_cell
from workflow.store.audit_log import entry_json
from workflow.store.db import reading
from workflow.store.models import AuditEntry, AuditHead, Item
from workflow.store.registry import DefinitionRegistry

audit_log = cast(Table, AuditEntry.__table__)
audit_head = cast(Table, AuditHead.__table__)
items = cast(Table, Item.__table__)

PAGE_SIZE = 5_000
"""Rows per page of an export: one page is what an export holds in memory."""

FORMATS = ("table", "csv", "jsonl")

CSV_COLUMNS = (
    "seq", "reference", "item_id", "definition", "definition_version", "trigger", "from_state", "to_state",
    "actor", "actor_display_name", "on_behalf_of", "on_behalf_of_display_name", "role", "at", "comment",
    "fields", "details", "content_hash", "prev_hash", "hash", "person", "person_display_name",
)  # fmt: skip
"""The columns of ``audit_log`` (their names are the contract), the item's reference after ``seq``, and
after each login name the display name it has now (a lookup, not part of the chain)."""

BOM = "\ufeff"
"""Written first in a CSV so that spreadsheet programs read the Chinese text as UTF-8."""


@dataclass(frozen=True)
class AuditQuery:
    """What to list; every given filter must hold. Dates are office days, both ends included."""

    item_id: int | None = None
    person: str | None = None
    """Rows by this person (as actor or as the one stood in for) and people changes about them."""
    role: str | None = None
    trigger: str | None = None
    state: str | None = None
    """Rows that left or entered this state."""
    since: dt.date | None = None
    until: dt.date | None = None


@dataclass(frozen=True)
class FilterProblem:
    """A filter value that cannot be used: the option, and a keyed message about it."""

    option: str
    key: str
    params: Mapping[str, Any]

    def error(self, option_label: str | None = None) -> InvalidInput:
        return InvalidInput(self.key, option=option_label or self.option, **self.params)


FILTER_OPTIONS = ("item", "person", "role", "trigger", "state", "from", "to")


def parse_filters(
    conn: Connection, raw: Mapping[str, str | None], known: Iterable[str] = ()
) -> tuple[AuditQuery, list[FilterProblem]]:
    """The query from text as typed (keys of :data:`FILTER_OPTIONS`), with a problem per unusable value.

    ``known`` are the triggers and states of the definitions: a value that is neither known there (nor a
    role, for ``role``) nor found in the log is refused, so a typo is named rather than answered with an
    empty list. Unknown items and people are refused too.
    """
    problems: list[FilterProblem] = []
    values = {name: (raw.get(name) or "").strip() or None for name in FILTER_OPTIONS}
    item_id = None
    if values["item"] is not None:
        item_id = _item_id(conn, values["item"])
        if item_id is None:
            problems.append(FilterProblem("item", "audit.filter_unknown_item", {"value": values["item"]}))
    person = values["person"]
    if person is not None and not _person_known(conn, person):
        problems.append(FilterProblem("person", "audit.filter_unknown_person", {"value": person}))
    known_names = set(known)
    role = values["role"]
    if role is not None and role not in ROLES and not _in_log(conn, audit_log.c.role == role):
        problems.append(
            FilterProblem("role", "audit.filter_unknown_role", {"value": role, "allowed": ", ".join(ROLES)})
        )
    trigger = values["trigger"]
    if trigger is not None and trigger not in known_names and not _in_log(conn, audit_log.c.trigger == trigger):
        problems.append(FilterProblem("trigger", "audit.filter_unknown_value", {"value": trigger}))
    state = values["state"]
    if state is not None and state not in known_names and not _in_log(conn, _touches_state(state)):
        problems.append(FilterProblem("state", "audit.filter_unknown_value", {"value": state}))
    since, until = _day(values["from"], "from", problems), _day(values["to"], "to", problems)
    if since and until and since > until:
        problems.append(FilterProblem("to", "audit.filter_dates_reversed", {"since": since, "until": until}))
    query = AuditQuery(item_id, person, role, trigger, state, since, until)
    return query, problems


def declared_names(registry: DefinitionRegistry) -> set[str]:
    """The states and triggers the current definitions declare: what ``known`` of :func:`parse_filters` takes."""
    known: set[str] = set()
    for name in registry.names():
        definition = registry.current(name)
        known.update(definition.states)
        known.update(t.trigger for t in definition.transitions)
    return known


def _day(text: str | None, option: str, problems: list[FilterProblem]) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        problems.append(FilterProblem(option, "audit.filter_bad_date", {"value": text}))
        return None


def _item_id(conn: Connection, text: str) -> int | None:
    column = items.c.id if text.isdigit() else items.c.reference
    value: object = int(text) if text.isdigit() else text.upper()
    found = conn.execute(select(items.c.id).where(column == value)).scalar_one_or_none()
    if found is None and text.isdigit():  # an item that is gone from ``items`` but is still in the log
        found = conn.execute(
            select(audit_log.c.item_id).where(audit_log.c.item_id == int(text)).limit(1)
        ).scalar_one_or_none()
    return None if found is None else int(found)


def _person_known(conn: Connection, name: str) -> bool:
    return _in_log(conn, or_(audit_log.c.actor == name, audit_log.c.on_behalf_of == name, audit_log.c.person == name))


def _in_log(conn: Connection, condition: Any) -> bool:
    return bool(conn.execute(select(exists().where(condition))).scalar())


def _touches_state(state: str) -> Any:
    return or_(audit_log.c.from_state == state, audit_log.c.to_state == state)


def _filtered(query: Select[Any], wanted: AuditQuery, zone: dt.tzinfo) -> Select[Any]:
    if wanted.item_id is not None:
        query = query.where(audit_log.c.item_id == wanted.item_id)
    if wanted.person is not None:
        name = wanted.person
        query = query.where(
            or_(audit_log.c.actor == name, audit_log.c.on_behalf_of == name, audit_log.c.person == name)
        )
    if wanted.role is not None:
        query = query.where(audit_log.c.role == wanted.role)
    if wanted.trigger is not None:
        query = query.where(audit_log.c.trigger == wanted.trigger)
    if wanted.state is not None:
        query = query.where(_touches_state(wanted.state))
    if wanted.since is not None:
        query = query.where(audit_log.c.at >= dt.datetime.combine(wanted.since, dt.time(), zone))
    if wanted.until is not None:
        query = query.where(audit_log.c.at < dt.datetime.combine(wanted.until + dt.timedelta(days=1), dt.time(), zone))
    return query


def page(
    conn: Connection,
    wanted: AuditQuery,
    zone: dt.tzinfo,
    *,
    after: int | None = None,
    limit: int = PAGE_SIZE,
    newest_first: bool = False,
    upto: int | None = None,
) -> list[Row[Any]]:
    """One page of matching rows with their item's reference, after ``after`` in the order asked."""
    query = _filtered(
        select(audit_log, items.c.reference).outerjoin(items, items.c.id == audit_log.c.item_id), wanted, zone
    )
    if upto is not None:
        query = query.where(audit_log.c.seq <= upto)
    if after is not None:
        query = query.where(audit_log.c.seq < after if newest_first else audit_log.c.seq > after)
    order = audit_log.c.seq.desc() if newest_first else audit_log.c.seq
    return list(conn.execute(query.order_by(order).limit(limit)))


def stream(
    db: Engine, wanted: AuditQuery, zone: dt.tzinfo, *, page_size: int = PAGE_SIZE, newest_first: bool = False
) -> Iterator[Row[Any]]:
    """Every matching row, a page per short read, up to the head the chain had when this began."""
    with reading(db) as conn:
        upto = conn.execute(select(func.max(audit_log.c.seq))).scalar()
    if upto is None:
        return
    after: int | None = None
    while True:
        with reading(db) as conn:
            rows = page(conn, wanted, zone, after=after, limit=page_size, newest_first=newest_first, upto=upto)
        yield from rows
        if len(rows) < page_size:
            return
        after = rows[-1].seq


def csv_lines(rows: Iterable[Row[Any]], zone: dt.tzinfo, display_name: Callable[[str], str | None]) -> Iterator[str]:
    """The CSV export, a line at a time: BOM and header first, then one line per row, times in office time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def take() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    def shown(name: str | None) -> str:
        return (display_name(name) or "") if name else ""

    writer.writerow(CSV_COLUMNS)
    yield BOM + take()
    for row in rows:
        writer.writerow(map(as_text_cell,
            [row.seq, row.reference or "", _text(row.item_id), row.definition or "", row.definition_version or "",
             row.trigger, row.from_state or "", row.to_state or "", row.actor, shown(row.actor),
             row.on_behalf_of or "", shown(row.on_behalf_of), row.role, row.at.astimezone(zone).isoformat(),
             row.comment or "", row.fields, row.details, row.content_hash or "", row.prev_hash, row.hash,
             row.person or "", shown(row.person)]
        ))  # fmt: skip
        yield take()


def _text(value: object) -> str:
    return "" if value is None else str(value)


def jsonl_lines(rows: Iterable[Row[Any]]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(entry_json(row), ensure_ascii=False) + "\n"

"""The one orchestrator: create, fire, edit, assign. It owns the transaction.

Each call opens one database transaction, asks the pure core for a decision,
and writes the item, its audit row and (later) reminders and outbox rows
together; nothing is written when a rule refuses.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Row, Table, insert, select, update

from workflow.clock import Clock, utc_now
from workflow.core import chain as audit
from workflow.core.calendar import WorkingCalendar
from workflow.core.deadlines import (
    OPEN,
    ClockState,
    DeadlineRecord,
    Event,
    ItemDeadline,
    applies_in,
    evaluate,
    item_deadlines,
    step_records,
)
from workflow.core.decisions import (
    Decision,
    ItemSnapshot,
    Person,
    acting_principal,
    available_triggers,
    check_given_fields,
    decide,
    field_moment,
)
from workflow.core.definition import Definition
from workflow.core.errors import (
    ConfigurationError,
    Conflict,
    InvalidInput,
    NotFound,
    NotPermitted,
    TransitionNotAllowed,
)
from workflow.store.db import reading
from workflow.store.people import SYSTEM_ACTOR, load_person

if TYPE_CHECKING:
    from notifications.notices import Notifier
from workflow.store.hot import HotPath, ItemRow
from workflow.store.models import AuditEntry, AuditHead, BodySnapshot, Deadline, Item, ItemRevision
from workflow.store.queries import due_on_now, earliest_due
from workflow.store.registry import DefinitionRegistry
from workflow.store.sql import insert_if_absent, next_counter

items = cast(Table, Item.__table__)
revisions = cast(Table, ItemRevision.__table__)
audit_log = cast(Table, AuditEntry.__table__)
audit_head = cast(Table, AuditHead.__table__)
deadlines_table = cast(Table, Deadline.__table__)
body_snapshots = cast(Table, BodySnapshot.__table__)

log = logging.getLogger("gongkai.engine")

ASSIGNING_ROLES = ("admin", "leader", "office")
RACE_RETRIES = 3


@dataclass(frozen=True)
class ItemView:
    id: int
    reference: str
    definition: str
    definition_version: str
    state: str
    title: str
    category: str | None
    body: str
    fields: dict[str, Any]
    holders: dict[str, list[str]]
    revision: int
    version: int
    content_hash: str
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    available_triggers: list[str] = field(default_factory=list)
    due_date: dt.date | None = None
    """The due date that applies now (the earliest open one), where the caller asked for it."""


@dataclass(frozen=True)
class DeadlineChange:
    reference: str
    kind: str
    old_due: dt.date | None
    new_due: dt.date | None
    old_calendar: str


@dataclass(frozen=True)
class FireResult:
    row: ItemRow
    """The item as this fire left it."""
    definition: Definition
    trigger: str
    from_state: str
    to_state: str
    audit_seq: int
    details: dict[str, Any]

    @property
    def item(self) -> ItemView:
        """Built on demand: most callers need only the reference and the states."""
        return item_view(self.row, self.definition, None)


class WorkflowEngine:
    def __init__(
        self,
        db: Engine,
        registry: DefinitionRegistry,
        audit_key: bytes | None,
        *,
        timezone: str = "Asia/Shanghai",
        calendar: WorkingCalendar | None = None,
        clock: Clock = utc_now,
        notifier: Notifier | None = None,
    ) -> None:
        self.db = db
        self.registry = registry
        self.audit_key = audit_key
        self.zone = ZoneInfo(timezone)
        self.calendar = calendar or WorkingCalendar()
        self.clock = clock
        self._hot: HotPath | None = None
        self.notifier = notifier
        self.calendar_version = self.calendar.data_version()
        self._recomputed_for: str | None = None
        """The calendar version every open deadline was last brought to (a full scan, once per process)."""

    # ---- reading -------------------------------------------------------------------------

    def show(self, item_ref: str | int, viewer: str | None = None) -> ItemView:
        with reading(self.db) as conn:
            row = self._item_row(conn, item_ref)
            definition = self.registry.pinned(conn, row.definition, row.definition_version)
            person = self._viewer(conn, viewer)
            return self._view(row, definition, person)

    def list_items(
        self,
        state: str | None = None,
        definition: str | None = None,
        viewer: str | None = None,
        *,
        overdue: bool = False,
        due_before: dt.date | None = None,
    ) -> list[ItemView]:
        """Items, each with the due date that applies now; by due date when filtering on it."""
        due = due_on_now()
        query = select(items, due.label("due_date"))
        if state:
            query = query.where(items.c.state == state)
        if definition:
            query = query.where(items.c.definition == definition)
        if overdue:
            query = query.where(due < self.today())
        if due_before is not None:
            query = query.where(due < due_before)
        ordered = overdue or due_before is not None
        query = query.order_by(due, items.c.id) if ordered else query.order_by(items.c.id)
        with reading(self.db) as conn:
            person = self._viewer(conn, viewer)
            return [
                dataclasses.replace(
                    self._view(row, self.registry.pinned(conn, row.definition, row.definition_version), person),
                    due_date=row.due_date,
                )
                for row in conn.execute(query)
            ]

    def deadlines(self, item_ref: str | int) -> tuple[ItemView, list[ItemDeadline]]:
        """The item and its deadlines as of today, computed from its audit history."""
        with reading(self.db) as conn:
            row = self._item_row(conn, item_ref)
            definition = self.registry.pinned(conn, row.definition, row.definition_version)
            history = conn.execute(
                select(audit_log.c.at, audit_log.c.trigger, audit_log.c.from_state, audit_log.c.to_state)
                .where(audit_log.c.item_id == row.id)
                .order_by(audit_log.c.seq)
            ).all()
        events = [Event(h.at.astimezone(self.zone).date(), h.trigger, h.from_state, h.to_state) for h in history]
        found = item_deadlines(definition, row.state, events, row.fields, self.calendar, self.today())
        return self._view(row, definition, None), found

    def recompute_deadlines(self, batch: int = 500) -> list[DeadlineChange]:
        """Open deadlines computed with other calendar data are computed again; the changes returned.

        Run when ``chinesecalendar`` is upgraded or ``calendar.yaml`` changes (the worker does it
        on every pass): a due date is never left resting on data that has since been corrected.
        """
        changes: list[DeadlineChange] = []
        if self._recomputed_for == self.calendar_version:
            return changes  # this process already brought every open deadline to this calendar
        today = self.today()
        while True:
            with self._transaction() as conn:
                rows = conn.execute(
                    select(
                        deadlines_table,
                        items.c.definition,
                        items.c.definition_version,
                        items.c.state,
                        items.c.reference,
                    )
                    .join(items, items.c.id == deadlines_table.c.item_id)
                    .where(
                        deadlines_table.c.status.in_(OPEN),
                        deadlines_table.c.calendar_version != self.calendar_version,
                    )
                    .order_by(deadlines_table.c.id)
                    .limit(batch)
                ).all()
                if not rows:
                    self._recomputed_for = self.calendar_version
                    return changes
                now = self.clock()
                for row in rows:
                    definition = self.registry.pinned(conn, row.definition, row.definition_version)
                    spec = next(d for d in definition.deadlines if d.policy.name == row.kind)
                    clock = ClockState.from_json(row.clock)
                    status = evaluate(spec.policy, clock, self.calendar, today)
                    applies = applies_in(definition, spec.policy, status.status, row.state)
                    record = DeadlineRecord(row.kind, clock, status, applies)
                    self.hot(conn).update_deadline(conn, self._deadline_values(row.item_id, record, now))
                    changes.append(
                        DeadlineChange(row.reference, row.kind, row.due_on, status.due, row.calendar_version)
                    )
                    if row.due_on != status.due:
                        log.warning(
                            "deadline %s %s moved from %s to %s (calendar %s -> %s)", row.reference, row.kind,
                            row.due_on, status.due, row.calendar_version, self.calendar_version,
                        )  # fmt: skip

    def _viewer(self, conn: Connection, viewer: str | None) -> Person | None:
        if viewer is None:
            return None
        return load_person(conn, viewer, self.today(), with_substitutions=True)

    def today(self) -> dt.date:
        return self.clock().astimezone(self.zone).date()

    # ---- creating ------------------------------------------------------------------------

    def create(
        self,
        definition_name: str,
        *,
        title: str,
        actor: str,
        category: str | None = None,
        body: str = "",
        fields: Mapping[str, Any] | None = None,
    ) -> ItemView:
        self._audit_key()
        definition = self.registry.current(definition_name)
        title = title.strip()
        if not title:
            raise InvalidInput("input.empty_title")
        category_code = self._category(definition, category)
        given = check_given_fields(definition, fields or {})
        missing = [name for name, spec in definition.fields.items() if spec.required and name not in given]
        if missing:
            raise TransitionNotAllowed("refuse.fields_missing", fields=", ".join(missing))
        now = self.clock()
        with self._transaction() as conn:
            person = load_person(conn, actor, self.today(), with_substitutions=True)
            principal = acting_principal(person, definition.creator_role, {})
            if principal is None:
                raise NotPermitted(
                    "refuse.create_role", person=actor, role=definition.creator_role, definition=definition.name
                )
            self.registry.register(conn, definition, now)
            year = now.astimezone(self.zone).year
            number = next_counter(conn, definition.reference_prefix, year)
            reference = f"{definition.reference_prefix}-{year}-{number:04d}"
            digest = audit.content_hash(title, body, category_code, given)
            holders = {definition.creator_role: [principal]} if definition.assign_creator else {}
            item_id = conn.execute(
                insert(items)
                .values(
                    reference=reference,
                    definition=definition.name,
                    definition_version=definition.version,
                    state=definition.initial,
                    version=1,
                    revision=1,
                    title=title,
                    category=category_code,
                    body=body,
                    fields=given,
                    holders=holders,
                    acted={},
                    content_hash=digest,
                    created_by=actor,
                    created_at=now,
                    updated_at=now,
                )
                .returning(items.c.id)
            ).scalar_one()
            conn.execute(
                insert(revisions).values(
                    item_id=item_id, revision=1, title=title, body=body, content_hash=digest, updated_at=now
                )
            )
            self._append_audit(
                conn,
                item_id=item_id,
                definition=definition,
                trigger="create",
                from_state=None,
                to_state=definition.initial,
                actor=actor,
                principal=principal,
                role=definition.creator_role,
                at=now,
                comment=None,
                changed_fields=given,
                details={"reference": reference, "title": title},
                content_hash=digest,
            )
            today = now.astimezone(self.zone).date()
            event = Event(today, "create", None, definition.initial)
            due = self._step_deadlines(
                conn, item_id, definition, definition.initial, event, given, now, today, new=True
            )
            row = self._item_row(conn, item_id)
            if self.notifier is not None:
                self.notifier.new_task(conn, definition, row, due, actor, now, today)
            view = self._view(row, definition, person)
        self.registry.mark_registered(definition)
        return view

    def _category(self, definition: Definition, category: str | None) -> str | None:
        if category is None or not category.strip():
            if definition.requires_category:
                raise InvalidInput("input.category_required", definition=definition.name, allowed=self._category_list())
            return None
        found = self.registry.catalog().find(category)
        if found is None:
            raise InvalidInput("input.unknown_category", category=category, allowed=self._category_list())
        return found.code

    def _category_list(self) -> str:
        return ", ".join(f"{c.code} {c.label.zh}" for c in self.registry.catalog().categories)

    # ---- firing --------------------------------------------------------------------------

    def fire(
        self,
        item_ref: str | int,
        trigger: str,
        actor: str,
        *,
        comment: str | None = None,
        fields: Mapping[str, Any] | None = None,
        expected_version: int | None = None,
        within: Callable[[Connection], None] | None = None,
    ) -> FireResult:
        """Fire ``trigger`` on an item as ``actor``; refusals raise and write nothing.

        With ``expected_version`` a fire is for that exact version (a link, a page): if the
        item moved meanwhile it is a Conflict. Without it the fire means "on the item as it
        is now", so a lost race is decided again on the new state, a few times at most.
        ``within`` runs inside the fire's transaction (a web link marks itself used there):
        if it raises, nothing is written.
        """
        self._audit_key()
        comment = comment.strip() if comment and comment.strip() else None
        attempts = 1 if expected_version is not None else RACE_RETRIES
        for attempt in range(1, attempts + 1):
            try:
                return self._fire_once(item_ref, trigger, actor, comment, fields, expected_version, within=within)
            except Conflict:
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    def fire_timed(
        self, item_ref: str | int, trigger: str, *, expected_version: int, as_of: dt.datetime | None = None
    ) -> FireResult:
        """The worker fires a timed transition (``fires_at``) once its moment has come.

        The audit row names the actor ``system`` in the transition's role and the moment it was
        scheduled for. A fire for a version the item has left is a Conflict: someone acted first.
        """
        self._audit_key()
        as_of = as_of or self.clock()
        return self._fire_once(item_ref, trigger, SYSTEM_ACTOR, None, None, expected_version, timed_as_of=as_of)

    def _decide_timed(self, snapshot: ItemSnapshot, trigger: str, today: dt.date, now: dt.datetime) -> Decision:
        transition = snapshot.definition.transitions_for(trigger, snapshot.state)
        system = Person(SYSTEM_ACTOR, frozenset({transition.role} if transition else ()))
        if transition is not None:
            if transition.fires_at is None:
                raise NotPermitted("refuse.not_timed", trigger=trigger)
            moment = field_moment(snapshot.fields.get(transition.fires_at), self.zone)
            if moment is None:
                raise TransitionNotAllowed("refuse.fields_missing", fields=transition.fires_at)
            if moment > now:
                raise TransitionNotAllowed("refuse.not_yet", trigger=trigger, at=moment.isoformat(timespec="minutes"))
            # The role's holders on the item are people; the worker acts in the role itself.
            holders = {role: names for role, names in snapshot.holders.items() if role != transition.role}
            snapshot = dataclasses.replace(snapshot, holders=holders)
        decision = decide(snapshot, trigger, system, today=today, calendar=self.calendar)
        scheduled = snapshot.fields.get(transition.fires_at) if transition and transition.fires_at else None
        return dataclasses.replace(decision, details={**decision.details, "scheduled_for": scheduled})

    def _fire_once(
        self,
        item_ref: str | int,
        trigger: str,
        actor: str,
        comment: str | None,
        fields: Mapping[str, Any] | None,
        expected_version: int | None,
        timed_as_of: dt.datetime | None = None,
        within: Callable[[Connection], None] | None = None,
    ) -> FireResult:
        """One attempt; ``timed_as_of`` makes it the worker's fire of a timed transition as of then."""
        with self._transaction() as conn:
            row = self._item_row(conn, item_ref)
            if expected_version is not None and row.version != expected_version:
                raise self._conflict(conn, row)
            definition = self.registry.pinned(conn, row.definition, row.definition_version)
            snapshot = ItemSnapshot(definition, row.state, row.fields, row.holders, row.acted)
            today = self.today()
            now = self.clock()
            if timed_as_of is not None:
                decision = self._decide_timed(snapshot, trigger, today, timed_as_of)
            else:
                person = self._acting_person(conn, actor)
                decision = self._decide(conn, row.id, snapshot, trigger, person, comment, fields, today)
            revision = row.revision + (1 if decision.transition.starts_revision else 0)
            digest = (
                audit.content_hash(row.title, row.body, row.category, decision.fields)
                if decision.changed_fields
                else row.content_hash
            )
            changed = self.hot(conn).update_item(
                conn, row, state=decision.to_state, revision=revision, fields=decision.fields,
                acted=decision.acted, content_hash=digest, updated_at=now,
            )  # fmt: skip
            if changed != 1:
                raise self._conflict(conn, row)
            if revision != row.revision:
                conn.execute(
                    insert(revisions).values(
                        item_id=row.id,
                        revision=revision,
                        title=row.title,
                        body=row.body,
                        content_hash=digest,
                        updated_at=now,
                    )
                )
            seq = self._append_audit(
                conn,
                item_id=row.id,
                definition=definition,
                trigger=trigger,
                from_state=row.state,
                to_state=decision.to_state,
                actor=actor,
                principal=decision.principal,
                role=decision.role,
                at=now,
                comment=comment,
                changed_fields=decision.changed_fields,
                details=decision.details,
                content_hash=digest,
            )
            event = Event(today, trigger, row.state, decision.to_state)
            due = self._step_deadlines(conn, row.id, definition, decision.to_state, event, decision.fields, now, today)
            moved = dataclasses.replace(
                row, state=decision.to_state, version=row.version + 1, revision=revision,
                fields=decision.fields, acted=decision.acted, content_hash=digest, updated_at=now,
            )  # fmt: skip
            if self.notifier is not None and decision.to_state != row.state:
                # The people who must act now are told, in the same transaction as the move.
                self.notifier.new_task(conn, definition, moved, due, actor, now, today)
            if within is not None:
                within(conn)
        return FireResult(moved, definition, trigger, decision.from_state, decision.to_state, seq, decision.details)

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One transaction on a pooled connection (SQLite: BEGIN IMMEDIATE, see store/db.py)."""
        with self.db.begin() as conn:
            yield conn

    def _step_deadlines(
        self,
        conn: Connection,
        item_id: int,
        definition: Definition,
        state: str,
        event: Event,
        fields: Mapping[str, Any],
        now: dt.datetime,
        today: dt.date,
        *,
        new: bool = False,
    ) -> dt.date | None:
        """Move the item's deadline clocks by one event, write the ones that changed, return the due date now."""
        if not definition.deadlines:
            return None
        hot = self.hot(conn)
        stored = {} if new else hot.deadlines(conn, item_id)
        clocks = {
            kind: (ClockState.from_json(clock), status, applies) for kind, (clock, status, applies, _) in stored.items()
        }
        records = step_records(definition, state, clocks, event, fields, self.calendar, today)
        due_now = {kind: due for kind, (_, _, applies, due) in stored.items() if applies and due is not None}
        fresh = []
        for record in records:
            values = self._deadline_values(item_id, record, now)
            due_now.pop(record.kind, None)
            if record.applies_now and record.status.due is not None:
                due_now[record.kind] = record.status.due
            if record.kind in stored:
                hot.update_deadline(conn, values)
            else:
                fresh.append(values)
        if fresh:
            conn.execute(insert(deadlines_table), fresh)
        return min(due_now.values()) if due_now else None

    def _deadline_values(self, item_id: int, record: DeadlineRecord, now: dt.datetime) -> dict[str, Any]:
        status = record.status
        due_at = None
        if status.due is not None:
            # A deadline falls due at the end of its day, in the office's time zone.
            end = dt.datetime.combine(status.due + dt.timedelta(days=1), dt.time(), tzinfo=self.zone)
            due_at = end.astimezone(dt.UTC)
        return {
            "item_id": item_id,
            "kind": record.kind,
            "clock": record.clock.to_json(),
            "status": status.status,
            "applies_now": record.applies_now,
            "due_on": status.due,
            "due_at": due_at,
            "met_on": status.met_on,
            "paused_days": status.paused_days,
            "extension_days": status.extension_days,
            "calendar_version": self.calendar_version,
            "computed_at": now,
        }

    def _audit_key(self) -> bytes:
        """Writing needs the key; reading does not (the shell may open the engine without one)."""
        if self.audit_key is None:
            raise ConfigurationError("config.no_audit_key")
        return self.audit_key

    def hot(self, conn: Connection) -> HotPath:
        if self._hot is None:
            self._hot = HotPath(conn.dialect.name)
        return self._hot

    def _acting_person(self, conn: Connection, name: str) -> Person:
        """The person by their own roles (one query); substitutions are loaded only when needed."""
        found = self.hot(conn).user_roles(conn, name)
        if found is None or not found[1]:
            raise NotFound("notfound.user", name=name)
        return Person(name, frozenset(found[2]))

    def _decide(
        self,
        conn: Connection,
        item_id: int,
        snapshot: ItemSnapshot,
        trigger: str,
        person: Person,
        comment: str | None,
        fields: Mapping[str, Any] | None,
        today: dt.date,
    ) -> Decision:
        try:
            try:
                return decide(
                    snapshot, trigger, person, comment=comment, given_fields=fields, today=today, calendar=self.calendar
                )
            except NotPermitted as refusal:
                if refusal.key != "refuse.role":
                    raise
                # Not in their own right: perhaps as a substitute (a second query, only then).
                person = load_person(conn, person.name, today, with_substitutions=True)
                if not person.stands_in_for:
                    raise
                return decide(
                    snapshot, trigger, person, comment=comment, given_fields=fields, today=today, calendar=self.calendar
                )
        except (NotPermitted, TransitionNotAllowed) as refusal:
            if refusal.key == "refuse.wrong_state":
                # Often the item just moved on: say who acted last.
                refusal.params["last"] = self._latest_action(conn, item_id)
            full = load_person(conn, person.name, today, with_substitutions=True)
            refusal.params["available"] = available_triggers(snapshot, full)
            raise

    def _latest_action(self, conn: Connection, item_id: int) -> dict[str, str] | None:
        """Who last acted on the item, for messages that say it moved on (time as office text)."""
        latest = self.latest_action(conn, item_id)
        if latest is None:
            return None
        at = latest["at_time"].astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S")
        return {"actor": latest["actor"], "trigger": latest["trigger"], "at": at}

    def latest_action(self, conn: Connection, item_id: int) -> dict[str, Any] | None:
        """Who last acted on the item and when (``at_time``, aware), for pages that say it moved on."""
        latest = conn.execute(
            select(audit_log.c.actor, audit_log.c.trigger, audit_log.c.at)
            .where(audit_log.c.item_id == item_id)
            .order_by(audit_log.c.seq.desc())
            .limit(1)
        ).first()
        if latest is None:
            return None
        return {"actor": latest.actor, "trigger": latest.trigger, "at_time": latest.at}

    def current_due(self, conn: Connection, item_id: int) -> dt.date | None:
        """The due date that applies now (the earliest open one), as stored."""
        due: dt.date | None = conn.execute(earliest_due(item_id)).scalar()
        return due

    def _conflict(self, conn: Connection, row: ItemRow) -> Conflict:
        return Conflict("conflict.moved", reference=row.reference, last=self._latest_action(conn, row.id))

    # ---- editing and assigning -----------------------------------------------------------

    def edit(self, item_ref: str | int, actor: str, *, body: str, title: str | None = None) -> ItemView:
        self._audit_key()
        with self._transaction() as conn:
            row = self._item_row(conn, item_ref)
            definition = self.registry.pinned(conn, row.definition, row.definition_version)
            state = definition.states[row.state]
            if not state.editable:
                editable = [name for name, spec in definition.states.items() if spec.editable]
                raise TransitionNotAllowed("refuse.not_editable", state=row.state, editable=", ".join(editable))
            person = load_person(conn, actor, self.today(), with_substitutions=True)
            principal = next(
                (p for role in state.roles if (p := acting_principal(person, role, row.holders)) is not None), None
            )
            if principal is None:
                raise NotPermitted("refuse.edit_role", person=actor, roles=", ".join(state.roles))
            new_title = title.strip() if title and title.strip() else row.title
            digest = audit.content_hash(new_title, body, row.category, row.fields)
            now = self.clock()
            changed = conn.execute(
                update(items)
                .where(items.c.id == row.id, items.c.version == row.version)
                .values(title=new_title, body=body, content_hash=digest, version=row.version + 1, updated_at=now)
            ).rowcount
            if changed != 1:
                raise self._conflict(conn, row)
            # Keep the body this edit replaces: a reviewer who saw it is shown what changed since.
            insert_if_absent(
                conn, body_snapshots,
                {"item_id": row.id, "content_hash": row.content_hash, "title": row.title, "body": row.body,
                 "saved_at": now},
                ["item_id", "content_hash"],
            )  # fmt: skip
            conn.execute(
                update(revisions)
                .where(revisions.c.item_id == row.id, revisions.c.revision == row.revision)
                .values(title=new_title, body=body, content_hash=digest, updated_at=now)
            )
            details: dict[str, Any] = {"previous_content_hash": row.content_hash}
            if new_title != row.title:
                details["title"] = new_title
            self._append_audit(
                conn,
                item_id=row.id,
                definition=definition,
                trigger="edit",
                from_state=row.state,
                to_state=row.state,
                actor=actor,
                principal=principal,
                role=state.roles[0],
                at=now,
                comment=None,
                changed_fields={},
                details=details,
                content_hash=digest,
            )
            return self._view(self._item_row(conn, row.id), definition, person)

    def assign(self, item_ref: str | int, role: str, assignee: str, actor: str) -> ItemView:
        """Hand a role on one item to a person who holds that role; logged in the chain."""
        self._audit_key()
        with self._transaction() as conn:
            row = self._item_row(conn, item_ref)
            definition = self.registry.pinned(conn, row.definition, row.definition_version)
            if definition.states[row.state].terminal:
                raise TransitionNotAllowed("refuse.assign_terminal", state=row.state)
            person = load_person(conn, actor, self.today(), with_substitutions=True)
            acting_role = next((r for r in ASSIGNING_ROLES if r in person.roles), None)
            if acting_role is None:
                raise NotPermitted("refuse.assign_role", person=actor, roles=", ".join(ASSIGNING_ROLES))
            target = load_person(conn, assignee, self.today(), with_substitutions=False)
            if role not in target.roles:
                raise InvalidInput("input.assignee_lacks_role", person=assignee, role=role)
            holders = {key: list(names) for key, names in row.holders.items()}
            previous = holders.get(role, [])
            holders[role] = [assignee]
            now = self.clock()
            changed = conn.execute(
                update(items)
                .where(items.c.id == row.id, items.c.version == row.version)
                .values(holders=holders, version=row.version + 1, updated_at=now)
            ).rowcount
            if changed != 1:
                raise self._conflict(conn, row)
            self._append_audit(
                conn,
                item_id=row.id,
                definition=definition,
                trigger="assign",
                from_state=row.state,
                to_state=row.state,
                actor=actor,
                principal=actor,
                role=acting_role,
                at=now,
                comment=None,
                changed_fields={},
                details={"role": role, "to": assignee, "from": previous},
                content_hash=row.content_hash,
            )
            return self._view(self._item_row(conn, row.id), definition, person)

    # ---- shared pieces -------------------------------------------------------------------

    def item_row(self, conn: Connection, item_ref: str | int) -> ItemRow:
        """The stored item, read in the caller's transaction."""
        return self._item_row(conn, item_ref)

    def _item_row(self, conn: Connection, item_ref: str | int) -> ItemRow:
        text = str(item_ref).strip()
        key: int | str = int(text) if text.isdigit() else text.upper()
        row = self.hot(conn).item(conn, key)
        if row is None:
            raise NotFound("notfound.item", item=text)
        return row

    def _view(self, row: ItemRow | Row[Any], definition: Definition, viewer: Person | None) -> ItemView:
        return item_view(row, definition, viewer)

    def _append_audit(
        self,
        conn: Connection,
        *,
        item_id: int,
        definition: Definition,
        trigger: str,
        from_state: str | None,
        to_state: str,
        actor: str,
        principal: str,
        role: str,
        at: dt.datetime,
        comment: str | None,
        changed_fields: Mapping[str, Any],
        details: Mapping[str, Any],
        content_hash: str,
    ) -> int:
        """Append one chained row; the head row is locked so concurrent writers never fork the chain."""
        hot = self.hot(conn)
        head_seq, head_hash = hot.chain_head(conn)
        entry: dict[str, Any] = {
            "seq": head_seq + 1,
            "item_id": item_id,
            "definition": definition.name,
            "definition_version": definition.version,
            "trigger": trigger,
            "from_state": from_state,
            "to_state": to_state,
            "actor": actor,
            "on_behalf_of": principal if principal != actor else None,
            "role": role,
            "at": at,
            "comment": comment,
            "fields": audit.canonical_json(dict(changed_fields)) if changed_fields else "{}",
            "details": audit.canonical_json(dict(details)) if details else "{}",
            "content_hash": content_hash,
            "prev_hash": head_hash,
        }
        entry["hash"] = audit.row_hash(self._audit_key(), entry)
        hot.append_audit(conn, entry)
        return int(entry["seq"])


def item_view(row: ItemRow | Row[Any], definition: Definition, viewer: Person | None) -> ItemView:
    """What a reader sees; the triggers are those ``viewer`` may fire, or all from the state."""
    snapshot = ItemSnapshot(definition, row.state, row.fields, row.holders, row.acted)
    triggers = definition.triggers_from(row.state) if viewer is None else available_triggers(snapshot, viewer)
    return ItemView(
        id=row.id,
        reference=row.reference,
        definition=row.definition,
        definition_version=row.definition_version,
        state=row.state,
        title=row.title,
        category=row.category,
        body=row.body,
        fields=dict(row.fields),
        holders={role: list(names) for role, names in row.holders.items()},
        revision=row.revision,
        version=row.version,
        content_hash=row.content_hash,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        available_triggers=triggers,
    )

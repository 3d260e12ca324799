"""The one orchestrator: create, fire, edit, assign, and people changes. It owns the transaction.

Each call opens one database transaction, asks the pure core for a decision, and hands it to
``_apply``, which writes the item or the person, the audit row, deadlines and outbox rows
together; nothing is written when a rule refuses.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Row, Table, insert, select, update

from workflow.clock import Clock, utc_now
from workflow.core import chain as audit
from workflow.core.assignment import ASSIGN_TRIGGER, Assignment, decide_assign
from workflow.core.attachments import (
    Attachment,
    Upload,
    attachments_of,
    decide_attach,
    decide_detach,
    named,
    refuse_attachments_in,
    with_added,
)
from workflow.core.authoring import (
    CREATE_TRIGGER,
    EDIT_TRIGGER,
    Creation,
    Edit,
    ItemText,
    check_item_input,
    decide_create,
)
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
    available_triggers,
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
from workflow.core.office import NO_CATALOG
from workflow.core.personnel import (
    AS_ACCOUNT,
    SYSTEM_ACTOR,
    Account,
    ActiveSet,
    DelegationMade,
    DigestSet,
    DisplayNameSet,
    Operator,
    PeopleChange,
    PersonAdded,
    PersonRecord,
    RolesChanged,
    decide_active,
    decide_add,
    decide_delegate,
    decide_digest,
    decide_display_name,
    decide_roles,
)
from workflow.core.publication import (
    CHANNEL_RETRY_TRIGGER,
    CHANNEL_TRIGGER,
    PUBLISH,
    UNPUBLISH_AT,
    PublicItem,
    channel_retry_role,
    channels_for,
    expiry_of,
    public_event,
)
from workflow.core.uploads import UploadPolicy, check_upload
from workflow.store.db import reading
from workflow.store.files import FileStore
from workflow.store.people import (
    add_user,
    change_roles,
    delegate,
    email_owner,
    find_person,
    load_person,
    person_record,
    set_active,
    set_digest,
    set_display_name,
)

if TYPE_CHECKING:
    from notifications.notices import Notifier
from workflow.store.hot import HotPath, ItemRow
from workflow.store.models import AuditEntry, AuditHead, BodySnapshot, Deadline, Item, ItemRevision, StoredFile
from workflow.store.publication_jobs import requeue_failed
from workflow.store.publications import end_publication, enqueue_jobs, public_item, record_publication, set_expiry
from workflow.store.queries import due_on_now, earliest_due
from workflow.store.registry import DefinitionRegistry
from workflow.store.sql import insert_if_absent, next_counter

items = cast(Table, Item.__table__)
revisions = cast(Table, ItemRevision.__table__)
audit_log = cast(Table, AuditEntry.__table__)
audit_head = cast(Table, AuditHead.__table__)
deadlines_table = cast(Table, Deadline.__table__)
body_snapshots = cast(Table, BodySnapshot.__table__)
stored_files = cast(Table, StoredFile.__table__)

log = logging.getLogger("gongkai.engine")

RACE_RETRIES = 3
INDEX_COUNTER = "索引号"
"""The ``reference_counters`` prefix of the index numbers: one gapless sequence per year for the office."""

Change = Decision | Creation | Edit | Assignment | PeopleChange
"""Every decision of the core the engine writes (see ``WorkflowEngine._apply``)."""


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
    meta: dict[str, Any] = field(default_factory=dict)
    """文号 ``doc_number``, 主题词 ``subjects``, ``attachments``."""
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
        files: FileStore | None = None,
        upload_policy: UploadPolicy | None = None,
    ) -> None:
        self.db = db
        self.files = files
        """Where attachments are stored (``GONGKAI_FILES_DIR``); without one, uploads are refused."""
        self.upload_policy = upload_policy or UploadPolicy()
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
        meta: Mapping[str, Any] | None = None,
        uploads: Sequence[Upload] = (),
    ) -> ItemView:
        """A new item; ``meta`` holds 文号 ``doc_number`` and 主题词 ``subjects``; ``uploads`` are its first
        attachments (checked and stored before the transaction, see :meth:`attach`)."""
        self._audit_key()
        definition = self.registry.current(definition_name)
        catalog = self.registry.catalog()
        asked: dict[str, Any] = {
            "title": title, "body": body, "category": category, "fields": dict(fields or {}), "meta": dict(meta or {}),
        }  # fmt: skip
        # Input mistakes are reported before the database is touched (the core checks them first).
        refuse_attachments_in(meta)
        check_item_input(
            definition, catalog, title=title, category=category, fields=asked["fields"], meta=asked["meta"],
            today=self.today(), now=self.clock().astimezone(self.zone),
        ).raise_first()  # fmt: skip
        stored = self._store_uploads(uploads)
        asked["meta"] = with_added(meta, [attachment for attachment, _ in stored]) if stored else dict(meta or {})
        now = self.clock()
        today = now.astimezone(self.zone).date()
        with self._transaction() as conn:
            person = self._acting_person(conn, actor)
            try:
                creation = decide_create(definition, catalog, person, **asked)
            except NotPermitted:
                # Not in their own right: perhaps as a substitute (a second query, only then).
                person = load_person(conn, actor, today, with_substitutions=True)
                creation = decide_create(definition, catalog, person, **asked)
            self.registry.register(conn, definition, now)
            self._record_files(conn, stored, actor, now)
            applied = self._apply(conn, creation, actor=actor, now=now, today=today)
            assert applied.row is not None
            view = self._view(applied.row, definition, person)
        self.registry.mark_registered(definition)
        return view

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
            if timed_as_of is None:
                # The item and the actor's roles in one round trip (PostgreSQL: one pipeline).
                found, roles = self.hot(conn).item_and_roles(conn, _item_key(item_ref), actor)
                row = self._found_item(found, item_ref)
            else:
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
                person = self._acting_person(conn, actor, roles)
                decision = self._decide(
                    conn, row.id, snapshot, trigger, person, comment, fields, today, now.astimezone(self.zone)
                )
            applied = self._apply(conn, decision, actor=actor, now=now, today=today, row=row, definition=definition)
            if within is not None:
                within(conn)
        assert applied.row is not None
        return FireResult(
            applied.row, definition, trigger, decision.from_state, decision.to_state, applied.seq, decision.details
        )

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
        stored_rows: list[Any] | None = None,
    ) -> dt.date | None:
        """Move the item's deadline clocks by one event, write the ones that changed, return the due date now."""
        if not definition.deadlines:
            return None
        hot = self.hot(conn)
        if new:
            stored = {}
        elif stored_rows is not None:
            stored = hot.deadline_rows(stored_rows)
        else:
            stored = hot.deadlines(conn, item_id)
        clocks = {
            kind: (ClockState.from_json(clock), status, applies) for kind, (clock, status, applies, _) in stored.items()
        }
        records = step_records(definition, state, clocks, event, fields, self.calendar, today)
        due_now = {kind: due for kind, (_, _, applies, due) in stored.items() if applies and due is not None}
        fresh: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        for record in records:
            values = self._deadline_values(item_id, record, now)
            due_now.pop(record.kind, None)
            if record.applies_now and record.status.due is not None:
                due_now[record.kind] = record.status.due
            (changed if record.kind in stored else fresh).append(values)
        hot.update_deadlines(conn, changed)
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

    def _acting_person(
        self, conn: Connection, name: str, found: tuple[int, bool, tuple[str, ...]] | None = None
    ) -> Person:
        """The person by their own roles (one query, or ``found`` read already); substitutions are
        loaded only when needed."""
        if found is None:
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
        now: dt.datetime | None = None,
    ) -> Decision:
        try:
            try:
                return decide(
                    snapshot, trigger, person, comment=comment, given_fields=fields, today=today,
                    calendar=self.calendar, now=now,
                )  # fmt: skip
            except NotPermitted as refusal:
                if refusal.key != "refuse.role":
                    raise
                # Not in their own right: perhaps as a substitute (a second query, only then).
                person = load_person(conn, person.name, today, with_substitutions=True)
                if not person.stands_in_for:
                    raise
                return decide(
                    snapshot, trigger, person, comment=comment, given_fields=fields, today=today,
                    calendar=self.calendar, now=now,
                )  # fmt: skip
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
        """Who last acted on the item and when (``at_time``, aware), for pages that say it moved on.

        A channel's attempt or retry is not an action on the item: it never explains why a decision moved on.
        """
        latest = conn.execute(
            select(audit_log.c.actor, audit_log.c.trigger, audit_log.c.at)
            .where(audit_log.c.item_id == item_id, audit_log.c.trigger.not_in([CHANNEL_TRIGGER, CHANNEL_RETRY_TRIGGER]))
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

    def edit(
        self,
        item_ref: str | int,
        actor: str,
        *,
        body: str,
        title: str | None = None,
        meta: Mapping[str, Any] | None = None,
        category: str | None = None,
        fields: Mapping[str, Any] | None = None,
        expected_version: int | None = None,
        uploads: Sequence[Upload] = (),
    ) -> ItemView:
        """A new text in an editable state, perhaps with files added.

        ``meta`` None keeps the item's metadata, a mapping replaces 文号 and 主题词 (the attachments are kept:
        they change only by ``uploads``, :meth:`attach` and :meth:`detach`); ``category`` None keeps the
        item's; ``fields`` None keeps them, a mapping gives them in full. With ``expected_version`` (a form)
        an item changed since is a Conflict.
        """
        self._audit_key()
        refuse_attachments_in(meta)
        stored = self._store_uploads(uploads)
        with self._transaction() as conn:
            row = self._item_row(conn, item_ref)
            if expected_version is not None and row.version != expected_version:
                raise self._conflict(conn, row)
            definition = self.registry.pinned(conn, row.definition, row.definition_version)
            snapshot = ItemSnapshot(definition, row.state, row.fields, row.holders, row.acted)
            text = ItemText(row.title, row.body, row.category, row.content_hash, row.meta)
            now = self.clock()
            today = now.astimezone(self.zone).date()
            person = load_person(conn, actor, today, with_substitutions=True)
            edit = decide_attach(
                snapshot, text, person, [attachment for attachment, _ in stored], body=body, title=title, meta=meta,
                catalog=self.registry.catalog(), category=category, fields=fields,
            )  # fmt: skip
            self._record_files(conn, stored, actor, now)
            applied = self._apply(conn, edit, actor=actor, now=now, today=today, row=row, definition=definition)
            assert applied.row is not None
            return self._view(applied.row, definition, person)

    def attach(self, item_ref: str | int, actor: str, uploads: Sequence[Upload]) -> ItemView:
        """Add files to the item's current revision: an edit that changes only its attachments.

        Each file is checked (:func:`workflow.core.uploads.check_upload`) and written to the file
        store before the transaction (content-addressed: a refused change leaves at most a file
        nothing refers to); its ``stored_files`` row, the item and the audit row naming the files are
        written in one transaction. A refusal writes no revision and no audit row.
        """
        self._audit_key()
        if not uploads:
            raise InvalidInput("upload.none")
        stored = self._store_uploads(uploads)
        return self._edit_attachments(
            item_ref, actor,
            lambda snapshot, text, person, _: decide_attach(snapshot, text, person, [a for a, _ in stored]),
            stored,
        )  # fmt: skip

    def detach(self, item_ref: str | int, actor: str, sha256: str) -> ItemView:
        """Remove one attachment (named by its SHA-256) from the item's current revision: an edit.

        The stored file stays: earlier revisions and the audit log still name it."""
        self._audit_key()
        return self._edit_attachments(
            item_ref, actor, lambda snapshot, text, person, ref: decide_detach(snapshot, text, person, sha256, ref), []
        )

    def _edit_attachments(
        self,
        item_ref: str | int,
        actor: str,
        decide_change: Callable[[ItemSnapshot, ItemText, Person, str], Edit],
        stored: Sequence[tuple[Attachment, int]],
    ) -> ItemView:
        with self._transaction() as conn:
            row = self._item_row(conn, item_ref)
            definition = self.registry.pinned(conn, row.definition, row.definition_version)
            snapshot = ItemSnapshot(definition, row.state, row.fields, row.holders, row.acted)
            text = ItemText(row.title, row.body, row.category, row.content_hash, row.meta)
            now = self.clock()
            today = now.astimezone(self.zone).date()
            person = load_person(conn, actor, today, with_substitutions=True)
            edit = decide_change(snapshot, text, person, row.reference)
            self._record_files(conn, stored, actor, now)
            applied = self._apply(conn, edit, actor=actor, now=now, today=today, row=row, definition=definition)
            assert applied.row is not None
            return self._view(applied.row, definition, person)

    def _store_uploads(self, uploads: Sequence[Upload]) -> list[tuple[Attachment, int]]:
        """Check every file first, then write each to the file store; each attachment with its size.

        Runs before the transaction: a file refused changes nothing, and writing the bytes never holds
        the database's write lock."""
        if not uploads:
            return []
        if self.files is None:
            raise ConfigurationError("config.no_file_store")
        checked = []
        for upload in uploads:
            size = upload.content.seek(0, 2)
            checked.append(check_upload(self.upload_policy, upload.name, size, upload.content))
        stored = []
        for upload, ok in zip(uploads, checked, strict=True):
            upload.content.seek(0)
            blob = self.files.put(upload.content)
            stored.append((Attachment(ok.name, blob.sha256, blob.size, ok.media_type), blob.size))
        return stored

    def _record_files(
        self, conn: Connection, stored: Sequence[tuple[Attachment, int]], actor: str, now: dt.datetime
    ) -> None:
        """The ``stored_files`` rows of newly stored content, in the transaction of the change that uses them."""
        for attachment, size in stored:
            insert_if_absent(
                conn, stored_files,
                {"sha256": attachment.sha256, "size": size, "media_type": attachment.media_type,
                 "stored_at": now, "stored_by": actor},
                ["sha256"],
            )  # fmt: skip

    def assign(self, item_ref: str | int, role: str, assignee: str, actor: str) -> ItemView:
        """Hand a role on one item to a person who holds that role; logged in the chain."""
        self._audit_key()
        with self._transaction() as conn:
            row = self._item_row(conn, item_ref)
            definition = self.registry.pinned(conn, row.definition, row.definition_version)
            snapshot = ItemSnapshot(definition, row.state, row.fields, row.holders, row.acted)
            now = self.clock()
            today = now.astimezone(self.zone).date()
            person = load_person(conn, actor, today, with_substitutions=True)
            target = find_person(conn, assignee, today)
            assignment = decide_assign(snapshot, role, assignee, target, person)
            applied = self._apply(conn, assignment, actor=actor, now=now, today=today, row=row, definition=definition)
            assert applied.row is not None
            return self._view(applied.row, definition, person)

    # ---- people --------------------------------------------------------------------------

    def add_person(
        self, name: str, *, email: str, roles: Sequence[str], by: str | Account, display_name: str | None = None
    ) -> PersonRecord:
        """A new person with their roles (and the name they are shown by); ``by`` is an administrator's name or the
        OS account."""
        return self._change_person(
            name, by,
            lambda conn, op: decide_add(
                op, name, email, roles, person_record(conn, name) is not None, display_name, email_owner(conn, email)
            ),
        )  # fmt: skip

    def set_display_name(self, name: str, display_name: str, *, by: str | Account) -> PersonRecord:
        """The name ``name`` is shown by on pages and in emails (张伟); the audit log keeps the login name."""
        return self._change_person(
            name, by, lambda conn, op: decide_display_name(op, person_record(conn, name), name, display_name)
        )

    def change_roles(
        self, name: str, *, grant: Sequence[str] = (), remove: Sequence[str] = (), by: str | Account
    ) -> PersonRecord:
        return self._change_person(
            name, by, lambda conn, op: decide_roles(op, person_record(conn, name), name, grant, remove)
        )

    def set_active(self, name: str, active: bool, *, by: str | Account) -> PersonRecord:
        """Deactivate (they may no longer act or sign in; their history stays) or activate again."""
        return self._change_person(
            name, by, lambda conn, op: decide_active(op, person_record(conn, name), name, active)
        )

    def delegate(
        self, principal: str, substitute: str, starts_on: dt.date, ends_on: dt.date, *, by: str | Account
    ) -> PersonRecord:
        """``substitute`` may act in ``principal``'s place from ``starts_on`` to ``ends_on`` (both included)."""
        return self._change_person(
            principal,
            by,
            lambda conn, op: decide_delegate(
                op, person_record(conn, principal), person_record(conn, substitute), (principal, substitute),
                starts_on, ends_on,
            ),
        )  # fmt: skip

    def set_digest(self, name: str, digest: bool, *, by: str | Account) -> PersonRecord:
        return self._change_person(
            name, by, lambda conn, op: decide_digest(op, person_record(conn, name), name, digest)
        )

    def _change_person(
        self, name: str, by: str | Account, decide_change: Callable[[Connection, Operator], PeopleChange]
    ) -> PersonRecord:
        """Ask the core in the transaction, write the change and its audit row; the person as it left them."""
        self._audit_key()
        with self._transaction() as conn:
            now = self.clock()
            today = now.astimezone(self.zone).date()
            operator = by if isinstance(by, Account) else load_person(conn, by, today, with_substitutions=False)
            change = decide_change(conn, operator)
            self._apply(conn, change, actor=change.actor, now=now, today=today)
            record = person_record(conn, change.person)
        assert record is not None
        return record

    # ---- publication channels -------------------------------------------------------------

    def record_channel(
        self,
        conn: Connection,
        item_id: int,
        trigger: str,
        details: Mapping[str, Any],
        now: dt.datetime,
        *,
        actor: str = SYSTEM_ACTOR,
        role: str = SYSTEM_ACTOR,
    ) -> int:
        """An item-bound audit row about a publication channel, in the caller's transaction (which settles the job).

        The item does not move: the row's states are both its present one, like an edit's.
        """
        row = self._item_row(conn, item_id)
        definition = self.registry.pinned(conn, row.definition, row.definition_version)
        entry = AuditRow(
            trigger, actor, actor, role, row.id, definition, row.state, row.state, details=details,
            content_hash=row.content_hash,
        )  # fmt: skip
        return self._append_audit(conn, entry, now)

    def retry_channels(
        self, item_ref: str | int, *, by: str | Account, channel: str | None = None
    ) -> list[tuple[str, str, str]]:
        """Put an item's failed channel jobs (of ``channel``, or all) back in the queue; who did it is chained."""
        self._audit_key()
        with self._transaction() as conn:
            row = self._item_row(conn, item_ref)
            now = self.clock()
            if isinstance(by, Account):
                actor, role = by.actor, AS_ACCOUNT
            else:
                person = load_person(conn, by, now.astimezone(self.zone).date(), with_substitutions=False)
                actor, role = by, channel_retry_role(by, person.roles)
            requeued = requeue_failed(conn, row.id, now, channel)
            if not requeued:
                raise TransitionNotAllowed("publication.nothing_failed", item=row.reference, channel=channel or "*")
            details = {"jobs": [{"key": key, "channel": name, "event": event} for key, name, event in requeued]}
            self.record_channel(conn, row.id, CHANNEL_RETRY_TRIGGER, details, now, actor=actor, role=role)
        return requeued

    # ---- shared pieces -------------------------------------------------------------------

    def item_row(self, conn: Connection, item_ref: str | int) -> ItemRow:
        """The stored item, read in the caller's transaction."""
        return self._item_row(conn, item_ref)

    def _item_row(self, conn: Connection, item_ref: str | int) -> ItemRow:
        return self._found_item(self.hot(conn).item(conn, _item_key(item_ref)), item_ref)

    @staticmethod
    def _found_item(row: ItemRow | None, item_ref: str | int) -> ItemRow:
        if row is None:
            raise NotFound("notfound.item", item=str(item_ref).strip())
        return row

    def _view(self, row: ItemRow | Row[Any], definition: Definition, viewer: Person | None) -> ItemView:
        return item_view(row, definition, viewer)

    def _apply(
        self,
        conn: Connection,
        change: Change,
        *,
        actor: str,
        now: dt.datetime,
        today: dt.date,
        row: ItemRow | None = None,
        definition: Definition | None = None,
    ) -> Applied:
        """Write one decision of the core in the caller's transaction, and nothing else.

        An item decision: the item (inserted, or updated on condition of its version: a lost race
        is a Conflict and the caller's transaction writes nothing), its audit row, its deadlines
        and the new-task notices where the state changed. A people change: the people tables and
        its item-less audit row. Every write of the engine passes here, so every change is chained.
        """
        if isinstance(change, PeopleChange):
            self._write_person(conn, change, now)
            seq = self._append_audit(
                conn, AuditRow(change.trigger, change.actor, change.actor, change.role, details=change.details,
                               person=change.person), now,
            )  # fmt: skip
            return Applied(seq, None, None)
        if isinstance(change, Creation):
            moved = self._insert_item(conn, change, actor, now)
            definition = change.definition
            details: dict[str, Any] = {"reference": moved.reference, "title": change.title}
            if attached := attachments_of(change.meta):
                details["attached"] = named(attached)
            entry = AuditRow(
                CREATE_TRIGGER, actor, change.principal, change.role, moved.id, definition, None, change.state,
                changed_fields=change.fields, details=details, content_hash=change.content_hash,
            )  # fmt: skip
            event: Event | None = Event(today, CREATE_TRIGGER, None, change.state)
        else:
            assert row is not None and definition is not None
            moved, entry, event = self._update_item(conn, row, definition, change, actor, now, today)
        stored = None
        if event is not None and row is not None and definition.deadlines:
            # The chain head (locked, as always after the item) and the deadlines in one round trip.
            head, stored = self.hot(conn).head_and_deadlines(conn, moved.id)
            seq = self._append_audit(conn, entry, now, head=head)
        else:
            seq = self._append_audit(conn, entry, now)
        due = None
        if event is not None:
            due = self._step_deadlines(
                conn, moved.id, definition, moved.state, event, moved.fields, now, today, new=row is None,
                stored_rows=stored,
            )  # fmt: skip
        if self.notifier is not None and moved.state != (row.state if row is not None else None):
            # The people who must act now are told, in the same transaction as the move.
            self.notifier.new_task(conn, definition, moved, due, actor, now, today)
        return Applied(seq, moved, due)

    def _update_item(
        self,
        conn: Connection,
        row: ItemRow,
        definition: Definition,
        change: Decision | Edit | Assignment,
        actor: str,
        now: dt.datetime,
        today: dt.date,
    ) -> tuple[ItemRow, AuditRow, Event | None]:
        """The conditional update of one item decision; the item after it, its audit row, its deadline event."""
        if isinstance(change, Decision):
            revision = row.revision + (1 if change.transition.starts_revision else 0)
            details = change.details
            digest = (
                audit.content_hash(row.title, row.body, row.category, change.fields, row.meta)
                if change.changed_fields
                else row.content_hash
            )
            changed = self.hot(conn).update_item(
                conn, row, state=change.to_state, revision=revision, fields=change.fields,
                acted=change.acted, content_hash=digest, updated_at=now,
            )  # fmt: skip
            if changed != 1:
                raise self._conflict(conn, row)
            public = public_event(row.state, change.to_state)
            if public is not None:
                details = {**details, **self._public_event(conn, row, change, public, revision, digest, now)}
            elif row.state == change.to_state and UNPUBLISH_AT in change.changed_fields:
                set_expiry(conn, row.id, expiry_of(change.fields, self.zone))
            if revision != row.revision:
                conn.execute(
                    insert(revisions).values(
                        item_id=row.id, revision=revision, title=row.title, body=row.body, content_hash=digest,
                        updated_at=now, meta=row.meta,
                    )
                )  # fmt: skip
            moved = dataclasses.replace(
                row, state=change.to_state, version=row.version + 1, revision=revision,
                fields=change.fields, acted=change.acted, content_hash=digest, updated_at=now,
            )  # fmt: skip
            entry = AuditRow(
                change.transition.trigger, actor, change.principal, change.role, row.id, definition, row.state,
                change.to_state, change.comment, change.changed_fields, details, digest,
            )  # fmt: skip
            return moved, entry, Event(today, change.transition.trigger, row.state, change.to_state)
        if isinstance(change, Edit):
            values: dict[str, Any] = {
                "title": change.title, "body": change.body, "content_hash": change.content_hash, "meta": change.meta,
                "category": change.category, "fields": change.fields,
            }  # fmt: skip
            entry = AuditRow(
                EDIT_TRIGGER, actor, change.principal, change.role, row.id, definition, row.state, row.state,
                changed_fields=change.changed_fields, details=change.details, content_hash=change.content_hash,
            )  # fmt: skip
        else:
            values = {"holders": change.holders}
            entry = AuditRow(
                ASSIGN_TRIGGER, actor, actor, change.acting_role, row.id, definition, row.state, row.state,
                details=change.details, content_hash=row.content_hash,
            )  # fmt: skip
        changed = conn.execute(
            update(items)
            .where(items.c.id == row.id, items.c.version == row.version)
            .values(**values, version=row.version + 1, updated_at=now)
        ).rowcount
        if changed != 1:
            raise self._conflict(conn, row)
        if isinstance(change, Edit):
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
                .values(
                    title=change.title,
                    body=change.body,
                    content_hash=change.content_hash,
                    meta=change.meta,
                    updated_at=now,
                )
            )
        moved = dataclasses.replace(row, **values, version=row.version + 1, updated_at=now)
        return moved, entry, None

    def _public_event(
        self,
        conn: Connection,
        row: ItemRow,
        change: Decision,
        public: tuple[str, str],
        revision: int,
        digest: str,
        now: dt.datetime,
    ) -> dict[str, Any]:
        """What a move that the public sees writes besides the item: the publication row and the channels' jobs.

        A publication draws the index number, records the content the public now sees and gives
        every channel of its sub-directory a job; a withdrawal, expiry or repeal of a current
        publication marks it so and tells the online channels. The details go into the audit row.
        """
        event, status = public
        channels = self.registry.office().channels_of(row.category)
        details: dict[str, Any] = {}
        if event == PUBLISH:
            details = self._publish(conn, row, now)
            record_publication(
                conn, item_id=row.id, reference=row.reference, index_number=details["index_number"],
                category=row.category, title=row.title, body=row.body, fields=change.fields, meta=row.meta,
                revision=revision, content_hash=digest, expires_at=expiry_of(change.fields, self.zone), now=now,
            )  # fmt: skip
        elif not end_publication(conn, row.id, status, now):
            return details
        channels = channels_for(event, channels)
        enqueue_jobs(
            conn, item_id=row.id, channels=channels, event=event, version=row.version + 1, revision=revision, now=now
        )
        return {**details, "channels": list(channels)}

    def _publish(self, conn: Connection, row: ItemRow, now: dt.datetime) -> dict[str, str]:
        """The index number (索引号) and moment of a publication, written on the item; for its audit row.

        Called after the item's conditional update, so the item row is this transaction's: the
        number is drawn from a counter row locked until commit (gapless, and a rollback gives it
        back), and only the first publication draws one; a republished item keeps its number.
        """
        number = conn.execute(select(items.c.index_number).where(items.c.id == row.id)).scalar_one()
        if number is None:
            office = self.registry.office()
            year = now.astimezone(self.zone).year
            serial = next_counter(conn, INDEX_COUNTER, year)
            number = office.index_number(row.category or NO_CATALOG, year, serial)
        conn.execute(update(items).where(items.c.id == row.id).values(index_number=number, published_at=now))
        return {"index_number": number, "published_at": now.astimezone(self.zone).isoformat()}

    def publication(self, item_ref: str | int) -> tuple[str | None, dt.datetime | None]:
        """An item's index number and when it was last published (office time); None before publication."""
        with reading(self.db) as conn:
            row = self._item_row(conn, item_ref)
            found = conn.execute(select(items.c.index_number, items.c.published_at).where(items.c.id == row.id)).one()
        published_at = found.published_at.astimezone(self.zone) if found.published_at is not None else None
        return found.index_number, published_at

    def public(self, item_ref: str | int) -> PublicItem | None:
        """What the public sees of an item (its ``publications`` row, times in UTC); None before publication."""
        with reading(self.db) as conn:
            row = self._item_row(conn, item_ref)
            return public_item(conn, row.id)

    def _insert_item(self, conn: Connection, creation: Creation, actor: str, now: dt.datetime) -> ItemRow:
        """A new item with its reference (a gapless counter per prefix and year) and first revision."""
        definition = creation.definition
        year = now.astimezone(self.zone).year
        number = next_counter(conn, definition.reference_prefix, year)
        values: dict[str, Any] = {
            "reference": f"{definition.reference_prefix}-{year}-{number:04d}",
            "definition": definition.name,
            "definition_version": definition.version,
            "state": creation.state,
            "version": 1,
            "revision": 1,
            "title": creation.title,
            "category": creation.category,
            "body": creation.body,
            "fields": creation.fields,
            "holders": creation.holders,
            "acted": {},
            "content_hash": creation.content_hash,
            "created_by": actor,
            "created_at": now,
            "updated_at": now,
            "meta": creation.meta,
        }
        item_id = conn.execute(insert(items).values(values).returning(items.c.id)).scalar_one()
        conn.execute(
            insert(revisions).values(
                item_id=item_id, revision=1, title=creation.title, body=creation.body,
                content_hash=creation.content_hash, updated_at=now, meta=creation.meta,
            )
        )  # fmt: skip
        return ItemRow(id=item_id, **values)

    def _write_person(self, conn: Connection, change: PeopleChange, now: dt.datetime) -> None:
        if isinstance(change, PersonAdded):
            add_user(conn, change.person, change.email, list(change.roles), now, change.display_name)
        elif isinstance(change, DisplayNameSet):
            set_display_name(conn, change.person, change.display_name)
        elif isinstance(change, RolesChanged):
            change_roles(conn, change.person, change.granted, change.removed)
        elif isinstance(change, ActiveSet):
            set_active(conn, change.person, change.active)
        elif isinstance(change, DelegationMade):
            delegate(conn, change.person, change.substitute, change.starts_on, change.ends_on, now)
        elif isinstance(change, DigestSet):
            set_digest(conn, change.person, change.digest)
        else:
            raise AssertionError(f"no writer for {type(change).__name__}")

    def _append_audit(
        self, conn: Connection, entry: AuditRow, at: dt.datetime, *, head: tuple[int, str] | None = None
    ) -> int:
        """Append one chained row; the head row is locked so concurrent writers never fork the chain.

        ``head`` is the head this transaction has locked already (read with other statements)."""
        hot = self.hot(conn)
        head_seq, head_hash = head if head is not None else hot.chain_head(conn)
        definition = entry.definition
        row: dict[str, Any] = {
            "seq": head_seq + 1,
            "item_id": entry.item_id,
            "definition": definition.name if definition else None,
            "definition_version": definition.version if definition else None,
            "trigger": entry.trigger,
            "from_state": entry.from_state,
            "to_state": entry.to_state,
            "actor": entry.actor,
            "on_behalf_of": entry.principal if entry.principal != entry.actor else None,
            "role": entry.role,
            "at": at,
            "comment": entry.comment,
            "fields": audit.canonical_json(dict(entry.changed_fields)) if entry.changed_fields else "{}",
            "details": audit.canonical_json(dict(entry.details)) if entry.details else "{}",
            "content_hash": entry.content_hash,
            "prev_hash": head_hash,
            "person": entry.person,
        }
        row["hash"] = audit.row_hash(self._audit_key(), row)
        hot.append_audit(conn, row)
        return int(row["seq"])


def _item_key(item_ref: str | int) -> int | str:
    """An item's id, or its reference as stored (upper case)."""
    text = str(item_ref).strip()
    return int(text) if text.isdigit() else text.upper()


@dataclass(frozen=True)
class AuditRow:
    """What one audit row says, before the chain gives it its place (seq) and its hashes."""

    trigger: str
    actor: str
    principal: str
    role: str
    item_id: int | None = None
    definition: Definition | None = None
    from_state: str | None = None
    to_state: str | None = None
    comment: str | None = None
    changed_fields: Mapping[str, Any] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    content_hash: str | None = None
    person: str | None = None


@dataclass(frozen=True)
class Applied:
    seq: int
    row: ItemRow | None
    """The item as the change left it; None for a people change."""
    due: dt.date | None


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
        meta=dict(row.meta or {}),
    )

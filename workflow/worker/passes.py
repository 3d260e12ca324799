"""One worker pass: recompute stale deadlines, raise due reminders, deliver the outbox.

Every step is idempotent and claims its work in the database, so a pass can run twice,
or in several workers at once on PostgreSQL, and each reminder is raised and each email
sent once. ``now`` is an argument: ``run_worker.py --once --at T`` is one pass as of T.
On SQLite one worker is the supported set-up; a second one is refused by a lease row.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, func, select, update

from notifications.delivery import drain_pending
from notifications.notices import Notifier
from notifications.outbox import (
    FAILED,
    PENDING,
    ClaimedMessage,
    dead_here,
    enqueue,
    new_owner,
    release_dead_claims,
)
from notifications.render import LateStep, confidential_states_of, render
from notifications.transport import Transport
from workflow.clock import utc_now
from workflow.core.acting import roles_to_act
from workflow.core.definition import Definition
from workflow.core.errors import ConfigurationError, GongkaiError, render_error
from workflow.core.latechain import HistoryStep, earlier_late_visits
from workflow.core.names import Names
from workflow.core.reminders import PlannedReminder, plan
from workflow.engine import WorkflowEngine, audit_log, deadlines_table, items
from workflow.publishing.channels.base import Channel
from workflow.store.db import reading
from workflow.store.models import (
    OutboxMessage,
    Reminder,
    SecurityEvent,
    UsedToken,
    User,
    UserRole,
    WorkerLease,
)
from workflow.store.people import load_person, name_entries
from workflow.store.queries import in_states, items_waiting, waiting_for
from workflow.store.sql import insert_if_absent
from workflow.worker.anchoring import anchor_daily
from workflow.worker.channels import perform_channels
from workflow.worker.compliance_check import check_compliance
from workflow.worker.files_check import check_files
from workflow.worker.links import EmailLinks
from workflow.worker.timed import due_fires

log = logging.getLogger("gongkai.worker")

reminders_table = cast(Table, Reminder.__table__)
leases = cast(Table, WorkerLease.__table__)
outbox = cast(Table, OutboxMessage.__table__)
users = cast(Table, User.__table__)
user_roles = cast(Table, UserRole.__table__)
security_log = cast(Table, SecurityEvent.__table__)
used_tokens = cast(Table, UsedToken.__table__)

SQLITE_LEASE = "sqlite-worker"
STATUS_KEPT = dt.timedelta(days=7)
"""A worker's status row (for ``gongkai worker status``) is removed a week after its last pass."""
LOOKAHEAD_SLACK_DAYS = 21
"""Calendar days beyond the longest 'before' reminder that a holiday season can add."""


@dataclass
class PassReport:
    at: str
    recomputed: int = 0
    moved: int = 0
    fired: int = 0
    reminders: int = 0
    messages: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    channels_delivered: int = 0
    channels_retried: int = 0
    channels_failed: int = 0
    """Publication channel jobs performed in the pass, by outcome."""
    delivery_error: str | None = None
    """The last delivery error of the pass (e.g. the SMTP server could not be reached)."""
    would: list[str] = field(default_factory=list)


class Worker:
    def __init__(
        self,
        engine: WorkflowEngine,
        notifier: Notifier,
        transport: Callable[[], Transport],
        *,
        owner: str | None = None,
        dry_run: bool = False,
        lease_seconds: float = 300,
        batch: int = 50,
        budget_seconds: float = 300,
        security_log_days: int = 365,
        link_days: int = 7,
        channels: Mapping[str, Channel] | None = None,
        compliance_check: bool = False,
        anchor_file: Path | None = None,
    ) -> None:
        self.engine = engine
        self.compliance_check = compliance_check
        """Run the daily compliance check and email the auditors what is new (``run_worker.py`` turns it on)."""
        self.channels: Mapping[str, Channel] = channels or {}
        """The publication channels' performers (workflow.publishing.channels.registry); others' jobs wait."""
        self.notifier = notifier
        self.anchor_file = anchor_file
        """``GONGKAI_ANCHOR_FILE``: where the day's audit anchor is appended (workflow.worker.anchoring)."""
        self.transport = transport
        self.owner = owner or new_owner()
        self.dry_run = dry_run
        self.lease_seconds = lease_seconds
        self.batch = batch
        self.budget_seconds = budget_seconds
        """How long a pass keeps delivering batch after batch of due mail (``GONGKAI_WORKER_BUDGET_SECONDS``)."""
        self.security_log_days = security_log_days
        self.link_days = link_days
        self.linker = EmailLinks(engine, notifier.signer) if notifier.signer is not None else None
        """Makes the action links of new-task notices when they are sent (needs GONGKAI_SECRET_KEY)."""

    # ---- the one-worker rule on SQLite --------------------------------------------------------

    def acquire(self) -> None:
        """On SQLite, hold the worker lease or refuse; the lease runs on the wall clock, not ``--at``."""
        if self.engine.db.dialect.name != "sqlite":
            return
        wall = utc_now()
        until = wall + dt.timedelta(seconds=self.lease_seconds)
        with self.engine.db.begin() as conn:
            taken = insert_if_absent(
                conn, leases, {"name": SQLITE_LEASE, "owner": self.owner, "until": until}, ["name"]
            )
            if taken:
                return
            holder = conn.execute(select(leases.c.owner, leases.c.until).where(leases.c.name == SQLITE_LEASE)).one()
            if holder.owner != self.owner and holder.until > wall and not dead_here(holder.owner):
                raise ConfigurationError(
                    "worker.sqlite_second", owner=holder.owner, until=holder.until.isoformat(timespec="seconds")
                )
            conn.execute(update(leases).where(leases.c.name == SQLITE_LEASE).values(owner=self.owner, until=until))

    def release(self) -> None:
        if self.engine.db.dialect.name != "sqlite":
            return
        with self.engine.db.begin() as conn:
            conn.execute(
                update(leases)
                .where(leases.c.name == SQLITE_LEASE, leases.c.owner == self.owner)
                .values(until=utc_now())
            )

    # ---- the pass -----------------------------------------------------------------------------

    def run_pass(self, now: dt.datetime) -> PassReport:
        report = PassReport(at=now.isoformat())
        self.acquire()
        if not self.dry_run:
            changes = self.engine.recompute_deadlines()
            report.recomputed = len(changes)
            report.moved = sum(1 for c in changes if c.old_due != c.new_due)
        self.fire_timed(now, report)
        # A publication just fired reaches the public in this same pass.
        done, would = perform_channels(self.engine, self.channels, self.owner, now, dry_run=self.dry_run,
                                       batch=self.batch, lease_seconds=self.lease_seconds)  # fmt: skip
        report.channels_delivered, report.channels_retried = done.delivered, done.retried
        report.channels_failed = done.failed
        report.would += would
        self.raise_reminders(now, report)
        self.raise_periodic_updates(now, report)
        self.raise_digests(now, report)
        report.messages += check_files(self.engine, self.notifier, now, dry_run=self.dry_run)
        if self.compliance_check:
            report.messages += check_compliance(self.engine, self.notifier, now, dry_run=self.dry_run)
        report.messages += anchor_daily(self.engine, self.notifier, now, self.anchor_file, dry_run=self.dry_run)
        if self.dry_run:
            self._would_send(report)
        else:
            released = release_dead_claims(self.engine.db)
            if released:
                log.info("%d messages claimed by a killed worker of this machine taken back", released)
            # The transport connects only when a claimed message is to be sent; an SMTP outage
            # fails those deliveries (each row retried later), not the pass.
            delivered = drain_pending(
                self.engine.db, self.transport(), self.owner, now, self.batch, budget_seconds=self.budget_seconds,
                linker=self.linker, obsolete=self._obsolete,
            )  # fmt: skip
            report.sent, report.retried, report.failed = delivered.sent, delivered.retried, delivered.failed
            report.skipped, report.delivery_error = delivered.skipped, delivered.error
            if delivered.error is not None:
                log.warning("delivery failed: %s (%d messages to retry later)", delivered.error, delivered.retried)
            self.prune_web_records()
            self._record(report)
        log.info(
            "pass at %s: %d deadlines recomputed (%d moved), %d scheduled fires, %d reminders, %d messages written, "
            "%d sent, %d to retry, %d failed, %d obsolete notices not sent",
            report.at, report.recomputed, report.moved, report.fired, report.reminders, report.messages,
            report.sent, report.retried, report.failed, report.skipped,
        )  # fmt: skip
        return report

    def fire_timed(self, now: dt.datetime, report: PassReport) -> None:
        """Publish what was scheduled: fire each timed transition whose moment has come.

        Each fire is for the version the item had when found, so when two workers find the
        same item, or a person acts first, the later fire is a Conflict and changes nothing.
        """
        for due in due_fires(self.engine, now):
            moment = due.moment.astimezone(self.engine.zone).isoformat(timespec="minutes")
            if self.dry_run:
                report.would.append(f"fire {due.trigger} on {due.reference} (scheduled for {moment})")
                continue
            try:
                result = self.engine.fire_timed(due.item_id, due.trigger, expected_version=due.version, as_of=now)
            except GongkaiError as refused:
                log.info("%s on %s not fired: %s", due.trigger, due.reference, render_error(refused, "en"))
                continue
            report.fired += 1
            log.info(
                "%s %s: %s -> %s (scheduled for %s)",
                due.trigger, due.reference, result.from_state, result.to_state, moment,
            )  # fmt: skip

    def raise_reminders(self, now: dt.datetime, report: PassReport) -> None:
        """Reminders of the open deadlines near or past their due date: the index reads only those."""
        engine = self.engine
        today = now.astimezone(engine.zone).date()
        horizon = now + dt.timedelta(days=self._lookahead_days())
        query = (
            select(
                deadlines_table.c.item_id,
                deadlines_table.c.kind,
                deadlines_table.c.due_on,
                items.c.definition,
                items.c.definition_version,
                items.c.state,
            )
            .join(items, items.c.id == deadlines_table.c.item_id)
            .where(
                deadlines_table.c.applies_now.is_(True),
                deadlines_table.c.status == "running",
                deadlines_table.c.due_at <= horizon,
            )
            .order_by(deadlines_table.c.due_at, deadlines_table.c.id)
        )
        with reading(engine.db) as conn:
            candidates = conn.execute(query).all()
            definitions = {
                (c.definition, c.definition_version): engine.registry.pinned(conn, c.definition, c.definition_version)
                for c in candidates
            }
        for candidate in candidates:
            definition = definitions[(candidate.definition, candidate.definition_version)]
            spec = next(d for d in definition.deadlines if d.policy.name == candidate.kind)
            acting = roles_to_act(definition, candidate.state)
            for planned in plan(
                candidate.item_id, candidate.kind, candidate.due_on, spec.reminders, acting, engine.calendar, today
            ):
                self._raise(planned, candidate.item_id, candidate.kind, spec.reminders.notify or acting, now, today,
                            report)  # fmt: skip

    def raise_periodic_updates(self, now: dt.datetime, report: PassReport) -> None:
        """Published items whose sub-directory has an update cycle: the drafter confirms or revises.

        One reminder per item and cycle since publication (the key names the cycle), so a pass
        run twice raises it once and a worker that was down catches up with one reminder.
        """
        engine = self.engine
        today = now.astimezone(engine.zone).date()
        cycles = {c.code: c.update_every_days for c in engine.registry.catalog().categories if c.update_every_days}
        if not cycles:
            return
        with reading(engine.db) as conn:
            published = conn.execute(
                select(items.c.id, items.c.category, items.c.updated_at)
                .where(
                    # Through the (definition, state) index: only published items are read.
                    in_states({name: {"published"} for name in engine.registry.names()}),
                    items.c.category.in_(list(cycles)),
                )
                .order_by(items.c.id)
            ).all()
        for item in published:
            cycle = cycles[item.category]
            published_on = item.updated_at.astimezone(engine.zone).date()
            periods = (today - published_on).days // cycle
            if periods < 1:
                continue
            due = published_on + dt.timedelta(days=periods * cycle)
            key = f"{item.id}:periodic:{published_on.isoformat()}:{periods}"
            planned = PlannedReminder("periodic", key, ("drafter",), due, 0)
            self._raise(planned, item.id, "periodic", ("drafter",), now, today, report)

    def raise_digests(self, now: dt.datetime, report: PassReport) -> None:
        """On working days, one email to each person who chose a digest, listing their pending items."""
        engine = self.engine
        today = now.astimezone(engine.zone).date()
        if not engine.calendar.is_working_day(today):
            return
        with reading(engine.db) as conn:
            readers = conn.execute(
                select(users.c.name, users.c.email, users.c.display_name).where(
                    users.c.digest.is_(True), users.c.active.is_(True)
                )
            ).all()
            raised = set(
                conn.execute(
                    select(reminders_table.c.key).where(
                        reminders_table.c.kind == "digest", reminders_table.c.due_on == today
                    )
                ).scalars()
            )
            readers = [r for r in readers if f"digest:{r.name}:{today.isoformat()}" not in raised]
            if not readers:
                return  # today's digests went out already: no need to read the items again
            people = [load_person(conn, reader.name, today, with_substitutions=True) for reader in readers]
            # Every item waiting for someone, through the (definition, state) index; then each
            # reader's own, as their inbox lists them (the core's must_act, substitutes included).
            candidates = items_waiting(conn, engine.registry)
        for reader, person in zip(readers, people, strict=True):
            waiting = waiting_for(person, candidates)
            mine = [self.notifier.summary(item.definition, item, item.due_on, body=False) for item in waiting]
            if not mine:
                continue
            key = f"digest:{reader.name}:{today.isoformat()}"
            if self.dry_run:
                report.would.append(f"digest {key}: {len(mine)} items")
                continue
            with engine.db.begin() as conn:
                if not insert_if_absent(
                    conn, reminders_table,
                    {"key": key, "item_id": None, "deadline_kind": "digest", "kind": "digest", "due_on": today,
                     "messages": 1, "raised_at": now},
                    ["key"],
                ):  # fmt: skip
                    continue
                message = render(
                    "digest", recipient_name=reader.display_name or reader.name, base_url=self.notifier.mail.base_url,
                    today=today,
                    confidential_states=frozenset().union(*(confidential_states_of(i.definition) for i in waiting)),
                    lang=self.notifier.lang, items=mine,
                )  # fmt: skip
                enqueue(conn, key=key, event="digest", recipient=reader.email, message=message, now=now)
            report.reminders += 1
            report.messages += 1
            log.info("digest %s raised: %d items", key, len(mine))

    def _raise(
        self,
        planned: PlannedReminder,
        item_id: int,
        deadline_kind: str,
        notify_roles: tuple[str, ...],
        now: dt.datetime,
        today: dt.date,
        report: PassReport,
    ) -> None:
        engine = self.engine
        if self.dry_run:
            with reading(engine.db) as conn:
                raised = conn.execute(select(reminders_table.c.id).where(reminders_table.c.key == planned.key)).first()
            if raised is None:
                report.would.append(f"reminder {planned.kind} {planned.key} -> {', '.join(planned.roles)}")
            return
        with engine.db.begin() as conn:
            fresh = insert_if_absent(
                conn,
                reminders_table,
                {
                    "key": planned.key,
                    "item_id": item_id,
                    "deadline_kind": deadline_kind,
                    "kind": planned.kind,
                    "due_on": planned.due,
                    "messages": 0,
                    "raised_at": now,
                },
                ["key"],
            )
            if not fresh:
                return  # raised before, by this worker or another
            row = engine.item_row(conn, item_id)
            definition = engine.registry.pinned(conn, row.definition, row.definition_version)
            escalating = planned.kind == "escalation"
            earlier = self._earlier_late(conn, definition, item_id) if escalating else []
            written = self.notifier.reminder(
                conn, definition, row, planned.kind, planned.key, planned.roles, notify_roles, planned.due, now, today,
                earlier_late=earlier,
            )  # fmt: skip
            conn.execute(update(reminders_table).where(reminders_table.c.key == planned.key).values(messages=written))
        report.reminders += 1
        report.messages += written
        log.info("reminder %s raised: %d messages", planned.key, written)

    def _earlier_late(self, conn: Connection, definition: Definition, item_id: int) -> list[LateStep]:
        """The stays before the present one, in the item's current revision, that were done late."""
        zone = self.engine.zone
        history = [
            HistoryStep(row.at.astimezone(zone).date(), row.trigger, row.actor, row.from_state, row.to_state)
            for row in conn.execute(
                select(audit_log.c.at, audit_log.c.trigger, audit_log.c.actor, audit_log.c.from_state,
                       audit_log.c.to_state)
                .where(audit_log.c.item_id == item_id)
                .order_by(audit_log.c.seq)
            )
        ]  # fmt: skip
        names = Names(lambda: name_entries(conn), self.notifier.lang)
        return [
            LateStep(
                person=names.label(visit.done_by) or "-",
                state_label=definition.states[visit.state].label.in_lang(self.notifier.lang),
                due_on=visit.due_on,
                done_on=visit.done_on,
            )
            for visit in earlier_late_visits(definition, history, self.engine.calendar)
            if visit.due_on is not None
        ]

    def prune_web_records(self) -> None:
        """The web pages' records past their time, on the real clock: the security log after
        ``security_log_days``, used one-time tokens once every token they could stop has expired."""
        wall = utc_now()
        with self.engine.db.begin() as conn:
            old_events = conn.execute(
                delete(security_log).where(security_log.c.at < wall - dt.timedelta(days=self.security_log_days))
            ).rowcount
            old_tokens = conn.execute(
                delete(used_tokens).where(used_tokens.c.used_at < wall - dt.timedelta(days=self.link_days + 1))
            ).rowcount
        if old_events or old_tokens:
            log.info("forgot %d security log entries and %d used links past their time", old_events, old_tokens)

    def _obsolete(self, message: ClaimedMessage) -> str | None:
        """A new-task notice whose item moved on before it went out would ask for a decision already taken."""
        acting = (message.context or {}).get("acting")
        if message.event != "new_task" or not acting:
            return None
        with reading(self.engine.db) as conn:
            try:
                row = self.engine.item_row(conn, int(acting["item_id"]))
            except GongkaiError:
                return None
            if row.version == int(acting["version"]):
                return None
            last = self.engine.latest_action(conn, row.id)
        by = f" ({last['trigger']} by {last['actor']})" if last else ""
        log.info("notice %s to %s not sent: %s moved on%s", message.message_id, message.recipient, row.reference, by)
        return f"not sent: {row.reference} moved on before it went out{by}"

    def _lookahead_days(self) -> int:
        longest = max(
            (max(spec.reminders.before, default=0) for d in self._definitions() for spec in d.deadlines), default=0
        )
        return longest * 2 + LOOKAHEAD_SLACK_DAYS

    def _definitions(self) -> list[Any]:
        registry = self.engine.registry
        return [registry.current(name) for name in registry.names()]

    def _would_send(self, report: PassReport) -> None:
        with reading(self.engine.db) as conn:
            rows = conn.execute(
                select(outbox.c.recipient, outbox.c.subject)
                .where(outbox.c.status == PENDING)
                .order_by(outbox.c.id)
                .limit(self.batch)
            ).all()
        report.would += [f"send to {row.recipient}: {row.subject}" for row in rows]

    def _record(self, report: PassReport) -> None:
        """The last pass, for ``gongkai worker status``."""
        values = {"last_pass_at": utc_now(), "last_pass": asdict(report)}
        name = f"status:{self.owner}"[:40]
        with self.engine.db.begin() as conn:
            if not insert_if_absent(
                conn, leases, {"name": name, "owner": self.owner, "until": utc_now(), **values}, ["name"]
            ):
                conn.execute(update(leases).where(leases.c.name == name).values(**values))
            # Every worker process writes its own status row: forget those not heard of for a week.
            conn.execute(
                delete(leases).where(leases.c.name.like("status:%"), leases.c.last_pass_at < utc_now() - STATUS_KEPT)
            )


def status(engine: WorkflowEngine) -> dict[str, Any]:
    """The last passes of the workers, and the outbox's pending and failed counts."""
    with reading(engine.db) as conn:
        passes = conn.execute(
            select(leases.c.owner, leases.c.last_pass_at, leases.c.last_pass)
            .where(leases.c.last_pass_at.is_not(None))
            .order_by(leases.c.last_pass_at.desc())
            .limit(10)
        ).all()
        counts: dict[str, int] = {
            status: int(count)
            for status, count in conn.execute(
                select(outbox.c.status, func.count())
                .where(outbox.c.status.in_([PENDING, FAILED]))
                .group_by(outbox.c.status)
            )
        }
    return {
        "passes": [{"owner": p.owner, "at": p.last_pass_at.isoformat(), "report": p.last_pass} for p in passes],
        "pending": int(counts.get(PENDING, 0)),
        "failed": int(counts.get(FAILED, 0)),
    }

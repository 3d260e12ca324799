"""Scheduled publication: a leader signs an item off for a set time; the worker publishes it then."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from notifications.notices import Notifier
from notifications.outbox import outbox
from notifications.settings import MailSettings
from notifications.transport import FolderTransport
from tests.conftest import FrozenClock
from workflow.core.errors import Conflict, InvalidInput, NotPermitted, TransitionNotAllowed
from workflow.engine import WorkflowEngine, audit_log
from workflow.settings import Settings
from workflow.store.db import make_engine
from workflow.store.people import add_user
from workflow.store.registry import DefinitionRegistry
from workflow.worker.passes import Worker

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def worker_for(engine: WorkflowEngine, folder: Path, **options: object) -> Worker:
    mail = MailSettings(smtp_url=None, mail_dir=folder)
    return Worker(engine, Notifier(mail), lambda: FolderTransport(folder), **options)  # type: ignore[arg-type]


@pytest.fixture
def signed_item(engine: WorkflowEngine, make_item: Callable[..., int]) -> int:
    item_id = make_item()
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "clear", "reviewer_a")
    return item_id


def test_schedule_needs_a_publish_time_and_a_valid_one(engine: WorkflowEngine, signed_item: int) -> None:
    with pytest.raises(TransitionNotAllowed) as missing:
        engine.fire(signed_item, "schedule", "leader_a")
    assert "publish_at" in missing.value.render("en")
    with pytest.raises(TransitionNotAllowed) as bad:
        engine.fire(signed_item, "schedule", "leader_a", fields={"publish_at": "next monday"})
    assert "publish_at" in bad.value.render("en") and "next monday" in bad.value.render("en")
    assert engine.show(signed_item).state == "leadership_signoff"


def test_the_worker_publishes_when_the_time_has_come_and_not_before(
    engine: WorkflowEngine, signed_item: int, clock: FrozenClock, tmp_path: Path
) -> None:
    engine.fire(signed_item, "schedule", "leader_a", fields={"publish_at": "2026-03-05T09:00"})  # office time
    assert engine.show(signed_item).state == "scheduled"
    worker = worker_for(engine, tmp_path)
    just_before = dt.datetime(2026, 3, 5, 8, 59, tzinfo=SHANGHAI)
    clock.now = just_before
    assert worker.run_pass(just_before).fired == 0
    assert engine.show(signed_item).state == "scheduled"
    on_time = dt.datetime(2026, 3, 5, 9, 0, tzinfo=SHANGHAI)
    clock.now = on_time
    assert worker.run_pass(on_time).fired == 1
    item = engine.show(signed_item)
    assert item.state == "published"
    with engine.db.connect() as conn:
        last = conn.execute(select(audit_log).order_by(audit_log.c.seq.desc()).limit(1)).one()
    assert (last.trigger, last.actor, last.role, last.from_state) == ("publish", "system", "office", "scheduled")
    assert "2026-03-05T09:00" in last.details
    assert worker.run_pass(on_time).fired == 0  # published once
    # The publication deadline (20 working days of being formed) is met by the scheduled publication.
    _, deadlines = engine.deadlines(signed_item)
    publication = next(d for d in deadlines if d.policy.name == "publication")
    assert publication.status.met is True


def test_an_offset_in_the_time_is_honoured(
    engine: WorkflowEngine, signed_item: int, clock: FrozenClock, tmp_path: Path
) -> None:
    engine.fire(signed_item, "schedule", "leader_a", fields={"publish_at": "2026-03-05T09:00+00:00"})
    worker = worker_for(engine, tmp_path)
    at_five_pm_shanghai = dt.datetime(2026, 3, 5, 16, 59, tzinfo=SHANGHAI)
    clock.now = at_five_pm_shanghai
    assert worker.run_pass(at_five_pm_shanghai).fired == 0
    clock.now = at_five_pm_shanghai + dt.timedelta(minutes=1)
    assert worker.run_pass(clock.now).fired == 1


def test_a_dry_run_says_what_it_would_publish_and_publishes_nothing(
    engine: WorkflowEngine, signed_item: int, clock: FrozenClock, tmp_path: Path
) -> None:
    engine.fire(signed_item, "schedule", "leader_a", fields={"publish_at": "2026-03-05T09:00"})
    later = dt.datetime(2026, 3, 6, 9, 0, tzinfo=SHANGHAI)
    clock.now = later
    report = worker_for(engine, tmp_path, dry_run=True).run_pass(later)
    reference = engine.show(signed_item).reference
    assert any(line.startswith("fire publish on " + reference) for line in report.would)
    assert engine.show(signed_item).state == "scheduled"


def test_unscheduled_before_the_time_nothing_is_published(
    engine: WorkflowEngine, signed_item: int, clock: FrozenClock, tmp_path: Path
) -> None:
    engine.fire(signed_item, "schedule", "leader_a", fields={"publish_at": "2026-03-05T09:00"})
    engine.fire(signed_item, "unschedule", "leader_b", comment="发布时间改期")
    clock.now = dt.datetime(2026, 3, 6, tzinfo=SHANGHAI)
    assert worker_for(engine, tmp_path).run_pass(clock.now).fired == 0
    assert engine.show(signed_item).state == "leadership_signoff"


def test_the_office_may_publish_early_and_the_worker_then_does_nothing(
    engine: WorkflowEngine, signed_item: int, clock: FrozenClock, tmp_path: Path
) -> None:
    engine.fire(signed_item, "schedule", "leader_a", fields={"publish_at": "2026-03-05T09:00"})
    engine.fire(signed_item, "publish", "office_a")
    clock.now = dt.datetime(2026, 3, 6, tzinfo=SHANGHAI)
    assert worker_for(engine, tmp_path).run_pass(clock.now).fired == 0
    with engine.db.connect() as conn:
        publishes = conn.execute(select(audit_log.c.actor).where(audit_log.c.trigger == "publish")).scalars().all()
    assert publishes == ["office_a"]


def test_a_fire_for_a_version_the_item_left_is_a_conflict(
    engine: WorkflowEngine, signed_item: int, clock: FrozenClock
) -> None:
    engine.fire(signed_item, "schedule", "leader_a", fields={"publish_at": "2026-03-05T09:00"})
    version = engine.show(signed_item).version
    clock.now = dt.datetime(2026, 3, 6, tzinfo=SHANGHAI)
    engine.fire_timed(signed_item, "publish", expected_version=version)
    with pytest.raises(Conflict):
        engine.fire_timed(signed_item, "publish", expected_version=version)


def test_the_worker_may_fire_only_timed_transitions_and_only_when_due(
    engine: WorkflowEngine, signed_item: int, clock: FrozenClock
) -> None:
    version = engine.show(signed_item).version
    with pytest.raises(NotPermitted):
        engine.fire_timed(signed_item, "sign_off", expected_version=version)
    engine.fire(signed_item, "schedule", "leader_a", fields={"publish_at": "2026-03-05T09:00"})
    clock.now = dt.datetime(2026, 3, 4, tzinfo=SHANGHAI)
    with pytest.raises(TransitionNotAllowed) as early:
        engine.fire_timed(signed_item, "publish", expected_version=version + 1)
    assert "2026-03-05T09:00" in early.value.render("en")
    assert engine.show(signed_item).state == "scheduled"


def test_nobody_may_take_the_system_name(engine: WorkflowEngine) -> None:
    with engine.db.begin() as conn, pytest.raises(InvalidInput):
        add_user(conn, "System", "sys@town.example.gov.cn", ["office"], clock_now())


def clock_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.mark.slow
def test_three_workers_at_once_publish_each_item_once(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock, tmp_path: Path, settings: Settings
) -> None:
    """On PostgreSQL the three share the work; on SQLite one works and two are refused."""
    scheduled = []
    for _ in range(6):
        item_id = make_item()
        engine.fire(item_id, "submit", "drafter_a")
        engine.fire(item_id, "clear", "reviewer_a")
        engine.fire(item_id, "schedule", "leader_a", fields={"publish_at": "2026-03-05T09:00"})
        scheduled.append(item_id)
    clock.now = dt.datetime(2026, 3, 5, 10, 0, tzinfo=SHANGHAI)
    workers = [
        worker_for(
            WorkflowEngine(
                make_engine(settings.database_url), DefinitionRegistry(settings.definitions_dir),
                settings.require_audit_key(), clock=clock,
            ),
            tmp_path / str(n),
        )
        for n in range(3)
    ]  # fmt: skip
    fired: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def run(worker: Worker) -> None:
        barrier.wait()
        try:
            fired.append(worker.run_pass(clock.now).fired)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if engine.db.dialect.name == "sqlite":
        assert len(errors) == 2 and all(getattr(e, "key", "") == "worker.sqlite_second" for e in errors)
    else:
        assert errors == []
    assert sum(fired) == 6
    with engine.db.connect() as conn:
        publishes = conn.execute(select(audit_log.c.item_id).where(audit_log.c.trigger == "publish")).scalars().all()
    assert sorted(publishes) == sorted(scheduled)
    for worker in workers:
        worker.engine.db.dispose()


def test_nobody_is_asked_to_act_on_a_scheduled_item(
    engine: WorkflowEngine, signed_item: int, tmp_path: Path, clock: FrozenClock
) -> None:
    engine.notifier = Notifier(MailSettings(smtp_url=None, mail_dir=tmp_path))
    engine.fire(signed_item, "schedule", "leader_a", fields={"publish_at": "2026-03-05T09:00"})
    with engine.db.connect() as conn:
        notices = conn.execute(select(outbox.c.recipient).where(outbox.c.event == "new_task")).scalars().all()
    assert notices == []  # the worker publishes it; the office has nothing to decide

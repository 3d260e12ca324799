"""Drills: four worker processes at once on one PostgreSQL database (issue 12).

Every pass claims its work in the database (the outbox with FOR UPDATE SKIP LOCKED, reminders by their
unique key), so several workers may run over the same backlog and the same moments: each email goes once
(counted by Message-ID at a real SMTP server) and each periodic reminder is raised once per item and cycle.
The short variants run in ``make test``; the issue's full sizes under ``make soak`` (marker ``soak``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from notifications.outbox import SENDING, SENT, outbox, outbox_values
from notifications.render import RenderedMessage
from tests.conftest import FrozenClock
from tests.reliability.processes import worker_processes
from tests.smtp_server import RecordingHandler
from tests.test_worker_outage import environment
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.worker.passes import reminders_table

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)]

WORKERS = 4
PERIODS = 60
CATEGORY = "06"
"""便民服务: its sub-directory has an update cycle (definitions/catalog.yaml update_every_days)."""


def outbox_ids(engine: WorkflowEngine) -> dict[str, str]:
    """Every outbox row's Message-ID and status."""
    with engine.db.connect() as conn:
        return {row.message_id: row.status for row in conn.execute(select(outbox.c.message_id, outbox.c.status))}


def left_claimed(engine: WorkflowEngine) -> int:
    with engine.db.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where((outbox.c.status == SENDING) | outbox.c.lease_owner.is_not(None))
            ).scalar_one()
        )


@pytest.mark.parametrize(
    "count", [pytest.param(1_000, id="short"), pytest.param(10_000, id="full", marks=pytest.mark.soak)]
)
def test_four_workers_send_each_due_reminder_once(
    engine: WorkflowEngine,
    settings: Settings,
    server: tuple[RecordingHandler, int],
    mail: RecordingHandler,
    tmp_path: Path,
    count: int,
) -> None:
    engine.set_active("auditor_a", False, by="admin_a")  # no daily anchor email: the outbox is the drill's alone
    wall = dt.datetime.now(dt.UTC)
    rows = [
        outbox_values(
            key=f"drill:{n}", event="reminder_overdue", recipient=f"p{n % 97}@town.example.gov.cn",
            message=RenderedMessage(subject=f"逾期提醒 {n}", text=f"正文 {n}", html=f"<p>正文 {n}</p>"),
            now=wall - dt.timedelta(minutes=1), item_id=None,
        )
        for n in range(count)
    ]  # fmt: skip
    with engine.db.begin() as conn:
        conn.execute(insert(outbox), rows)

    with worker_processes(WORKERS, environment(settings, server[1]), tmp_path) as workers:
        started = time.monotonic()
        answers = workers.all("drain")
        elapsed = time.monotonic() - started

    received = mail.message_ids()
    stored = outbox_ids(engine)
    duplicates = len(received) - len(set(received))
    lost = set(stored) - set(received)
    claimed = left_claimed(engine)
    by_worker = [int(a["sent"]) for a in answers]
    print(
        f"\n[drill] {WORKERS} PostgreSQL workers, {count} due reminders: {len(set(received))} delivered, "
        f"{len(lost)} lost, {duplicates} duplicates (by Message-ID), {claimed} rows left claimed; "
        f"sent per worker {by_worker} in {sum(int(a['passes']) for a in answers)} passes, "
        f"{elapsed:.1f} s ({len(received) / elapsed:.0f} emails/s)"
    )
    assert duplicates == 0
    assert not lost and set(received) == set(stored)
    assert claimed == 0 and set(stored.values()) == {SENT}
    assert sum(by_worker) == count  # the workers' own counts agree with the server's
    assert sum(1 for sent in by_worker if sent) >= 2, "the workers did not overlap: the drill proved nothing"


@pytest.mark.parametrize(
    "count", [pytest.param(100, id="short"), pytest.param(1_000, id="full", marks=pytest.mark.soak)]
)
def test_four_workers_ticking_over_the_same_periods_raise_each_periodic_reminder_once(
    engine: WorkflowEngine,
    make_item: Callable[..., int],
    clock: FrozenClock,
    settings: Settings,
    server: tuple[RecordingHandler, int],
    mail: RecordingHandler,
    tmp_path: Path,
    count: int,
) -> None:
    engine.set_active("auditor_a", False, by="admin_a")  # no daily anchor email: the outbox is the drill's alone
    [cycle] = [c.update_every_days for c in engine.registry.catalog().categories if c.code == CATEGORY]
    assert cycle, f"category {CATEGORY} has no update cycle"
    clock.now = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
    for n in range(count):
        item_id = make_item(category=CATEGORY, title=f"办事指南 {n}")
        for trigger, actor in (("submit", "drafter_a"), ("clear", "reviewer_a"), ("sign_off", "leader_a")):
            engine.fire(item_id, trigger, actor)
    published_on = clock.now.astimezone(engine.zone).date()
    zone = engine.zone
    # A period is one update cycle since publication; each tick falls a day into the next one, at 09:00.
    ticks = [
        dt.datetime.combine(published_on + dt.timedelta(days=k * cycle + 1), dt.time(9), tzinfo=zone)
        for k in range(1, PERIODS + 1)
    ]

    raised_per_tick: list[int] = []
    # The items' notice-board PDFs (publication channels) would take the 2 cores for minutes and prove nothing
    # about periods: these workers leave channel jobs waiting (tests/test_channels_*.py drill the channels).
    with worker_processes(WORKERS, environment(settings, server[1]), tmp_path, "--no-channels") as workers:
        started = time.monotonic()
        for moment in ticks:
            answers = workers.all("tick", moment)  # all four pass over the same moment at once
            raised_per_tick.append(sum(int(a["reminders"]) for a in answers))
        ticking = time.monotonic() - started
        workers.all("drain", ticks[-1])

    with engine.db.connect() as conn:
        periodic = conn.execute(
            select(reminders_table.c.item_id, func.count(), func.count(reminders_table.c.key.distinct()))
            .where(reminders_table.c.kind == "periodic")
            .group_by(reminders_table.c.item_id)
        ).all()
        messages = int(
            conn.execute(
                select(func.coalesce(func.sum(reminders_table.c.messages), 0)).where(
                    reminders_table.c.kind == "periodic"
                )
            ).scalar_one()
        )
    total = sum(row[1] for row in periodic)
    received = mail.message_ids()
    stored = outbox_ids(engine)
    duplicates = len(received) - len(set(received))
    print(
        f"\n[drill] {WORKERS} PostgreSQL workers ticking over {PERIODS} periods of {cycle} days for {count} items: "
        f"{total} periodic reminders (expected {PERIODS * count}), {messages} emails for them, "
        f"{len(received)} emails delivered, {duplicates} duplicates, {left_claimed(engine)} left claimed; "
        f"{PERIODS * WORKERS} passes in {ticking:.1f} s"
    )
    assert raised_per_tick == [count] * PERIODS  # each period: one reminder per item, whichever worker raised it
    assert total == PERIODS * count
    assert len(periodic) == count and all(row[1] == row[2] == PERIODS for row in periodic)
    assert messages >= total
    assert duplicates == 0 and set(received) == set(stored)
    assert left_claimed(engine) == 0

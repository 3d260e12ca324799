"""A worker down for two hours while reminders fall due, and a lease that runs out under a stalled worker."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time

from sqlalchemy import Engine, select

from notifications.outbox import claim_batch, complete, fail, outbox, release, retry_later, skip
from tests.conftest import ROOT
from tests.reliability.drill import figures, seed, statuses, tally, worker_env
from tests.smtp_server import smtp_server
from tests.test_worker_outage import as_utc
from workflow.settings import Settings

REMINDERS = 500


def test_a_worker_down_two_hours_sends_each_reminder_that_fell_due_exactly_once(settings: Settings, db: Engine) -> None:
    wall = dt.datetime.now(dt.UTC)
    went_down = wall - dt.timedelta(hours=2)
    step = dt.timedelta(hours=2) / REMINDERS
    expected = seed(db, REMINDERS, [went_down + step * (i + 1) for i in range(REMINDERS)], prefix="down")
    with smtp_server() as (handler, port):
        env = worker_env(settings, port, GONGKAI_WORKER_INTERVAL="1")
        # Its last pass before it went down: nothing was due yet.
        before = subprocess.run(
            [sys.executable, str(ROOT / "run_worker.py"), "--once", "--at", went_down.isoformat()],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert before.returncode == 0, before.stderr
        assert tally(handler, expected).received == 0
        # Back two hours later, as the service runs it (a pass a second), for a few passes.
        started = time.monotonic()
        worker = subprocess.Popen(
            [sys.executable, str(ROOT / "run_worker.py")], env=env, cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            limit = time.monotonic() + 120
            while tally(handler, expected).received < REMINDERS and time.monotonic() < limit:
                time.sleep(0.05)
            caught_up = time.monotonic() - started
            time.sleep(3)  # more passes: none may send again
        finally:
            worker.send_signal(signal.SIGTERM)
            output = worker.communicate(timeout=60)[0].decode()
        got = tally(handler, expected)
    line = figures("down-2h", fell_due=REMINDERS, sent=got.distinct, lost=got.lost, duplicates=got.duplicates,
                   caught_up_s=f"{caught_up:.1f}")  # fmt: skip
    assert worker.returncode == 0, output
    assert got.lost == 0 and got.duplicates == 0 and got.foreign == 0, line
    assert statuses(db) == {"sent": REMINDERS}, line


def test_a_lease_that_runs_out_passes_the_work_on_and_the_stalled_worker_changes_nothing(
    settings: Settings, db: Engine
) -> None:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    expected = seed(db, 20, now, prefix="lease")
    # Worker A claims the batch for two seconds, then hangs before it sends anything.
    stalled = claim_batch(db, "host-a:1:stalled", now, 50, lease_seconds=2)
    assert len(stalled) == 20
    with smtp_server() as (handler, port):
        env = worker_env(settings, port)
        run = [sys.executable, str(ROOT / "run_worker.py"), "--once"]
        early = subprocess.run(run, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert early.returncode == 0, early.stderr
        taken_early = tally(handler, expected).received  # A's lease still runs: B leaves its rows alone
        while dt.datetime.now(dt.UTC) < as_utc(stalled[0].lease_until) + dt.timedelta(seconds=0.2):
            time.sleep(0.05)
        later = subprocess.run(run, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert later.returncode == 0, later.stderr
        with db.connect() as conn:
            settled = conn.execute(select(outbox).order_by(outbox.c.id)).all()
        # A wakes up and reports every outcome it could: each is refused by the fence of its old claim.
        late = [
            outcome(db, message)
            for message in stalled
            for outcome in (
                lambda d, m: complete(d, m, now),
                lambda d, m: retry_later(d, m, "late", now),
                lambda d, m: fail(d, m, "late"),
                lambda d, m: skip(d, m, "late"),
                lambda d, m: release(d, m, now),
            )
        ]
        with db.connect() as conn:
            after = conn.execute(select(outbox).order_by(outbox.c.id)).all()
        got = tally(handler, expected)
    line = figures("lease-expiry", claimed_by_a=len(stalled), taken_while_leased=taken_early, sent_by_b=got.distinct,
                   late_outcomes_recorded=sum(late), duplicates=got.duplicates)  # fmt: skip
    assert taken_early == 0, line
    assert got.lost == 0 and got.duplicates == 0, line
    assert not any(late), line
    assert after == settled  # status, attempts, lease, sent_at: all as B left them
    assert {(row.status, row.attempts) for row in after} == {("sent", 2)}  # A's claim counted, B's attempt sent

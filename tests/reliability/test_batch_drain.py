"""A backlog run from cron drains in one pass: ``run_worker.py --once`` claims batch after batch
(``GONGKAI_WORKER_BATCH``) until nothing is due or ``GONGKAI_WORKER_BUDGET_SECONDS`` is spent."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

from sqlalchemy import Engine

from tests.conftest import ROOT
from tests.reliability.drill import figures, seed, statuses, tally, worker_env
from tests.smtp_server import smtp_server
from workflow.settings import Settings


def once(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "run_worker.py"), "--once"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_one_pass_delivers_a_backlog_of_500_in_batches_of_50(settings: Settings, db: Engine) -> None:
    expected = seed(db, 500, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    with smtp_server() as (handler, port):
        started = time.monotonic()
        done = once(worker_env(settings, port, GONGKAI_WORKER_BATCH="50"))
        seconds = time.monotonic() - started
        assert done.returncode == 0, done.stderr
        got = tally(handler, expected)
        connections = len({r.peer for r in handler.received})
    line = figures("batch-drain", messages=500, batch=50, sent=got.distinct, lost=got.lost,
                   duplicates=got.duplicates, connections=connections, seconds=f"{seconds:.1f}")  # fmt: skip
    assert got.lost == 0 and got.duplicates == 0 and got.foreign == 0, line
    assert statuses(db) == {"sent": 500}
    assert connections == 10, line  # one SMTP connection per batch of 50
    assert "500 sent" in done.stderr


def test_a_pass_stops_when_its_budget_is_spent_and_the_next_one_goes_on(settings: Settings, db: Engine) -> None:
    expected = seed(db, 200, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    with smtp_server() as (handler, port):
        handler.delay = 0.05  # 10 messages: half a second a batch
        env = worker_env(settings, port, GONGKAI_WORKER_BATCH="10", GONGKAI_WORKER_BUDGET_SECONDS="1")
        first = once(env)
        assert first.returncode == 0, first.stderr
        after_first = tally(handler, expected).distinct
        handler.delay = 0
        second = once(worker_env(settings, port, GONGKAI_WORKER_BATCH="10"))
        assert second.returncode == 0, second.stderr
        got = tally(handler, expected)
    line = figures("batch-budget", messages=200, budget_s=1, first_pass=after_first, after_second=got.distinct)
    # The budget is checked between batches: at least one batch, at most what fits in a second and one batch more.
    assert 10 <= after_first <= 40 and after_first % 10 == 0, line
    assert got.lost == 0 and got.duplicates == 0, line
    assert statuses(db) == {"sent": 200}

"""SIGKILL a worker again and again while it delivers a backlog of due reminders, restarting it each time:
nothing is lost, and a message goes twice at most once per kill (the one in flight), with the same Message-ID."""

from __future__ import annotations

import datetime as dt
import signal
import time

import pytest
from sqlalchemy import Engine

from tests.reliability.drill import figures, seed, statuses, tally, worker_env
from tests.smtp_server import smtp_server
from tests.test_worker_kill import run_worker
from workflow.settings import Settings


@pytest.mark.parametrize(
    ("messages", "kills"),
    [pytest.param(500, 5, id="short"), pytest.param(5000, 20, id="full", marks=pytest.mark.soak)],
)
def test_sigkill_a_delivering_worker_again_and_again(settings: Settings, db: Engine, messages: int, kills: int) -> None:
    expected = seed(db, messages, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1), prefix="kill")
    # Each run is killed after it delivered a share of the backlog; the last run, unharmed, finishes it.
    share = max(messages // (2 * kills), 5)
    killed = 0
    started = time.monotonic()
    with smtp_server() as (handler, port):
        handler.delay = 0.003  # a little slower than a local server, so a kill lands mid-batch
        env = worker_env(settings, port)
        while killed < kills:
            before = tally(handler, expected).received
            worker = run_worker(env)
            limit = time.monotonic() + 120
            while tally(handler, expected).received < before + share and time.monotonic() < limit:
                if worker.poll() is not None:
                    break
                time.sleep(0.005)
            assert worker.poll() is None, f"run {killed + 1} ended before it could be killed"
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
            killed += 1
        last = run_worker(env)
        output = last.communicate(timeout=600)[0].decode()
        assert last.returncode == 0, output
        got = tally(handler, expected)
    line = figures(
        "sigkill", messages=messages, kills=killed, delivered=got.distinct, lost=got.lost,
        duplicates=got.duplicates, other_message_id=got.foreign, seconds=f"{time.monotonic() - started:.1f}",
    )  # fmt: skip
    assert got.lost == 0, line
    assert got.duplicates <= killed, line
    assert got.foreign == 0, line  # every duplicate carried its row's Message-ID
    assert statuses(db) == {"sent": messages}, line

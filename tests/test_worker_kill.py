"""A worker killed with SIGKILL in the middle of a batch loses nothing when it is started again."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from notifications.outbox import enqueue
from notifications.render import RenderedMessage
from tests.conftest import AUDIT_KEY, DEFINITIONS, ROOT
from tests.env import outside_env
from tests.smtp_server import RecordingHandler, smtp_server
from workflow.settings import Settings
from workflow.store.db import make_engine
from workflow.wiring import initialise

MESSAGES = 30


@pytest.fixture
def slow_server() -> Iterator[tuple[RecordingHandler, int]]:
    with smtp_server() as (handler, port):
        handler.delay = 0.15
        yield handler, port


def run_worker(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "run_worker.py"), "--once", *args],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


def test_sigkill_mid_batch_then_restart_loses_nothing(
    tmp_path: Path, slow_server: tuple[RecordingHandler, int]
) -> None:
    handler, port = slow_server
    url = f"sqlite:///{tmp_path / 'gongkai.db'}"
    settings = Settings(database_url=url, definitions_dir=DEFINITIONS, audit_key=AUDIT_KEY)
    db = make_engine(url)
    initialise(settings, db)
    now = dt.datetime.now(dt.UTC)
    with db.begin() as conn:
        for n in range(MESSAGES):
            message = RenderedMessage(subject=f"提醒 {n}", text=f"正文 {n}", html=f"<p>正文 {n}</p>")
            enqueue(conn, key=f"kill-test:{n}", event="reminder_overdue", recipient=f"p{n}@town.example.gov.cn",
                    message=message, now=now)  # fmt: skip
    db.dispose()
    env = {
        **outside_env(),
        "GONGKAI_DATABASE_URL": url, "GONGKAI_AUDIT_KEY": AUDIT_KEY, "GONGKAI_DEFINITIONS_DIR": str(DEFINITIONS),
        "GONGKAI_SMTP_URL": f"smtp://127.0.0.1:{port}", "GONGKAI_MAIL_FROM": "gongkai@town.example.gov.cn",
    }  # fmt: skip

    worker = run_worker(env)
    deadline = time.monotonic() + 60
    while len(handler.received) < 8 and time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.02)
    assert worker.poll() is None, "the worker finished before it could be killed"
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    delivered_before = len(handler.received)
    assert 8 <= delivered_before < MESSAGES

    # Started again at once: the killed process's claims are still leased, but it is gone
    # from this machine, so the new worker takes them back without waiting for the lease.
    restarted = run_worker(env)
    output = restarted.communicate(timeout=120)[0].decode()
    assert restarted.returncode == 0, output
    assert "taken back" in output

    ids = handler.message_ids()
    assert len(set(ids)) == MESSAGES  # nothing lost
    assert len(ids) - MESSAGES <= 1  # at most the message in flight went twice, with the same Message-ID

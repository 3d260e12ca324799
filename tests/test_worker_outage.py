"""The worker and an SMTP server that is down: it connects only when mail is due, and an outage
fails the delivery of the messages (retried later), never the pass (``run_worker.py --once`` exits 0)."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys
from pathlib import Path

from sqlalchemy import insert, select

from notifications.outbox import PENDING, SENT, enqueue, outbox
from notifications.render import RenderedMessage
from tests.conftest import ROOT
from tests.env import outside_env
from tests.smtp_server import connections_to, free_port, smtp_server
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.worker.passes import security_log, status


def run_worker(settings: Settings, smtp_port: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "run_worker.py"), "--once", *args],
        env=environment(settings, smtp_port), cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def environment(settings: Settings, smtp_port: int) -> dict[str, str]:
    return {
        **outside_env(),
        "GONGKAI_DATABASE_URL": settings.database_url,
        "GONGKAI_AUDIT_KEY": settings.audit_key or "",
        "GONGKAI_DEFINITIONS_DIR": str(settings.definitions_dir),
        "GONGKAI_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "GONGKAI_MAIL_FROM": "gongkai@town.example.gov.cn",
        "GONGKAI_LANG": "en",
        # The office here is inserted around the chain, which the daily compliance check rightly reports to
        # the auditor by email: these tests count the SMTP connections of reminders alone.
        "GONGKAI_COMPLIANCE_CHECK": "0",
    }


def as_utc(value: dt.datetime) -> dt.datetime:
    """A stored time as aware UTC (SQLite gives it back naive, PostgreSQL in the session's zone)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def test_with_nothing_due_a_pass_makes_no_connection_and_exits_0(
    engine: WorkflowEngine, settings: Settings, silent_listener: socket.socket
) -> None:
    engine.set_active("auditor_a", False, by="admin_a")  # no auditor: no daily anchor email (test_audit_anchors.py)
    finished = run_worker(settings, silent_listener.getsockname()[1])
    assert finished.returncode == 0, finished.stderr
    assert connections_to(silent_listener) == 0  # a server that never answers would have held the pass for 30 s
    [last] = status(engine)["passes"]
    assert last["report"]["sent"] == 0 and last["report"]["delivery_error"] is None


def test_an_smtp_outage_fails_the_delivery_not_the_pass_and_the_mail_goes_once_when_it_is_back(
    engine: WorkflowEngine, settings: Settings
) -> None:
    engine.set_active("auditor_a", False, by="admin_a")  # no auditor: no daily anchor email (test_audit_anchors.py)
    wall = dt.datetime.now(dt.UTC)
    with engine.db.begin() as conn:
        message = RenderedMessage(subject="提醒", text="正文", html="<p>正文</p>")
        enqueue(conn, key="outage-test", event="reminder_overdue", recipient="p1@town.example.gov.cn",
                message=message, now=wall - dt.timedelta(minutes=1))  # fmt: skip
        conn.execute(insert(security_log).values(at=wall - dt.timedelta(days=400), event="old_enough_to_forget"))
    port = free_port()  # nothing listens there: connection refused

    down = run_worker(settings, port)
    assert down.returncode == 0, down.stderr
    with engine.db.connect() as conn:
        row = conn.execute(select(outbox)).one()
        assert conn.execute(select(security_log)).all() == []  # the rest of the pass still ran
    assert row.status == PENDING and row.attempts == 1
    assert "127.0.0.1" in row.last_error and "Connection" in row.last_error
    assert as_utc(row.next_attempt_at) >= wall + dt.timedelta(minutes=1)  # the existing backoff
    [last] = status(engine)["passes"]
    assert last["report"]["retried"] == 1 and last["report"]["sent"] == 0
    assert last["report"]["delivery_error"] == row.last_error
    assert "delivery failed" in down.stderr  # said in the log, as a warning
    told = subprocess.run(
        [str(Path(sys.executable).parent / "gongkai"), "worker", "status"],
        env=environment(settings, port), cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert told.returncode == 0 and f"delivery failed, the messages will be retried: {row.last_error}" in told.stdout

    later = wall + dt.timedelta(minutes=5)
    with smtp_server(port=port) as (mailbox, _):
        for _ in range(2):
            back = run_worker(settings, port, "--at", later.isoformat())
            assert back.returncode == 0, back.stderr
        assert mailbox.message_ids() == [row.message_id]  # sent once, with the Message-ID fixed when written
    with engine.db.connect() as conn:
        sent = conn.execute(select(outbox.c.status, outbox.c.attempts, outbox.c.sent_at)).one()
    assert sent[:2] == (SENT, 2)
    assert as_utc(sent.sent_at) == later  # the pass ran on the clock of --at

"""The outbox on SQLite and PostgreSQL, delivered to a real SMTP server (aiosmtpd on 127.0.0.1).

Claims, leases, retries and failures are exercised with real SMTP replies (451, 550,
421 from the test server), several workers at once, and a worker process that is
killed in the middle of a batch.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, Row, select
from sqlalchemy.dialects import postgresql, sqlite

from notifications.delivery import DeliveryReport, deliver_pending
from notifications.outbox import (
    ClaimedMessage,
    RetryPolicy,
    claim_batch,
    claim_statement,
    complete,
    dedupe_key_for,
    enqueue,
    message_id_for,
    new_owner,
    outbox,
    release_dead_claims,
    requeue_failed,
)
from notifications.render import ItemSummary, RenderedMessage, render
from notifications.transport import OutgoingEmail, SmtpTransport
from tests.smtp_server import RecordingHandler, connections_to, free_port
from workflow.core.errors import InvalidInput, NotFound, TransitionNotAllowed
from workflow.settings import Settings
from workflow.store.db import make_engine
from workflow.store.migrate import alembic_config
from workflow.wiring import initialise

ROOT = Path(__file__).resolve().parent.parent
T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
OK = "reviewer@town.example.gov.cn"


@pytest.fixture
def smtp_url(server: tuple[RecordingHandler, int]) -> str:
    return f"smtp://127.0.0.1:{server[1]}"


@pytest.fixture
def transport(smtp_url: str) -> Callable[[], SmtpTransport]:
    return lambda: SmtpTransport.from_url(smtp_url, local_hostname="localhost", timeout=5)


def message(n: int) -> RenderedMessage:
    return RenderedMessage(f"【待办】GK-2026-{n:04d}", f"正文 {n}", f"<p>正文 {n}</p>")


def put(db: Engine, *recipients: str, now: dt.datetime = T0, prefix: str = "test") -> None:
    with db.begin() as conn:
        for n, recipient in enumerate(recipients, start=1):
            enqueue(conn, key=f"{prefix}:{n}", event="new_task", recipient=recipient, message=message(n), now=now)


def rows(db: Engine) -> list[Row[Any]]:
    with db.connect() as conn:
        return list(conn.execute(select(outbox).order_by(outbox.c.id)))


def by_recipient(db: Engine) -> dict[str, Row[Any]]:
    return {row.recipient: row for row in rows(db)}


# ---- writing -------------------------------------------------------------------------------


def test_enqueue_twice_is_a_no_op_and_the_message_id_is_fixed(db: Engine) -> None:
    with db.begin() as conn:
        assert enqueue(conn, key="new_task:1:2", event="new_task", recipient=OK, message=message(1), now=T0)
        assert not enqueue(conn, key="new_task:1:2", event="new_task", recipient=OK, message=message(2), now=T0)
        assert enqueue(
            conn, key="new_task:1:2", event="new_task", recipient="leader@x.gov.cn", message=message(1), now=T0
        )
    first, second = rows(db)
    assert first.subject == "【待办】GK-2026-0001", "the second write changed nothing"
    assert first.message_id == message_id_for(dedupe_key_for("new_task:1:2", OK))
    assert first.message_id.startswith("<") and first.message_id.endswith("@gongkai>") and len(first.message_id) == 42
    assert second.message_id != first.message_id
    assert (first.status, first.attempts, first.next_attempt_at, first.created_at) == ("pending", 0, T0, T0)


def test_enqueue_is_part_of_the_callers_transaction(db: Engine) -> None:
    with pytest.raises(RuntimeError), db.begin() as conn:
        enqueue(conn, key="k", event="new_task", recipient=OK, message=message(1), now=T0)
        raise RuntimeError("the transition failed after the outbox row was written")
    assert rows(db) == []


@pytest.mark.parametrize(
    "recipient", ["a@b.gov.cn\r\nBcc: x@evil.example", "a@b.gov.cn, c@d.gov.cn", "nobody", "张三 <a@b.gov.cn>", "a@b"]
)
def test_enqueue_refuses_anything_but_one_address(db: Engine, recipient: str) -> None:
    with pytest.raises(InvalidInput), db.begin() as conn:
        enqueue(conn, key="k", event="new_task", recipient=recipient, message=message(1), now=T0)


def test_rendered_email_written_with_the_item_and_delivered(
    db: Engine, make_item: Callable[..., int], transport: Callable[[], SmtpTransport], mail: RecordingHandler
) -> None:
    item_id = make_item(title="<b>预算</b> {{ 7*7 }}")
    rendered = render(
        "new_task",
        recipient_name="reviewer_a",
        base_url="https://gk.example.gov.cn",
        today=T0.date(),
        confidential_states={"confidentiality_review"},
        item=ItemSummary(
            "GK-2026-0001", "<b>预算</b> {{ 7*7 }}", "confidentiality_review", "保密审查", body="机密正文"
        ),
    )
    with db.begin() as conn:
        enqueue(
            conn, key=f"new_task:{item_id}:2", event="new_task", recipient=OK, message=rendered, now=T0, item_id=item_id
        )
    assert deliver_pending(db, transport(), "w1", T0) == DeliveryReport(sent=1)
    received = mail.received[0].message
    assert received["Subject"] == "【待办】GK-2026-0001 保密审查：<b>预算</b> {{ 7*7 }}"
    assert received["Message-ID"] == rows(db)[0].message_id
    assert "机密正文" not in received.as_string()
    assert rows(db)[0].item_id == item_id


# ---- delivering ----------------------------------------------------------------------------


def test_sent_retried_and_failed_by_the_servers_answers(
    db: Engine, transport: Callable[[], SmtpTransport], mail: RecordingHandler
) -> None:
    put(db, OK, "tempfail@town.example.gov.cn", "reject@town.example.gov.cn")
    report = deliver_pending(db, transport(), "w1", T0)
    found = by_recipient(db)
    sent, later, refused = found[OK], found["tempfail@town.example.gov.cn"], found["reject@town.example.gov.cn"]
    assert report == DeliveryReport(sent=1, retried=1, failed=1, error=refused.last_error)  # the last one's
    assert (sent.status, sent.sent_at, sent.attempts, sent.lease_owner) == ("sent", T0, 1, None)
    assert (later.status, later.attempts, later.next_attempt_at) == ("pending", 1, T0 + dt.timedelta(minutes=1))
    assert later.last_error is not None and "451" in later.last_error
    assert refused.status == "failed" and refused.last_error is not None and "550" in refused.last_error
    assert mail.message_ids() == [sent.message_id]
    assert deliver_pending(db, transport(), "w1", T0 + dt.timedelta(seconds=59)) == DeliveryReport()


def test_backoff_then_failure_after_the_last_attempt(db: Engine, transport: Callable[[], SmtpTransport]) -> None:
    put(db, "tempfail@town.example.gov.cn")
    policy = RetryPolicy(base_delay=dt.timedelta(minutes=1), max_delay=dt.timedelta(minutes=3), max_attempts=4)
    now = T0
    waits = []
    for _ in range(3):
        report = deliver_pending(db, transport(), "w1", now, policy=policy)
        row = rows(db)[0]
        assert report == DeliveryReport(retried=1, error=row.last_error)
        waits.append(row.next_attempt_at - now)
        now = row.next_attempt_at
    assert waits == [dt.timedelta(minutes=1), dt.timedelta(minutes=2), dt.timedelta(minutes=3)]
    report = deliver_pending(db, transport(), "w1", now, policy=policy)
    assert report == DeliveryReport(failed=1, error=rows(db)[0].last_error)
    assert (rows(db)[0].status, rows(db)[0].attempts) == ("failed", 4)


def test_retry_policy() -> None:
    policy = RetryPolicy(base_delay=dt.timedelta(seconds=30), max_delay=dt.timedelta(minutes=10), max_attempts=6)
    assert [policy.delay(n).total_seconds() for n in range(1, 8)] == [30, 60, 120, 240, 480, 600, 600]
    assert policy.next_attempt(1, permanent=False, now=T0) == T0 + dt.timedelta(seconds=30)
    assert policy.next_attempt(1, permanent=True, now=T0) is None
    assert policy.next_attempt(6, permanent=False, now=T0) is None
    assert policy.delay(10_000) == dt.timedelta(minutes=10)


def test_lost_connection_gives_back_the_untried_rest(
    db: Engine, transport: Callable[[], SmtpTransport], mail: RecordingHandler
) -> None:
    put(db, OK, "drop@town.example.gov.cn", "later@town.example.gov.cn")
    report = deliver_pending(db, transport(), "w1", T0)
    found = by_recipient(db)
    assert report == DeliveryReport(sent=1, retried=2, error=found["drop@town.example.gov.cn"].last_error)
    assert (found["drop@town.example.gov.cn"].attempts, found["later@town.example.gov.cn"].attempts) == (1, 0)
    assert found["later@town.example.gov.cn"].status == "pending"
    assert found["later@town.example.gov.cn"].next_attempt_at == T0, "untried: due again at once"
    assert found["drop@town.example.gov.cn"].next_attempt_at == T0 + dt.timedelta(minutes=1)
    assert deliver_pending(db, transport(), "w1", T0) == DeliveryReport(sent=1)
    assert by_recipient(db)["later@town.example.gov.cn"].status == "sent"
    assert len(mail.message_ids()) == 2


def test_no_server_retries_everything(db: Engine) -> None:
    put(db, OK, "two@town.example.gov.cn")
    down = SmtpTransport.from_url(f"smtp://127.0.0.1:{free_port()}", timeout=2)
    report = deliver_pending(db, down, "w1", T0)
    assert report == DeliveryReport(retried=2, error=rows(db)[0].last_error)
    assert {(r.status, r.attempts) for r in rows(db)} == {("pending", 1)}
    assert all(r.last_error and "127.0.0.1" in r.last_error for r in rows(db))


def test_nothing_to_send_opens_no_connection(db: Engine, silent_listener: socket.socket) -> None:
    """Nothing due, or only notices that would ask for a decision already taken: the server is never contacted."""
    never = SmtpTransport.from_url(f"smtp://127.0.0.1:{silent_listener.getsockname()[1]}", timeout=2)
    assert deliver_pending(db, never, "w1", T0) == DeliveryReport()
    put(db, OK, "two@town.example.gov.cn")
    report = deliver_pending(db, never, "w1", T0, obsolete=lambda message: "moved on")
    assert report == DeliveryReport(skipped=2)
    assert connections_to(silent_listener) == 0


# ---- claims and leases ---------------------------------------------------------------------


def test_claim_skips_locked_rows_on_postgresql() -> None:
    statement = claim_statement("w1", T0, 10, 60)
    assert "FOR UPDATE SKIP LOCKED" in str(statement.compile(dialect=postgresql.dialect()))
    assert "FOR UPDATE" not in str(statement.compile(dialect=sqlite.dialect()))  # BEGIN IMMEDIATE instead


def test_an_expired_lease_is_taken_over_and_the_late_owner_changes_nothing(db: Engine) -> None:
    put(db, OK, "two@town.example.gov.cn")
    first = claim_batch(db, "worker-a", T0, lease_seconds=60, wall=T0)
    assert [m.attempts for m in first] == [1, 1]
    assert {(r.status, r.lease_owner, r.lease_until) for r in rows(db)} == {
        ("sending", "worker-a", T0 + dt.timedelta(seconds=60))
    }
    assert (
        claim_batch(db, "worker-b", T0 + dt.timedelta(seconds=59), lease_seconds=60, wall=T0 + dt.timedelta(seconds=59))
        == []
    )
    taken = claim_batch(
        db, "worker-b", T0 + dt.timedelta(seconds=60), lease_seconds=60, wall=T0 + dt.timedelta(seconds=60)
    )
    assert [m.id for m in taken] == [m.id for m in first] and [m.attempts for m in taken] == [2, 2]
    assert not complete(db, first[0], T0 + dt.timedelta(seconds=61)), "worker-a's lease was taken over"
    row = rows(db)[0]
    assert (row.status, row.lease_owner, row.sent_at) == ("sending", "worker-b", None)
    assert complete(db, taken[0], T0 + dt.timedelta(seconds=62))
    assert (rows(db)[0].status, rows(db)[0].lease_owner) == ("sent", None)


def test_a_lease_that_ran_out_but_was_not_taken_over_can_still_be_completed(db: Engine) -> None:
    put(db, OK)
    [claimed] = claim_batch(db, "worker-a", T0, lease_seconds=60, wall=T0)
    assert complete(db, claimed, T0 + dt.timedelta(minutes=5)), "nobody else sent it: recording it saves a resend"
    assert claim_batch(db, "worker-b", T0 + dt.timedelta(minutes=6), wall=T0 + dt.timedelta(minutes=6)) == []


def test_the_same_owner_cannot_settle_an_older_claim(db: Engine) -> None:
    put(db, OK)
    [old] = claim_batch(db, "worker-a", T0, lease_seconds=60, wall=T0)
    [new] = claim_batch(
        db, "worker-a", T0 + dt.timedelta(seconds=60), lease_seconds=60, wall=T0 + dt.timedelta(seconds=60)
    )
    assert not complete(db, old, T0 + dt.timedelta(seconds=61))
    assert complete(db, new, T0 + dt.timedelta(seconds=61))


class TakenOverMidSend(SmtpTransport):
    """Sends for real; before the first send another worker takes the batch over (our lease ran out)."""

    def __init__(self, db: Engine, url: str) -> None:
        super().__init__(SmtpTransport.from_url(url).endpoint, local_hostname="localhost", timeout=5)
        self.db = db
        self.taken: list[ClaimedMessage] = []

    def send(self, email: OutgoingEmail) -> None:
        if not self.taken:
            self.taken = claim_batch(self.db, "worker-b", T0 + dt.timedelta(hours=1), wall=T0 + dt.timedelta(hours=1))
        super().send(email)


def test_outcomes_after_a_takeover_are_counted_as_stale(db: Engine, smtp_url: str, mail: RecordingHandler) -> None:
    put(db, OK, "tempfail@town.example.gov.cn")
    slow = TakenOverMidSend(db, smtp_url)
    report = deliver_pending(db, slow, "worker-a", T0, lease_seconds=60, wall=T0)
    assert report == DeliveryReport(sent=1, retried=1, stale=2, error=report.error)
    assert report.error is not None and "451" in report.error  # not recorded on the row: it was taken over
    assert {(r.status, r.lease_owner) for r in rows(db)} == {("sending", "worker-b")}
    assert len(slow.taken) == 2


def test_several_workers_at_once_send_each_message_exactly_once(
    db: Engine, transport: Callable[[], SmtpTransport], mail: RecordingHandler
) -> None:
    count = 30
    put(db, *(f"person{n}@town.example.gov.cn" for n in range(count)))
    start = threading.Barrier(3)
    reports: list[DeliveryReport] = []
    errors: list[BaseException] = []

    def work(owner: str) -> None:
        try:
            start.wait()
            while (report := deliver_pending(db, transport(), owner, T0, limit=4)).claimed:
                reports.append(report)
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=work, args=(new_owner(),)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert errors == []
    received = Counter(mail.message_ids())
    assert len(received) == count and set(received.values()) == {1}, "each message reached the server exactly once"
    assert sum(r.sent for r in reports) == count and not any(r.stale for r in reports)
    assert {r.status for r in rows(db)} == {"sent"}


KILLED_WORKER = """
import datetime as dt, os, sys
from notifications.delivery import deliver_pending
from notifications.transport import SmtpTransport
from workflow.store.db import make_engine

class DiesAfterFirstSend(SmtpTransport):
    def send(self, email):
        super().send(email)
        os._exit(9)  # killed after the server took the message, before it was marked sent

db = make_engine(sys.argv[1])
transport = DiesAfterFirstSend.from_url(sys.argv[2], local_hostname="localhost", timeout=5)
at = dt.datetime.fromisoformat(sys.argv[3])
deliver_pending(db, transport, "doomed", at, lease_seconds=60, wall=at)
"""


def test_a_worker_killed_mid_batch_loses_nothing(
    db: Engine, database_url: str, smtp_url: str, transport: Callable[[], SmtpTransport], mail: RecordingHandler
) -> None:
    put(db, OK, "two@town.example.gov.cn", "three@town.example.gov.cn")
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_WORKER, database_url, smtp_url, T0.isoformat()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert killed.returncode == 9, killed.stderr
    assert {(r.status, r.lease_owner) for r in rows(db)} == {("sending", "doomed")}
    half, full = T0 + dt.timedelta(seconds=30), T0 + dt.timedelta(seconds=60)
    assert deliver_pending(db, transport(), "rescuer", half, wall=half) == DeliveryReport()
    assert deliver_pending(db, transport(), "rescuer", full, wall=full) == DeliveryReport(sent=3)
    received = Counter(mail.message_ids())
    first = rows(db)[0].message_id
    assert received[first] == 2, "at least once: the message in flight is sent again, with the same Message-ID"
    assert sorted(received.values()) == [1, 1, 2]


def test_a_message_whose_worker_keeps_dying_fails_in_the_end(
    db: Engine, transport: Callable[[], SmtpTransport], mail: RecordingHandler
) -> None:
    put(db, OK)
    policy = RetryPolicy(max_attempts=2)
    claim_batch(db, "dies-1", T0, lease_seconds=60, wall=T0)
    claim_batch(db, "dies-2", T0 + dt.timedelta(seconds=60), lease_seconds=60, wall=T0 + dt.timedelta(seconds=60))
    later = T0 + dt.timedelta(seconds=120)
    report = deliver_pending(db, transport(), "w3", later, policy=policy, wall=later)
    assert report == DeliveryReport(failed=1)
    row = rows(db)[0]
    assert row.status == "failed" and row.last_error is not None and "2 attempts" in row.last_error
    assert mail.message_ids() == []


def test_requeue_failed(db: Engine, transport: Callable[[], SmtpTransport]) -> None:
    put(db, "reject@town.example.gov.cn", OK)
    deliver_pending(db, transport(), "w1", T0)
    failed, sent = rows(db)
    requeue_failed(db, failed.id, T0 + dt.timedelta(hours=1))
    again = rows(db)[0]
    assert (again.status, again.attempts, again.next_attempt_at) == ("pending", 0, T0 + dt.timedelta(hours=1))
    with pytest.raises(TransitionNotAllowed):
        requeue_failed(db, sent.id, T0)
    with pytest.raises(NotFound):
        requeue_failed(db, 10_000, T0)


def test_migration_down_and_up_again(db: Engine) -> None:
    config = alembic_config()
    for target, present in (("0002", False), ("head", True)):
        with db.begin() as connection:
            config.attributes["connection"] = connection
            (command.downgrade if target != "head" else command.upgrade)(config, target)
        with db.connect() as conn:
            assert db.dialect.has_table(conn, "outbox") is present


# ---- the command line ----------------------------------------------------------------------


def _script() -> str:
    beside = Path(sys.executable).with_name("gongkai")
    return str(beside) if beside.exists() else "gongkai"


@pytest.fixture
def cli_database(tmp_path: Path, transport: Callable[[], SmtpTransport]) -> tuple[str, Engine]:
    url = f"sqlite:///{tmp_path / 'gongkai.db'}"
    db = make_engine(url)
    initialise(Settings(database_url=url, definitions_dir=ROOT / "definitions", audit_key=None), db)
    put(db, OK, "reject@town.example.gov.cn", "tempfail@town.example.gov.cn")
    deliver_pending(db, transport(), "w1", T0)
    return url, db


def gongkai(url: str, *args: str, lang: str = "zh") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GONGKAI_DATABASE_URL": url,
        "GONGKAI_DEFINITIONS_DIR": str(ROOT / "definitions"),
        "GONGKAI_LANG": lang,
    }
    env.pop("GONGKAI_AUDIT_KEY", None)
    return subprocess.run([_script(), *args], env=env, capture_output=True, text=True, timeout=60)


def test_cli_lists_and_retries(cli_database: tuple[str, Engine]) -> None:
    url, db = cli_database
    listed = gongkai(url, "outbox", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    unsent = json.loads(listed.stdout)
    assert [(m["recipient"], m["status"]) for m in unsent] == [
        ("reject@town.example.gov.cn", "failed"),
        ("tempfail@town.example.gov.cn", "pending"),
    ]
    failed_only = gongkai(url, "outbox", "list", "--failed")
    assert "发送失败" in failed_only.stdout and "reject@town.example.gov.cn" in failed_only.stdout
    assert "550" in failed_only.stdout and "tempfail" not in failed_only.stdout

    failed_id = unsent[0]["id"]
    retried = gongkai(url, "outbox", "retry", str(failed_id))
    assert retried.returncode == 0 and "已重新排队" in retried.stdout
    assert by_recipient(db)["reject@town.example.gov.cn"].status == "pending"
    assert by_recipient(db)["reject@town.example.gov.cn"].attempts == 0

    again = gongkai(url, "outbox", "retry", str(failed_id), lang="en")
    assert again.returncode == 1 and again.stderr.strip() == (
        f"message #{failed_id} is pending: only failed messages can be retried"
    )
    missing = gongkai(url, "outbox", "retry", "9999")
    assert missing.returncode == 2 and "#9999" in missing.stderr


def test_leases_run_on_the_real_clock_whatever_moment_a_pass_runs_as_of(db: Engine) -> None:
    put(db, OK)
    far_future = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    before = dt.datetime.now(dt.UTC)
    [claimed] = claim_batch(db, "worker-a", far_future, lease_seconds=60)
    after = dt.datetime.now(dt.UTC)
    # A pass dated 2030 (--at) holds the message for one real minute, not until 2030.
    assert before + dt.timedelta(seconds=60) <= claimed.lease_until <= after + dt.timedelta(seconds=61)
    # A pass dated in the past cannot take over what another worker is sending this minute...
    assert claim_batch(db, "worker-b", T0 - dt.timedelta(days=365), lease_seconds=60) == []
    # ...nor can one dated in the future: the lease has not run out on the real clock.
    assert claim_batch(db, "worker-b", far_future + dt.timedelta(days=1), lease_seconds=60) == []


def test_only_claims_of_killed_workers_of_this_machine_are_taken_back(db: Engine) -> None:
    put(db, OK, "two@town.example.gov.cn", "three@town.example.gov.cn")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    here = socket.gethostname()[:80]
    owners = [f"{here}:{gone.pid}:dead0001", f"{here}:{os.getpid()}:alive001", "another-host:1:remote01"]
    for owner in owners:
        claim_batch(db, owner, T0, limit=1, wall=T0 + dt.timedelta(days=3650))
    assert release_dead_claims(db) == 1
    assert sorted((r.status, r.lease_owner or "") for r in rows(db)) == sorted(
        [("pending", ""), ("sending", owners[1]), ("sending", owners[2])]
    )

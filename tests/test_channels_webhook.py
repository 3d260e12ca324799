"""The webhook channel and the job runner, against a real HTTP server started by the test.

The server verifies every request's signature with the shared secret and answers from a script
(500, 500, a dropped connection, then 200); the worker's passes are driven with a frozen clock
past each backoff, and the audit chain must verify afterwards.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from notifications.outbox import RetryPolicy
from tests.conftest import AUDIT_KEY, FrozenClock
from workflow.core.publication import PublicItem
from workflow.engine import WorkflowEngine, audit_log
from workflow.publishing.channels.base import ChannelJob
from workflow.publishing.channels.runner import NO_PERFORMER, perform_due
from workflow.publishing.channels.webhook import SCHEMA, WebhookChannel
from workflow.store import audit_log as auditlog
from workflow.store.publication_jobs import claim_jobs, item_jobs
from workflow.store.publications import publication_jobs

SECRET = "county-shared-secret-åß-0123456789"
OWNER = "test-host:1:aaaaaaaa"


@dataclass
class Received:
    key: str
    timestamp: str
    signature_ok: bool
    document: dict[str, Any]
    answered: str


@dataclass
class County:
    """A real HTTP server playing the county platform: answers from ``script`` (then 200), checks signatures."""

    script: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def delivered(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for request in self.received:
            if request.answered == "200":
                counts[request.key] = counts.get(request.key, 0) + 1
        return counts


@pytest.fixture
def county() -> Iterator[County]:
    state = County()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            timestamp = self.headers["X-Gongkai-Timestamp"]
            expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            signed = hmac.compare_digest(self.headers["X-Gongkai-Signature"], f"sha256={expected}")
            with state.lock:
                answer = state.script.pop(0) if state.script else "200"
                state.received.append(
                    Received(self.headers["Idempotency-Key"], timestamp, signed, json.loads(body), answer)
                )
            assert self.headers["Content-Type"] == "application/json; charset=utf-8"
            if answer == "drop":  # the connection dies before any answer
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            status = int(answer) if signed else 401
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"no")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/gongkai/inbox"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def published(engine: WorkflowEngine, make_item: Callable[..., int], **kwargs: object) -> int:
    item_id = make_item(**kwargs)
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "clear", "reviewer_a")
    engine.fire(item_id, "sign_off", "leader_a")
    return item_id


def webhook(engine: WorkflowEngine, url: str, clock: FrozenClock, secret: str | None = SECRET) -> WebhookChannel:
    office, catalog = engine.registry.office(), engine.registry.catalog()
    return WebhookChannel(url, secret, office, catalog, engine.zone, timeout=5, clock=clock)


def channel_rows(engine: WorkflowEngine, item_id: int) -> list[dict[str, Any]]:
    with engine.db.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.details, audit_log.c.actor)
            .where(audit_log.c.item_id == item_id, audit_log.c.trigger == "channel")
            .order_by(audit_log.c.seq)
        ).all()
    return [{**json.loads(row.details), "actor": row.actor} for row in rows]


def webhook_job(engine: WorkflowEngine, item_id: int) -> Any:
    with engine.db.connect() as conn:
        return next(j for j in item_jobs(conn, item_id) if j.channel == "webhook")


def test_retried_after_500s_and_a_dropped_connection_then_delivered_once(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock, county: County
) -> None:
    item_id = published(
        engine, make_item, title="关于荷花村道路维修的公告", body="## 工期\n\n三月**十日**开工。",
        meta={"doc_number": "荷政发〔2026〕12号", "subjects": ["交通", "道路"]},
    )  # fmt: skip
    county.script = ["500", "500", "drop"]
    performers = {"webhook": webhook(engine, county.url, clock)}
    waits = []
    for _ in range(4):
        report = perform_due(engine, performers, OWNER, clock.now, wall=clock.now)
        assert report.performed == 1 and report.stale == 0
        job = webhook_job(engine, item_id)
        if job.status == "done":
            break
        waits.append(job.next_attempt_at - clock.now)
        # Not due before its time: a pass a second early claims nothing.
        early = job.next_attempt_at - dt.timedelta(seconds=1)
        assert perform_due(engine, performers, OWNER, early, wall=early).performed == 0
        clock.now = job.next_attempt_at
    policy = RetryPolicy()
    assert waits == [policy.delay(1), policy.delay(2), policy.delay(3)]  # the email's schedule: 1, 2, 4 minutes
    job = webhook_job(engine, item_id)
    assert (job.status, job.attempts, job.last_error) == ("done", 4, None)
    assert job.result is not None and job.result.startswith("HTTP 200")
    # Passes run again: nothing more is sent.
    for _ in range(3):
        clock.advance(hours=2)
        perform_due(engine, performers, OWNER, clock.now, wall=clock.now)
    assert [r.answered for r in county.received] == ["500", "500", "drop", "200"]
    assert all(r.signature_ok for r in county.received)
    assert {r.key for r in county.received} == {job.key}  # the same Idempotency-Key on every retry
    assert county.delivered() == {job.key: 1}
    sent = county.received[-1].document
    assert sent["schema"] == SCHEMA and sent["event"] == "publish" and sent["status"] == "current"
    assert sent["title"] == "关于荷花村道路维修的公告" and sent["reference"].startswith("GK-")
    assert sent["index_number"] == "01526086-8-03/2026-00001"
    assert sent["body_html"] == "<h2>工期</h2>\n<p>三月<strong>十日</strong>开工。</p>"
    assert sent["organ"] == {"name": "腾冲市荷花镇人民政府", "code": "01526086-8"}
    assert sent["category"]["code"] == "03" and sent["doc_number"] == "荷政发〔2026〕12号"
    assert sent["subjects"] == ["交通", "道路"] and sent["revised_at"] is None
    assert sent["published_at"] == "2026-03-02T10:00:00+08:00"
    assert sent["url"] == f"https://www.tengchong.gov.cn/hehua/items/{sent['reference']}.html"
    outcomes = [(r["outcome"], r["attempt"], r["channel"], r["key"]) for r in channel_rows(engine, item_id)]
    assert outcomes == [("retry", 1, "webhook", job.key), ("retry", 2, "webhook", job.key),
                        ("retry", 3, "webhook", job.key), ("delivered", 4, "webhook", job.key)]  # fmt: skip
    errors = [r.get("error", "") for r in channel_rows(engine, item_id)]
    assert "HTTP 500" in errors[0] and "HTTP 500" in errors[1] and "RemoteDisconnected" in errors[2]
    assert auditlog.verify(engine.db, AUDIT_KEY.encode()).fault is None


def test_a_4xx_fails_at_once_and_is_never_retried_by_itself(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock, county: County
) -> None:
    item_id = published(engine, make_item)
    county.script = ["422"]
    performers = {"webhook": webhook(engine, county.url, clock)}
    report = perform_due(engine, performers, OWNER, clock.now, wall=clock.now)
    assert (report.delivered, report.retried, report.failed) == (0, 0, 1)
    job = webhook_job(engine, item_id)
    assert job.status == "failed" and job.attempts == 1 and "HTTP 422" in (job.last_error or "")
    clock.advance(days=2)
    assert perform_due(engine, performers, OWNER, clock.now, wall=clock.now).performed == 0
    assert len(county.received) == 1
    assert [r["outcome"] for r in channel_rows(engine, item_id)] == ["failed"]


def test_429_and_408_are_retried_and_the_last_attempt_fails(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock, county: County
) -> None:
    item_id = published(engine, make_item)
    county.script = ["429", "408", "503"]
    performers = {"webhook": webhook(engine, county.url, clock)}
    policy = RetryPolicy(max_attempts=3)
    for _ in range(3):
        perform_due(engine, performers, OWNER, clock.now, wall=clock.now, policy=policy)
        clock.advance(hours=1)
    job = webhook_job(engine, item_id)
    assert job.status == "failed" and job.attempts == 3 and "HTTP 503" in (job.last_error or "")
    assert [r["outcome"] for r in channel_rows(engine, item_id)] == ["retry", "retry", "failed"]


def test_a_refused_connection_is_retried_and_an_unset_secret_fails_with_a_clear_error(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock
) -> None:
    item_id = published(engine, make_item)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    performers = {"webhook": webhook(engine, f"http://127.0.0.1:{port}/", clock)}
    assert perform_due(engine, performers, OWNER, clock.now, wall=clock.now).retried == 1
    assert "ConnectionRefusedError" in (webhook_job(engine, item_id).last_error or "")
    clock.advance(minutes=5)
    performers = {"webhook": webhook(engine, "http://127.0.0.1:9/", clock, secret=None)}
    assert perform_due(engine, performers, OWNER, clock.now, wall=clock.now).failed == 1
    job = webhook_job(engine, item_id)
    assert job.status == "failed" and "GONGKAI_WEBHOOK_SECRET is not set" in (job.last_error or "")


def test_a_channel_without_performer_stays_pending_saying_so(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock, county: County
) -> None:
    item_id = published(engine, make_item)  # sub-directory 03: portal, webhook, notice_board
    perform_due(engine, {"webhook": webhook(engine, county.url, clock)}, OWNER, clock.now, wall=clock.now)
    with engine.db.connect() as conn:
        jobs = {j.channel: j for j in item_jobs(conn, item_id)}
    assert jobs["webhook"].status == "done"
    for channel in ("portal", "notice_board"):
        assert jobs[channel].status == "pending" and jobs[channel].attempts == 0
        assert jobs[channel].last_error == NO_PERFORMER.format(channel=channel)


def test_a_zombie_whose_lease_ran_out_changes_nothing(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock, county: County
) -> None:
    """Worker A claims the job and hangs past its lease; worker B takes it over and delivers; A's late
    completion (it does deliver, late) is not recorded: the row keeps B's outcome and only B's audit row."""
    item_id = published(engine, make_item)
    real = webhook(engine, county.url, clock)
    started, go = threading.Event(), threading.Event()

    class Hanging:
        name = "webhook"

        def perform(self, job: ChannelJob, item: PublicItem) -> str:
            started.set()
            go.wait(10)
            return "late: " + real.perform(job, item)

    wall = clock.now
    reports: list[Any] = []
    zombie = threading.Thread(
        target=lambda: reports.append(
            perform_due(engine, {"webhook": Hanging()}, "host-a:1:aaaa", clock.now, wall=wall, lease_seconds=60)
        )
    )
    zombie.start()
    assert started.wait(10)
    later = wall + dt.timedelta(seconds=120)  # A's lease ran out
    taken_over = perform_due(engine, {"webhook": real}, "host-b:2:bbbb", clock.now, wall=later)
    assert taken_over.delivered == 1
    before = webhook_job(engine, item_id)
    go.set()
    zombie.join(10)
    assert reports and reports[0].stale == 1 and reports[0].delivered == 1
    after = webhook_job(engine, item_id)
    assert after == before and after.status == "done" and after.result is not None
    assert not after.result.startswith("late")
    assert [(r["outcome"], r["attempt"]) for r in channel_rows(engine, item_id)] == [("delivered", 2)]
    assert auditlog.verify(engine.db, AUDIT_KEY.encode()).fault is None


@pytest.mark.parametrize("database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_two_runners_on_postgresql_perform_each_job_once(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock, county: County
) -> None:
    items = [published(engine, make_item, title=f"公告{n}") for n in range(12)]
    performers = {"webhook": webhook(engine, county.url, clock)}
    barrier = threading.Barrier(2)
    reports: list[Any] = []

    def run(owner: str) -> None:
        barrier.wait()
        for _ in range(4):
            reports.append(perform_due(engine, performers, owner, clock.now, limit=3, wall=clock.now))

    threads = [threading.Thread(target=run, args=(f"host:{n}:runner",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(r.delivered for r in reports) == 12 and sum(r.stale for r in reports) == 0
    keys = {webhook_job(engine, item_id).key for item_id in items}
    assert county.delivered() == dict.fromkeys(keys, 1)
    assert len(county.received) == 12
    with engine.db.connect() as conn:
        audited = conn.execute(select(audit_log.c.seq).where(audit_log.c.trigger == "channel")).all()
        statuses = set(conn.execute(select(publication_jobs.c.status).where(publication_jobs.c.channel == "webhook"))
                       .scalars())  # fmt: skip
    assert len(audited) == 12 and statuses == {"done"}
    assert auditlog.verify(engine.db, AUDIT_KEY.encode()).fault is None


def test_claims_skip_jobs_another_worker_holds(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock
) -> None:
    published(engine, make_item)
    lease_until = clock.now + dt.timedelta(minutes=5)
    with engine.db.begin() as conn:
        first = claim_jobs(conn, "a:1:x", clock.now, ["webhook"], 10, lease_until, clock.now)
    with engine.db.begin() as conn:
        second = claim_jobs(conn, "b:2:y", clock.now, ["webhook"], 10, lease_until, clock.now)
    assert len(first) == 1 and first[0].attempts == 1 and second == []


def test_a_channel_attempt_is_not_the_items_latest_action(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock, county: County
) -> None:
    """Pages and skipped notices say who moved an item on: the leader who signed it off, not the worker's delivery."""
    item_id = published(engine, make_item)
    perform_due(engine, {"webhook": webhook(engine, county.url, clock)}, OWNER, clock.now, wall=clock.now)
    with engine.db.connect() as conn:
        assert webhook_job(engine, item_id).status == "done"
        latest = engine.latest_action(conn, item_id)
    assert latest is not None and latest["trigger"] == "sign_off"

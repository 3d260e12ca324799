"""SMTP faults from a scripted server: temporary refusals retried with backoff and the same Message-ID,
permanent ones failed after one attempt, and a server down for a while with a queue that goes once it is back."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, select

from notifications.outbox import outbox
from notifications.settings import MailSettings
from tests.reliability.drill import RECIPIENT_DOMAIN, figures, seed, statuses, tally, worker_env
from tests.smtp_server import RecordingHandler, free_port, smtp_server
from tests.test_worker_outage import as_utc
from workflow.settings import Settings
from workflow.worker.passes import Worker
from workflow.worker.run import build_worker

TEMPORARY = ("421 4.3.2 Closing", "450 4.2.1 Mailbox busy", "451 4.3.0 Local error", "452 4.2.2 Mailbox full")
PERMANENT = ("550 5.1.1 No such user", "553 5.1.3 Bad address", "554 5.7.1 Refused")


class ScriptedHandler(RecordingHandler):
    """Answers RCPT as scripted for each recipient, attempt by attempt; past its script it accepts."""

    def __init__(self, script: dict[str, list[str]]) -> None:
        super().__init__()
        self.script = script
        self.attempts: Counter[str] = Counter()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        with self.lock:
            attempt = self.attempts[address]
            self.attempts[address] += 1
        replies = self.script.get(address, [])
        if attempt < len(replies):
            return replies[attempt]
        envelope.rcpt_tos.append(address)
        return "250 OK"


@contextmanager
def scripted(script: dict[str, list[str]]) -> Iterator[tuple[ScriptedHandler, int]]:
    handler = ScriptedHandler(script)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@contextmanager
def worker(settings: Settings, port: int) -> Iterator[Worker]:
    env = worker_env(settings, port)
    running = build_worker(Settings.from_env(env), MailSettings.from_env(env))
    try:
        yield running
    finally:
        running.release()
        running.engine.db.dispose()


def rows(db: Engine) -> dict[str, Any]:
    with db.connect() as conn:
        return {row.recipient: row for row in conn.execute(select(outbox))}


def test_temporary_refusals_are_retried_with_backoff_and_permanent_ones_fail_once(
    settings: Settings, db: Engine
) -> None:
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=1)
    expected = seed(db, 20, t0, prefix="fault")
    address = [f"fault{i}@{RECIPIENT_DOMAIN}" for i in range(20)]
    # Recipients 0-3 refused for now twice, each with its code; 4-6 refused for good; the rest accepted.
    # 421 closes the connection, so it is the last of the batch: the others are not disturbed by it.
    temporary = {address[19]: [TEMPORARY[0]] * 2, **{address[i]: [TEMPORARY[i]] * 2 for i in (1, 2, 3)}}
    permanent = {address[4 + i]: [PERMANENT[i]] for i in range(3)}
    with scripted({**temporary, **permanent}) as (handler, port), worker(settings, port) as running:
        first = running.run_pass(t0)
        after_first = rows(db)
        running.run_pass(t0 + dt.timedelta(seconds=30))  # inside the backoff: nothing is tried again
        tries_in_backoff = {a: handler.attempts[a] for a in temporary}
        running.run_pass(t0 + dt.timedelta(minutes=1))
        after_second = rows(db)
        running.run_pass(t0 + dt.timedelta(minutes=3))
        running.run_pass(t0 + dt.timedelta(minutes=10))
        final = rows(db)
        got = tally(handler, expected)
    line = figures(
        "smtp-faults", messages=20, sent_first_pass=first.sent, temporary=len(temporary), permanent=len(permanent),
        rcpt_tries_temporary=sorted(handler.attempts[a] for a in temporary),
        rcpt_tries_permanent=sorted(handler.attempts[a] for a in permanent), delivered=got.distinct,
        duplicates=got.duplicates, failed=sum(1 for r in final.values() if r.status == "failed"),
    )  # fmt: skip
    for a in temporary:
        assert after_first[a].status == "pending" and after_first[a].attempts == 1, line
        assert as_utc(after_first[a].next_attempt_at) == t0 + dt.timedelta(minutes=1), line  # backoff 1 min
        assert tries_in_backoff[a] == 1, line
        assert after_second[a].attempts == 2, line
        assert as_utc(after_second[a].next_attempt_at) == t0 + dt.timedelta(minutes=3), line  # then 2 min
        assert final[a].status == "sent" and final[a].attempts == 3 and handler.attempts[a] == 3, line
    assert temporary[address[19]][0][:3] in after_first[address[19]].last_error
    for a, [reply] in permanent.items():
        assert final[a].status == "failed" and final[a].attempts == 1 and handler.attempts[a] == 1, line
        assert reply[:3] in final[a].last_error, line
    assert first.sent == 13, line  # every accepted recipient went in the first pass
    assert got.distinct == 17 and got.duplicates == 0 and got.foreign == 0, line  # resent with the same Message-ID
    assert statuses(db) == {"sent": 17, "failed": 3}


@pytest.mark.parametrize(
    "queued", [pytest.param(200, id="short"), pytest.param(1000, id="full", marks=pytest.mark.soak)]
)
def test_a_server_down_for_a_while_gets_the_whole_queue_soon_after_it_returns(
    settings: Settings, db: Engine, queued: int
) -> None:
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0)
    expected = seed(db, queued, t0, prefix="queue")
    port = free_port()  # nothing listens: connection refused
    with worker(settings, port) as running:
        down = [running.run_pass(t0 + dt.timedelta(minutes=m)) for m in (0, 1, 3)]
        waiting = statuses(db)
        with smtp_server(port=port) as (handler, _):
            back = running.run_pass(t0 + dt.timedelta(minutes=10))
            got = tally(handler, expected)
    line = figures(
        "smtp-down", queued=queued, passes_while_down=len(down), sent_while_down=sum(p.sent for p in down),
        tried_while_down=sum(p.retried for p in down), sent_first_pass_back=back.sent, lost=got.lost,
        duplicates=got.duplicates,
    )  # fmt: skip
    assert sum(p.sent for p in down) == 0 and waiting == {"pending": queued}, line
    # A pass that cannot connect stops after the first batch: the rest are not charged an attempt.
    assert all(p.retried <= running.batch for p in down), line
    assert back.sent == queued and got.lost == 0 and got.duplicates == 0 and got.foreign == 0, line
    assert statuses(db) == {"sent": queued}

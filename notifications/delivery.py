"""The outbox sender: claim a batch, send it over one connection, settle each row."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from notifications.outbox import (
    DEFAULT_BATCH,
    DEFAULT_LEASE_SECONDS,
    ClaimedMessage,
    RetryPolicy,
    claim_batch,
    complete,
    fail,
    release,
    retry_later,
    skip,
)
from notifications.render import ActionLinker
from notifications.transport import DeliveryError, Transport


@dataclass(frozen=True)
class DeliveryReport:
    """What one call of :func:`deliver_pending` did."""

    sent: int = 0
    """Accepted by the transport."""
    retried: int = 0
    """Back to pending, to be tried again later."""
    failed: int = 0
    """Given up: a permanent refusal, or the last attempt."""
    stale: int = 0
    """Outcomes not recorded because another worker had taken the claim over (its lease ran out)."""
    skipped: int = 0
    """Not sent because ``obsolete`` said so (a notice whose item moved on)."""
    error: str | None = None
    """The last delivery error of the batch (e.g. the SMTP server could not be reached); None when none."""

    @property
    def claimed(self) -> int:
        return self.sent + self.retried + self.failed + self.skipped


def deliver_pending(
    db: Engine,
    transport: Transport,
    owner: str,
    now: dt.datetime,
    limit: int = DEFAULT_BATCH,
    *,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    policy: RetryPolicy | None = None,
    wall: dt.datetime | None = None,
    linker: ActionLinker | None = None,
    obsolete: Callable[[ClaimedMessage], str | None] | None = None,
) -> DeliveryReport:
    """Claim up to ``limit`` due messages for ``owner`` and send them over one connection of ``transport``.

    The transport is opened only when a claimed message is to be sent: a pass with nothing
    due never connects. Each row is settled in its own short transaction right after its
    send, so a worker killed mid-batch resends at most the message in flight (same
    Message-ID); the rows it had not reached stay ``sending`` until their lease ends, then
    another worker claims them. A server that cannot be reached (refused, timed out, 4xx)
    fails the delivery of every message left in the batch, each row recording the attempt,
    the error and its next try (``policy``); it never raises. Safe to run in several
    workers at once on PostgreSQL. Leases run on ``wall`` (the real clock unless given),
    whatever ``now`` a pass runs as of. A message for which ``obsolete`` gives a reason is
    settled as skipped, with that reason, not sent.
    """
    policy = policy or RetryPolicy()
    batch = claim_batch(db, owner, now, limit, lease_seconds, wall=wall)
    tally = _Tally()
    worn_out = [m for m in batch if m.attempts > policy.max_attempts]
    for message in worn_out:  # claimed again and again: its worker died while sending it
        tally.failed(fail(db, message, f"gave up after {message.attempts - 1} attempts that never finished"))
    batch = [m for m in batch if m.attempts <= policy.max_attempts]
    connected = False
    try:
        for index, message in enumerate(batch):
            reason = obsolete(message) if obsolete is not None else None
            if reason is not None:
                tally.skipped(skip(db, message, reason))
                continue
            try:
                if not connected:
                    transport.open()
                    connected = True
                transport.send(message.email(linker))
            except DeliveryError as error:
                tally.error = error.detail
                if not connected:  # the server cannot be reached: none of the rest can go either
                    for unsent in batch[index:]:
                        _settle_failure(db, unsent, error, now, policy, tally)
                    break
                _settle_failure(db, message, error, now, policy, tally)
                if error.connection_lost:  # the rest were never tried: due again at once, no attempt counted
                    for untried in batch[index + 1 :]:
                        tally.retried(release(db, untried, now))
                    break
            else:
                tally.sent(complete(db, message, now))
    finally:
        if connected:
            transport.close()
    return tally.report()


def _settle_failure(
    db: Engine, message: ClaimedMessage, error: DeliveryError, now: dt.datetime, policy: RetryPolicy, tally: _Tally
) -> None:
    at = policy.next_attempt(message.attempts, permanent=error.permanent, now=now)
    if at is None:
        tally.failed(fail(db, message, error.detail))
    else:
        tally.retried(retry_later(db, message, error.detail, at))


class _Tally:
    def __init__(self) -> None:
        self.counts = {"sent": 0, "retried": 0, "failed": 0, "stale": 0, "skipped": 0}
        self.error: str | None = None

    def _count(self, outcome: str, recorded: bool) -> None:
        self.counts[outcome] += 1
        if not recorded:
            self.counts["stale"] += 1

    def sent(self, recorded: bool) -> None:
        self._count("sent", recorded)

    def retried(self, recorded: bool) -> None:
        self._count("retried", recorded)

    def failed(self, recorded: bool) -> None:
        self._count("failed", recorded)

    def skipped(self, recorded: bool) -> None:
        self._count("skipped", recorded)

    def report(self) -> DeliveryReport:
        return DeliveryReport(**self.counts, error=self.error)


def drain_pending(
    db: Engine,
    transport: Transport,
    owner: str,
    now: dt.datetime,
    batch: int = DEFAULT_BATCH,
    *,
    budget_seconds: float = 300,
    linker: ActionLinker | None = None,
    obsolete: Callable[[ClaimedMessage], str | None] | None = None,
) -> DeliveryReport:
    """Deliver batch after batch of what is due by ``now`` until nothing is, or ``budget_seconds`` are spent.

    One batch at a time (``batch`` rows claimed, one connection), so a worker killed
    between batches holds no more than one batch's claims. It stops early when a batch
    sent nothing and had an error (the server cannot be reached or refuses everything
    for now): those rows wait for their backoff, the rest for the next pass. The budget
    is checked between batches, on the monotonic clock; a pass ends within about one
    batch's time after it.
    """
    ends = time.monotonic() + budget_seconds
    total = DeliveryReport()
    while True:
        report = deliver_pending(db, transport, owner, now, batch, linker=linker, obsolete=obsolete)
        total = DeliveryReport(
            sent=total.sent + report.sent,
            retried=total.retried + report.retried,
            failed=total.failed + report.failed,
            stale=total.stale + report.stale,
            skipped=total.skipped + report.skipped,
            error=report.error or total.error,
        )
        if report.claimed < batch or (report.error is not None and report.sent == 0) or time.monotonic() >= ends:
            return total

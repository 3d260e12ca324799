"""Perform the channels' due jobs: claim under a lease, perform outside any transaction, record the outcome.

A job's life: ``pending`` -> ``running`` (claimed by one worker until its lease ends) -> ``done``,
or back to ``pending`` (tried again later, with the email's backoff: :class:`notifications.outbox.RetryPolicy`)
or ``failed`` (a refusal that retrying cannot help, or the last attempt; ``gongkai publication retry``
puts it back). Each attempt's outcome is written in one transaction with the job's row, fenced by the
claim, and an item-bound audit row (trigger ``channel``): a worker whose lease ran out and whose job
another worker took over records nothing. A worker that dies mid-job leaves the row ``running``; once
its lease runs out another worker performs it again, with the same idempotency key.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from notifications.outbox import DEFAULT_BATCH, DEFAULT_LEASE_SECONDS, RetryPolicy
from workflow.clock import utc_now
from workflow.core.publication import CHANNEL_TRIGGER, DELIVERED, FAILED_OUTCOME, RETRY
from workflow.engine import WorkflowEngine
from workflow.publishing.channels.base import Channel, ChannelError, ChannelJob
from workflow.store.db import reading
from workflow.store.publication_jobs import ClaimedJob, claim_jobs, due_jobs, note_unperformed, settle
from workflow.store.publications import DONE, FAILED, PENDING, public_item

log = logging.getLogger("gongkai.channels")

NO_PERFORMER = "no performer is registered for channel '{channel}': the job waits until one is"
"""The ``last_error`` of a pending job whose channel this worker cannot perform (e.g. the portal before the site)."""


@dataclass(frozen=True)
class ChannelReport:
    """What one call of :func:`perform_due` did."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0
    stale: int = 0
    """Outcomes not recorded: another worker had taken the job over (this worker's lease ran out)."""

    @property
    def performed(self) -> int:
        return self.delivered + self.retried + self.failed


def perform_due(
    engine: WorkflowEngine,
    performers: Mapping[str, Channel],
    owner: str,
    now: dt.datetime,
    *,
    limit: int = DEFAULT_BATCH,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    policy: RetryPolicy | None = None,
    wall: dt.datetime | None = None,
) -> ChannelReport:
    """Claim up to ``limit`` jobs due by ``now`` whose channel has a performer, perform each, record each attempt.

    Due is as of ``now`` (a pass's ``--at``); leases run on ``wall``, the real clock. Jobs of a
    channel without a performer stay pending with :data:`NO_PERFORMER` as their error. Never raises
    for a channel's failure: a performer's unexpected exception counts as a failed attempt, retried.
    Safe to run in several workers at once on PostgreSQL (each job is claimed by one).
    """
    policy = policy or RetryPolicy()
    wall = wall or utc_now()
    with engine.db.begin() as conn:
        note_unperformed(conn, list(performers), NO_PERFORMER)
        batch = claim_jobs(conn, owner, now, list(performers), limit, wall + dt.timedelta(seconds=lease_seconds), wall)
    counts = {DELIVERED: 0, RETRY: 0, FAILED_OUTCOME: 0, "stale": 0}
    for job in batch:
        outcome, recorded = _attempt(engine, performers[job.channel], job, now, policy)
        counts[outcome] += 1
        if not recorded:
            counts["stale"] += 1
    return ChannelReport(counts[DELIVERED], counts[RETRY], counts[FAILED_OUTCOME], counts["stale"])


def would_perform(engine: WorkflowEngine, now: dt.datetime, limit: int = DEFAULT_BATCH) -> list[str]:
    """The jobs a pass as of ``now`` would claim, one line each (``run_worker.py --dry-run``); changes nothing."""
    with reading(engine.db) as conn:
        return due_jobs(conn, now, utc_now(), limit)


def _attempt(
    engine: WorkflowEngine, performer: Channel, job: ClaimedJob, now: dt.datetime, policy: RetryPolicy
) -> tuple[str, bool]:
    """Perform one claimed job and record it; its outcome and whether the record was this worker's to write."""
    error: ChannelError | None = None
    result = ""
    if job.attempts > policy.max_attempts:  # claimed again and again: its workers died while performing it
        error = ChannelError(f"gave up after {job.attempts - 1} attempts that never finished", retry=False)
    else:
        with reading(engine.db) as conn:
            item = public_item(conn, job.item_id)
        try:
            if item is None:
                raise ChannelError(f"item {job.item_id} has never been published", retry=False)
            seen = ChannelJob(job.id, job.key, job.item_id, job.channel, job.event, job.revision, job.attempts)
            result = performer.perform(seen, item)
        except ChannelError as refused:
            error = refused
        except Exception as crash:  # a bug in a performer must not stop the pass nor strand the lease
            log.exception("channel %s crashed on job %s", job.channel, job.key)
            error = ChannelError(f"{type(crash).__name__}: {crash}")
    details: dict[str, Any] = {
        "channel": job.channel, "event": job.event, "key": job.key, "attempt": job.attempts,
    }  # fmt: skip
    if error is None:
        outcome, values = DELIVERED, {"status": DONE, "result": result, "done_at": now, "last_error": None}
        details.update(outcome=outcome, result=result)
    else:
        at = policy.next_attempt(job.attempts, permanent=not error.retry, now=now)
        if at is None:
            outcome, values = FAILED_OUTCOME, {"status": FAILED, "last_error": str(error)}
        else:
            outcome, values = RETRY, {"status": PENDING, "next_attempt_at": at, "last_error": str(error)}
            details["next_attempt_at"] = at.astimezone(engine.zone).isoformat()
        details.update(outcome=outcome, error=str(error))
    with engine.db.begin() as conn:
        recorded = settle(conn, job, **values)
        if recorded:
            engine.record_channel(conn, job.item_id, CHANNEL_TRIGGER, details, now)
    if not recorded:
        log.warning("job %s: outcome %s not recorded, another worker took it over", job.key, outcome)
    else:
        log.info("channel %s %s %s: %s", job.channel, job.event, job.key, outcome if error is None else error)
    return outcome, recorded

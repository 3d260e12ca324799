"""The channels' work queue (``publication_jobs``): claim under a lease, settle fenced by it, list, requeue.

The engine writes the rows in the transaction of the move (:func:`workflow.store.publications.enqueue_jobs`);
the worker claims due rows here, performs each outside any transaction, then settles it. A claim is one
statement, ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`` (SQLite runs one
worker and ignores the locking clause), exactly as the outbox claims emails. Every settle names the claim
(owner and lease end): a worker whose lease ran out and whose job was taken over changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, func, or_, select, update

from workflow.core.errors import InvalidInput
from workflow.store.models import Item
from workflow.store.publications import DONE, FAILED, PENDING, RUNNING, publication_jobs
from workflow.store.sql import settle_claim

jobs = publication_jobs
STATUSES = (PENDING, RUNNING, DONE, FAILED)
ERROR_LIMIT = 2000
items = cast(Table, Item.__table__)


@dataclass(frozen=True)
class ClaimedJob:
    """A job this worker holds a lease on; hand it back to :func:`settle`."""

    id: int
    key: str
    item_id: int
    channel: str
    event: str
    revision: int
    attempts: int
    """Attempts started, this one included (the claim counts it)."""
    lease_owner: str
    lease_until: dt.datetime


@dataclass(frozen=True)
class JobEntry:
    """A job as ``gongkai publication status`` and the item page show it."""

    id: int
    key: str
    item_id: int
    reference: str
    channel: str
    event: str
    revision: int
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None
    result: str | None
    created_at: dt.datetime
    done_at: dt.datetime | None


def claim_jobs(
    conn: Connection,
    owner: str,
    now: dt.datetime,
    channels: Collection[str],
    limit: int,
    lease_until: dt.datetime,
    wall: dt.datetime,
) -> list[ClaimedJob]:
    """Lease up to ``limit`` due jobs of ``channels`` to ``owner`` until ``lease_until``, in the caller's transaction.

    Due: pending with ``next_attempt_at <= now`` (the pass's moment), or running with a lease
    that ran out by ``wall`` (the real clock). Rows another worker holds are skipped (PostgreSQL).
    """
    if not owner or len(owner) > 128:
        raise InvalidInput("outbox.bad_owner", owner=owner[:80])
    if not channels:
        return []
    due = or_(
        and_(jobs.c.status == PENDING, jobs.c.next_attempt_at <= now),
        and_(jobs.c.status == RUNNING, jobs.c.lease_until <= wall),
    )
    candidates = (
        select(jobs.c.id)
        .where(due, jobs.c.channel.in_(list(channels)))
        .order_by(jobs.c.next_attempt_at, jobs.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(jobs)
        .where(jobs.c.id.in_(candidates))
        .values(status=RUNNING, lease_owner=owner, lease_until=lease_until, attempts=jobs.c.attempts + 1)
        .returning(
            jobs.c.id, jobs.c.key, jobs.c.item_id, jobs.c.channel, jobs.c.event, jobs.c.revision, jobs.c.attempts,
            jobs.c.lease_owner, jobs.c.lease_until,
        )
    )  # fmt: skip
    claimed = [ClaimedJob(**row._asdict()) for row in conn.execute(statement)]
    return sorted(claimed, key=lambda job: job.id)


def settle(conn: Connection, job: ClaimedJob, **values: Any) -> bool:
    """Apply ``values`` (and drop the lease) if the row is still under this very claim; True when it was."""
    if "last_error" in values and values["last_error"] is not None:
        values["last_error"] = str(values["last_error"])[:ERROR_LIMIT]
    return settle_claim(conn, jobs, job.id, RUNNING, job.lease_owner, job.lease_until, values)


def note_unperformed(conn: Connection, performed: Collection[str], message: str) -> int:
    """Pending jobs of channels no performer takes stay pending, with ``message`` (``{channel}``) as their error."""
    waiting = conn.execute(
        select(jobs.c.channel).where(jobs.c.status == PENDING, jobs.c.channel.not_in(list(performed))).distinct()
    ).scalars()
    noted = 0
    for channel in waiting:
        text = message.format(channel=channel)
        noted += conn.execute(
            update(jobs)
            .where(jobs.c.status == PENDING, jobs.c.channel == channel)
            .where(or_(jobs.c.last_error.is_(None), jobs.c.last_error != text))
            .values(last_error=text)
        ).rowcount
    return noted


def requeue_failed(
    conn: Connection, item_id: int, now: dt.datetime, channel: str | None = None
) -> list[tuple[str, str, str]]:
    """An item's failed jobs (of ``channel``, or all) back to pending, due now, attempts reset.

    Returns (key, channel, event) of each job put back."""
    where = [jobs.c.item_id == item_id, jobs.c.status == FAILED]
    if channel is not None:
        where.append(jobs.c.channel == channel)
    rows = conn.execute(
        update(jobs)
        .where(*where)
        .values(status=PENDING, attempts=0, next_attempt_at=now, lease_owner=None, lease_until=None)
        .returning(jobs.c.key, jobs.c.channel, jobs.c.event)
    ).all()
    return sorted((row.key, row.channel, row.event) for row in rows)


def _entries(conn: Connection, *where: Any, limit: int | None = None) -> list[JobEntry]:
    query = (
        select(
            jobs.c.id, jobs.c.key, jobs.c.item_id, items.c.reference, jobs.c.channel, jobs.c.event, jobs.c.revision,
            jobs.c.status, jobs.c.attempts, jobs.c.next_attempt_at, jobs.c.last_error, jobs.c.result,
            jobs.c.created_at, jobs.c.done_at,
        )
        .join(items, items.c.id == jobs.c.item_id)
        .where(*where)
        .order_by(jobs.c.item_id, jobs.c.id)
        .limit(limit)
    )  # fmt: skip
    return [JobEntry(**row._asdict()) for row in conn.execute(query)]


def item_jobs(conn: Connection, item_id: int) -> list[JobEntry]:
    """Every job of one item, oldest first."""
    return _entries(conn, jobs.c.item_id == item_id)


def open_jobs(conn: Connection, limit: int = 500) -> list[JobEntry]:
    """The jobs not done (pending, running, failed), oldest item first, at most ``limit``."""
    return _entries(conn, jobs.c.status != DONE, limit=limit)


def status_counts(conn: Connection) -> dict[str, int]:
    """How many jobs are in each status (every status named, zero included)."""
    counts = {status: 0 for status in STATUSES}
    for status, count in conn.execute(select(jobs.c.status, func.count()).group_by(jobs.c.status)):
        counts[str(status)] = int(count)
    return counts


def due_jobs(conn: Connection, now: dt.datetime, wall: dt.datetime, limit: int) -> list[str]:
    """What a pass would claim (``--dry-run``): one line per due pending job or lapsed running one."""
    due = or_(
        and_(jobs.c.status == PENDING, jobs.c.next_attempt_at <= now),
        and_(jobs.c.status == RUNNING, jobs.c.lease_until <= wall),
    )
    rows = conn.execute(
        select(jobs.c.channel, jobs.c.event, jobs.c.attempts, jobs.c.key, items.c.reference)
        .join(items, items.c.id == jobs.c.item_id)
        .where(due)
        .order_by(jobs.c.next_attempt_at, jobs.c.id)
        .limit(limit)
    ).all()
    return [f"channel {r.channel} {r.event} {r.reference} (attempt {r.attempts + 1}, key {r.key})" for r in rows]

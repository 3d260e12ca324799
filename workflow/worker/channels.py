"""The worker's part in publication: perform the channels' due jobs (see workflow.publishing.channels.runner)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from workflow.publishing.channels.base import Channel
from workflow.publishing.channels.runner import perform_due, would_perform

if TYPE_CHECKING:
    from workflow.worker.passes import PassReport, Worker

log = logging.getLogger("gongkai.worker")


def perform_channels(worker: Worker, performers: Mapping[str, Channel], now: dt.datetime, report: PassReport) -> None:
    """Perform the jobs due by ``now`` (in a dry run, list them); the pass report counts them."""
    if worker.dry_run:
        report.would += would_perform(worker.engine, now, worker.batch)
        return
    done = perform_due(worker.engine, performers, worker.owner, now, limit=worker.batch,
                       lease_seconds=worker.lease_seconds)  # fmt: skip
    report.channels_delivered, report.channels_retried = done.delivered, done.retried
    report.channels_failed = done.failed
    if done.performed:
        log.info(
            "channels: %d delivered, %d to retry, %d failed (%d outcomes taken over by another worker)",
            done.delivered, done.retried, done.failed, done.stale,
        )  # fmt: skip

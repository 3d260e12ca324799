"""The worker's part in publication: perform the channels' due jobs (see workflow.publishing.channels.runner)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping

from workflow.engine import WorkflowEngine
from workflow.publishing.channels.base import Channel
from workflow.publishing.channels.runner import ChannelReport, perform_due, would_perform

log = logging.getLogger("gongkai.worker")


def perform_channels(
    engine: WorkflowEngine,
    performers: Mapping[str, Channel],
    owner: str,
    now: dt.datetime,
    *,
    dry_run: bool,
    batch: int,
    lease_seconds: float,
) -> tuple[ChannelReport, list[str]]:
    """Perform the jobs due by ``now``; in a dry run nothing is done and the jobs it would perform are listed."""
    if dry_run:
        return ChannelReport(), would_perform(engine, now, batch)
    done = perform_due(engine, performers, owner, now, limit=batch, lease_seconds=lease_seconds)
    if done.performed:
        log.info(
            "channels: %d delivered, %d to retry, %d failed (%d outcomes taken over by another worker)",
            done.delivered, done.retried, done.failed, done.stale,
        )  # fmt: skip
    return done, []

"""``gongkai publication``: where each publication's channels stand, and retrying the failed ones."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import click

from workflow.cli.shell import Shell, handled, operator, pass_shell
from workflow.core.errors import InvalidInput
from workflow.core.office import CHANNELS
from workflow.store.db import reading
from workflow.store.publication_jobs import JobEntry, item_jobs, open_jobs, status_counts
from workflow.store.publications import FAILED


@click.group()
def publication() -> None:
    """Publication channels: their status per item, retrying what failed."""


def job_json(entry: JobEntry, zone: dt.tzinfo) -> dict[str, Any]:
    def moment(value: dt.datetime | None) -> str | None:
        return value.astimezone(zone).isoformat() if value is not None else None

    return {
        "item_id": entry.item_id, "reference": entry.reference, "channel": entry.channel, "event": entry.event,
        "revision": entry.revision, "status": entry.status, "attempts": entry.attempts,
        "next_attempt_at": moment(entry.next_attempt_at) if entry.status == "pending" else None,
        "last_error": entry.last_error, "result": entry.result, "key": entry.key,
        "created_at": moment(entry.created_at), "done_at": moment(entry.done_at),
    }  # fmt: skip


@publication.command("status")
@click.argument("item_ref", required=False)
@click.option("--json", "as_json", is_flag=True)
@pass_shell
def publication_status(shell: Shell, item_ref: str | None, as_json: bool) -> None:
    """Each channel job of ITEM_REF (event, status, attempts, next attempt, last error, result); without
    ITEM_REF every job not done and the counts per status. Exit 1 when a job shown has failed."""
    engine = shell.engine
    with handled(shell), reading(engine.db) as conn:
        if item_ref is not None:
            entries = item_jobs(conn, engine.item_row(conn, item_ref).id)
            counts = None
        else:
            entries = open_jobs(conn)
            counts = status_counts(conn)
    failed = any(e.status == FAILED for e in entries)
    if as_json:
        document: dict[str, Any] = {"jobs": [job_json(e, engine.zone) for e in entries]}
        if counts is not None:
            document["counts"] = counts
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        _print(shell, entries, counts)
    if failed:
        sys.exit(1)


def _print(shell: Shell, entries: list[JobEntry], counts: dict[str, int] | None) -> None:
    tr = shell.tr
    if counts is not None:
        click.echo("  ".join(f"{shell.t(f'publication.status.{s}')}: {n}" for s, n in counts.items()))
    if not entries:
        click.echo(tr._("No channel jobs."))
        return
    zone = shell.engine.zone
    for entry in entries:
        status = shell.t(f"publication.status.{entry.status}")
        line = f"{entry.reference:<14} {entry.channel:<13} {entry.event:<8} {status:<8} " + tr._(
            "attempts: %(num)s", num=entry.attempts
        )
        if entry.status == "pending":
            when = f"{entry.next_attempt_at.astimezone(zone):%Y-%m-%d %H:%M}"
            line += "  " + tr._("next attempt: %(when)s", when=when)
        click.echo(line)
        if entry.result and entry.status == "done":
            click.echo("    " + entry.result)
        if entry.last_error and entry.status != "done":
            click.echo("    " + entry.last_error)


@publication.command("retry")
@click.argument("item_ref")
@click.option("--channel", help=f"Only this channel ({', '.join(CHANNELS)}); default: every failed one.")
@click.option("--as", "actor", help="Who retries (office or admin); default: this system account.")
@pass_shell
def publication_retry(shell: Shell, item_ref: str, channel: str | None, actor: str | None) -> None:
    """Put the failed channel jobs of ITEM_REF back in the queue; the next worker pass performs them."""
    with handled(shell):
        if channel is not None and channel not in CHANNELS:
            raise InvalidInput("publication.unknown_channel", channel=channel, allowed=", ".join(CHANNELS))
        requeued = shell.engine.retry_channels(item_ref, by=operator(actor), channel=channel)
    click.echo(shell.t("publication.requeued", count=len(requeued)))
    for key, name, event in requeued:
        click.echo(f"  {name} {event} {key}")

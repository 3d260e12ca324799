"""``gongkai outbox``: look at the emails waiting to go out, and put failed ones back in the queue.

The mail modules (Jinja2, smtplib) load only when an outbox command runs.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import click

from workflow.cli.shell import Shell, handled, pass_shell
from workflow.store.db import reading

if TYPE_CHECKING:
    from notifications.outbox import OutboxEntry


@click.group()
def outbox() -> None:
    """Outgoing email: list it, retry what failed."""


def _moment(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def entry_json(entry: OutboxEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "message_id": entry.message_id,
        "event": entry.event,
        "item_id": entry.item_id,
        "recipient": entry.recipient,
        "subject": entry.subject,
        "status": entry.status,
        "attempts": entry.attempts,
        "next_attempt_at": _moment(entry.next_attempt_at),
        "lease_owner": entry.lease_owner,
        "lease_until": _moment(entry.lease_until),
        "last_error": entry.last_error,
        "created_at": _moment(entry.created_at),
        "sent_at": _moment(entry.sent_at),
    }


@outbox.command("list")
@click.option("--failed", "only_failed", is_flag=True, help="Only messages that failed for good.")
@click.option("--all", "everything", is_flag=True, help="Sent messages too.")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True)
@pass_shell
def outbox_list(shell: Shell, only_failed: bool, everything: bool, limit: int, as_json: bool) -> None:
    """Messages not sent yet (pending, sending, failed), oldest first."""
    from notifications.outbox import FAILED, PENDING, SENDING, list_messages

    statuses = (FAILED,) if only_failed else None if everything else (PENDING, SENDING, FAILED)
    with handled(shell), reading(shell.engine.db) as conn:
        entries = list_messages(conn, statuses, limit)
    if as_json:
        click.echo(json.dumps([entry_json(e) for e in entries], ensure_ascii=False, indent=2))
        return
    if not entries:
        click.echo(shell.t("outbox.empty"))
        return
    for entry in entries:
        status = shell.t(f"outbox.status.{entry.status}")
        when = entry.sent_at or entry.next_attempt_at
        click.echo(
            f"#{entry.id:<5} {status:<8} {entry.attempts:>2}  {when:%Y-%m-%d %H:%M}  "
            f"{entry.recipient:<28} {entry.event:<18} {entry.subject}"
        )
        if entry.last_error and entry.status != "sent":
            click.echo(f"       {entry.last_error}")


@outbox.command("retry")
@click.argument("message_id", type=int)
@pass_shell
def outbox_retry(shell: Shell, message_id: int) -> None:
    """Put failed message MESSAGE_ID (the number shown by 'outbox list') back in the queue."""
    from notifications.outbox import requeue_failed
    from workflow.clock import utc_now

    with handled(shell):
        requeue_failed(shell.engine.db, message_id, utc_now())
    click.echo(shell.t("outbox.requeued", id=message_id))

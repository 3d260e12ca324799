"""``gongkai worker``: what the background worker did last."""

from __future__ import annotations

import json

import click

from workflow.cli.shell import Shell, handled, pass_shell


@click.group()
def worker() -> None:
    """The background worker (run it with: python run_worker.py)."""


@worker.command("status")
@click.option("--json", "as_json", is_flag=True)
@pass_shell
def worker_status(shell: Shell, as_json: bool) -> None:
    """The last passes, and the messages pending and failed."""
    from workflow.worker.passes import status

    with handled(shell):
        found = status(shell.engine)
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    if not found["passes"]:
        click.echo(shell.tr._("no worker pass yet"))
    for last in found["passes"]:
        report = last["report"] or {}
        click.echo(
            f"{last['at']}  {last['owner']}: "
            + shell.tr._(
                "reminders %(reminders)s, sent %(sent)s, retry %(retried)s, failed %(failed)s",
                **{k: report.get(k, 0) for k in ("reminders", "sent", "retried", "failed")},
            )
        )  # fmt: skip
        if report.get("delivery_error"):
            click.echo("  " + shell.t("worker.delivery_error", error=report["delivery_error"]))
    click.echo(
        shell.tr._("outbox: %(pending)s pending, %(failed)s failed", pending=found["pending"], failed=found["failed"])
    )  # fmt: skip

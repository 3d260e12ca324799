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
    en = shell.lang == "en"
    if not found["passes"]:
        click.echo("no worker pass yet" if en else "工作进程尚未运行过")
    for last in found["passes"]:
        report = last["report"] or {}
        click.echo(
            f"{last['at']}  {last['owner']}: "
            + ("reminders {reminders}, sent {sent}, retry {retried}, failed {failed}" if en
               else "提醒 {reminders}, 已发送 {sent}, 待重试 {retried}, 失败 {failed}").format(**{
                   k: report.get(k, 0) for k in ("reminders", "sent", "retried", "failed")})
        )  # fmt: skip
        if report.get("delivery_error"):
            click.echo("  " + shell.t("worker.delivery_error", error=report["delivery_error"]))
    click.echo(
        f"outbox: {found['pending']} pending, {found['failed']} failed" if en
         else f"发件箱: {found['pending']} 封待发送, {found['failed']} 封发送失败"
    )  # fmt: skip

"""``gongkai web`` and ``gongkai security-log``: the office's web pages and their security log."""

from __future__ import annotations

import json

import click

from workflow.cli.shell import Shell, handled, pass_shell
from workflow.store.db import reading


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="server processes")
@pass_shell
def web(shell: Shell, host: str, port: int, workers: int) -> None:
    """The office web pages: inbox, items, action links from emails, audit log, outbox."""
    import uvicorn

    from workflow.web.app import create_app

    with handled(shell):
        shell.settings.require_secret_key()
        mail = shell.mail
        app = create_app(shell.settings, shell.engine, mail)  # checks everything before serving
    click.echo(f"gongkai web: http://{host}:{port}/ (links in emails use {mail.base_url})")
    if workers > 1:
        uvicorn.run("workflow.web.app:app_from_env", factory=True, host=host, port=port, workers=workers)
    else:
        uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)


@click.command("security-log")
@click.option("--event", help="only this event, e.g. action_link_reused, signin_throttled")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True)
@pass_shell
def security_log_command(shell: Shell, event: str | None, limit: int, as_json: bool) -> None:
    """The web pages' security log, newest first: refused links, sign-ins, throttled requests."""
    from sqlalchemy import select

    from workflow.web.security import security_log

    query = select(security_log).order_by(security_log.c.id.desc()).limit(limit)
    if event:
        query = query.where(security_log.c.event == event)
    with handled(shell), reading(shell.engine.db) as conn:
        rows = conn.execute(query).all()
    if as_json:
        click.echo(json.dumps(
            [{"id": r.id, "at": r.at.isoformat(), "event": r.event, "user": r.user_name, "client": r.client,
              "subject": r.subject, "detail": r.detail} for r in rows],
            ensure_ascii=False, indent=2,
        ))  # fmt: skip
        return
    zone = shell.engine.zone
    for r in rows:
        click.echo(
            f"{r.at.astimezone(zone):%Y-%m-%d %H:%M:%S}  {r.event:<24} {r.user_name or '-':<14} "
            f"{r.client or '-':<15} {r.subject or ''} {json.dumps(r.detail, ensure_ascii=False) if r.detail else ''}"
        )

"""``gongkai users``: people, their roles, substitutes and digest choices."""

from __future__ import annotations

import json

import click

from workflow.cli.shell import Shell, handled, parse_date, pass_shell
from workflow.clock import utc_now
from workflow.core.roles import role_label
from workflow.store.people import add_user, delegate, list_delegations, list_users, set_digest


@click.group()
def users() -> None:
    """People and their roles."""


@users.command("add")
@click.argument("name")
@click.option("--email", required=True)
@click.option("--role", "roles", multiple=True, required=True, help="Repeat for several roles.")
@pass_shell
def users_add(shell: Shell, name: str, email: str, roles: tuple[str, ...]) -> None:
    """Add a person with one or more roles."""
    with handled(shell):
        shell.settings.require_audit_key()  # changing who may act is a write: it needs the key too
        with shell.engine.db.begin() as conn:
            info = add_user(conn, name, email, list(roles), utc_now())
    click.echo(f"{info.name} <{info.email}> {', '.join(role_label(r, shell.lang) for r in info.roles)}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_shell
def users_list(shell: Shell, as_json: bool) -> None:
    with handled(shell), shell.engine.db.connect() as conn:
        people = list_users(conn)
        delegations = list_delegations(conn)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "name": p.name,
                        "email": p.email,
                        "roles": list(p.roles),
                        "active": p.active,
                        "substitutes": [
                            {"to": d.substitute, "from": d.starts_on.isoformat(), "until": d.ends_on.isoformat()}
                            for d in delegations
                            if d.principal == p.name
                        ],
                    }
                    for p in people
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    for person in people:
        roles = ", ".join(role_label(r, shell.lang) for r in person.roles)
        click.echo(f"{person.name:<12} {person.email:<28} {roles}")
    for d in delegations:
        click.echo(f"  {d.principal} -> {d.substitute} {d.starts_on.isoformat()}..{d.ends_on.isoformat()}")


@users.command("digest")
@click.argument("name")
@click.option("--on/--off", "on", default=True, help="One daily email of all pending items, or single emails.")
@pass_shell
def users_digest(shell: Shell, name: str, on: bool) -> None:
    """Choose a daily digest instead of single notices and reminders (escalations still come at once)."""
    with handled(shell):
        shell.settings.require_audit_key()
        with shell.engine.db.begin() as conn:
            set_digest(conn, name, on)
    en = shell.lang == "en"
    choice = ("daily digest" if en else "每日汇总") if on else ("single emails" if en else "逐条邮件")
    click.echo(f"{name}: {choice}")


@users.command("delegate")
@click.argument("name")
@click.option("--to", "substitute", required=True, help="The substitute.")
@click.option("--from", "starts", required=True, help="First day, YYYY-MM-DD.")
@click.option("--until", "ends", required=True, help="Last day, YYYY-MM-DD (included).")
@pass_shell
def users_delegate(shell: Shell, name: str, substitute: str, starts: str, ends: str) -> None:
    """NAME is away: SUBSTITUTE may act in their place for the period."""
    with handled(shell):
        shell.settings.require_audit_key()
        starts_on, ends_on = parse_date(starts), parse_date(ends)
        with shell.engine.db.begin() as conn:
            info = delegate(conn, name, substitute, starts_on, ends_on, utc_now())
    click.echo(f"{info.principal} -> {info.substitute} {info.starts_on}..{info.ends_on}")

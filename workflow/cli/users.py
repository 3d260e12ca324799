"""``gongkai users``: people, their roles, substitutes and digest choices."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from workflow.cli.shell import Shell, handled, operator, parse_date, pass_shell
from workflow.core.names import person_label
from workflow.core.personnel import PersonRecord
from workflow.core.roles import role_label
from workflow.engine import WorkflowEngine
from workflow.store.db import reading
from workflow.store.people import list_delegations, list_users

F = TypeVar("F", bound=Callable[..., Any])


def acting_as(command: F) -> F:
    """``--as NAME``: the administrator (or, where the rule allows, the person themself) making the change.

    Without it the change is recorded as made by the operating-system account running the command
    (``cli:ACCOUNT`` in the audit log), which is how the first administrator is added.
    """
    return click.option("--as", "actor", help="Who makes the change (an administrator); default: this system account.")(
        command
    )


def _writer(shell: Shell) -> WorkflowEngine:
    """The engine, once the audit key is known to be usable: changing who may act is a chained write."""
    shell.settings.require_audit_key()
    return shell.engine


def _roles(shell: Shell, record: PersonRecord) -> str:
    return ", ".join(role_label(r, shell.lang) for r in sorted(record.roles))


@click.group()
def users() -> None:
    """People and their roles."""


def _label(shell: Shell, record: PersonRecord) -> str:
    return person_label(record.name, record.display_name, shell.lang)


@users.command("add")
@click.argument("name")
@click.option("--email", required=True)
@click.option("--role", "roles", multiple=True, required=True, help="Repeat for several roles.")
@click.option("--display-name", help="The name the office knows them by (张伟), shown on pages and in emails.")
@acting_as
@pass_shell
def users_add(
    shell: Shell, name: str, email: str, roles: tuple[str, ...], display_name: str | None, actor: str | None
) -> None:
    """Add a person (NAME is their login name, e.g. zhang_wei) with one or more roles."""
    with handled(shell):
        record = _writer(shell).add_person(
            name, email=email, roles=roles, by=operator(actor), display_name=display_name
        )
    roles_text = ", ".join(role_label(r, shell.lang) for r in dict.fromkeys(roles))
    click.echo(
        f"{record.name} <{record.email}> {roles_text}" + (f" ({record.display_name})" if record.display_name else "")
    )


@users.command("display-name")
@click.argument("name")
@click.argument("display_name", metavar="DISPLAY_NAME")
@acting_as
@pass_shell
def users_display_name(shell: Shell, name: str, display_name: str, actor: str | None) -> None:
    """Set the name NAME is shown by on pages and in emails (e.g. 张伟); the audit log keeps NAME."""
    with handled(shell):
        record = _writer(shell).set_display_name(name, display_name, by=operator(actor))
    click.echo(_label(shell, record))


@users.command("roles")
@click.argument("name")
@click.option("--add", "grant", multiple=True, help="A role to grant; repeatable.")
@click.option("--remove", "remove", multiple=True, help="A role to remove; repeatable.")
@acting_as
@pass_shell
def users_roles(shell: Shell, name: str, grant: tuple[str, ...], remove: tuple[str, ...], actor: str | None) -> None:
    """Grant or remove roles (nobody grants themself a role)."""
    with handled(shell):
        record = _writer(shell).change_roles(name, grant=grant, remove=remove, by=operator(actor))
    click.echo(f"{record.name}: {_roles(shell, record)}")


@users.command("deactivate")
@click.argument("name")
@acting_as
@pass_shell
def users_deactivate(shell: Shell, name: str, actor: str | None) -> None:
    """NAME may no longer act or sign in; their history stays."""
    with handled(shell):
        record = _writer(shell).set_active(name, False, by=operator(actor))
    click.echo(f"{record.name}: {shell.t('person.inactive')}")


@users.command("activate")
@click.argument("name")
@acting_as
@pass_shell
def users_activate(shell: Shell, name: str, actor: str | None) -> None:
    """NAME may act again."""
    with handled(shell):
        record = _writer(shell).set_active(name, True, by=operator(actor))
    click.echo(f"{record.name}: {shell.t('person.active')}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_shell
def users_list(shell: Shell, as_json: bool) -> None:
    with handled(shell), reading(shell.engine.db) as conn:
        people = list_users(conn)
        delegations = list_delegations(conn)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "name": p.name,
                        "display_name": p.display_name,
                        "email": p.email,
                        "roles": list(p.roles),
                        "active": p.active,
                        "digest": p.digest,
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
    shown = {p.name: p.display_name for p in people}
    for person in people:
        roles = ", ".join(role_label(r, shell.lang) for r in person.roles)
        inactive = "" if person.active else f"  ({shell.t('person.inactive')})"
        click.echo(f"{person.name:<12} {person.display_name or '-':<8} {person.email:<28} {roles}{inactive}")
    for d in delegations:
        principal = person_label(d.principal, shown.get(d.principal), shell.lang)
        substitute = person_label(d.substitute, shown.get(d.substitute), shell.lang)
        click.echo(f"  {principal} -> {substitute} {d.starts_on.isoformat()}..{d.ends_on.isoformat()}")


@users.command("digest")
@click.argument("name")
@click.option("--on/--off", "on", default=True, help="One daily email of all pending items, or single emails.")
@acting_as
@pass_shell
def users_digest(shell: Shell, name: str, on: bool, actor: str | None) -> None:
    """Choose a daily digest instead of single notices and reminders (escalations still come at once)."""
    with handled(shell):
        _writer(shell).set_digest(name, on, by=operator(actor))
    click.echo(f"{name}: {shell.t('person.digest_on' if on else 'person.digest_off')}")


@users.command("delegate")
@click.argument("name")
@click.option("--to", "substitute", required=True, help="The substitute.")
@click.option("--from", "starts", required=True, help="First day, YYYY-MM-DD.")
@click.option("--until", "ends", required=True, help="Last day, YYYY-MM-DD (included).")
@acting_as
@pass_shell
def users_delegate(shell: Shell, name: str, substitute: str, starts: str, ends: str, actor: str | None) -> None:
    """NAME is away: SUBSTITUTE may act in their place for the period."""
    with handled(shell):
        starts_on, ends_on = parse_date(starts), parse_date(ends)
        _writer(shell).delegate(name, substitute, starts_on, ends_on, by=operator(actor))
    click.echo(f"{name} -> {substitute} {starts_on}..{ends_on}")

"""``gongkai audit``: read, verify and anchor the hash-chained audit log."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from workflow.cli.shell import Shell, handled, pass_shell
from workflow.clock import utc_now
from workflow.core.errors import InvalidInput
from workflow.store import audit_log as auditlog


@click.group()
def audit() -> None:
    """The hash-chained audit log."""


@audit.command("log")
@click.option("--item", "item_ref", help="Only this item (id or reference).")
@click.option("--person", help="Only changes to this person and what they did.")
@click.option("--json", "as_json", is_flag=True)
@pass_shell
def audit_log_command(shell: Shell, item_ref: str | None, person: str | None, as_json: bool) -> None:
    """The chain in order: items' actions and people changes (users add, roles, delegations...)."""
    with handled(shell):
        item_id = shell.engine.show(item_ref).id if item_ref else None
        entries = auditlog.read_entries(shell.engine.db, item_id, person)
    if as_json:
        click.echo(json.dumps([auditlog.entry_json(e) for e in entries], ensure_ascii=False, indent=2))
        return
    for line in auditlog.format_entries(entries, shell.settings.timezone):
        click.echo(line)


@audit.command("verify")
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="An anchor file written by 'audit anchor'; repeatable.",
)
@pass_shell
def audit_verify(shell: Shell, anchors: tuple[str, ...]) -> None:
    """Walk the whole chain; exit 1 at the first bad entry."""
    with handled(shell):
        result = auditlog.verify(shell.engine.db, shell.settings.require_audit_key())
        fault = result.fault
        for path in anchors if fault is None else ():
            fault = auditlog.check_anchor(shell.engine.db, _read_anchor(path))
            if fault is not None:
                break
    if fault is None:
        click.echo(shell.t("audit.verified", count=result.count))
        return
    click.echo(f"{shell.t(fault.key, seq=fault.seq)} {shell.t('audit.after_good', count=result.count)}", err=True)
    sys.exit(1)


def _read_anchor(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("seq"), int) or not isinstance(data.get("hash"), str):
            raise ValueError("needs seq (integer) and hash (text)")
    except (OSError, ValueError) as error:
        raise InvalidInput("audit.anchor_bad", path=path, detail=str(error)) from None
    return data


@audit.command("anchor")
@pass_shell
def audit_anchor(shell: Shell) -> None:
    """Print the chain's head (seq and hash) as JSON, to keep outside the database."""
    with handled(shell):
        kept = auditlog.anchor(shell.engine.db)
    kept["taken_at"] = utc_now().isoformat(timespec="seconds")
    click.echo(json.dumps(kept))


# The compliance check has a module of its own; it is a command of this group.
from workflow.cli.compliance import audit_check  # noqa: E402

audit.add_command(audit_check)

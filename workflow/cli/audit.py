"""``gongkai audit``: read, verify and anchor the hash-chained audit log."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import click

from workflow.cli.shell import Shell, handled, pass_shell
from workflow.clock import utc_now
from workflow.core.errors import InvalidInput
from workflow.core.names import NameEntry, Names
from workflow.store import audit_log as auditlog
from workflow.store import audit_query
from workflow.store.anchors import check_anchors, read_anchor_file
from workflow.store.db import reading
from workflow.store.people import name_entries


@click.group()
def audit() -> None:
    """The hash-chained audit log."""


@audit.command("log")
@click.option("--item", "item_ref", help="Only this item (id or reference).")
@click.option("--person", help="Only what this person did (as actor or stood in for) and changes to them.")
@click.option("--role", help="Only steps taken in this role.")
@click.option("--trigger", help="Only this action (e.g. clear, sign_off, person.roles).")
@click.option("--state", help="Only steps that left or entered this state.")
@click.option("--from", "since", metavar="DATE", help="From this office day (YYYY-MM-DD), included.")
@click.option("--to", "until", metavar="DATE", help="Up to this office day (YYYY-MM-DD), included.")
@click.option("--format", "output", type=click.Choice(audit_query.FORMATS), default="table", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON array (use --format jsonl for large exports).")
@click.option("--page-size", type=click.IntRange(1), default=audit_query.PAGE_SIZE, hidden=True)
@pass_shell
def audit_log_command(
    shell: Shell,
    item_ref: str | None,
    person: str | None,
    role: str | None,
    trigger: str | None,
    state: str | None,
    since: str | None,
    until: str | None,
    output: str,
    as_json: bool,
    page_size: int,
) -> None:
    """The chain in order: items' actions and people changes, filtered; streamed a page at a time.

    CSV is UTF-8 with a BOM (spreadsheet programs then read the Chinese text), one header row.
    """
    raw = {"item": item_ref, "person": person, "role": role, "trigger": trigger, "state": state,
           "from": since, "to": until}  # fmt: skip
    with handled(shell):
        engine = shell.engine
        with reading(engine.db) as conn:
            wanted, problems = audit_query.parse_filters(conn, raw, audit_query.declared_names(engine.registry))
        if problems:  # checked before anything is written: no half output
            raise problems[0].error(f"--{problems[0].option}")
        rows = audit_query.stream(engine.db, wanted, engine.zone, page_size=page_size)
        if as_json:
            _echo_lines(_json_array(rows))
        elif output == "csv":
            names = _names(shell)
            _echo_lines(audit_query.csv_lines(rows, engine.zone, names.display_name), binary=True)
        elif output == "jsonl":
            _echo_lines(audit_query.jsonl_lines(rows))
        else:
            _echo_lines(line + "\n" for line in auditlog.format_entries(rows, shell.settings.timezone))


def _names(shell: Shell) -> Names:
    engine = shell.engine

    def load() -> list[NameEntry]:
        with reading(engine.db) as conn:
            return name_entries(conn)

    return Names(load, shell.lang)


def _json_array(rows: Iterable[Any]) -> Iterator[str]:
    yield "["
    for index, row in enumerate(rows):
        yield ("," if index else "") + "\n" + json.dumps(auditlog.entry_json(row), ensure_ascii=False, indent=2)
    yield "\n]\n"


def _echo_lines(chunks: Iterable[str], binary: bool = False) -> None:
    """Write as the rows come; CSV as UTF-8 bytes whatever the terminal's encoding (Excel expects them)."""
    if binary:
        sys.stdout.flush()
        out = sys.stdout.buffer
        for chunk in chunks:
            out.write(chunk.encode("utf-8"))
        out.flush()
        return
    for chunk in chunks:
        click.echo(chunk, nl=False)


@audit.command("verify")
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="An anchor file written by 'audit anchor'; repeatable.",
)
@click.option(
    "--anchors",
    "anchor_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="A file of anchors, one JSON line each (GONGKAI_ANCHOR_FILE); every one is checked. Repeatable.",
)
@pass_shell
def audit_verify(shell: Shell, anchors: tuple[str, ...], anchor_files: tuple[str, ...]) -> None:
    """Walk the whole chain; exit 1 at the first bad entry, or at the first anchor the log no longer extends.

    The anchors of ``--anchors`` are checked even when the walk fails: a chain rewritten with another key
    fails the walk at its first entry, and the anchors then say since when the kept history differs.
    """
    with handled(shell):
        kept_files = [(path, read_anchor_file(Path(path))) for path in anchor_files]  # bad files: exit 2 first
        result = auditlog.verify(shell.engine.db, shell.settings.require_audit_key())
        fault = result.fault
        for path in anchors if fault is None else ():
            fault = auditlog.check_anchor(shell.engine.db, _read_anchor(path))
            if fault is not None:
                break
        behind = [(path, check_anchors(shell.engine.db, kept)) for path, kept in kept_files]
    failed = False
    if fault is None:
        click.echo(shell.t("audit.verified", count=result.count))
    else:
        click.echo(f"{shell.t(fault.key, seq=fault.seq)} {shell.t('audit.after_good', count=result.count)}", err=True)
        failed = True
    for (path, kept), (_, first_bad) in zip(kept_files, behind, strict=True):
        if first_bad is None:
            click.echo(f"{path}: {shell.t('audit.anchors_verified', count=len(kept))}")
            continue
        failed = True
        anchor = first_bad.anchor
        click.echo(
            shell.t("audit.anchor_not_extended", number=first_bad.number, path=path, line=anchor.line,
                    day=anchor.day or anchor.taken_at or "-", anchor_seq=anchor.seq,
                    fault=shell.t(first_bad.fault.key, seq=first_bad.fault.seq)),
            err=True,
        )  # fmt: skip
    if failed:
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

"""``gongkai report timeliness``: how long each stage took, per person and sub-directory."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from workflow.cli.shell import Shell, handled, parse_date, pass_shell
from workflow.core.errors import InvalidInput
from workflow.reports.timeliness_formats import FORMATS, check_format, render
from workflow.reports.timeliness_source import timeliness_report


@click.command("timeliness")
@click.option("--from", "start", required=True, metavar="DATE", help="First day (YYYY-MM-DD, office time).")
@click.option("--to", "end", required=True, metavar="DATE", help="Last day, included (YYYY-MM-DD).")
@click.option("--format", "fmt", default="table", show_default=True, help=f"One of: {', '.join(FORMATS)}.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file instead of stdout.")
@pass_shell
def timeliness(shell: Shell, start: str, end: str, fmt: str, out: Path | None) -> None:
    """Per stage, person and catalogue sub-directory: items handled, median and 90th-percentile working
    days, share within the limit, and the late items with how late."""
    with handled(shell):
        first, last = parse_date(start), parse_date(end)
        check_format(fmt)
        if fmt == "xlsx" and out is None and sys.stdout.isatty():
            raise InvalidInput("report.xlsx_needs_out")
        found = timeliness_report(shell.engine, first, last)
        data = render(found, fmt, shell.lang, shell.engine.registry.catalog())
        if out is None:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
            return
        try:
            out.write_bytes(data)
        except OSError as error:
            raise InvalidInput("input.unwritable_file", path=str(out), detail=error.strerror or str(error)) from None
    click.echo(shell.tr._("written: %(path)s", path=str(out)), err=True)

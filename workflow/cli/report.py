"""``gongkai report``: reports for the office and its auditors, counted from the data."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from workflow.cli.report_annual import annual_output_options, emit_annual, wants_output
from workflow.cli.report_timeliness import timeliness
from workflow.cli.shell import Shell, handled, pass_shell
from workflow.reports.annual import AnnualFigures, read_year
from workflow.store.db import reading


@click.group()
def report() -> None:
    """Reports: timeliness statistics and the annual report on government information disclosure."""


report.add_command(timeliness)


@report.command("annual")
@click.option("--year", type=click.IntRange(1900, 9999), required=True, help="The year reported on (office time).")
@click.option("--json", "as_json", is_flag=True, help="The figures as JSON.")
@click.option("--explain", is_flag=True, help="The items behind every figure.")
@annual_output_options
@pass_shell
def annual(
    shell: Shell,
    year: int,
    as_json: bool,
    explain: bool,
    fmt: str | None,
    out: Path | None,
    submit: bool,
    actor: str | None,
) -> None:
    """The figures of the annual report (政府信息公开工作年度报告) for YEAR. Exit 1 when the check of
    table 三 (一 + 二 = 三 + 四) fails or the data leaves a figure undecided (each named on stderr).
    With --format the report itself (md, html, docx, pdf), with --submit an item in sub-directory 12."""
    if wants_output(fmt, submit) and (as_json or explain):
        raise click.UsageError("--json and --explain print the figures; --format and --submit write the report")
    engine = shell.engine
    categories = [c.code for c in engine.registry.catalog().categories]
    with handled(shell), reading(engine.db) as conn:
        figures = read_year(conn, year, engine.zone, categories)
    if wants_output(fmt, submit):
        if figures.problems:
            _verdict(shell, figures)  # names each and exits 1: no report from undecided figures
        with handled(shell):
            emit_annual(shell, figures.to_json(), fmt, out, submit, actor)
        return
    if as_json:
        document = figures.to_json()
        if explain:
            document["explain"] = figures.explain()
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    elif explain:
        for path, references in figures.explain().items():
            click.echo(f"{path} = {len(references)}" + (": " + ", ".join(references) if references else ""))
    else:
        for path, references in figures.explain().items():
            click.echo(f"{path} = {len(references)}")
    _verdict(shell, figures)


def _verdict(shell: Shell, figures: AnnualFigures) -> None:
    tr = shell.tr
    check = figures.check()
    for problem in figures.problems:
        click.echo(problem, err=True)
    if not check.holds:
        click.echo(
            tr._(
                "The check of table 3 fails: received %(received)s + carried over %(over)s != handled %(handled)s"
                " + carried forward %(forward)s",
                received=check.received, over=check.carried_over, handled=check.handled,
                forward=check.carried_forward,
            ),
            err=True,
        )  # fmt: skip
    if figures.problems or not check.holds:
        sys.exit(1)

"""``gongkai report annual --format md|html|docx|pdf [--out FILE] [--submit --as USER]``: the report written out.

The counting (``workflow.reports.annual``) gives the figures as JSON; this module adds the options that
write them as a document (:func:`annual_output_options`) and does it (:func:`emit_annual`), so the
``report annual`` command only passes its figures on. ``--submit`` creates the report as a
``proactive_disclosure`` item in the annual-report sub-directory (12): the Markdown is its body, the DOCX
and PDF its attachments, and it goes through review, sign-off and publication like every other item.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from workflow.cli.shell import Shell
from workflow.core.attachments import Upload
from workflow.core.errors import InvalidInput
from workflow.engine import ItemView
from workflow.reports.annual_render import BINARY_FORMATS, FORMATS, build_report, render, to_markdown, write_annual

ANNUAL_REPORT_CATEGORY = "12"
"""The catalogue sub-directory of the annual reports (政府信息公开年度报告, definitions/catalog.yaml)."""
SUBMIT_DEFINITION = "proactive_disclosure"

F = TypeVar("F", bound=Callable[..., Any])


def annual_output_options(command: F) -> F:
    """The options of ``report annual`` that write the report (add them under ``@report.command``)."""
    for option in reversed(
        (
            click.option("--format", "fmt", type=click.Choice(FORMATS), help="Write the report in this format."),
            click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="The file to write."),
            click.option("--submit", is_flag=True, help="Create the report as an item in sub-directory 12."),
            click.option("--as", "actor", help="Who submits it (with --submit): a drafter."),
        )
    ):
        command = option(command)
    return command


def wants_output(fmt: str | None, submit: bool) -> bool:
    """True when ``report annual`` was asked for a document rather than its figures."""
    return fmt is not None or submit


def emit_annual(
    shell: Shell, figures_json: dict[str, Any], fmt: str | None, out: Path | None, submit: bool, actor: str | None
) -> ItemView | None:
    """Write the report (to ``out``, or Markdown/HTML to standard output) and/or submit it as an item.

    Every refusal (figures that do not add up, a template error, places still to fill in, a missing
    ``--as``) comes before anything is written or created. Raises :class:`GongkaiError`; the caller
    reports it through ``handled(shell)``."""
    settings = shell.settings
    if submit and not actor:
        raise InvalidInput("report.submit_needs_actor")
    if fmt in BINARY_FORMATS and out is None and not submit and sys.stdout.isatty():
        raise InvalidInput("report.binary_to_terminal", format=fmt)
    registry = shell.engine.registry
    office, catalog = registry.office(), registry.catalog()
    created = None
    if submit:
        assert actor is not None
        report = build_report(
            figures_json, office, shell.lang, definitions_dir=settings.definitions_dir, catalog=catalog
        )
        report.require_filled()
        files = {"docx": render(report, "docx"), "pdf": render(report, "pdf")}
        created = shell.engine.create(
            SUBMIT_DEFINITION, title=report.title, actor=actor, category=ANNUAL_REPORT_CATEGORY,
            body=to_markdown(report, with_title=False),
            uploads=[Upload(f"{report.title}.{kind}", io.BytesIO(data)) for kind, data in files.items()],
        )  # fmt: skip
        click.echo(f"{created.reference} {created.title}")
        click.echo(str(created.id))
    if fmt is not None:
        data = write_annual(
            figures_json, fmt, out, office, shell.lang, definitions_dir=settings.definitions_dir, catalog=catalog
        )
        if out is None:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        elif not submit:
            click.echo(str(out), err=True)
    return created

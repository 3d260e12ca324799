"""``gongkai definitions``: check, show and draw the declared chains."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from workflow.cli.shell import Shell, handled, pass_shell
from workflow.core.definition import Definition
from workflow.core.diagram import mermaid
from workflow.core.errors import DefinitionError
from workflow.core.loader import check_definition_text, definition_files, load_catalog
from workflow.core.office import load_office
from workflow.core.roles import role_label


@click.group()
def definitions() -> None:
    """Check, show and draw the declared chains."""


@definitions.command("check")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@pass_shell
def definitions_check(shell: Shell, files: tuple[str, ...]) -> None:
    """Validate definition files (default: every file in definitions/, with the catalogue and office.yaml);
    FILE:LINE: message per problem."""
    paths = [Path(f) for f in files] or definition_files(shell.settings.definitions_dir)
    problems: list[object] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            click.echo(f"{path}:1: {shell.t('definition.unreadable', detail=error)}", err=True)
            problems.append(path)
            continue
        found = check_definition_text(text, str(path))
        for problem in found:
            click.echo(problem.render(shell.lang), err=True)
        problems.extend(found)
    if not files:
        try:
            load_office(shell.settings.definitions_dir, load_catalog(shell.settings.definitions_dir))
        except DefinitionError as error:
            click.echo(error.render(shell.lang), err=True)
            problems.extend(error.problems)
    if problems:
        sys.exit(1)
    click.echo(shell.tr.ngettext("%(num)s definition OK", "%(num)s definitions OK", len(paths)))


def _load_by_name(shell: Shell, name: str) -> Definition:
    from workflow.store.registry import DefinitionRegistry

    return DefinitionRegistry(shell.settings.definitions_dir).current(name)


@definitions.command("show")
@click.argument("name")
@pass_shell
def definitions_show(shell: Shell, name: str) -> None:
    """Print the states and transitions of a definition."""
    with handled(shell):
        definition = _load_by_name(shell, name)
    lang = shell.lang
    click.echo(f"{definition.name} — {definition.label.in_lang(lang)} ({definition.version[:12]})")
    click.echo(shell.tr._("states:"))
    for state in definition.states.values():
        marks = [
            m
            for m, on in (
                ("initial", state.name == definition.initial),
                ("terminal", state.terminal),
                ("editable", state.editable),
            )
            if on
        ]
        roles = ", ".join(role_label(r, lang) for r in state.roles) or "-"
        click.echo(f"  {state.name:<26} {state.label.in_lang(lang):<10} {roles:<14} {' '.join(marks)}")
    click.echo(shell.tr._("transitions:"))
    for t in definition.transitions:
        guards = ", ".join(g.name for g in t.guards)
        dest = t.dest or "(" + shell.tr._("no change") + ")"
        click.echo(
            f"  {t.trigger:<20} {'|'.join(t.sources)} -> {dest}  [{role_label(t.role, lang)}]"
            + (f"  {guards}" if guards else "")
        )


@definitions.command("diagram")
@click.argument("name")
@pass_shell
def definitions_diagram(shell: Shell, name: str) -> None:
    """Print a Mermaid stateDiagram-v2 of a definition."""
    with handled(shell):
        definition = _load_by_name(shell, name)
    click.echo(mermaid(definition, shell.lang))

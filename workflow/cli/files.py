"""``gongkai item attach|detach`` and ``gongkai files verify``: attachments from the command line."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from workflow.cli.shell import Shell, handled, pass_shell
from workflow.core.attachments import Upload, attachments_of
from workflow.core.errors import ConfigurationError, InvalidInput
from workflow.core.uploads import human_size
from workflow.store.file_check import MISSING, verify_files


@click.command("attach")
@click.argument("item_ref", metavar="ID")
@click.argument("paths", metavar="FILE...", nargs=-1, required=True)
@click.option("--as", "actor", required=True)
@pass_shell
def item_attach(shell: Shell, item_ref: str, paths: tuple[str, ...], actor: str) -> None:
    """Attach files to item ID (an edit: only in editable states); each is checked first."""
    with handled(shell), ExitStack() as opened:
        uploads = [Upload(Path(path).name, opened.enter_context(_open(path))) for path in paths]
        before = {a.sha256 for a in attachments_of(shell.engine.show(item_ref).meta)}
        view = shell.engine.attach(item_ref, actor, uploads)
    for attachment in attachments_of(view.meta):
        if attachment.sha256 not in before:
            click.echo(f"{view.reference}: + {attachment.name} ({human_size(attachment.size)}) {attachment.sha256}")
    click.echo(f"{view.reference} {view.content_hash[:12]}")


@click.command("detach")
@click.argument("item_ref", metavar="ID")
@click.argument("sha256")
@click.option("--as", "actor", required=True)
@pass_shell
def item_detach(shell: Shell, item_ref: str, sha256: str, actor: str) -> None:
    """Remove the attachment SHA256 from item ID (an edit: only in editable states)."""
    with handled(shell):
        before = {a.sha256: a for a in attachments_of(shell.engine.show(item_ref).meta)}
        view = shell.engine.detach(item_ref, actor, sha256)
    kept = {a.sha256 for a in attachments_of(view.meta)}
    for gone in (a for sha, a in before.items() if sha not in kept):
        click.echo(f"{view.reference}: - {gone.name} {gone.sha256}")
    click.echo(f"{view.reference} {view.content_hash[:12]}")


def _open(path: str) -> Any:
    try:
        return Path(path).open("rb")
    except OSError as error:
        raise InvalidInput("input.unreadable_file", path=path, detail=error.strerror or str(error)) from None


@click.group()
def files() -> None:
    """The stored attachments."""


@files.command("verify")
@pass_shell
def files_verify(shell: Shell) -> None:
    """Rehash every stored file; name each changed or missing one with its items, exit 1 when any."""
    with handled(shell):
        store = shell.engine.files
        if store is None:
            raise ConfigurationError("config.no_file_store")
        report = verify_files(shell.engine.db, store)
    for problem in report.problems:
        items = ", ".join(problem.items) or "-"
        if problem.kind == MISSING:
            click.echo(shell.t("files.missing", sha256=problem.sha256, items=items), err=True)
        else:
            click.echo(shell.t("files.mismatch", sha256=problem.sha256, actual=problem.actual, items=items), err=True)
    if report.problems:
        sys.exit(1)
    click.echo(shell.t("files.verified", count=report.checked))

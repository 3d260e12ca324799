"""``gongkai site build``: the public catalogue site; ``gongkai item preview``: an item's public page before
publication."""

from __future__ import annotations

from pathlib import Path

import click

from workflow.cli.shell import Shell, handled, pass_shell
from workflow.publishing.site import SiteRenderer, site_builder, site_config
from workflow.publishing.site.preview import preview_page, would_be


@click.group()
def site() -> None:
    """The public catalogue site (GONGKAI_SITE_DIR)."""


@site.command("build")
@click.option("--full", is_flag=True, help="Rebuild everything into a fresh folder and swap it in.")
@pass_shell
def site_build(shell: Shell, full: bool) -> None:
    """Bring the site up to date: the pages of items out of date (or everything, with --full)."""
    tr = shell.tr
    with handled(shell):
        builder = site_builder(shell.settings, shell.engine)
        report = builder.full() if full else builder.catch_up()
    if report.kind == "full":
        click.echo(tr._("full build: %(items)s public items, %(files)s files, now live at %(site)s (%(build)s)",
                        items=report.items, files=len(report.written), site=str(shell.settings.site_dir),
                        build=str(report.build)))  # fmt: skip
    elif report.kind == "incremental":
        click.echo(tr._("updated %(items)s items out of date: %(files)s files written, %(removed)s removed",
                        items=report.items, files=len(report.written), removed=len(report.removed)))  # fmt: skip
    else:
        click.echo(tr._("the site is up to date"))
    if report.kind != "none" and not report.searched:
        click.echo(tr._("the search index is not installed: the search page has no index"), err=True)


@click.command("preview")
@click.argument("item_ref", metavar="ID")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The HTML file to write (standalone, its style inlined).")  # fmt: skip
@pass_shell
def item_preview(shell: Shell, item_ref: str, out: str) -> None:
    """Write the item's public page as it would be published now."""
    with handled(shell):
        engine = shell.engine
        renderer = SiteRenderer(site_config(shell.settings, engine))
        html = preview_page(renderer, would_be(engine, item_ref))
    Path(out).write_text(html, encoding="utf-8")
    click.echo(shell.tr._("preview written to %(path)s", path=out))

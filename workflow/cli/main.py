"""The ``gongkai`` command: a thin shell over the engine, one module per command group."""

from __future__ import annotations

import sys

import click

from notifications.settings import MailSettings
from workflow.cli.audit import audit
from workflow.cli.calendar import calendar
from workflow.cli.definitions import definitions
from workflow.cli.files import files, item_attach, item_detach
from workflow.cli.items import item
from workflow.cli.outbox import outbox
from workflow.cli.publication import publication
from workflow.cli.report import report
from workflow.cli.shell import Shell, handled, pass_shell
from workflow.cli.site import item_preview, site
from workflow.cli.users import users
from workflow.cli.web import security_log_command, web
from workflow.cli.worker import worker
from workflow.core.errors import GongkaiError
from workflow.settings import Settings
from workflow.wiring import initialise


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """gongkai 公开: review-and-publish approval chains for government information disclosure."""
    try:
        ctx.obj = Shell(Settings.from_env(), MailSettings.from_env())
    except GongkaiError as error:
        click.echo(error.render(Settings.lang_for_errors()), err=True)
        sys.exit(error.exit_code)


@main.command()
@pass_shell
def init(shell: Shell) -> None:
    """Create or upgrade the database and load definitions/."""
    with handled(shell):
        report = initialise(shell.settings)
    for name, version in sorted(report.definitions.items()):
        mark = " (new)" if name in report.new_versions else ""
        click.echo(f"{name} {version[:12]}{mark}")
    click.echo(shell.tr._("database ready: %(url)s", url=shell.settings.database_url))


@main.command()
@pass_shell
def demo(shell: Shell) -> None:
    """Set up a small demo office and walk one item through the whole chain."""
    from workflow.cli.demo import run_demo

    with handled(shell):
        run_demo(shell.settings, shell.mail, click.echo)


main.add_command(users)
main.add_command(item)
main.add_command(audit)
main.add_command(definitions)
main.add_command(calendar)
main.add_command(worker)
main.add_command(outbox)
main.add_command(web)
main.add_command(security_log_command)
main.add_command(files)
main.add_command(publication)
main.add_command(report)
item.add_command(item_attach)
item.add_command(item_detach)
main.add_command(site)
item.add_command(item_preview)

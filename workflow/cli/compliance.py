"""``gongkai audit check``: every departure from the declared chains that the data shows."""

from __future__ import annotations

import json
import sys

import click

from workflow.cli.shell import Shell, handled, parse_date, pass_shell
from workflow.core.errors import InvalidInput
from workflow.reports.compliance import Finding, check_database
from workflow.store.compliance_rows import stored_definitions


@click.command("check")
@click.option("--from", "start_text", metavar="DATE", help="Only findings on or after this day (YYYY-MM-DD).")
@click.option("--to", "end_text", metavar="DATE", help="Only findings up to this day; open deadlines as of it.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document: the range, the count and the findings.")
@pass_shell
def audit_check(shell: Shell, start_text: str | None, end_text: str | None, as_json: bool) -> None:
    """List every departure from the declared chains, one line each; exit 1 when there is any."""
    with handled(shell):
        start = parse_date(start_text) if start_text else None
        end = parse_date(end_text) if end_text else None
        if start is not None and end is not None and end < start:
            raise InvalidInput("input.bad_range", start=start.isoformat(), end=end.isoformat())
        engine = shell.engine
        definitions = stored_definitions(engine.db, engine.registry)
        findings = check_database(engine.db, definitions, engine.calendar, engine.zone, engine.today(), start, end)
        if as_json:
            found = [finding.to_json() for finding in findings]
            document = {"from": start_text, "to": end_text, "count": len(found), "findings": found}
            click.echo(json.dumps(document, ensure_ascii=False, indent=2))
            count = len(found)
        else:
            count = 0
            for finding in findings:
                click.echo(line(finding, shell.lang))
                count += 1
            click.echo(shell.tr.ngettext("%(num)s finding", "%(num)s findings", count), err=True)
    if count:
        sys.exit(1)


def line(finding: Finding, lang: str) -> str:
    """One finding on one line: the item, the rule's code, the entries involved and what happened."""
    entries = ",".join(f"#{seq}" for seq in finding.seqs) or "-"
    return f"{finding.subject}  {finding.code}  {entries}  {finding.on.isoformat()}  {finding.message(lang)}"

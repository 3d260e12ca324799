"""``gongkai calendar``: China's working days with the office's overrides."""

from __future__ import annotations

import datetime as dt
import sys

import click

from workflow.cli.shell import Shell, handled, iso, parse_date, pass_shell
from workflow.core.calendar import WorkingCalendar, WorkingDayCount, holiday_label, load_calendar
from workflow.core.i18n import N_, translator


@click.group()
def calendar() -> None:
    """China's working days with the office's overrides (definitions/calendar.yaml)."""


def _calendar(shell: Shell) -> WorkingCalendar:
    return load_calendar(shell.settings.definitions_dir)


@calendar.command("check")
@click.argument("year", type=int)
@pass_shell
def calendar_check(shell: Shell, year: int) -> None:
    """Does the calendar have official data for YEAR? Exit 1 when it does not."""
    with handled(shell):
        cal = _calendar(shell)
    if not cal.has_official_data(year):
        tr = shell.tr
        click.echo(
            tr._("%(year)s: NO official data! Only weekends would be counted and statutory deadlines may be wrong",
                 year=year),
            err=True,
        )  # fmt: skip
        sys.exit(1)
    days = [
        dt.date(year, 1, 1) + dt.timedelta(days=n) for n in range((dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days)
    ]
    notes = [cal.note(day) for day in days]
    tr = shell.tr
    working = sum(n.working for n in notes)
    holidays = sum(n.kind == "holiday" for n in notes)
    makeup = sum(n.kind == "makeup_workday" for n in notes)
    counts = ", ".join(
        [
            tr.ngettext("%(num)s working day", "%(num)s working days", working),
            tr.ngettext("%(num)s holiday day", "%(num)s holiday days", holidays),
            tr.ngettext("%(num)s make-up working day", "%(num)s make-up working days", makeup),
        ]
    )
    click.echo(tr._("%(year)s: official data, %(counts)s (%(version)s)", year=year, counts=counts,
                    version=cal.data_version()))  # fmt: skip


@calendar.command("recompute")
@pass_shell
def calendar_recompute(shell: Shell) -> None:
    """Recompute open deadlines computed with other calendar data; one line per change."""
    with handled(shell):
        changes = shell.engine.recompute_deadlines()
    moved = [c for c in changes if c.old_due != c.new_due]
    for change in moved:
        click.echo(f"{change.reference} {change.kind}: {iso(change.old_due)} -> {iso(change.new_due)}")
    click.echo(
        shell.tr.ngettext(
            "%(num)s open deadline recomputed, %(moved)s moved (%(version)s)",
            "%(num)s open deadlines recomputed, %(moved)s moved (%(version)s)",
            len(changes), moved=len(moved), version=shell.engine.calendar_version,
        )
    )  # fmt: skip


@calendar.command("add-days")
@click.argument("start")
@click.argument("count", type=click.IntRange(min=0))
@click.option("--explain", is_flag=True, help="Show every day counted or skipped, and why.")
@pass_shell
def calendar_add_days(shell: Shell, start: str, count: int, explain: bool) -> None:
    """Print the date COUNT working days after START (START itself is not counted)."""
    with handled(shell):
        cal = _calendar(shell)
        counted = cal.count(parse_date(start), count)
    if explain:
        for line in explain_count(counted, shell.lang):
            click.echo(line)
    if counted.missing_years:
        click.echo(shell.t("calendar.missing_warning", years=", ".join(map(str, counted.missing_years))), err=True)
    click.echo(counted.due.isoformat())


DAY_KINDS = {
    "weekday": N_("working day"),
    "weekend": N_("weekend"),
    "holiday": N_("public holiday"),
    "makeup_workday": N_("make-up working day"),
    "override_off": N_("office day off"),
    "override_on": N_("office working day"),
    "paused": N_("paused (not counted)"),
}
"""What kind of day a counted day was (``DayNote.kind``), as the reader is told."""


def explain_count(counted: WorkingDayCount, lang: str) -> list[str]:
    """One line a day: counted or skipped, and why."""
    tr = translator(lang)
    lines = [f"{counted.start.isoformat()}  " + tr._("start, not counted")]
    number = 0
    for note in counted.days:
        kind = tr._(DAY_KINDS[note.kind])
        name = holiday_label(note.name, lang) if note.kind in ("holiday", "makeup_workday") else (note.name or "")
        weekday = tr.weekday(note.day, "abbreviated")
        if note.working:
            number += 1
            verdict = tr._("counted %(number)s/%(count)s", number=number, count=counted.count)
        else:
            verdict = tr._("skipped")
        extra = f" {name}" if name else ""
        unofficial = "" if note.official else " " + tr._("(no official data)")
        lines.append(f"{note.day.isoformat()} {weekday}  {verdict:<12} {kind}{extra}{unofficial}")
    return lines

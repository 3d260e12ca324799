"""``gongkai calendar``: China's working days with the office's overrides."""

from __future__ import annotations

import datetime as dt
import sys

import click

from workflow.cli.shell import Shell, handled, iso, parse_date, pass_shell
from workflow.core.calendar import WorkingCalendar, WorkingDayCount, holiday_label, load_calendar


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
    en = shell.lang == "en"
    click.echo(
        f"{len(changes)} open deadlines recomputed, {len(moved)} moved ({shell.engine.calendar_version})"
        if en
        else f"重新计算了 {len(changes)} 个未到期期限, 其中 {len(moved)} 个截止日期有变化 "
        f"({shell.engine.calendar_version})"
    )


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


def explain_count(counted: WorkingDayCount, lang: str) -> list[str]:
    """One line a day: counted or skipped, and why."""
    en = lang == "en"
    kinds = {
        "weekday": ("工作日", "working day"),
        "weekend": ("周末", "weekend"),
        "holiday": ("法定节假日", "public holiday"),
        "makeup_workday": ("调休上班", "make-up working day"),
        "override_off": ("本办休息", "office day off"),
        "override_on": ("本办上班", "office working day"),
        "paused": ("暂停计算", "paused (not counted)"),
    }
    lines = [f"{counted.start.isoformat()}  " + ("start, not counted" if en else "起算日, 不计入")]
    number = 0
    for note in counted.days:
        kind = kinds[note.kind][1 if en else 0]
        name = holiday_label(note.name, lang) if note.kind in ("holiday", "makeup_workday") else (note.name or "")
        weekday = note.day.strftime("%a") if en else "一二三四五六日"[note.day.weekday()]
        if note.working:
            number += 1
            verdict = f"{'counted' if en else '计入'} {number}/{counted.count}"
        else:
            verdict = "skipped" if en else "跳过"
        extra = f" {name}" if name else ""
        unofficial = "" if note.official else (" (no official data)" if en else " (无官方数据)")
        lines.append(f"{note.day.isoformat()} {weekday}  {verdict:<12} {kind}{extra}{unofficial}")
    return lines

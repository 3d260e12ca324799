"""The timeliness report written out: a terminal table, CSV, XLSX and an HTML page with charts.

Every format shows the same sections, built once by :func:`sections` in the reader's language:
by stage (and whole-item limit), by person, by catalogue sub-directory, and the late items.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from notifications.render import translated_environment
from workflow.core.definition import Catalog
from workflow.core.errors import InvalidInput
from workflow.core.i18n import Translator, translator
from workflow.core.spreadsheet import as_text_cell
from workflow.reports.timeliness import LIMIT, Group, Handled, TimelinessReport

FORMATS = ("table", "csv", "xlsx", "html")
Cell = str | int | float | None


@dataclass(frozen=True)
class Column:
    title: str
    kind: str = "text"
    """text, int, days (a median: one decimal at most), share (a fraction shown as a percentage)."""


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    empty: str


def check_format(value: str) -> str:
    if value not in FORMATS:
        raise InvalidInput("report.bad_format", value=value, allowed=", ".join(FORMATS))
    return value


def stage_name(item: Group | Handled, lang: str) -> str:
    return f"{item.definition_label.in_lang(lang)} · {item.label.in_lang(lang)}"


def category_name(code: str | None, catalog: Catalog | None, tr: Translator) -> str:
    if code is None:
        return tr._("No sub-directory")
    category = catalog.find(code) if catalog else None
    return f"{code} {category.label.in_lang(tr.lang)}" if category else code


def limit_text(group: Group | Handled, tr: Translator) -> str:
    limits = group.limits if isinstance(group, Group) else ((group.limit,) if group.limit is not None else ())
    if not limits:
        return ""
    days = "/".join(str(n) for n in limits)
    if group.calendar_days:
        return tr._("%(days)s days", days=days)
    return tr._("%(days)s working days", days=days)


def sections(report: TimelinessReport, lang: str, catalog: Catalog | None = None) -> list[Section]:
    tr = translator(lang)
    figures = (
        Column(tr._("Items handled"), "int"),
        Column(tr._("Median (working days)"), "days"),
        Column(tr._("90th percentile (working days)"), "int"),
        Column(tr._("Limit")),
        Column(tr._("Within the limit"), "share"),
        Column(tr._("Late"), "int"),
    )

    def numbers(g: Group) -> tuple[Cell, ...]:
        return (g.handled, g.median, g.p90, limit_text(g, tr), g.share_within, len(g.late))

    def kind(g: Group) -> str:
        return tr._("Whole item") if g.kind == LIMIT else tr._("Stage")

    late_columns = (
        Column(tr._("Item")), Column(tr._("Title")), Column(tr._("Stage or limit")), Column(tr._("Person")),
        Column(tr._("Started")), Column(tr._("Finished")), Column(tr._("Due")), Column(tr._("Days taken"), "int"),
        Column(tr._("Limit")), Column(tr._("Days late"), "int"),
    )  # fmt: skip
    return [
        Section(
            "stages", tr._("By stage"),
            (Column(tr._("Stage or limit")), Column(tr._("Kind")), *figures),
            tuple((stage_name(g, lang), kind(g), *numbers(g)) for g in report.stages),
            tr._("Nothing was handled in this period."),
        ),
        Section(
            "people", tr._("By person"),
            (Column(tr._("Person")), Column(tr._("Stage")), *figures),
            tuple((g.person or "", stage_name(g, lang), *numbers(g)) for g in report.people),
            tr._("Nothing was handled in this period."),
        ),
        Section(
            "categories", tr._("By catalogue sub-directory"),
            (Column(tr._("Sub-directory")), Column(tr._("Stage or limit")), *figures),
            tuple(
                (category_name(g.category, catalog, tr), stage_name(g, lang), *numbers(g)) for g in report.categories
            ),
            tr._("Nothing was handled in this period."),
        ),
        Section(
            "late", tr._("Late items"), late_columns,
            tuple(
                (h.reference, h.title, stage_name(h, lang), h.person, h.start.isoformat(), h.end.isoformat(),
                 h.due.isoformat() if h.due else "", h.days, limit_text(h, tr), h.days_late)
                for h in report.late
            ),
            tr._("No item was late in this period."),
        ),
    ]  # fmt: skip


def heading(report: TimelinessReport, lang: str) -> str:
    tr = translator(lang)
    return tr._("Timeliness, %(start)s to %(end)s", start=report.start.isoformat(), end=report.end.isoformat())


def notes(report: TimelinessReport, lang: str) -> list[str]:
    tr = translator(lang)
    found = [
        tr._(
            "Working days of the office calendar, counted as the deadlines are: the day a stage starts is not "
            "counted, the day it ends is; time with a third party is left out. An item counts in the period it "
            "left the stage or met the limit (office time)."
        )
    ]
    if report.missing_years:
        years = ", ".join(str(y) for y in report.missing_years)
        found.append(tr._("No official calendar for %(years)s: weekends only were counted.", years=years))
    return found


def shown(value: Cell, column: Column) -> str:
    if value is None:
        return "—" if column.kind == "share" else ""
    if column.kind == "share":
        return f"{float(value):.1%}".replace(".0%", "%")
    if column.kind == "days" and isinstance(value, float):
        return f"{value:g}"
    return str(value)


# ---- table -------------------------------------------------------------------------------------


def width(text: str) -> int:
    """Columns a terminal gives the text: two for a wide (Chinese) character."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, size: int, right: bool) -> str:
    gap = " " * (size - width(text))
    return gap + text if right else text + gap


def to_table(report: TimelinessReport, lang: str, catalog: Catalog | None = None) -> str:
    lines = [heading(report, lang), *notes(report, lang)]
    for section in sections(report, lang, catalog):
        lines += ["", f"== {section.title} =="]
        if not section.rows:
            lines.append(section.empty)
            continue
        cells = [[c.title for c in section.columns]] + [
            [shown(v, c) for v, c in zip(row, section.columns, strict=True)] for row in section.rows
        ]
        sizes = [max(width(line[i]) for line in cells) for i in range(len(section.columns))]
        for number, line in enumerate(cells):
            lines.append(
                "  ".join(
                    _pad(text, sizes[i], number > 0 and section.columns[i].kind != "text")
                    for i, text in enumerate(line)
                ).rstrip()
            )
    return "\n".join(lines) + "\n"


# ---- CSV ---------------------------------------------------------------------------------------


def to_csv(report: TimelinessReport, lang: str, catalog: Catalog | None = None) -> bytes:
    """UTF-8 with a BOM (so spreadsheet programs read the Chinese), one block per section."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([heading(report, lang)])
    for section in sections(report, lang, catalog):
        writer.writerow([])
        writer.writerow([section.title])
        writer.writerow([c.title for c in section.columns])
        for row in section.rows:
            writer.writerow([as_text_cell(shown(v, c)) for v, c in zip(row, section.columns, strict=True)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# ---- XLSX --------------------------------------------------------------------------------------


def to_xlsx(report: TimelinessReport, lang: str, catalog: Catalog | None = None) -> bytes:
    """A workbook with a sheet per section; numbers are numbers, shares percentages."""
    # openpyxl and matplotlib (charts) are loaded when asked for: every `gongkai` command imports this module
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    bold = Font(bold=True)
    for section in sections(report, lang, catalog):
        sheet = book.create_sheet(section.title[:31])
        sheet.append([c.title for c in section.columns])
        for cell in sheet[1]:
            cell.font = bold
        for row in section.rows:
            sheet.append([as_text_cell(v) if v is not None else "" for v in row])
        for index, column in enumerate(section.columns, start=1):
            letter = get_column_letter(index)
            if column.kind == "share":
                for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.number_format = "0.0%"
            longest = max([width(column.title)] + [width(shown(r[index - 1], column)) for r in section.rows])
            sheet.column_dimensions[letter].width = min(60, longest + 2)
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.properties.title = heading(report, lang)
    book.save(out)
    return out.getvalue()


# ---- HTML --------------------------------------------------------------------------------------


def chart_svgs(report: TimelinessReport, lang: str, catalog: Catalog | None = None) -> dict[str, Markup]:
    from workflow.reports import charts

    """The charts of the page: median and 90th percentile against the limit per stage, the share within
    the limit per person, the late items by days late."""
    tr = translator(lang)
    found: dict[str, Markup] = {}
    if report.stages:
        found["stages"] = Markup(
            charts.bars(
                [
                    charts.Bar(stage_name(g, lang), g.median, float(g.p90), float(max(g.limits)) if g.limits else None,
                               late=bool(g.limits) and g.median > max(g.limits))
                    for g in report.stages
                ],
                xlabel=tr._("Working days"), legend=(tr._("Median"), tr._("90th percentile"), tr._("Limit")),
                prefix="tl-stages",
            )
        )  # fmt: skip
    people: dict[str, list[Group]] = {}
    for g in report.people:
        if g.with_limit:
            people.setdefault(g.person or "", []).append(g)
    if people:
        shares = []
        for person, groups in sorted(people.items()):
            within = sum(g.within for g in groups)
            total = sum(g.with_limit for g in groups)
            shares.append(charts.Bar(f"{person} ({within}/{total})", within / total, late=within < total))
        found["people"] = Markup(
            charts.bars(shares, xlabel=tr._("Share within the limit"), percent=True, prefix="tl-people")
        )
    if report.late:
        top = report.late[:15]
        found["late"] = Markup(
            charts.bars(
                [charts.Bar(f"{h.reference} {h.label.in_lang(lang)}", float(h.days_late), late=True) for h in top],
                xlabel=tr._("Days late"), prefix="tl-late",
            )
        )  # fmt: skip
    return found


def html_body(report: TimelinessReport, lang: str, catalog: Catalog | None = None) -> Markup:
    """The report's charts and tables as a fragment, for the office's pages and the standalone file."""
    template = _environment(lang).get_template("_timeliness_body.html")
    return Markup(template.render(**_context(report, lang, catalog)))


def to_html(report: TimelinessReport, lang: str, catalog: Catalog | None = None) -> str:
    """A standalone page (styles inline, no scripts, no outside files) to keep or send."""
    template = _environment(lang).get_template("timeliness.html")
    return template.render(body=html_body(report, lang, catalog), title=heading(report, lang), lang=lang)


def _context(report: TimelinessReport, lang: str, catalog: Catalog | None) -> dict[str, Any]:
    from workflow.reports import charts

    return {
        "title": heading(report, lang),
        "notes": notes(report, lang),
        "sections": sections(report, lang, catalog),
        "charts": chart_svgs(report, lang, catalog),
        "shown": shown,
        "font_missing": charts.cjk_font() is None,
    }


_environments: dict[str, Environment] = {}


def _environment(lang: str) -> Environment:
    environment = _environments.get(lang)
    if environment is None:
        environment = translated_environment(PackageLoader("workflow.reports", "templates"), lang)
        _environments[lang] = environment
    return environment


def render(report: TimelinessReport, fmt: str, lang: str, catalog: Catalog | None = None) -> bytes:
    """The report in one of :data:`FORMATS`, as the bytes of a file."""
    check_format(fmt)
    if fmt == "csv":
        return to_csv(report, lang, catalog)
    if fmt == "xlsx":
        return to_xlsx(report, lang, catalog)
    if fmt == "html":
        return to_html(report, lang, catalog).encode("utf-8")
    return to_table(report, lang, catalog).encode("utf-8")


__all__: Sequence[str] = ("FORMATS", "html_body", "render", "sections", "to_csv", "to_html", "to_table", "to_xlsx")

"""The annual report (政府信息公开工作年度报告) written out: Markdown, HTML, DOCX and PDF.

Two sources, kept apart on purpose:

- the office's words: ``definitions/reports/annual_report.md.j2`` (``annual_report.en.md.j2`` with
  ``GONGKAI_LANG=en`` when present), a Jinja2 template producing Markdown that the office edits like the
  site's guide. It fills the narrative sections 一 总体情况, 五 存在的主要问题及改进情况 and 六 其他需要报告的事项
  (blocks ``overall``, ``problems``, ``other``; optional ``proactive``, ``applications``, ``appeals`` add a
  paragraph above the tables of 二, 三, 四). It is rendered in a sandbox with undefined names an error, so
  a typo is reported with its line rather than printed as nothing. Places still to fill read
  ``【请填写…】`` (``[fill in: …]``); a report that still has one is not submitted.
- the statutory tables 二, 三 and 四, laid out by :mod:`workflow.reports.annual_format` with every row and
  column of the national format: never from the office's template, so the office cannot drop a row.

Markdown is the body of the item the office submits; HTML is drawn from the same report and turned into
the PDF for the archive by WeasyPrint (Noto Sans CJK embedded); DOCX, what offices exchange, is written
with python-docx (real Word tables with merged cells, 宋体 for the text, 黑体 for headings, A4).
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
)
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from notifications.render import HTML_LANG, translated_environment
from workflow import fonts
from workflow.core.definition import Catalog
from workflow.core.errors import ConfigurationError, DefinitionError, InvalidInput
from workflow.core.i18n import translator
from workflow.core.markup import render_body
from workflow.core.office import Office
from workflow.core.validation import Problem
from workflow.reports.annual_format import (
    CHANNEL_LABELS,
    NARRATIVE_SECTIONS,
    REPORT_TITLE,
    SECTION_TITLES,
    SECTIONS,
    Figures,
    GridCell,
    Table,
    check_line,
    figures_from_json,
    grid,
    markdown_tables,
    tables,
)

FORMATS = ("md", "html", "docx", "pdf")
BINARY_FORMATS = ("docx", "pdf")
TEMPLATE_FOLDER = "reports"
TEMPLATE_NAME = "annual_report.md.j2"
"""The office's template under the definitions folder; ``annual_report.en.md.j2`` beside it for English."""
INTRO_BLOCKS = {"proactive", "applications", "appeals"}
ALLOWED_BLOCKS = (*NARRATIVE_SECTIONS, *sorted(INTRO_BLOCKS))
UNFILLED = re.compile(r"【请填写[^】]*】|\[fill in[^\]]*\]", re.IGNORECASE)
"""A place the office has still to fill in, as the bundled templates mark it."""
COLUMN_JOINER = {"zh": "：", "en": ": "}


@dataclass(frozen=True)
class AnnualReport:
    """One year's report in one language, ready to be written in any format."""

    lang: str
    year: int
    organ: str
    title: str
    figures: Figures
    narrative: Mapping[str, str]
    """Markdown of the office's template per block (``overall``, ``problems``, ``other``, intros)."""
    tables: Mapping[str, Table]
    check: str
    template: Path

    @property
    def unfilled(self) -> tuple[str, ...]:
        """The places still to fill in, in order, as they read."""
        return tuple(m.group(0) for text in self.narrative.values() for m in UNFILLED.finditer(text))

    def require_filled(self) -> None:
        """Refuse a report that still has a place to fill in (before it is submitted)."""
        if places := self.unfilled:
            raise InvalidInput(
                "report.unfilled", count=len(places), places="; ".join(places[:5]), path=str(self.template)
            )


def build_report(
    figures_json: Any, office: Office, lang: str, *, definitions_dir: Path, catalog: Catalog | None = None
) -> AnnualReport:
    """Check the figures (a refusal names the first fault) and fill the office's template with them."""
    figures = figures_from_json(figures_json)
    tr = translator(lang)
    organ = office.organ.in_lang(lang)
    template, path = _office_template(definitions_dir, lang)
    context = _template_context(figures, office, lang, catalog)
    narrative = _render_blocks(template, path, context)
    return AnnualReport(
        lang=lang, year=figures.year, organ=organ, title=tr._(REPORT_TITLE, organ=organ, year=figures.year),
        figures=figures, narrative=narrative, tables=tables(figures, tr._), check=check_line(figures, tr._),
        template=path,
    )  # fmt: skip


# --- The office's template -------------------------------------------------------------------------------


def _office_template(definitions_dir: Path, lang: str) -> tuple[Template, Path]:
    folder = definitions_dir / TEMPLATE_FOLDER
    names = ["annual_report.en.md.j2", TEMPLATE_NAME] if lang == "en" else [TEMPLATE_NAME]
    path = next((folder / name for name in names if (folder / name).is_file()), None)
    if path is None:
        raise ConfigurationError("report.template_missing", path=str(folder / TEMPLATE_NAME))
    environment = SandboxedEnvironment(
        loader=FileSystemLoader(folder), autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True,
    )  # fmt: skip
    try:
        template = environment.get_template(path.name)
    except TemplateSyntaxError as error:
        raise _template_problem(path, error.lineno or 1, error.message or str(error)) from None
    for block in template.blocks:
        if block not in ALLOWED_BLOCKS:
            raise _template_problem(path, 1, None, block=block)
    for block in NARRATIVE_SECTIONS:
        if block not in template.blocks:
            raise DefinitionError([Problem(str(path), 1, "report.template_block", {"block": block})])
    return template, path


def _template_problem(path: Path, line: int, detail: str | None, *, block: str | None = None) -> DefinitionError:
    if block is not None:
        problem = Problem(
            str(path), line, "report.unknown_block", {"block": block, "allowed": ", ".join(ALLOWED_BLOCKS)}
        )
    else:
        problem = Problem(str(path), line, "report.template_error", {"detail": detail})
    return DefinitionError([problem])


def _template_line(template: Template, trace: TracebackType | None) -> int:
    """The template line an error in a block came from (its compiled code's line mapped back)."""
    line = 1
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == template.filename:
            line = template.get_corresponding_lineno(trace.tb_lineno)
        trace = trace.tb_next
    return line


def _render_blocks(template: Template, path: Path, context: dict[str, Any]) -> dict[str, str]:
    rendered = {}
    for name in template.blocks:
        try:
            text = "".join(template.blocks[name](template.new_context(context)))
        except TemplateError as error:
            raise _template_problem(path, _template_line(template, error.__traceback__), str(error)) from None
        rendered[name] = text.strip()
    return rendered


def _template_context(figures: Figures, office: Office, lang: str, catalog: Catalog | None) -> dict[str, Any]:
    """What the office's template may use (documented at the head of the bundled template)."""
    tr = translator(lang)
    categories = []
    for category in catalog.categories if catalog else ():
        categories.append((category.code, category.label.in_lang(lang), figures.by_category.get(category.code, 0)))
    known = {code for code, _, _ in categories}
    categories += [(code, code, n) for code, n in sorted(figures.by_category.items()) if code not in known]
    channels = [
        (name, tr._(CHANNEL_LABELS[name]) if name in CHANNEL_LABELS else name, n)
        for name, n in figures.by_channel.items()
    ]
    applications = figures.applications
    return {
        "organ": office.organ.in_lang(lang), "code": office.code, "year": figures.year, "lang": lang,
        "published": figures.published, "categories": categories, "channels": channels,
        "normative": {**_mapping_of(figures.raw.get("normative")), **figures.normative},
        "applications": {
            "received": applications.received, "carried_over": applications.carried_over,
            "handled": applications.handled, "carried_forward": applications.carried_forward,
            "outcomes": dict(applications.outcomes),
        },
        "reconsiderations": sum(figures.reconsiderations.values()),
        "lawsuits": sum(figures.lawsuits_direct.values()) + sum(figures.lawsuits_after.values()),
        "consultations": figures.consultations, "figures": figures.raw,
    }  # fmt: skip


def _mapping_of(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


# --- Markdown and HTML -----------------------------------------------------------------------------------


def to_markdown(report: AnnualReport, *, with_title: bool = True) -> str:
    """The whole report as Markdown (CommonMark with tables); without the title it is an item's body."""
    tr = translator(report.lang)
    parts = [f"# {report.title}"] if with_title else []
    for section in SECTIONS:
        parts.append(f"## {tr._(SECTION_TITLES[section])}")
        if text := report.narrative.get(section):
            parts.append(text)
        if section in report.tables:
            parts.append(markdown_tables(report.tables[section], COLUMN_JOINER.get(report.lang, ": ")))
        if section == "applications":
            parts.append(report.check)
    return "\n\n".join(parts) + "\n"


@cache
def _environment(lang: str) -> Environment:
    return translated_environment(
        PackageLoader("workflow.reports", "templates"), lang, undefined=StrictUndefined, trim_blocks=True,
        lstrip_blocks=True,
    )  # fmt: skip


def to_html(report: AnnualReport, *, font_family: str | None = None) -> str:
    """The report as one HTML page (A4 when printed); the office's Markdown is rendered and sanitised."""
    tr = translator(report.lang)
    sections = [
        {
            "key": key,
            "title": tr._(SECTION_TITLES[key]),
            "text": Markup(render_body(report.narrative.get(key, ""))),
            "grid": grid(report.tables[key]) if key in report.tables else None,
            "check": report.check if key == "applications" else "",
        }
        for key in SECTIONS
    ]
    return _environment(report.lang).get_template("annual.html").render(
        report=report, sections=sections, font_family=font_family, lang=report.lang,
    )  # fmt: skip


# --- PDF ------------------------------------------------------------------------------------------------


def cjk_font_family() -> str:
    """The family to set Chinese in; refused when there is none (a PDF of empty boxes)."""
    try:
        return fonts.cjk_font_family()
    except fonts.NoCJKFont:
        raise ConfigurationError("report.no_cjk_font") from None


def to_pdf(report: AnnualReport) -> bytes:
    """The HTML printed to PDF by WeasyPrint, the Chinese font embedded (subset)."""
    from weasyprint import HTML  # heavy: loaded only when a PDF is asked for

    pdf = HTML(string=to_html(report, font_family=cjk_font_family())).write_pdf()
    assert pdf is not None
    return bytes(pdf)


# --- DOCX -----------------------------------------------------------------------------------------------

BODY_FONT = "宋体"
"""SimSun: the body text of Chinese official documents."""
HEADING_FONT = "黑体"
"""SimHei: their headings."""
LATIN_FONT = "Times New Roman"


def to_docx(report: AnnualReport) -> bytes:
    """The report as a Word document: A4, 宋体 text, 黑体 headings, the three tables as Word tables."""
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    tr = translator(report.lang)
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    _set_font(document.styles["Normal"], BODY_FONT, Pt(12))
    for name, size in (("Title", Pt(22)), ("Heading 1", Pt(16)), ("Heading 2", Pt(14)), ("Heading 3", Pt(12))):
        _set_font(document.styles[name], HEADING_FONT, size, heading=True)
    document.core_properties.title = report.title
    document.core_properties.language = HTML_LANG.get(report.lang, report.lang)
    title = document.add_heading(report.title, level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for key in SECTIONS:
        document.add_heading(tr._(SECTION_TITLES[key]), level=1)
        _markdown_into(document, report.narrative.get(key, ""))
        if key in report.tables:
            table = _docx_table(document, grid(report.tables[key]), report.tables[key])
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
        if key == "applications":
            document.add_paragraph(report.check)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _set_font(style: Any, east_asian: str, size: Any, *, heading: bool = False) -> None:
    """A style's font, Chinese included: Word takes Chinese text's font from ``w:eastAsia``."""
    from docx.oxml.ns import qn
    from docx.shared import RGBColor

    style.font.name = LATIN_FONT
    style.font.size = size
    if heading:
        style.font.color.rgb = RGBColor(0, 0, 0)
        style.font.bold = True
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), east_asian)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)  # a theme font would win over the names set here


def _docx_table(document: Any, rows: list[list[GridCell]], table: Table) -> Any:
    """A Word table from the grid: each cell placed at the next free column, its spans merged."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    width = table.label_depth + table.value_width
    word = document.add_table(rows=len(rows), cols=width)
    word.style = "Table Grid"
    taken: set[tuple[int, int]] = set()
    for r, cells in enumerate(rows):
        c = 0
        for cell in cells:
            while (r, c) in taken:
                c += 1
            target = word.cell(r, c)
            if cell.rowspan > 1 or cell.colspan > 1:
                target = target.merge(word.cell(r + cell.rowspan - 1, c + cell.colspan - 1))
            taken.update((r + i, c + j) for i in range(cell.rowspan) for j in range(cell.colspan))
            paragraph = target.paragraphs[0]
            run = paragraph.add_run(cell.text)
            run.font.size = Pt(9 if width > 10 else 10.5)
            run.bold = cell.header
            if cell.figure or cell.header:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            c += cell.colspan
    return word


def _markdown_into(document: Any, text: str) -> None:
    """The office's Markdown as Word paragraphs: headings, paragraphs, lists, bold and italic."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    list_styles: list[str] = []
    heading: int | None = None
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            heading = min(int(token.tag[1]), 4)
        elif token.type == "heading_close":
            heading = None
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            list_styles.append("List Bullet" if token.type == "bullet_list_open" else "List Number")
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            list_styles.pop()
        elif token.type == "inline":
            if heading is not None:
                document.add_heading(token.content, level=min(heading, 3))
                continue
            in_item = list_styles and tokens[i - 1].type == "paragraph_open" and tokens[i - 2].type == "list_item_open"
            paragraph = document.add_paragraph(style=list_styles[-1] if in_item else None)
            bold = italic = False
            for child in token.children or ():
                if child.type == "strong_open":
                    bold = True
                elif child.type == "strong_close":
                    bold = False
                elif child.type == "em_open":
                    italic = True
                elif child.type == "em_close":
                    italic = False
                elif child.type in ("softbreak", "hardbreak"):
                    paragraph.add_run().add_break()
                elif child.content:
                    run = paragraph.add_run(child.content)
                    run.bold, run.italic = bold or None, italic or None


# --- One call for the shells ----------------------------------------------------------------------------


def render(report: AnnualReport, fmt: str) -> bytes:
    """The report in ``fmt`` (md, html, docx, pdf) as bytes (text in UTF-8)."""
    if fmt == "md":
        return to_markdown(report).encode("utf-8")
    if fmt == "html":
        return to_html(report).encode("utf-8")
    if fmt == "docx":
        return to_docx(report)
    if fmt == "pdf":
        return to_pdf(report)
    raise InvalidInput("report.bad_format", value=fmt, allowed=", ".join(FORMATS))


def write_annual(
    figures_json: Any,
    fmt: str,
    out: Path | None,
    office: Office,
    lang: str,
    *,
    definitions_dir: Path,
    catalog: Catalog | None = None,
) -> bytes:
    """Check, fill and render the report; write it to ``out`` (atomically) when given, and return its bytes.

    Refused, with nothing written, when the figures are unusable or unbalanced or the template is wrong."""
    if fmt not in FORMATS:
        raise InvalidInput("report.bad_format", value=fmt, allowed=", ".join(FORMATS))
    report = build_report(figures_json, office, lang, definitions_dir=definitions_dir, catalog=catalog)
    data = render(report, fmt)
    if out is not None:
        _write_atomically(out, data)
    return data


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

"""The annual report written out (Markdown, HTML, DOCX, PDF) from the counted figures, and submitted as an item.

The figures are a fixture in the shape of ``count_year(...).to_json()``; the labels expected here are the
national format's own wording (国办公开办函〔2021〕30号), typed out, not read back from the code.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from docx import Document
from docx.oxml.ns import qn
from pypdf import PdfReader

from notifications.settings import MailSettings
from tests.conftest import DEFINITIONS
from tests.test_annual_report import command_env
from tests.test_cli import run
from tests.town_2014 import definitions_2014, rebuild_2014
from workflow.cli.report_annual import annual_output_options, emit_annual
from workflow.cli.shell import Shell, handled
from workflow.core.attachments import attachments_of
from workflow.core.errors import DefinitionError, GongkaiError, InvalidInput
from workflow.engine import WorkflowEngine
from workflow.reports.annual_format import ReportCheckFailed
from workflow.reports.annual_render import build_report, to_docx, to_html, to_markdown, to_pdf, write_annual
from workflow.settings import Settings
from workflow.store.registry import DefinitionRegistry

REGISTRY = DefinitionRegistry(DEFINITIONS)
ORGAN = "腾冲市荷花镇人民政府"


def _column(received: int, over: int, outcomes: dict[str, int], forward: int) -> dict[str, Any]:
    return {
        "received": received, "carried_over": over, "outcomes": {**outcomes, "total": sum(outcomes.values())},
        "carried_forward": forward,
    }  # fmt: skip


FIGURES: dict[str, Any] = {
    "year": 2025,
    "proactive": {
        "published": 56,
        "by_category": {"03": 12, "07": 4, "08": 40},
        "by_channel": {"portal": 12, "webhook": 56, "notice_board": 16, "broadcast": 0},
        # more keys, as the counting gives them: left alone by the tables
        "by_definition": {"proactive_disclosure": 44, "normative_document": 12},
        "by_subject": {"预算": 3},
        "channel_jobs_not_done": {"webhook": 2},
    },
    "normative": {"issued": 12, "repealed": 2, "in_force": 31, "filed": 12},
    "applications": {
        "received": {
            "natural_person": 5,
            "business": 3,
            "research": 1,
            "public_interest": 0,
            "legal_service": 2,
            "other": 1,
            "total": 12,
        },
        "carried_over": 3,
        "outcomes": {
            "disclosed": 6,
            "partly_disclosed": 2,
            "refused_state_secret": 1,
            "refused_third_party": 1,
            "unavailable_not_held": 2,
            "not_processed_repeated": 1,
            "other_no_correction": 1,
            "total": 14,
        },
        "carried_forward": 1,
        "by_requester": {
            "natural_person": _column(
                5, 2, {"disclosed": 3, "partly_disclosed": 1, "refused_third_party": 1, "not_processed_repeated": 1}, 1
            ),
            "business": _column(3, 1, {"disclosed": 2, "unavailable_not_held": 2}, 0),
            "research": _column(1, 0, {"partly_disclosed": 1}, 0),
            "public_interest": _column(0, 0, {}, 0),
            "legal_service": _column(2, 0, {"disclosed": 1, "refused_state_secret": 1}, 0),
            "other": _column(1, 0, {"other_no_correction": 1}, 0),
        },
    },
    "reconsiderations": {"upheld": 2, "corrected": 1, "other": 0, "pending": 1, "total": 4},
    "lawsuits": {
        "direct": {"upheld": 1, "corrected": 0, "other": 0, "pending": 0, "total": 1},
        "after_reconsideration": {"upheld": 0, "corrected": 0, "other": 1, "pending": 1, "total": 2},
    },
    "consultations": {"received": 9, "answered": 8},
    "check": {"received": 12, "carried_over": 3, "handled": 14, "carried_forward": 1, "holds": True},
    "problems": [],
}

SECTIONS_ZH = [
    "一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
    "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况", "六、其他需要报告的事项",
]  # fmt: skip
TABLE_THREE_ZH = [
    # (label as the row's innermost cell reads, its seven figures: 自然人, 商业企业, 科研机构, 社会公益组织,
    #  法律服务机构, 其他, 总计)
    ("一、本年新收政府信息公开申请数量", [5, 3, 1, 0, 2, 1, 12]),
    ("二、上年结转政府信息公开申请数量", [2, 1, 0, 0, 0, 0, 3]),
    ("（一）予以公开", [3, 2, 0, 0, 1, 0, 6]),
    ("（二）部分公开（区分处理的，只计这一情形，不计其他情形）", [1, 0, 1, 0, 0, 0, 2]),
    ("1.属于国家秘密", [0, 0, 0, 0, 1, 0, 1]),
    ("2.其他法律行政法规禁止公开", [0] * 7),
    ("3.危及“三安全一稳定”", [0] * 7),
    ("4.保护第三方合法权益", [1, 0, 0, 0, 0, 0, 1]),
    ("5.属于三类内部事务信息", [0] * 7),
    ("6.属于四类过程性信息", [0] * 7),
    ("7.属于行政执法案卷", [0] * 7),
    ("8.属于行政查询事项", [0] * 7),
    ("1.本机关不掌握相关政府信息", [0, 2, 0, 0, 0, 0, 2]),
    ("2.没有现成信息需要另行制作", [0] * 7),
    ("3.补正后申请内容仍不明确", [0] * 7),
    ("1.信访举报投诉类申请", [0] * 7),
    ("2.重复申请", [1, 0, 0, 0, 0, 0, 1]),
    ("3.要求提供公开出版物", [0] * 7),
    ("4.无正当理由大量反复申请", [0] * 7),
    ("5.要求行政机关确认或重新出具已获取信息", [0] * 7),
    ("1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请", [0, 0, 0, 0, 0, 1, 1]),
    ("2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请", [0] * 7),
    ("3.其他", [0] * 7),
    ("（七）总计", [6, 4, 1, 0, 2, 1, 14]),
    ("四、结转下年度继续办理", [1, 0, 0, 0, 0, 0, 1]),
]
GROUPS_ZH = ["三、本年度办理结果", "（三）不予公开", "（四）无法提供", "（五）不予处理", "（六）其他处理"]
COLUMNS_ZH = [
    "申请人情况",
    "自然人",
    "法人或其他组织",
    "商业企业",
    "科研机构",
    "社会公益组织",
    "法律服务机构",
    "其他",
    "总计",
]
TABLE_TWO_ZH = [
    ("规章", [0, 0, 0]), ("行政规范性文件", [12, 2, 31]), ("行政许可", [0]), ("行政处罚", [0]), ("行政强制", [0]),
    ("行政事业性收费", [0]),
]  # fmt: skip
TABLE_TWO_HEADINGS_ZH = [
    "第二十条第（一）项", "第二十条第（五）项", "第二十条第（六）项", "第二十条第（八）项", "信息内容", "本年制发件数",
    "本年废止件数", "现行有效件数", "本年处理决定数量", "本年收费金额（单位：万元）",
]  # fmt: skip
TABLE_FOUR_ZH = [
    "行政复议",
    "行政诉讼",
    "未经复议直接起诉",
    "复议后起诉",
    "结果维持",
    "结果纠正",
    "其他结果",
    "尚未审结",
    "总计",
]
TABLE_FOUR_FIGURES = [2, 1, 0, 1, 4, 1, 0, 0, 0, 1, 0, 0, 1, 1, 2]


def _report(lang: str = "zh", figures: dict[str, Any] | None = None, definitions: Path = DEFINITIONS) -> Any:
    return build_report(
        figures or FIGURES, REGISTRY.office(), lang, definitions_dir=definitions, catalog=REGISTRY.catalog()
    )


# --- Markdown -------------------------------------------------------------------------------------------


def test_markdown_has_every_section_row_and_figure() -> None:
    text = to_markdown(_report())
    lines = text.splitlines()
    assert lines[0] == f"# {ORGAN}2025年政府信息公开工作年度报告"
    assert [line[3:] for line in lines if line.startswith("## ")] == SECTIONS_ZH
    for label, values in TABLE_THREE_ZH:
        row = [line for line in lines if line.startswith("| ") and line[2:].lstrip("\u3000").startswith(label + " |")]
        assert len(row) == 1, label
        assert row[0].split(" | ")[1:] == [*map(str, values[:-1]), f"{values[-1]} |"], label
    for group in GROUPS_ZH:
        assert any(f"**{group}**" in line for line in lines), group
    assert (
        "| 申请人情况 | 自然人 | 法人或其他组织：商业企业 | 法人或其他组织：科研机构 | 法人或其他组织：社会公益组织 | "
        in text
    )
    for label, values in TABLE_TWO_ZH:
        assert f"| {label} | {' | '.join(map(str, values))} |" in lines
    for heading in TABLE_TWO_HEADINGS_ZH:
        assert heading in text
    assert "|  | 结果维持 | 结果纠正 | 其他结果 | 尚未审结 | 总计 |" in lines
    assert "| 行政复议 | 2 | 1 | 0 | 1 | 4 |" in lines
    assert "| 行政诉讼：未经复议直接起诉 | 1 | 0 | 0 | 0 | 1 |" in lines
    assert "| 行政诉讼：复议后起诉 | 0 | 0 | 1 | 1 | 2 |" in lines
    assert "12 + 3 = 14 + 1" in text


def test_the_office_template_is_prefilled_with_the_figures_and_marks_what_to_fill() -> None:
    report = _report()
    text = to_markdown(report)
    for expected in (
        f"2025年，{ORGAN}深入贯彻落实", "全年主动公开政府信息56条", "- 03 总结计划：12条", "- 01 镇情概况：0条",
        "- 12 政府信息公开年度报告：0条", "政府信息公开网站12条", "县级政务公开平台56条",
        "本年制发行政规范性文件12件，废止2件，现行有效31件，报送备案12件",
        "本年新收政府信息公开申请12件，上年结转3件，办结14件",
        "结转下年度继续办理1件", "受理政府信息公开咨询9次", "行政复议4件、行政诉讼3件",
    ):  # fmt: skip
        assert expected in text, expected
    assert report.unfilled[0] == "【请填写：本年度政府信息公开工作的总体部署、组织领导和主要做法】"
    assert len(report.unfilled) == 9
    with pytest.raises(InvalidInput) as refused:
        report.require_filled()
    assert refused.value.render("en").startswith("the annual report still has 9 place(s) to fill in (【请填写：")


# --- HTML -----------------------------------------------------------------------------------------------


class _Tables(HTMLParser):
    """The h2 headings and every table's rows of (text, colspan, rowspan) cells."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.tables: list[list[list[tuple[str, int, int]]]] = []
        self._text: list[str] | None = None
        self._spans = (1, 1)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and "statutory" in (found.get("class") or ""):
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th", "h2"):
            self._text = []
            self._spans = (int(found.get("colspan") or 1), int(found.get("rowspan") or 1))

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2" and self._text is not None:
            self.headings.append("".join(self._text))
        elif tag in ("td", "th") and self._text is not None:
            self.tables[-1][-1].append(("".join(self._text), *self._spans))
        if tag in ("td", "th", "h2"):
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def test_html_draws_the_national_tables_with_merged_cells() -> None:
    page = _Tables()
    page.feed(to_html(_report()))
    assert page.headings == SECTIONS_ZH
    two, three, four = page.tables
    assert [cell[0] for cell in three[0]] == ["申请人情况", "自然人", "法人或其他组织", "总计"]
    assert three[0][0][1:] == (3, 2) and three[0][2][1:] == (5, 1)
    assert [cell[0] for cell in three[1]] == COLUMNS_ZH[3:8]
    body = three[2:]
    assert len(body) == len(TABLE_THREE_ZH)
    for row, (label, values) in zip(body, TABLE_THREE_ZH, strict=True):
        texts = [cell[0] for cell in row]
        assert texts[-8:] == [label, *map(str, values)], label
    assert body[2][0] == ("三、本年度办理结果", 1, 22)
    assert ("（三）不予公开", 1, 8) in body[4]
    assert body[0][0] == ("一、本年新收政府信息公开申请数量", 3, 1)
    assert body[2][1] == ("（一）予以公开", 2, 1)
    assert [c[0] for c in four[0]] == ["行政复议", "行政诉讼"] and four[0][1][1] == 10
    assert [c[0] for c in four[-1]] == [str(n) for n in TABLE_FOUR_FIGURES]
    texts = [cell[0] for row in two for cell in row]
    for heading in TABLE_TWO_HEADINGS_ZH:
        assert heading in texts
    for label, values in TABLE_TWO_ZH:
        index = texts.index(label)
        assert texts[index + 1 : index + 1 + len(values)] == [str(v) for v in values]


def test_office_text_in_html_is_sanitised(tmp_path: Path) -> None:
    definitions = _definitions_copy(tmp_path)
    template = definitions / "reports" / "annual_report.md.j2"
    template.write_text(
        "{% block overall %}<script>alert(1)</script> **{{ organ }}**{% endblock %}"
        "{% block problems %}无{% endblock %}{% block other %}无{% endblock %}",
        encoding="utf-8",
    )
    html = to_html(_report(definitions=definitions))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert f"<strong>{ORGAN}</strong>" in html


# --- DOCX -----------------------------------------------------------------------------------------------


def test_docx_has_the_three_tables_in_word_with_chinese_fonts_on_a4() -> None:
    document = Document(io.BytesIO(to_docx(_report())))
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    normal = document.styles["Normal"].element.rPr.rFonts
    assert normal.get(qn("w:eastAsia")) == "宋体"
    assert document.styles["Heading 1"].element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == SECTIONS_ZH
    assert document.paragraphs[0].text == f"{ORGAN}2025年政府信息公开工作年度报告"
    assert len(document.tables) == 3
    two, three, four = document.tables

    three_rows = [[cell.text for cell in row.cells] for row in three.rows]
    assert len(three_rows) == 2 + len(TABLE_THREE_ZH)
    assert len(three.columns) == 10
    assert three_rows[0][:5] == ["申请人情况"] * 3 + ["自然人", "法人或其他组织"]  # merged cells read alike
    assert three_rows[1][4:9] == COLUMNS_ZH[3:8]
    for row, (label, values) in zip(three_rows[2:], TABLE_THREE_ZH, strict=True):
        assert row[2] == label
        assert row[3:] == [str(v) for v in values], label
    assert three_rows[6][:2] == ["三、本年度办理结果", "（三）不予公开"]
    assert three.cell(4, 0)._tc is three.cell(25, 0)._tc, "三、本年度办理结果 is one cell down its 22 rows"

    four_rows = [[cell.text for cell in row.cells] for row in four.rows]
    assert four_rows[0][0] == "行政复议" and four_rows[0][5] == four_rows[0][14] == "行政诉讼"
    assert four_rows[1][5] == "未经复议直接起诉" and four_rows[1][10] == "复议后起诉"
    assert four_rows[-1] == [str(n) for n in TABLE_FOUR_FIGURES]

    two_rows = [[cell.text for cell in row.cells] for row in two.rows]
    assert two_rows[0] == ["第二十条第（一）项"] * 4
    assert ["行政规范性文件", "12", "2", "31"] in two_rows
    assert ["行政许可", "0", "0", "0"] in two_rows  # one figure stretched over the three columns
    texts = "\n".join(p.text for p in document.paragraphs)
    assert "全年主动公开政府信息56条" in texts and "12 + 3 = 14 + 1" in texts


# --- PDF ------------------------------------------------------------------------------------------------


def test_pdf_has_the_text_and_an_embedded_cjk_font() -> None:
    reader = PdfReader(io.BytesIO(to_pdf(_report())))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for heading in SECTIONS_ZH:
        assert heading in text
    assert "本年新收政府信息公开申请数量" in text and "结转下年度继续办理" in text
    assert "全年主动公开政府信息56条" in text
    embedded = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts") or [font]
            for descendant in descendants:
                descriptor = descendant.get_object().get("/FontDescriptor")
                if descriptor is not None and any(k in descriptor.get_object() for k in ("/FontFile2", "/FontFile3")):
                    embedded.add(str(font["/BaseFont"]))
    assert any("CJK" in name for name in embedded), embedded


# --- Refusals -------------------------------------------------------------------------------------------


def test_a_failing_check_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    wrong = copy.deepcopy(FIGURES)
    wrong["applications"]["carried_forward"] = 2
    wrong["applications"]["by_requester"]["natural_person"]["carried_forward"] = 2
    out = tmp_path / "report.docx"
    with pytest.raises(ReportCheckFailed) as refused:
        write_annual(wrong, "docx", out, REGISTRY.office(), "en", definitions_dir=DEFINITIONS)
    assert refused.value.render("en") == (
        "the annual report's check fails in column natural_person of table III: I 5 + II 2 is not III (total) 6 + IV 2;"
        " nothing was written"
    )
    assert refused.value.render("zh").startswith("年度报告表三 natural_person 列的勾稽关系不成立：第一项 5 加第二项 2")
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda f: f["applications"]["by_requester"]["business"].update(carried_forward=1),
            "the annual report's figures do not add up at applications.carried_forward: 1 stated, 2 counted",
        ),
        (
            lambda f: f["applications"]["outcomes"].update(total=15),
            "the annual report's figures do not add up at applications.outcomes.total: 15 stated, 14 counted",
        ),
        (
            lambda f: f["reconsiderations"].update(pending=-1),
            "the annual report's figures are not usable at reconsiderations.pending: a count (a whole number, 0 or"
            " more) is expected, not -1",
        ),
        (
            lambda f: f["applications"]["outcomes"].update(refused_secret=1),
            "the annual report's figures are not usable at applications.outcomes.refused_secret: unknown key",
        ),
        (lambda f: f.update(year="2025"), "the annual report's figures are not usable at year: a year is expected"),
    ],
)
def test_figures_that_do_not_add_up_are_refused(change: Any, message: str, tmp_path: Path) -> None:
    wrong = copy.deepcopy(FIGURES)
    change(wrong)
    with pytest.raises(GongkaiError) as refused:
        write_annual(wrong, "md", tmp_path / "r.md", REGISTRY.office(), "en", definitions_dir=DEFINITIONS)
    assert refused.value.render("en").startswith(message)
    assert not (tmp_path / "r.md").exists()


def test_the_column_that_breaks_the_check_is_named(tmp_path: Path) -> None:
    wrong = copy.deepcopy(FIGURES)
    research = wrong["applications"]["by_requester"]["research"]
    research["carried_forward"] = 1  # research: 1 + 0 != 1 + 1, and so the total column too
    wrong["applications"]["carried_forward"] = 2
    with pytest.raises(ReportCheckFailed) as refused:
        write_annual(wrong, "md", None, REGISTRY.office(), "en", definitions_dir=DEFINITIONS)
    assert "in column research of table III: I 1 + II 0 is not III (total) 1 + IV 1" in refused.value.render("en")


def _definitions_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS, folder)
    return folder


def test_a_template_error_names_its_file_and_line(tmp_path: Path) -> None:
    definitions = _definitions_copy(tmp_path)
    template = definitions / "reports" / "annual_report.md.j2"
    text = template.read_text(encoding="utf-8").replace("{{ published }}", "{{ publishd }}")
    template.write_text(text, encoding="utf-8")
    line = next(n for n, content in enumerate(text.splitlines(), 1) if "publishd" in content)
    with pytest.raises(DefinitionError) as refused:
        _report(definitions=definitions)
    assert refused.value.render("en") == f"{template}:{line}: the annual report's template: 'publishd' is undefined"

    template.write_text("{% block overall %}x{% endblock %}{% block other %}y{% endblock %}", encoding="utf-8")
    with pytest.raises(DefinitionError) as missing:
        _report(definitions=definitions)
    assert missing.value.render("en") == (
        f"{template}:1: the annual report's template has no block 'problems'"
        " ({% block problems %}...{% endblock %})"
    )
    template.write_text("{% block overall %}\n{{ x.__class__ }}{% endblock %}", encoding="utf-8")
    with pytest.raises(DefinitionError):
        _report(definitions=definitions)


# --- English --------------------------------------------------------------------------------------------


def test_english_labels_and_the_english_template() -> None:
    report = _report("en")
    text = to_markdown(report)
    assert text.startswith("# Hehua Town People's Government, Tengchong 2025 annual report on government")
    for heading in (
        "## I. Overview",
        "## II. Proactive disclosure of government information",
        "## V. Main problems and improvements",
    ):
        assert heading in text
    assert "| I. New applications received this year | 5 | 3 | 1 | 0 | 2 | 1 | 12 |" in text
    assert "| Applicants | Natural persons | Legal persons or other organisations: Businesses |" in text
    assert "| Administrative reconsideration | 2 | 1 | 0 | 1 | 4 |" in text
    assert "56 items of government information were proactively published" in text
    assert "[fill in: the main problems of the year]" in report.unfilled
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in text.replace("Hehua", "")), "no Chinese label left"
    page = _Tables()
    page.feed(to_html(report))
    assert page.headings[3] == (
        "IV. Administrative reconsideration and litigation concerning government information disclosure"
    )


# --- The command's options and --submit -----------------------------------------------------------------


@click.command()
@annual_output_options
@click.pass_obj
def _annual(shell: Shell, fmt: str | None, out: Path | None, submit: bool, actor: str | None) -> None:
    """As ``report annual`` calls it, with the fixture's figures for the counted ones."""
    with handled(shell):
        emit_annual(shell, FIGURES_IN_USE[0], fmt, out, submit, actor)


FIGURES_IN_USE: list[dict[str, Any]] = [FIGURES]


def _filled_definitions(tmp_path: Path) -> Path:
    definitions = _definitions_copy(tmp_path)
    template = definitions / "reports" / "annual_report.md.j2"
    filled = template.read_text(encoding="utf-8")
    while "【请填写" in filled:
        start = filled.index("【请填写")
        filled = filled[:start] + "已按要求落实。" + filled[filled.index("】", start) + 1 :]
    template.write_text(filled, encoding="utf-8")
    return definitions


def _shell(settings: Settings, definitions: Path, tmp_path: Path, lang: str = "zh") -> Shell:
    mine = dataclasses.replace(settings, definitions_dir=definitions, files_dir=tmp_path / "files", lang=lang)
    return Shell(mine, MailSettings.from_env({}))


def test_format_and_out_write_the_file(engine: WorkflowEngine, settings: Settings, tmp_path: Path) -> None:
    shell = _shell(settings, DEFINITIONS, tmp_path, "en")
    out = tmp_path / "out" / "2025.docx"
    result = CliRunner().invoke(_annual, ["--format", "docx", "--out", str(out)], obj=shell)
    assert result.exit_code == 0, result.output
    assert len(Document(str(out)).tables) == 3
    shown = CliRunner().invoke(_annual, ["--format", "md"], obj=shell)
    assert shown.exit_code == 0 and shown.output.startswith("# Hehua Town")
    wrong = CliRunner().invoke(_annual, ["--format", "odt"], obj=shell)
    assert wrong.exit_code == 2 and "'odt' is not one of 'md', 'html', 'docx', 'pdf'" in wrong.output


def test_submit_creates_an_item_in_12_with_its_attachments_and_it_is_published(
    engine: WorkflowEngine, settings: Settings, tmp_path: Path
) -> None:
    shell = _shell(settings, _filled_definitions(tmp_path), tmp_path)
    result = CliRunner().invoke(_annual, ["--submit", "--as", "drafter_a"], obj=shell)
    assert result.exit_code == 0, result.output
    reference, item_id = result.output.splitlines()
    view = shell.engine.show(int(item_id))
    title = f"{ORGAN}2025年政府信息公开工作年度报告"
    assert reference == f"{view.reference} {title}"
    assert (view.definition, view.title, view.category, view.state) == (
        "proactive_disclosure", title, "12", "drafting",
    )  # fmt: skip
    assert view.body.startswith("## 一、总体情况")
    assert "| 一、本年新收政府信息公开申请数量 | 5 | 3 | 1 | 0 | 2 | 1 | 12 |" in view.body
    attached = attachments_of(view.meta)
    assert [(a.name, a.media_type) for a in attached] == [
        (f"{title}.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (f"{title}.pdf", "application/pdf"),
    ]
    stored = shell.engine.files
    assert stored is not None
    with stored.open(attached[0].sha256) as docx_file:
        assert len(Document(docx_file).tables) == 3

    # through the chain like any other item: review, sign-off, publication
    engine.fire(int(item_id), "submit", "drafter_a")
    engine.fire(int(item_id), "clear", "reviewer_a")
    engine.fire(int(item_id), "sign_off", "leader_a")
    assert engine.show(int(item_id)).state == "published"


def test_submit_refuses_a_report_with_places_to_fill_and_creates_nothing(
    engine: WorkflowEngine, settings: Settings, tmp_path: Path
) -> None:
    shell = _shell(settings, DEFINITIONS, tmp_path, "en")
    refused = CliRunner().invoke(_annual, ["--submit", "--as", "drafter_a"], obj=shell)
    assert refused.exit_code == 2
    assert "the annual report still has 9 place(s) to fill in" in refused.output
    no_actor = CliRunner().invoke(_annual, ["--submit"], obj=shell)
    assert no_actor.exit_code == 2
    assert "--submit needs --as USER" in no_actor.output
    wrong = copy.deepcopy(FIGURES)
    wrong["applications"]["carried_over"] = 4
    FIGURES_IN_USE[0] = wrong
    try:
        unbalanced = CliRunner().invoke(
            _annual,
            ["--submit", "--as", "drafter_a"],
            obj=_shell(settings, _filled_definitions(tmp_path / "f"), tmp_path),
        )
    finally:
        FIGURES_IN_USE[0] = FIGURES
    assert unbalanced.exit_code == 1
    with pytest.raises(GongkaiError):
        engine.show(1)  # no item was created by any of the three


# --- Counted from a real year, through the command --------------------------------------------------------


def test_the_town_year_2014_written_through_the_command(
    engine: WorkflowEngine, clock: Any, settings: Settings, tmp_path: Path
) -> None:
    """The year of the town report rebuilt through the real chains (tests/town_2014.py), counted and written by
    ``gongkai report annual --format``; then submitted once its places are filled in."""
    definitions = definitions_2014(tmp_path / "definitions", DEFINITIONS)
    shutil.copytree(DEFINITIONS / "reports", definitions / "reports")
    town = WorkflowEngine(engine.db, DefinitionRegistry(definitions), engine.audit_key, clock=clock)
    rebuild_2014(town, clock)
    env = command_env(settings) | {
        "GONGKAI_DEFINITIONS_DIR": str(definitions), "GONGKAI_LANG": "zh", "GONGKAI_FILES_DIR": str(tmp_path / "f"),
    }  # fmt: skip
    shown = run(tmp_path, env, "report", "annual", "--year", "2014", "--format", "md")
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert text.startswith(f"# {ORGAN}2014年政府信息公开工作年度报告\n")
    for stated in (
        "全年主动公开政府信息56条", "- 04 政策法规：12条", "政府信息公开网站12条", "县级政务公开平台56条",
        "本年制发行政规范性文件12件，废止0件，现行有效12件，报送备案12件", "本年新收政府信息公开申请0件",
        "行政复议0件、行政诉讼0件", "| 行政规范性文件 | 12 | 0 | 12 |",
        "| 一、本年新收政府信息公开申请数量 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |",
        "| 行政复议 | 0 | 0 | 0 | 0 | 0 |", "0 + 0 = 0 + 0",
    ):  # fmt: skip
        assert stated in text, stated

    out = tmp_path / "2014.docx"
    written = run(tmp_path, env, "report", "annual", "--year", "2014", "--format", "docx", "--out", str(out))
    assert written.returncode == 0, written.stderr
    assert [c.text for c in Document(str(out)).tables[0].rows[3].cells] == ["行政规范性文件", "12", "0", "12"]
    mixed = run(tmp_path, env, "report", "annual", "--year", "2014", "--format", "md", "--json")
    assert mixed.returncode == 2 and "--format and --submit write the report" in mixed.stderr

    unfilled = run(tmp_path, env, "report", "annual", "--year", "2014", "--submit", "--as", "drafter_a")
    assert unfilled.returncode == 2 and unfilled.stderr.startswith("年度报告还有 9 处待填写")
    shutil.rmtree(definitions / "reports")
    shutil.copytree(_filled_definitions(tmp_path / "filled") / "reports", definitions / "reports")
    submitted = run(tmp_path, env, "report", "annual", "--year", "2014", "--submit", "--as", "drafter_a")
    assert submitted.returncode == 0, submitted.stderr
    view = town.show(int(submitted.stdout.splitlines()[-1]))
    assert (view.title, view.category) == (f"{ORGAN}2014年政府信息公开工作年度报告", "12")
    assert [a.name[-4:] for a in attachments_of(view.meta)] == ["docx", ".pdf"]

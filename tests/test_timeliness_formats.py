"""The timeliness report in each format, and the command that writes it (on the history of
tests/timeliness_history.py, on a SQLite file: the counting itself runs on both databases in
tests/test_timeliness.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import AUDIT_KEY, DEFINITIONS, FrozenClock
from tests.env import outside_env
from tests.timeliness_history import build
from workflow.core.errors import InvalidInput
from workflow.engine import WorkflowEngine
from workflow.reports.timeliness import TimelinessReport
from workflow.reports.timeliness_formats import render, to_table, width
from workflow.reports.timeliness_source import timeliness_report
from workflow.settings import Settings
from workflow.store.db import make_engine
from workflow.wiring import initialise

APRIL = (dt.date(2026, 4, 1), dt.date(2026, 4, 30))
GONGKAI = str(Path(sys.executable).with_name("gongkai"))


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'gongkai.db'}"
    engine = make_engine(url)
    initialise(Settings(database_url=url, definitions_dir=DEFINITIONS, audit_key=AUDIT_KEY), engine)
    engine.dispose()
    yield url


@pytest.fixture
def april(engine: WorkflowEngine, clock: FrozenClock, make_item: Callable[..., int]) -> TimelinessReport:
    build(engine, clock, make_item)
    return timeliness_report(engine, *APRIL)


def test_table_is_aligned_for_chinese_text(april: TimelinessReport, engine: WorkflowEngine) -> None:
    text = to_table(april, "zh", engine.registry.catalog())
    lines = text.splitlines()
    assert lines[0] == "及时性统计：2026-04-01 至 2026-04-30"
    late = lines[lines.index("== 逾期事项 ==") + 1 :]
    header, first, second = late[0], late[1], late[2]
    assert "逾期（工作日）" in header
    assert "丙 应急预案" in first and first.rstrip().endswith("2")
    assert "乙 预算公开" in second and second.rstrip().endswith("1")
    # Every row of a block is as wide as its header in terminal columns (the last column right-aligned).
    assert width(first) == width(header) == width(second)
    stages = lines[lines.index("== 按环节 ==") + 1 :]
    review = next(line for line in stages if "主动公开 · 保密审查" in line)
    assert review.split()[-6:] == ["3", "5", "7", "5个工作日", "66.7%", "1"]
    english = to_table(april, "en", engine.registry.catalog())
    assert "== By stage ==" in english and "Proactive disclosure · Confidentiality review" in english


def test_csv_has_a_bom_and_the_chinese_intact(april: TimelinessReport, engine: WorkflowEngine) -> None:
    data = render(april, "csv", "zh", engine.registry.catalog())
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    categories = rows[[r[:1] for r in rows].index(["按公开目录"]) + 2 :]
    assert ["03 总结计划", "主动公开 · 公开时限", "2", "6.5", "9", "20个工作日", "100%", "0"] in categories
    late = rows[[r[:1] for r in rows].index(["逾期事项"]) + 2 :]
    assert [r[1] for r in late] == ["丙 应急预案", "乙 预算公开"]
    assert [r[-1] for r in late] == ["2", "1"]


def test_xlsx_opens_with_numbers_and_shares(april: TimelinessReport, engine: WorkflowEngine, tmp_path: Path) -> None:
    path = tmp_path / "timeliness.xlsx"
    path.write_bytes(render(april, "xlsx", "zh", engine.registry.catalog()))
    book = load_workbook(path)
    assert book.sheetnames == ["按环节", "按人员", "按公开目录", "逾期事项"]
    stages = book["按环节"]
    header = [c.value for c in stages[1]]
    assert header[:3] == ["环节或时限", "类别", "办理件数"]
    review = next(row for row in stages.iter_rows(min_row=2, values_only=True) if row[0] == "主动公开 · 保密审查")
    assert review[2:7] == (3, 5.0, 7, "5个工作日", pytest.approx(2 / 3))
    share = next(r for r in stages.iter_rows(min_row=2) if r[0].value == "主动公开 · 保密审查")[6]
    assert share.number_format == "0.0%"
    late = list(book["逾期事项"].iter_rows(min_row=2, values_only=True))
    assert [(r[1], r[-1]) for r in late] == [("丙 应急预案", 2), ("乙 预算公开", 1)]
    people = list(book["按人员"].iter_rows(min_row=2, values_only=True))
    assert ("reviewer_a", "主动公开 · 保密审查", 2, 4.0, 5, "5个工作日", 1.0, 0) in people


def test_html_has_the_charts_as_inline_svg(april: TimelinessReport, engine: WorkflowEngine) -> None:
    page = render(april, "html", "zh", engine.registry.catalog()).decode("utf-8")
    assert page.startswith("<!doctype html>")
    assert page.count("<svg") == 3
    assert "<?xml" not in page and "<script" not in page
    # The labels are text in the SVG (the browser draws them), the ids unique to each chart.
    assert "主动公开 · 保密审查" in page and "reviewer_a (3/3)" in page and "reviewer_b (0/1)" in page
    assert 'id="tl-stages-' in page and 'id="tl-people-' in page and 'id="tl-late-' in page
    assert "丙 应急预案" in page
    empty = timeliness_report(engine, dt.date(2026, 5, 1), dt.date(2026, 5, 31))
    quiet = render(empty, "html", "en").decode("utf-8")
    assert "<svg" not in quiet and "Nothing was handled in this period." in quiet


def test_an_unknown_format_is_refused(april: TimelinessReport) -> None:
    with pytest.raises(InvalidInput) as refused:
        render(april, "pdf", "zh")
    assert refused.value.key == "report.bad_format"


def gongkai(settings: Settings, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = outside_env()
    env.update(
        PYTHONUTF8="1", GONGKAI_DATABASE_URL=settings.database_url, GONGKAI_AUDIT_KEY=AUDIT_KEY,
        GONGKAI_DEFINITIONS_DIR=str(DEFINITIONS),
    )  # fmt: skip
    return subprocess.run(
        [GONGKAI, "report", "timeliness", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


def test_the_command_writes_each_format(april: TimelinessReport, settings: Settings, tmp_path: Path) -> None:
    table = gongkai(settings, tmp_path, "--from", "2026-04-01", "--to", "2026-04-30")
    assert table.returncode == 0, table.stderr
    assert "== 逾期事项 ==" in table.stdout and "丙 应急预案" in table.stdout
    for fmt in ("csv", "xlsx", "html"):
        out = tmp_path / f"t.{fmt}"
        done = gongkai(
            settings, tmp_path, "--from", "2026-04-01", "--to", "2026-04-30", "--format", fmt, "--out", str(out)
        )
        assert done.returncode == 0, done.stderr
        assert out.stat().st_size > 0
    assert (tmp_path / "t.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert load_workbook(tmp_path / "t.xlsx").sheetnames[0] == "按环节"
    assert "<svg" in (tmp_path / "t.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--from", "2026-04-31", "--to", "2026-05-01"), "'2026-04-31' 不是日期"),
        (("--from", "2026/04/01", "--to", "2026-05-01"), "'2026/04/01' 不是日期"),
        (("--from", "2026-05-01", "--to", "2026-04-01"), "早于开始日期"),
        (("--from", "2026-04-01", "--to", "2026-05-01", "--format", "pdf"), "未知格式"),
    ],
)
def test_bad_dates_and_formats_are_refused_in_one_line(
    settings: Settings, tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    out = tmp_path / "never.csv"
    refused = gongkai(settings, tmp_path, *args, "--out", str(out))
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert len(refused.stderr.splitlines()) == 1 and says in refused.stderr, refused.stderr
    assert not out.exists()

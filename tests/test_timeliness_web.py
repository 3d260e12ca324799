"""The timeliness page of the office's web pages: leaders and auditors read it, a drafter may not."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import AUDIT_KEY, DEFINITIONS, FrozenClock
from tests.timeliness_history import build
from tests.web_support import Web, make_web
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.store.db import make_engine
from workflow.wiring import initialise

APRIL = {"from": "2026-04-01", "to": "2026-04-30"}


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'gongkai.db'}"
    engine = make_engine(url)
    initialise(Settings(database_url=url, definitions_dir=DEFINITIONS, audit_key=AUDIT_KEY), engine)
    engine.dispose()
    yield url


@pytest.fixture
def web(engine: WorkflowEngine, settings: Settings, tmp_path: Path, clock: FrozenClock) -> Web:
    return make_web(engine, settings, tmp_path / "mail", clock)


@pytest.fixture
def april(web: Web, engine: WorkflowEngine, clock: FrozenClock, make_item: Callable[..., int]) -> Web:
    build(engine, clock, make_item)
    return web


@pytest.mark.parametrize("reader", ["leader_a", "auditor_a", "admin_a"])
def test_leaders_and_auditors_read_the_charts(april: Web, reader: str) -> None:
    april.sign_in(reader)
    page = april.client.get("/reports/timeliness", params=APRIL)
    assert page.status_code == 200
    assert page.text.count("<svg") == 3 and "丙 应急预案" in page.text
    assert 'href="/reports/timeliness" aria-current="page"' in page.text
    assert 'name="from" type="date" value="2026-04-01"' in page.text


@pytest.mark.parametrize("reader", ["drafter_a", "reviewer_a", "office_a"])
def test_others_may_not(april: Web, reader: str) -> None:
    april.sign_in(reader)
    assert april.client.get("/reports/timeliness", params=APRIL).status_code == 403
    assert april.client.get("/reports/timeliness", params={**APRIL, "format": "csv"}).status_code == 403
    assert "page_forbidden" in april.security_events()
    assert 'href="/reports/timeliness"' not in april.client.get("/").text


def test_not_signed_in_goes_to_sign_in(april: Web) -> None:
    page = april.client.get("/reports/timeliness", params=APRIL)
    assert page.status_code == 303 and page.headers["location"].startswith("/signin")


def test_downloads(april: Web, tmp_path: Path) -> None:
    april.sign_in("auditor_a")
    csv = april.client.get("/reports/timeliness", params={**APRIL, "format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv") and csv.content.startswith(b"\xef\xbb\xbf")
    assert "逾期事项" in csv.content.decode("utf-8-sig")
    xlsx = april.client.get("/reports/timeliness", params={**APRIL, "format": "xlsx"})
    (tmp_path / "t.xlsx").write_bytes(xlsx.content)
    assert load_workbook(tmp_path / "t.xlsx").sheetnames == ["按环节", "按人员", "按公开目录", "逾期事项"]
    assert 'filename="gongkai-timeliness-2026-04-01-2026-04-30.xlsx"' in xlsx.headers["content-disposition"]


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"from": "2026-02-30", "to": "2026-04-30"}, "'2026-02-30' 不是日期"),
        ({"from": "2026-04-30", "to": "2026-04-01"}, "早于开始日期"),
        ({**APRIL, "format": "docx"}, "未知格式"),
    ],
)
def test_bad_input_is_said_next_to_the_form(april: Web, params: dict[str, str], says: str) -> None:
    april.sign_in("leader_a")
    page = april.client.get("/reports/timeliness", params=params)
    assert page.status_code == 400
    assert says in html.unescape(page.text) and 'role="alert"' in page.text and "<svg" not in page.text
    assert f'value="{params["from"]}"' in page.text  # what was typed stays in the form


def test_the_default_period_is_the_year_to_date(april: Web, clock: FrozenClock) -> None:
    clock.now = dt.datetime(2026, 4, 30, 2, 0, tzinfo=dt.UTC)
    april.sign_in("leader_a")
    page = april.client.get("/reports/timeliness")
    assert page.status_code == 200
    assert 'value="2026-01-01"' in page.text and 'value="2026-04-30"' in page.text
    assert "丙 应急预案" in page.text

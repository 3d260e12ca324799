"""The body on the pages is the Markdown rendered once, in one home: what the reviewer saw on the
confirm page of their action link is exactly what the item page shows, tables and all, scripts never."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FrozenClock
from tests.web_support import Web, make_web
from workflow.core.markup import render_body
from workflow.engine import WorkflowEngine
from workflow.settings import Settings

BODY = """本镇 2026 年预算：

| 项目 | 金额 |
|---|--:|
| 收入 | 1,250 |

- 第一条
- 第二条

<script>alert("x")</script> [链接](javascript:alert(1)) <img src=x onerror=alert(1)>
"""
RENDERED = re.compile(r'<div class="body rendered-body">(.*?)</div>\n</section>', re.S)


@pytest.fixture
def web(engine: WorkflowEngine, settings: Settings, tmp_path: Path, clock: FrozenClock) -> Web:
    return make_web(engine, settings, tmp_path / "mail", clock)


def shown_body(html: str) -> str:
    found = RENDERED.search(html)
    assert found, "no rendered body on the page"
    return found.group(1)


def test_the_reviewer_sees_on_the_link_what_the_item_page_shows(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    item_id = make_item(title="预算公开", body=BODY)
    engine.fire(item_id, "submit", "drafter_a")
    confirm = web.client.get(web.link("reviewer_a", item_id, "clear"))
    assert confirm.status_code == 200
    seen_by_reviewer = shown_body(confirm.text)
    web.sign_in("reviewer_a")
    on_the_item_page = shown_body(web.client.get(f"/items/{engine.show(item_id).reference}").text)
    assert seen_by_reviewer == on_the_item_page == render_body(BODY)
    assert "<table>" in on_the_item_page and "<li>第二条</li>" in on_the_item_page
    assert "<script" not in on_the_item_page and "<img" not in on_the_item_page and "href" not in on_the_item_page


def test_nobody_without_the_right_reads_the_rendered_body(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    item_id = make_item(title="预算公开", body=BODY)
    engine.fire(item_id, "submit", "drafter_a")
    web.sign_in("auditor_a")
    page = web.client.get(f"/items/{engine.show(item_id).reference}").text
    assert "rendered-body" not in page and "1,250" not in page

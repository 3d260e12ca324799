"""The inbox page: 50 a page with page links, filters and a search in the query string that survive
paging, the views "items I created" and "items I acted on", and a clear error for a bad filter."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FrozenClock
from tests.web_support import Web, make_web
from workflow.engine import WorkflowEngine
from workflow.settings import Settings

ITEM = re.compile(r'<a href="/items/([A-Z]+-\d{4}-\d{4})">')


@pytest.fixture
def web(engine: WorkflowEngine, settings: Settings, tmp_path: Path, clock: FrozenClock) -> Web:
    return make_web(engine, settings, tmp_path / "mail", clock)


def listed(html: str) -> list[str]:
    return ITEM.findall(html)


def test_fifty_a_page_with_page_links_that_keep_the_filters(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock
) -> None:
    made = []
    for n in range(56):
        clock.now = dt.datetime(2026, 3, 2, 2, tzinfo=dt.UTC) + dt.timedelta(hours=n)
        item_id = make_item(title=f"送审事项 {n:02d}" if n != 55 else "另一件事")
        engine.fire(item_id, "submit", "drafter_a")
        made.append(engine.show(item_id).reference)
    clock.now = dt.datetime(2026, 3, 10, 2, tzinfo=dt.UTC)
    web.sign_in("reviewer_a")
    first = web.client.get("/")
    assert first.status_code == 200
    assert len(listed(first.text)) == 50 and listed(first.text) == made[:50]  # by due date, then oldest
    assert "共 56 项待办" in first.text and "第 1 页，共 2 页" in first.text
    assert 'href="/?page=2" aria-label="第 2 页"' in first.text
    assert 'aria-current="page" aria-label="第 1 页"' in first.text
    second = web.client.get("/?page=2")
    assert listed(second.text) == made[50:]
    # A search (words of the title) and a filter survive paging: the links carry them.
    searched = web.client.get("/", params={"q": "送审 事项", "definition": "proactive_disclosure"})
    assert "共 55 项待办" in searched.text and "另一件事" not in searched.text
    assert 'href="/?definition=proactive_disclosure&amp;q=%E9%80%81%E5%AE%A1+%E4%BA%8B%E9%A1%B9&amp;page=2"' in (
        searched.text
    )
    beyond = web.client.get("/", params={"q": "送审 事项", "page": "9"})  # past the end: the last page
    assert beyond.status_code == 200 and len(listed(beyond.text)) == 5
    # A reference whole or by its start, in any case.
    assert listed(web.client.get("/", params={"q": made[7].lower()}).text) == [made[7]]
    assert len(listed(web.client.get("/", params={"q": made[0][:-1]}).text)) == 9  # GK-2026-0001 to -0009
    # Overdue only: what was submitted on 2026-03-02 (due 03-09, 14 items) is one working day late on 03-10.
    assert "共 56 项待办, 其中 14 项已逾期" in first.text
    overdue = web.client.get("/", params={"overdue": "1"})
    assert "共 14 项待办, 其中 14 项已逾期" in overdue.text and listed(overdue.text) == made[:14]


def test_the_views_items_i_created_and_items_i_acted_on(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    mine = make_item(title="甲起草")
    engine.fire(mine, "submit", "drafter_a")
    engine.fire(mine, "clear", "reviewer_a")
    engine.fire(mine, "sign_off", "leader_a")  # published: waits for nobody
    theirs = make_item(title="乙起草", actor="drafter_b")
    engine.fire(theirs, "submit", "drafter_b")
    engine.fire(theirs, "send_back", "reviewer_a", comment="请补充")
    still = make_item(title="甲草稿")
    web.sign_in("drafter_a")
    waiting = web.client.get("/").text
    assert "甲草稿" in waiting and "甲起草" not in waiting
    created = web.client.get("/?view=created").text
    assert "甲起草" in created and "甲草稿" in created and "乙起草" not in created
    assert '<a href="/?view=created" aria-current="page">' in created
    assert 'name="view" value="created"' in created  # the form keeps the view
    web.sign_in("reviewer_a")
    acted = web.client.get("/?view=acted").text
    assert "甲起草" in acted and "乙起草" in acted and "甲草稿" not in acted
    assert "乙起草" not in web.client.get("/").text  # sent back: it waits for its drafter
    # Filters combine with a view: by step (shown by its label).
    drafting = web.client.get("/", params={"view": "acted", "state": "drafting"}).text
    assert "乙起草" in drafting and "甲起草" not in drafting
    assert '<option value="drafting" selected>起草</option>' in drafting
    assert engine.show(still).state == "drafting"


def test_a_bad_filter_is_named_next_to_its_field_and_lists_nothing(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    engine.fire(make_item(title="送审"), "submit", "drafter_a")
    web.sign_in("reviewer_a")
    bad = web.client.get("/", params={"definition": "nonsense", "page": "x"})
    assert bad.status_code == 400
    assert 'aria-describedby="f-definition-error"' in bad.text and 'id="f-definition-error"' in bad.text
    assert "nonsense" in bad.text and "“x” 不是页码" in bad.text
    assert listed(bad.text) == []
    web.client.cookies.set("gk_lang", "en")
    wrong_state = web.client.get("/", params={"definition": "disclosure_request", "state": "confidentiality_review"})
    assert wrong_state.status_code == 400 and 'aria-describedby="f-state-error"' in wrong_state.text
    assert "There is no step “confidentiality_review” here" in wrong_state.text

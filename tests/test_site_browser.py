"""The generated site in Debian's chromium, opened from its files (no server): home, a sub-directory, an
item; the elderly-friendly mode switched on without JavaScript (the computed font size grows) and kept
while the reader moves on. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser import save_screenshot
from tests.site_support import builder_for, publish
from workflow.engine import WorkflowEngine

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def font_px(page: Page, selector: str) -> float:
    return float(page.eval_on_selector(selector, "e => parseFloat(getComputedStyle(e).fontSize)"))


def test_home_to_sub_directory_to_item_and_the_elderly_mode(
    engine: WorkflowEngine, make_item: Callable[..., int], tmp_path: Path, page: Page
) -> None:
    publish(engine, make_item, title="第三季度防汛工作安排", category="07", body="本镇第三季度防汛工作安排。")
    builder_for(engine, tmp_path / "site").full()
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto((tmp_path / "site" / "index.html").resolve().as_uri())
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    save_screenshot(page, "site-home")
    page.get_by_role("link", name="应急管理").first.click()
    assert page.url.endswith("catalog/07/index.html")
    page.get_by_role("link", name="第三季度防汛工作安排").click()
    assert page.get_by_role("heading", level=1).inner_text() == "第三季度防汛工作安排"
    standard = font_px(page, ".body p")
    save_screenshot(page, "site-item")
    page.get_by_role("link", name="进入适老化模式（大字体）").click()
    assert "/elder/items/" in page.url
    assert page.locator("html").get_attribute("class") == "elder"
    larger = font_px(page, ".body p")
    assert larger >= standard * 1.2, (standard, larger)
    save_screenshot(page, "site-item-elder")
    page.get_by_role("link", name="首页").first.click()
    assert page.url.endswith("/elder/index.html") and page.locator("html").get_attribute("class") == "elder"
    page.get_by_role("link", name="退出适老化模式").click()
    assert "/elder/" not in page.url and page.url.endswith("/index.html")

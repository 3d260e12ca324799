"""The generated site in Debian's chromium: home, a sub-directory, an item; a search for a Chinese word
(the site served over HTTP, as search needs); the elderly-friendly mode switched on without JavaScript (the
computed font size grows) and kept while the reader moves on. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

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


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def served(folder: Path) -> Iterator[str]:
    """The built site on a loopback port, as any static web server would serve it (search needs HTTP)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder.resolve())))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_chinese_word_of_the_body_is_found_from_the_home_page_and_in_the_elderly_mode(
    engine: WorkflowEngine, make_item: Callable[..., int], tmp_path: Path, page: Page
) -> None:
    publish(engine, make_item, title="第三季度防汛工作安排", category="07", body="汛期请村民远离河道。")
    publish(engine, make_item, title="春耕补贴发放公告", category="06", body="补贴按亩发放。")
    site = tmp_path / "site"
    builder_for(engine, site).full()
    with served(site) as base:
        page.goto(base + "index.html")
        page.get_by_role("link", name="搜索").first.click()
        page.fill("#search-input", "河道")  # a word of the body only
        page.press("#search-input", "Enter")
        result = page.locator("#search-results a")
        result.first.wait_for()
        assert result.count() == 1 and result.first.inner_text() == "第三季度防汛工作安排"
        save_screenshot(page, "site-search")
        result.first.click()
        assert page.get_by_role("heading", level=1).inner_text() == "第三季度防汛工作安排"
        page.goto(base + "elder/search.html?q=" + "补贴")
        result.first.wait_for()
        assert result.count() == 1 and result.first.inner_text() == "春耕补贴发放公告"
        result.first.click()
        assert "/elder/items/" in page.url and page.locator("html").get_attribute("class") == "elder"

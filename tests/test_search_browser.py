"""The site's search in headless Chromium: a tiny site (search pages, assets/search.js, an index of a few
Chinese documents written by workflow.publishing.search) served by the standard library's http.server.
Typing 低保 finds the right item, an absent word says 没有找到, a page in a sub-folder (elder/) finds and
links the same items, document text with HTML stays text, and search.js matches search.py exactly."""

from __future__ import annotations

import functools
import json
import re
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser import save_screenshot
from workflow.publishing.search import SearchDoc, SearchIndex, query_tokens, search, shard_of

SCRIPT = Path(__file__).resolve().parent.parent / "workflow" / "publishing" / "static" / "search.js"

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>搜索</title>
<style>body {{ font: 18px/1.8 sans-serif; margin: 2rem; }} mark {{ background: #ffe08a; }}</style></head>
<body><h1>政府信息公开 搜索</h1>
<form id="search-form" action="search.html" role="search">
<label for="search-input">搜索</label> <input id="search-input" name="q"> <button>搜索</button></form>
<p id="search-status" role="status" aria-live="polite"></p>
<ol id="search-results"></ol>
<script src="{assets}search.js" data-index="{index}" {extra}></script>
</body></html>
"""

DOCS = [
    SearchDoc(
        "dibao",
        "items/dibao.html",
        "2026年第一季度低保资金发放公示",
        "本镇城乡最低生活保障（低保）资金已按月发放到户, 名单见附件。",
        "2026-04-02",
        "民政信息",
    ),
    SearchDoc(
        "flood",
        "items/flood.html",
        "第三季度防汛工作安排",
        "各村做好防汛抗旱准备, 汛期值班表见附件。",
        "2026-06-15",
        "应急管理",
    ),
    SearchDoc(
        "budget",
        "items/budget.html",
        "荷花镇2026年财政预算",
        "荷政发〔２０２６〕3号: 低收入农户补助列入预算。",
        "2026-01-20",
        "财政信息",
    ),
    SearchDoc(
        "html",
        "items/html.html",
        '<img src=x onerror="window.pwned=1">村务 & <b>公开</b>',
        "正文里的 <script>window.pwned=2</script> 也只是文字。",
        "2026-02-01",
        "村务公开",
    ),
]


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The site folder, served on a loopback port; yields (base URL, folder)."""
    folder = tmp_path / "site"
    (folder / "assets").mkdir(parents=True)
    (folder / "elder").mkdir()
    (folder / "items").mkdir()
    shutil.copy(SCRIPT, folder / "assets" / "search.js")
    (folder / "search.html").write_text(PAGE.format(assets="assets/", index="search/", extra=""), encoding="utf-8")
    (folder / "elder" / "search.html").write_text(
        PAGE.format(assets="../assets/", index="../search/", extra=""), encoding="utf-8"
    )
    (folder / "elder" / "items.html").write_text(
        PAGE.format(assets="../assets/", index="../search/", extra='data-site="./"'), encoding="utf-8"
    )
    english = 'data-label-none="Nothing found" data-label-found="{n} found"'
    (folder / "en.html").write_text(PAGE.format(assets="assets/", index="search/", extra=english), encoding="utf-8")
    for doc in DOCS:
        (folder / doc.url).write_text(f"<!doctype html><meta charset=utf-8><title>{doc.id}</title><h1>{doc.id}</h1>")
    SearchIndex(folder / "search").write_full(DOCS)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def ask(page: Page, text: str) -> None:
    page.fill("#search-input", text)
    page.press("#search-input", "Enter")


def test_typing_a_chinese_word_finds_its_item_and_an_absent_word_finds_nothing(
    page: Page, site: tuple[str, Path]
) -> None:
    base, _ = site
    page.goto(f"{base}/search.html")
    ask(page, "低保")
    expect(page.locator("#search-status")).to_have_text("找到 1 条")
    results = page.locator("#search-results li")
    expect(results).to_have_count(1)
    link = results.locator("a")
    expect(link).to_have_text("2026年第一季度低保资金发放公示")
    expect(link.locator("mark")).to_have_text("低保")
    expect(results.locator(".search-snippet mark").first).to_have_text("低保")
    expect(results.locator("time")).to_have_attribute("datetime", "2026-04-02")
    expect(results.locator(".search-category")).to_have_text("民政信息")
    assert link.get_attribute("href") == f"{base}/items/dibao.html"
    assert page.url.endswith("search.html?q=%E4%BD%8E%E4%BF%9D")  # the query is in the address, to share
    save_screenshot(page, "search_found")

    ask(page, "养老金")
    expect(page.locator("#search-status")).to_have_text("没有找到")
    expect(page.locator("#search-results li")).to_have_count(0)
    save_screenshot(page, "search_nothing")

    ask(page, "低保")
    page.locator("#search-results a").click()
    expect(page.locator("h1")).to_have_text("dibao")


def test_the_query_in_the_address_is_run_on_load_and_full_width_digits_match(
    page: Page, site: tuple[str, Path]
) -> None:
    base, _ = site
    page.goto(f"{base}/search.html?q=〔2026〕3号")
    expect(page.locator("#search-status")).to_have_text("找到 1 条")
    expect(page.locator("#search-results a")).to_have_text("荷花镇2026年财政预算")
    expect(page.locator("#search-input")).to_have_value("〔2026〕3号")
    page.goto(f"{base}/search.html?q=２０２６")
    expect(page.locator("#search-status")).to_have_text("找到 2 条")
    # both have 2026 in the title: the newer first
    expect(page.locator("#search-results a")).to_have_text(["2026年第一季度低保资金发放公示", "荷花镇2026年财政预算"])


def test_a_page_in_a_sub_folder_links_results_from_the_site_root(page: Page, site: tuple[str, Path]) -> None:
    base, _ = site
    page.goto(f"{base}/elder/search.html")
    ask(page, "防汛")
    expect(page.locator("#search-status")).to_have_text("找到 1 条")
    assert page.locator("#search-results a").get_attribute("href") == f"{base}/items/flood.html"
    save_screenshot(page, "search_elder_folder")
    # data-site: where result URLs are resolved, when the sub-folder has its own copies of the pages
    page.goto(f"{base}/elder/items.html?q=防汛")
    expect(page.locator("#search-status")).to_have_text("找到 1 条")
    assert page.locator("#search-results a").get_attribute("href") == f"{base}/elder/items/flood.html"


def test_document_text_with_html_stays_text(page: Page, site: tuple[str, Path]) -> None:
    base, _ = site
    page.goto(f"{base}/search.html")
    ask(page, "村务")
    expect(page.locator("#search-status")).to_have_text("找到 1 条")
    expect(page.locator("#search-results a")).to_have_text('<img src=x onerror="window.pwned=1">村务 & <b>公开</b>')
    expect(page.locator(".search-snippet")).to_have_text("正文里的 <script>window.pwned=2</script> 也只是文字。")
    assert page.locator("#search-results img, #search-results b, #search-results script").count() == 0
    assert page.evaluate("window.pwned") is None


def test_labels_come_from_the_script_tag(page: Page, site: tuple[str, Path]) -> None:
    base, _ = site
    page.goto(f"{base}/en.html?q=低保")
    expect(page.locator("#search-status")).to_have_text("1 found")
    ask(page, "养老金")
    expect(page.locator("#search-status")).to_have_text("Nothing found")


PARITY_QUERIES = [
    "低保",
    "低",
    "保障",
    "防汛抗旱",
    "公告",
    "2026",
    "ＧＫ-2026",
    "第7村",
    "村 名单",
    "值班",
    "〔2026〕",
    "不存在的词",
    "gk",
    "𠀀字",
    "constructor __proto__ tostring",  # words that are also names on every JavaScript object
]


def test_search_js_matches_search_py(page: Page, site: tuple[str, Path], tmp_path: Path) -> None:
    """Over an index of several buckets with holes and updates, search.js and search() agree on every query."""
    base, folder = site
    words = ["低保", "防汛", "抗旱", "名单", "值班", "保障", "公告", "GK-2026", "〔2026〕3号", "𠀀字"]
    docs = [
        SearchDoc(
            f"p{i}",
            f"items/p{i}.html",
            f"公告{i} {words[i % len(words)]}",
            f"第{i % 13}村 " + " ".join(words[(i * k) % len(words)] for k in range(1, 4)),
            f"2026-{i % 12 + 1:02d}-{i % 27 + 1:02d}",
            "测试",
        )
        for i in range(150)
    ]
    index = SearchIndex(folder / "parity")
    index.write_full(docs[:120], shards=8, capacity=32, chunk=8)
    index.upsert(docs[120:])
    index.remove([f"p{i}" for i in range(0, 150, 7)])
    index.upsert([SearchDoc("p3", "items/p3.html", "公告3 修订", "低保 值班", "2026-12-31", "测试")])

    page.goto(f"{base}/search.html")
    for text in PARITY_QUERIES:
        tokens = page.evaluate("text => window.gongkaiSearch.queryTokens(text).tokens", text)
        assert tokens == query_tokens(text), text
        assert page.evaluate("tokens => tokens.map(t => window.gongkaiSearch.shardOf(t, 256))", tokens) == [
            shard_of(token, 256) for token in tokens
        ]
        found = page.evaluate(
            """async text => {
                const result = await window.gongkaiSearch.search(new URL("parity/", document.baseURI), text, 30);
                return [result.total, result.hits.map(hit => [hit.id, hit.titleHits, hit.snippet])];
            }""",
            text,
        )
        expected = search(folder / "parity", text, 30)
        assert found == [expected.total, [[hit.id, hit.title_hits, hit.snippet] for hit in expected.hits]], text
    assert search(folder / "parity", "低保", 30).total > 10  # the queries do find things

    # what the benchmark counts as fetched is what search.js fetches: one file per bucket and shard, then chunks
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url.split("/parity/", 1)[-1].split("?")[0]))
    page.evaluate("async () => { await window.gongkaiSearch.search(new URL('parity/', document.baseURI), '低保', 5); }")
    buckets = json.loads((folder / "parity" / "manifest.json").read_text())["buckets"]
    shard = shard_of("低保", 8)
    listed = ["manifest.json"] + [name for b in range(buckets) for name in (f"b/{b}/m.json", f"b/{b}/s{shard}.json")]
    assert buckets == 5 and sorted(requested[: len(listed)]) == sorted(listed)
    chunks = requested[len(listed) :]
    assert 1 <= len(chunks) <= 5 and all(re.fullmatch(r"b/\d/d\d\.json", name) for name in chunks)

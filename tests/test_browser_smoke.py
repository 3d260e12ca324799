"""The browser infrastructure on its own: a tiny stdlib HTTP server on 127.0.0.1, a form posted by a
real click in headless chromium (no JavaScript on the page), and a screenshot of the result."""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Page, expect

from tests.browser import save_screenshot

FORM = """<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>浏览器冒烟测试</title></head>
<body>
<h1>政府信息公开 · 浏览器冒烟测试</h1>
<p id="status">{status}</p>
<form method="post" action="/">
  <label for="title">标题</label>
  <input id="title" name="title" value="第三季度防汛工作安排">
  <button type="submit">提交审核</button>
</form>
</body>
</html>
"""


class FormHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._send(FORM.format(status="尚未提交"))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        fields = parse_qs(self.rfile.read(length).decode("utf-8"))
        title = fields.get("title", [""])[0]
        self._send(FORM.format(status=f"已提交：{html.escape(title)}"))

    def _send(self, body: str) -> None:
        data = body.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass


@pytest.fixture
def form_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FormHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_form_post_by_click(page: Page, form_server: str) -> None:
    page.goto(form_server)
    expect(page.locator("#status")).to_have_text("尚未提交")

    page.get_by_label("标题").fill("村道工程合同")
    page.get_by_role("button", name="提交审核").click()

    expect(page.locator("#status")).to_have_text("已提交：村道工程合同")
    assert page.url == form_server
    path = save_screenshot(page, "browser_smoke")
    assert path.is_file()
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

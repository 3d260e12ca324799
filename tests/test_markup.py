"""An item's Markdown body as HTML (workflow.core.markup): paragraphs, lists and tables render; scripts,
event handlers and links other than http, https and mailto never come through; emails show it too."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest

from notifications.render import ItemSummary, render
from workflow.core.markup import ALLOWED_TAGS, LINK_REL, render_body

BODY = """## 2026 年镇级财政预算

本镇 **2026 年** 预算如下：

- 收入 1,250 万元
- 支出 1,180 万元

| 项目 | 金额（万元） |
|---|--:|
| 三公经费 | 18.6 |

> 以上数据经镇人大审议。
"""


class Elements(HTMLParser):
    """Every tag and attribute of an HTML fragment, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.extend(attrs)


def test_paragraphs_lists_tables_and_headings_render() -> None:
    html = render_body(BODY)
    assert "<h2>2026 年镇级财政预算</h2>" in html
    assert "<strong>2026 年</strong>" in html
    assert "<ul>\n<li>收入 1,250 万元</li>" in html
    assert "<table>" in html and "<th>项目</th>" in html and "<td>18.6</td>" in html
    assert "<blockquote>" in html
    assert "style=" not in html  # a column's alignment is no reason to allow style attributes


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[点此](javascript:alert(1))",
        "[点此](JaVaScRiPt:alert(1))",
        "<javascript:alert(1)>",
        "[点此](data:text/html;base64,PHNjcmlwdD4=)",
        '<a href="javascript:alert(1)">x</a>',
        "<iframe src=https://evil.example></iframe>",
        '<div onclick="alert(1)">x</div>',
        "![x](https://evil.example/x.png)",
    ],
)
def test_script_injection_never_comes_through(hostile: str) -> None:
    html = render_body(f"正文前\n\n{hostile}\n\n正文后")
    found = Elements()
    found.feed(html)
    assert found.tags <= ALLOWED_TAGS, html
    assert not [name for name, _ in found.attributes if name.startswith("on")], html
    assert not [value for name, value in found.attributes if name == "href"], html  # no link survives
    assert "<script" not in html.lower() and "正文前" in html and "正文后" in html


def test_only_http_https_and_mailto_links_with_noopener() -> None:
    html = render_body("[a](https://www.gov.cn/) [b](http://x.example/) [c](mailto:gk@town.gov.cn) [d](/items/1)")
    assert html.count("href=") == 3
    assert f'<a href="https://www.gov.cn/" rel="{LINK_REL}">a</a>' in html
    assert f'<a href="mailto:gk@town.gov.cn" rel="{LINK_REL}">c</a>' in html
    assert "/items/1" not in html


def test_an_empty_body_is_nothing_and_plain_text_is_paragraphs() -> None:
    assert render_body("") == "" and render_body("  \n") == ""
    assert render_body("第一段。\n\n第二段。") == "<p>第一段。</p>\n<p>第二段。</p>"


def test_html_emails_render_the_body_and_text_emails_keep_the_markdown() -> None:
    item = ItemSummary("GK-2026-0007", "预算", "leadership_signoff", "领导签发", body=BODY)
    message = render(
        "new_task", recipient_name="张三", base_url="https://gk.example.gov.cn/", today=dt.date(2026, 3, 5),
        confidential_states=frozenset({"confidentiality_review"}), item=item,
    )  # fmt: skip
    assert render_body(BODY) in message.html
    assert "| 项目 | 金额（万元） |" in message.text and "<table>" not in message.text

"""Email rendering (pure): escaping, the confidentiality rule, subjects, languages, headers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from notifications.render import (
    BODY_LIMIT,
    EVENTS,
    ActionLink,
    ItemSummary,
    LateStep,
    RenderedMessage,
    confidential_states_of,
    header_safe,
    include_body,
    item_url,
    render,
)
from workflow.core.errors import ConfigurationError, InvalidInput
from workflow.core.loader import load_definitions

DEFINITIONS = Path(__file__).resolve().parent.parent / "definitions"
BASE_URL = "https://gk.example.gov.cn/"
TODAY = dt.date(2026, 3, 5)
DUE = dt.date(2026, 3, 9)
CONFIDENTIAL = frozenset({"confidentiality_review"})
LANGS = ("zh", "en")

HOSTILE_TITLES = [
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    "{% for x in range(3) %}loop{% endfor %}",
    'Tom & Jerry\'s "quote"',
]


def item(**changes: Any) -> ItemSummary:
    values: dict[str, Any] = {
        "reference": "GK-2026-0007",
        "title": "2026年预算公开",
        "state": "leadership_signoff",
        "state_label": "领导签发",
        "due_on": DUE,
        "body": "第一段正文。\n第二段正文。",
    }
    values.update(changes)
    return ItemSummary(**values)


def rendered(event: str, lang: str = "zh", **overrides: Any) -> RenderedMessage:
    kwargs: dict[str, Any] = {
        "recipient_name": "张三",
        "base_url": BASE_URL,
        "today": TODAY,
        "confidential_states": CONFIDENTIAL,
        "lang": lang,
        "actions": [ActionLink("同意" if lang == "zh" else "Approve", "https://gk.example.gov.cn/act?t=1&k=2")],
        "late_chain": [LateStep("李四", "保密审查", dt.date(2026, 3, 2))],
    }
    if event == "digest":
        kwargs["items"] = [overrides.pop("item", item())]
    else:
        kwargs["item"] = overrides.pop("item", item())
    kwargs.update(overrides)
    return render(event, **kwargs)


def every_part(message: RenderedMessage) -> str:
    return "\n".join((message.subject, message.text, message.html))


# ---- user text is data ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("event", EVENTS)
@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_hostile_titles_arrive_as_literal_text(event: str, lang: str, title: str) -> None:
    message = rendered(event, lang, item=item(title=title))
    assert title in message.text, "the text part shows the title exactly as typed, not evaluated or escaped"
    if event != "digest":  # a digest's subject counts items, it names none
        assert title in message.subject
    escaped = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = escaped.replace('"', "&#34;").replace("'", "&#39;")
    assert escaped in message.html
    assert "<script>" not in message.html
    assert "49" not in every_part(message)
    assert "looplooploop" not in every_part(message)


@pytest.mark.parametrize("lang", LANGS)
def test_hostile_body_names_and_labels_are_escaped_in_html_only(lang: str) -> None:
    body = '</div><img src=x onerror="alert(1)"> {{ config }}'
    message = rendered(
        "new_task",
        lang,
        item=item(body=body, state_label="<b>签发</b>"),
        recipient_name="<i>张三</i>",
    )
    assert body in message.text
    assert "<b>签发</b>" in message.text and "<i>张三</i>" in message.text
    # The body is Markdown, rendered and sanitised (workflow.core.markup): typed HTML stays text.
    assert "<img" not in message.html and "&lt;img src=x onerror=" in message.html
    assert "<b>签发</b>" not in message.html and "&lt;b&gt;签发&lt;/b&gt;" in message.html
    assert "<i>" not in message.html
    assert "{{ config }}" in message.html


def test_action_links_are_escaped_and_must_be_web_urls() -> None:
    message = rendered("new_task", actions=[ActionLink('签"发', 'https://gk.example.gov.cn/a?x="><script>')])
    assert "<script>" not in message.html
    assert 'href="https://gk.example.gov.cn/a?x=&#34;&gt;&lt;script&gt;"' in message.html
    assert '- 签"发：https://gk.example.gov.cn/a?x="><script>' in message.text
    for bad in ("javascript:alert(1)", "data:text/html,x", "/relative", "https://a.example\r\nBcc: x@y"):
        with pytest.raises(ConfigurationError):
            ActionLink("x", bad)


def test_without_actions_the_item_link_remains() -> None:
    message = rendered("new_task", actions=[])
    assert "https://gk.example.gov.cn/items/GK-2026-0007" in message.text
    assert 'href="https://gk.example.gov.cn/items/GK-2026-0007"' in message.html
    assert "办理：" not in message.text


# ---- confidentiality review: never the body ------------------------------------------------


def test_include_body_is_decided_by_the_state() -> None:
    assert include_body("leadership_signoff", CONFIDENTIAL)
    assert not include_body("confidentiality_review", CONFIDENTIAL)
    assert include_body("confidentiality_review", frozenset())
    with pytest.raises(TypeError):
        include_body("review", "confidentiality_review")


def test_confidential_states_come_from_the_definitions() -> None:
    definitions = load_definitions(DEFINITIONS)
    assert confidential_states_of(definitions["proactive_disclosure"]) == {"confidentiality_review"}
    assert confidential_states_of(definitions["normative_document"]) == {"confidentiality_review"}
    assert confidential_states_of(definitions["disclosure_request"]) == {"reply_review"}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("event", EVENTS)
def test_no_body_while_in_confidentiality_review(event: str, lang: str) -> None:
    secret = "机密内容 SECRET-BODY-TEXT"
    message = rendered(event, lang, item=item(state="confidentiality_review", state_label="保密审查", body=secret))
    assert "SECRET-BODY-TEXT" not in every_part(message)
    assert "GK-2026-0007" in message.text and "2026年预算公开" in message.text
    if event != "digest":
        assert "GK-2026-0007" in message.subject and "2026年预算公开" in message.subject


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("event", ["new_task", "periodic_update"])
def test_body_is_shown_once_cleared(event: str, lang: str) -> None:
    message = rendered(event, lang)
    assert "第二段正文" in message.text and "第二段正文" in message.html
    withheld = rendered(event, lang, item=item(state="confidentiality_review"))
    assert ("保密审查阶段" if lang == "zh" else "under confidentiality review") in withheld.text


def test_long_bodies_are_cut_with_a_pointer_to_the_link() -> None:
    message = rendered("new_task", item=item(body="字" * (BODY_LIMIT + 50)))
    assert "字" * BODY_LIMIT in message.text and "字" * (BODY_LIMIT + 1) not in message.text
    assert "全文见链接" in message.text


# ---- subjects and headers ------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("event", [e for e in EVENTS if e != "digest"])
def test_subject_has_reference_state_and_due_date(event: str, lang: str) -> None:
    message = rendered(event, lang)
    assert "GK-2026-0007" in message.subject
    assert "领导签发" in message.subject
    assert "2026-03-09" in message.subject
    assert "2026年预算公开" in message.subject


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("event", EVENTS)
@pytest.mark.parametrize("breaker", ["\r\n", "\n", "\r", "\u2028", "\x85", "\x0b"])
def test_line_breaks_never_reach_a_header(event: str, lang: str, breaker: str) -> None:
    title = f"正常标题{breaker}Bcc: attacker@evil.example"
    message = rendered(event, lang, item=item(title=title, reference=f"GK-1{breaker}X", state_label=f"签{breaker}发"))
    assert len(message.subject.splitlines()) == 1
    assert not any(c in message.subject for c in "\r\n\u2028\x85\x0b")
    assert header_safe(f"a{breaker}b  c\t") == "a b c"


def test_digest_subject_counts_and_lists_overdue_first() -> None:
    items = [
        item(reference="GK-2026-0003", title="later", due_on=dt.date(2026, 3, 20)),
        item(reference="GK-2026-0001", title="no date", due_on=None),
        item(reference="GK-2026-0002", title="late one", due_on=dt.date(2026, 3, 1)),
        item(reference="GK-2026-0004", title="late two", due_on=dt.date(2026, 3, 4)),
    ]
    zh = render(
        "digest", recipient_name="张三", base_url=BASE_URL, today=TODAY, confidential_states=CONFIDENTIAL, items=items
    )
    assert zh.subject == "【待办汇总】共 4 项待办，其中 2 项已逾期"
    order = [zh.text.index(ref) for ref in ("GK-2026-0002", "GK-2026-0004", "GK-2026-0003", "GK-2026-0001")]
    assert order == sorted(order)
    assert zh.text.count("[已逾期]") == 2
    assert "第一段正文" not in zh.text, "a digest lists items, it never carries bodies"
    en = render(
        "digest",
        recipient_name="Zhang",
        base_url=BASE_URL,
        today=TODAY,
        confidential_states=CONFIDENTIAL,
        items=items[:1],
        lang="en",
    )
    assert en.subject == "[Digest] 1 pending item"


def test_escalation_names_who_was_late() -> None:
    chain = [
        LateStep("李四", "保密审查", dt.date(2026, 3, 2), done_on=dt.date(2026, 3, 4)),
        LateStep("王五", "领导签发", dt.date(2026, 3, 9)),
    ]
    message = rendered("escalation", late_chain=chain)
    assert "李四，保密审查，截止 2026年3月2日星期一，于 2026年3月4日星期三 办理" in message.text
    assert "王五，领导签发，截止 2026年3月9日星期一，尚未办理" in message.text
    english = rendered("escalation", "en", late_chain=chain)
    assert "李四, 保密审查, due Monday, March 2, 2026, done on Wednesday, March 4, 2026" in english.text


# ---- languages and contract ----------------------------------------------------------------


def test_chinese_is_the_default_and_english_on_request() -> None:
    zh = render(
        "new_task", recipient_name="张三", base_url=BASE_URL, today=TODAY, confidential_states=CONFIDENTIAL, item=item()
    )
    assert zh.subject.startswith("【待办】") and "张三，您好" in zh.text and 'lang="zh-CN"' in zh.html
    assert "请于 2026年3月9日星期一 前完成" in zh.text
    en = rendered("new_task", "en")
    assert en.subject.startswith("[Action needed] ") and "Dear 张三," in en.text and 'lang="en"' in en.html
    assert "by Monday, March 9, 2026" in en.text


def test_refuses_what_it_cannot_render() -> None:
    with pytest.raises(InvalidInput):
        rendered("no_such_event")
    with pytest.raises(ConfigurationError):
        rendered("new_task", lang="fr")
    with pytest.raises(InvalidInput):
        render("new_task", recipient_name="x", base_url=BASE_URL, today=TODAY, confidential_states=CONFIDENTIAL)
    with pytest.raises(InvalidInput):
        rendered("reminder_overdue", item=item(due_on=None))
    with pytest.raises(InvalidInput):
        rendered("digest", items=[])
    with pytest.raises(ConfigurationError):
        rendered("new_task", base_url="gk.example.gov.cn")


def test_events_without_a_due_date_leave_it_out() -> None:
    message = rendered("new_task", item=item(due_on=None))
    assert "截止" not in message.subject and "前完成" not in message.text


def test_item_url_quotes_the_reference() -> None:
    assert item_url("https://gk.example.gov.cn/", "GK-2026-0001") == "https://gk.example.gov.cn/items/GK-2026-0001"
    assert item_url("https://x.example/base", "A/B C") == "https://x.example/base/items/A%2FB%20C"


def test_text_part_is_not_html_escaped() -> None:
    message = rendered("new_task", item=item(title="A & B <C>"))
    assert "A & B <C>" in message.text and "&amp;" not in message.text
    assert "A &amp; B &lt;C&gt;" in message.html


@pytest.mark.parametrize(
    ("count", "overdue", "subject", "opening"),
    [
        (1, 0, "[Digest] 1 pending item", "You have 1 pending item."),
        (2, 0, "[Digest] 2 pending items", "You have 2 pending items."),
        (
            2,
            1,
            "[Digest] 2 pending items, 1 overdue",
            "You have 2 pending items, 1 of them overdue: please deal with it first.",
        ),
        (
            3,
            2,
            "[Digest] 3 pending items, 2 overdue",
            "You have 3 pending items, 2 of them overdue: please deal with those first.",
        ),
    ],
)
def test_digest_plurals_in_english(count: int, overdue: int, subject: str, opening: str) -> None:
    items = [
        item(reference=f"GK-2026-000{n}", due_on=dt.date(2026, 3, 1) if n < overdue else dt.date(2026, 3, 20))
        for n in range(count)
    ]
    en = render(
        "digest", recipient_name="Zhang", base_url=BASE_URL, today=TODAY, confidential_states=CONFIDENTIAL,
        items=items, lang="en",
    )  # fmt: skip
    assert en.subject == subject
    assert opening in en.text

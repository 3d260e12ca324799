"""End to end in headless Chromium: a reminder email with action links, read from a real SMTP server,
opened in the browser, confirmed with the keyboard; the item moves and its audit row is written;
the same link is then refused. Signing in by emailed link and the inbox, too. Screenshots are kept
in test-artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from notifications.notices import Notifier
from notifications.settings import MailSettings
from notifications.transport import SmtpTransport
from tests.browser import save_screenshot
from tests.conftest import FrozenClock
from tests.smtp_server import RecordingHandler, smtp_server
from tests.web_support import free_port, serving
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.tokens import Tokens
from workflow.web.app import WebApp
from workflow.worker.passes import Worker

SECRET = "browser-test-secret-0123456789-abcdefghijkl"


@pytest.fixture
def mailbox() -> Iterator[tuple[RecordingHandler, int]]:
    with smtp_server() as running:
        yield running


@pytest.fixture
def served(
    engine: WorkflowEngine, settings: Settings, clock: FrozenClock, mailbox: tuple[RecordingHandler, int]
) -> Iterator[tuple[str, MailSettings, Tokens]]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    mail = MailSettings(smtp_url=f"smtp://127.0.0.1:{mailbox[1]}", base_url=base_url)
    tokens = Tokens(SECRET)
    engine.notifier = Notifier(mail, signer=tokens)
    app = WebApp(settings, engine, mail, tokens, clock=clock).asgi()
    with serving(app, port):
        yield base_url, mail, tokens


def deliver(
    engine: WorkflowEngine, mail: MailSettings, tokens: Tokens, clock: FrozenClock, at: dt.datetime | None = None
) -> None:
    url = mail.smtp_url
    assert url
    worker = Worker(
        engine, Notifier(mail, signer=tokens), lambda: SmtpTransport.from_url(url, sender="gongkai@town.example.gov.cn")
    )
    try:
        worker.run_pass(at or clock.now)
    finally:
        worker.release()  # the next pass may be another Worker object (on SQLite one holds the lease)


def email_to(handler: RecordingHandler, address: str, subject_mark: str = "") -> str:
    found = [r for r in handler.received if r.recipients[0] == address and subject_mark in str(r.message["Subject"])]
    assert found, f"no email to {address} ({subject_mark})"
    return found[-1].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def link_labelled(email_text: str, label: str) -> str:
    found = re.search(rf"- {re.escape(label)}：(\S+)", email_text)
    assert found, f"no '{label}' link in:\n{email_text}"
    return found.group(1)


def press_by_keyboard(page: Page, button_name: str) -> None:
    """Tab through the page until the button has the focus, then press Enter: no mouse."""
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement && document.activeElement.textContent.trim()")
        if focused == button_name:
            page.keyboard.press("Enter")
            return
    raise AssertionError(f"'{button_name}' cannot be reached with the keyboard")


def test_a_reminder_link_decides_in_the_browser_once(
    served: tuple[str, MailSettings, Tokens],
    page: Page,
    engine: WorkflowEngine,
    make_item: Callable[..., int],
    clock: FrozenClock,
    mailbox: tuple[RecordingHandler, int],
) -> None:
    base_url, mail, tokens = served
    handler = mailbox[0]
    item_id = make_item(title="2026年村级公益事业项目公示", body="一、项目名称：村道硬化。\n二、资金来源：财政奖补。")
    engine.fire(item_id, "submit", "drafter_a")  # review due 2026-03-09
    deliver(engine, mail, tokens, clock)  # the new-task notice
    # The day before the review is due the worker sends the reminder; its links are signed now.
    deliver(engine, mail, tokens, clock, at=dt.datetime(2026, 3, 6, 1, tzinfo=dt.UTC))
    email = email_to(handler, "reviewer_a@town.example.gov.cn", "即将到期")
    reference = engine.show(item_id).reference
    assert reference in email
    clear_link = link_labelled(email, "审查通过")
    assert clear_link.startswith(f"{base_url}/act/") and link_labelled(email, "退回") != clear_link

    page.goto(clear_link)
    expect(page.get_by_role("heading", level=1)).to_contain_text("确认办理")
    expect(page.locator("main")).to_contain_text(reference)
    expect(page.locator("main")).to_contain_text("村道硬化")
    assert engine.show(item_id).state == "confidentiality_review"  # opening the page did nothing
    save_screenshot(page, f"confirmation-{engine.db.dialect.name}")

    page.get_by_label("意见").fill("经审查，不涉及国家秘密")
    press_by_keyboard(page, "审查通过")
    expect(page.get_by_role("heading", level=1)).to_have_text("已办理")
    assert engine.show(item_id).state == "leadership_signoff"
    with engine.db.connect() as conn:
        last = conn.execute(text("SELECT actor, trigger, comment FROM audit_log ORDER BY seq DESC LIMIT 1")).one()
    assert tuple(last) == ("reviewer_a", "clear", "经审查，不涉及国家秘密")

    page.goto(clear_link)
    expect(page.locator("main")).to_contain_text("只能使用一次")
    assert engine.show(item_id).state == "leadership_signoff"


def test_signing_in_by_email_and_the_inbox_in_large_text(
    served: tuple[str, MailSettings, Tokens],
    page: Page,
    engine: WorkflowEngine,
    make_item: Callable[..., int],
    clock: FrozenClock,
    mailbox: tuple[RecordingHandler, int],
) -> None:
    base_url, mail, tokens = served
    handler = mailbox[0]
    for title in ("镇财政预算公开", "便民服务指南更新", "村务公开栏内容"):
        item_id = make_item(title=title)
        engine.fire(item_id, "submit", "drafter_a")
    page.goto(base_url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("用邮件链接登录")
    page.get_by_label("电子邮箱").fill("reviewer_b@town.example.gov.cn")
    page.get_by_role("button", name="发送登录链接").click()
    expect(page.locator("main")).to_contain_text("一分钟内")
    deliver(engine, mail, tokens, clock)
    signin = re.search(r"(http://\S+/signin/\S+)", email_to(handler, "reviewer_b@town.example.gov.cn"))
    assert signin
    page.goto(signin.group(1))
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("我的待办")
    expect(page.locator("tbody tr")).to_have_count(3)
    page.get_by_role("button", name="大字模式").click()
    expect(page.locator("html")).to_have_class("large")
    assert page.evaluate("getComputedStyle(document.body).fontSize") == "22px"  # from 16px
    save_screenshot(page, f"inbox-{engine.db.dialect.name}")
    page.get_by_role("link", name=engine.show(item_id).reference).click()
    expect(page.get_by_role("img")).to_be_visible()  # the chain picture
    expect(page.get_by_role("button", name="审查通过")).to_be_visible()
    save_screenshot(page, f"item-{engine.db.dialect.name}")

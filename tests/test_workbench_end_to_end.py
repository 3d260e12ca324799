"""The workbench from end to end in headless Chromium, against a real SMTP server: a drafter signs in
by the emailed link and, with the keyboard only, writes an item with two declared fields and a PDF;
a field error, a 21 MB file and a program renamed .pdf are each refused with a clear message and save
nothing. She submits; the reviewer clears it from the link in the email; a leader signs it off. The
published revision's content hash is the one cleared, and it covers the attachment's SHA-256."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select, text

from notifications.notices import Notifier
from notifications.settings import MailSettings
from tests.browser import save_screenshot
from tests.conftest import FrozenClock
from tests.sample_files import pdf, windows_exe
from tests.smtp_server import RecordingHandler, smtp_server
from tests.test_web_browser import deliver, email_to, link_labelled, press_by_keyboard
from tests.test_web_workbench_browser import tab_to, tab_to_button, tab_to_link, type_date
from tests.web_support import free_port, serving
from workflow.core.chain import content_hash
from workflow.engine import WorkflowEngine, audit_log
from workflow.settings import Settings
from workflow.store.models import Item
from workflow.tokens import Tokens
from workflow.web.app import WebApp

SECRET = "end-to-end-secret-0123456789-abcdefghijklm"


@pytest.fixture
def office(
    engine: WorkflowEngine, settings: Settings, clock: FrozenClock
) -> Iterator[tuple[str, MailSettings, Tokens, RecordingHandler]]:
    with smtp_server() as (handler, smtp_port):
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        mail = MailSettings(smtp_url=f"smtp://127.0.0.1:{smtp_port}", base_url=base_url)
        tokens = Tokens(SECRET)
        engine.notifier = Notifier(mail, signer=tokens)
        with serving(WebApp(settings, engine, mail, tokens, clock=clock).asgi(), port):
            yield base_url, mail, tokens, handler


def counts(engine: WorkflowEngine) -> tuple[int, int]:
    with engine.db.connect() as conn:
        items = int(conn.execute(select(func.count()).select_from(Item.__table__)).scalar_one())
        return items, int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())


def choose_files(page: Page, element_id: str, *paths: Path) -> None:
    """Tab to the file input, then pick the files as the system's file dialog would (a headless browser has
    none to drive with the keyboard; pressing Space there to open it proved unreliable under load)."""
    tab_to(page, element_id)
    page.locator(f"#{element_id}").set_input_files([str(path) for path in paths])


def another_browser(page: Page) -> Page:
    """A page in a browser of its own (another person's computer: no shared cookies)."""
    browser = page.context.browser
    assert browser is not None
    return browser.new_context(locale="zh-CN").new_page()


def submit_create(page: Page) -> None:
    tab_to_button(page, "创建")
    with page.expect_navigation():
        page.keyboard.press("Enter")


def follow_link(page: Page, href: str) -> None:
    tab_to_link(page, href)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_write_attach_review_and_sign_off_in_the_browser(
    office: tuple[str, MailSettings, Tokens, RecordingHandler],
    page: Page,
    engine: WorkflowEngine,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    base_url, mail, tokens, handler = office
    budget = tmp_path / "2026年镇财政预算表.pdf"
    budget.write_bytes(pdf("2026年镇财政预算"))
    program = tmp_path / "预算说明.pdf"
    program.write_bytes(windows_exe())
    huge = tmp_path / "扫描件.pdf"
    huge.write_bytes(pdf() + b"%" * (21 * 1024 * 1024))

    # Signing in by the emailed link.
    page.goto(base_url + "/")
    page.get_by_label("电子邮箱").fill("drafter_a@town.example.gov.cn")
    press_by_keyboard(page, "发送登录链接")
    expect(page.locator("main")).to_contain_text("一分钟内")
    deliver(engine, mail, tokens, clock)
    signin = re.search(r"(http://\S+/signin/\S+)", email_to(handler, "drafter_a@town.example.gov.cn"))
    assert signin
    page.goto(signin.group(1))
    press_by_keyboard(page, "登录")
    expect(page.get_by_role("heading", level=1)).to_have_text("我的待办")

    # The create form, keyboard only.
    follow_link(page, "/items/new")
    follow_link(page, "/items/new/proactive_disclosure")
    expect(page.get_by_role("heading", level=1)).to_contain_text("主动公开")
    before = counts(engine)
    tab_to(page, "f-title")
    page.keyboard.type("荷花镇2026年财政预算公开")
    # The catalogue sub-directory is left unchosen: its error shows beside it, nothing is saved.
    tab_to(page, "f-body")
    page.keyboard.type("一、收入预算\n\n| 项目 | 金额（万元） |\n| --- | --- |\n| 税收收入 | 1200 |")
    tab_to(page, "f-doc-number")
    page.keyboard.type("荷政发〔2026〕12号")
    tab_to(page, "f-subjects")
    page.keyboard.type("财政 预算")
    tab_to(page, "f-field-formed_on")
    type_date(page, "2026-03-02")
    tab_to(page, "f-field-department")
    page.keyboard.type("财政所")
    submit_create(page)
    expect(page.locator("#f-category-error")).to_be_visible()
    assert page.locator("#f-category").get_attribute("aria-invalid") == "true"
    assert "f-category-error" in (page.locator("#f-category").get_attribute("aria-describedby") or "")
    expect(page.locator("#f-title")).to_have_value("荷花镇2026年财政预算公开")
    expect(page.locator("#f-field-department")).to_have_value("财政所")
    expect(page.locator("#f-field-formed_on")).to_have_value("2026-03-02")
    assert counts(engine) == before
    save_screenshot(page, f"e2e-field-error-{engine.db.dialect.name}")

    # The category chosen by keyboard; a program renamed .pdf is refused beside the file input.
    tab_to(page, "f-category")
    page.keyboard.press("ArrowDown")
    choose_files(page, "f-files", program)
    submit_create(page)
    expect(page.locator("#f-files-error")).to_contain_text("预算说明.pdf")
    assert page.locator("#f-files").get_attribute("aria-invalid") == "true"
    assert counts(engine) == before

    # A 21 MB file is refused with its size and the limit.
    choose_files(page, "f-files", huge)
    submit_create(page)
    expect(page.locator("#f-files-error")).to_contain_text("20 MB")
    assert counts(engine) == before
    save_screenshot(page, f"e2e-file-refused-{engine.db.dialect.name}")

    # The right file: the item is written with it.
    choose_files(page, "f-files", budget)
    submit_create(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("荷花镇2026年财政预算公开")
    reference = page.url.rsplit("/", 1)[1]
    view = engine.show(reference)
    assert view.fields == {"formed_on": "2026-03-02", "department": "财政所"}
    assert view.meta["doc_number"] == "荷政发〔2026〕12号" and view.meta["subjects"] == ["财政", "预算"]
    digest = hashlib.sha256(budget.read_bytes()).hexdigest()
    assert [(a["name"], a["sha256"]) for a in view.meta["attachments"]] == [(budget.name, digest)]
    expect(page.get_by_role("region", name="正文", exact=True).get_by_role("table")).to_contain_text("税收收入")
    expect(page.get_by_role("link", name=budget.name)).to_be_visible()
    press_by_keyboard(page, "送审")
    expect(page.locator("main")).to_contain_text("保密审查")

    # The reviewer clears it from the link in the email about the new task.
    deliver(engine, mail, tokens, clock)
    clear_link = link_labelled(email_to(handler, "reviewer_a@town.example.gov.cn", reference), "审查通过")
    reviewer = another_browser(page)
    reviewer.goto(clear_link)
    expect(reviewer.locator("main")).to_contain_text(budget.name)  # the file cleared is named on the page
    press_by_keyboard(reviewer, "审查通过")
    expect(reviewer.get_by_role("heading", level=1)).to_have_text("已办理")

    # A leader signs it off, from the email too.
    deliver(engine, mail, tokens, clock)
    sign_link = link_labelled(email_to(handler, "leader_a@town.example.gov.cn", reference), "签发")
    leader = another_browser(page)
    leader.goto(sign_link)
    press_by_keyboard(leader, "签发")
    expect(leader.get_by_role("heading", level=1)).to_have_text("已办理")

    published = engine.show(reference)
    assert published.state == "published"
    with engine.db.connect() as conn:
        rows = dict(
            conn.execute(
                text(
                    "SELECT trigger, content_hash FROM audit_log"
                    " WHERE item_id = :id AND trigger IN ('clear', 'sign_off')"
                ),
                {"id": published.id},
            ).all()
        )
    assert rows["clear"] == rows["sign_off"] == published.content_hash
    assert published.content_hash == content_hash(
        published.title, published.body, published.category, published.fields, published.meta
    )
    without_file = {key: value for key, value in published.meta.items() if key != "attachments"}
    assert published.content_hash != content_hash(
        published.title, published.body, published.category, published.fields, without_file
    )

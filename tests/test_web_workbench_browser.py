"""The create form in headless Chromium, with the keyboard only: the office registers an application
(two text fields, two selects by their Chinese labels, a date), a field error shows next to its field and
nothing is saved, then the corrected form saves and the item page shows the statutory due date."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from notifications.settings import MailSettings
from tests.browser import save_screenshot
from tests.conftest import FrozenClock
from tests.web_support import free_port, serving
from workflow.engine import WorkflowEngine, audit_log
from workflow.settings import Settings
from workflow.store.models import Item
from workflow.tokens import Tokens
from workflow.web.app import SESSION_COOKIE, WebApp

SECRET = "workbench-browser-secret-0123456789-abcdef"


@pytest.fixture
def served(engine: WorkflowEngine, settings: Settings, clock: FrozenClock) -> Iterator[tuple[str, Tokens]]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    tokens = Tokens(SECRET)
    app = WebApp(settings, engine, MailSettings(smtp_url=None, base_url=base_url), tokens, clock=clock).asgi()
    with serving(app, port):
        yield base_url, tokens


def tab_until(page: Page, focused: str, wanted: str) -> None:
    """Press Tab until ``focused`` (a property of the focused element, in JavaScript) is ``wanted``: no mouse."""
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement && document.activeElement.{focused}") == wanted:
            return
    raise AssertionError(f"{focused} = {wanted} cannot be reached with the keyboard")


def tab_to(page: Page, element_id: str) -> None:
    tab_until(page, "id", element_id)


def tab_to_link(page: Page, href: str) -> None:
    tab_until(page, "getAttribute('href')", href)


def tab_to_button(page: Page, text: str) -> None:
    tab_until(page, "textContent.trim()", text)


def type_date(page: Page, iso: str) -> None:
    """Type a date into the focused date input, as a person does: the segments are in the browser's own
    order (month/day/year in Debian's chromium here, year/month/day in a Chinese one), so try both."""
    year, month, day = iso.split("-")
    page.keyboard.type(month + day + year)
    if page.evaluate("document.activeElement.value") == iso:
        return
    for _ in range(2):  # clear the three segments, back to the first
        page.keyboard.press("Backspace")
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Backspace")
    page.keyboard.type(year)
    page.keyboard.press("ArrowRight")
    page.keyboard.type(month + day)
    assert page.evaluate("document.activeElement.value") == iso


def counts(engine: WorkflowEngine) -> tuple[int, int]:
    with engine.db.connect() as conn:
        items = int(conn.execute(select(func.count()).select_from(Item.__table__)).scalar_one())
    with engine.db.connect() as conn:
        return items, int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())


def test_registering_an_application_with_the_keyboard_only(
    served: tuple[str, Tokens], page: Page, engine: WorkflowEngine
) -> None:
    base_url, tokens = served
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": tokens.session("office_a"), "url": base_url}])
    page.goto(base_url + "/")
    tab_to_link(page, "/items/new")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("新建")
    tab_to_link(page, "/items/new/disclosure_request")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("登记依申请公开")
    expect(page.locator("#f-field-received_on-help")).to_contain_text("条例第三十一条")

    # The requester is left empty: the error shows next to it and nothing is saved.
    before = counts(engine)
    tab_to(page, "f-field-requester_type")
    page.keyboard.press("ArrowDown")  # 自然人
    tab_to(page, "f-field-channel")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # 信函
    tab_to(page, "f-field-received_on")
    type_date(page, "2026-03-02")
    tab_to(page, "f-title")
    page.keyboard.type("申请公开2025年镇财政预算")
    tab_to(page, "f-body")
    page.keyboard.type("请公开本镇2025年财政预算及“三公”经费。")
    tab_to_button(page, "创建")
    page.keyboard.press("Enter")
    expect(page.locator("#f-field-requester-error")).to_contain_text("申请人")
    expect(page.locator(".error-summary")).to_contain_text("未保存任何内容")
    assert page.locator("#f-field-requester").get_attribute("aria-invalid") == "true"
    expect(page.locator("#f-field-channel")).to_have_value("post")  # what was typed is kept
    expect(page.locator("#f-field-received_on")).to_have_value("2026-03-02")
    expect(page.locator("#f-title")).to_have_value("申请公开2025年镇财政预算")
    assert counts(engine) == before
    save_screenshot(page, f"register-error-{engine.db.dialect.name}")

    # From the summary's link to the field, fix it, and submit with Space on the button.
    tab_to_link(page, "#f-field-requester")
    page.keyboard.press("Enter")
    tab_to(page, "f-field-requester")
    page.keyboard.type("王五")
    tab_to_button(page, "创建")
    page.keyboard.press("Space")
    expect(page.locator(".due-banner").filter(has_text="法定答复期限")).to_contain_text("2026年3月30日")
    reference = page.url.rsplit("/", 1)[1]
    view = engine.show(reference)
    assert view.fields == {
        "requester": "王五", "requester_type": "natural_person", "channel": "post", "received_on": "2026-03-02",
    }  # fmt: skip
    assert view.title == "申请公开2025年镇财政预算" and view.created_by == "office_a"
    save_screenshot(page, f"register-saved-{engine.db.dialect.name}")

"""The pages' colours meet WCAG AA contrast (4.5:1 for text), in the stylesheet the pages use."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser import save_screenshot
from tests.conftest import FrozenClock
from tests.web_support import Web, make_web, serving
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.store import audit_log as auditlog
from workflow.store.db import reading
from workflow.store.people import list_users
from workflow.web.app import LANG_COOKIE, SESSION_COOKIE

CSS = Path(__file__).resolve().parent.parent / "workflow" / "web" / "static" / "gongkai.css"


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def variables() -> dict[str, str]:
    return dict(re.findall(r"--([a-z]+):\s*(#[0-9a-fA-F]{6})", CSS.read_text(encoding="utf-8")))


def rule(selector: str) -> str:
    found = re.search(re.escape(selector) + r"\s*\{([^}]*)\}", CSS.read_text(encoding="utf-8"))
    assert found, selector
    return found.group(1)


def colour(declarations: str, name: str, palette: dict[str, str]) -> str:
    found = re.search(rf"(?<![-\w]){name}:\s*(#[0-9a-fA-F]{{6}}|var\(--[a-z]+\))", declarations)
    assert found, (name, declarations)
    value = found.group(1)
    return palette[value[6:-1]] if value.startswith("var(") else value


@pytest.mark.parametrize(
    ("foreground", "background"),
    [("fg", "bg"), ("muted", "bg"), ("accent", "bg"), ("late", "bg")],
)
def test_text_colours_on_the_page(foreground: str, background: str) -> None:
    palette = variables()
    assert contrast(palette[foreground], palette[background]) >= 4.5


@pytest.mark.parametrize(
    ("selector", "text_from"),
    [
        (".diff ins", "self"),
        (".diff del", "self"),
        ("button.primary", "self"),
        (".error", "late"),
        (".message", "fg"),
        ("table.list th", "fg"),
        ('nav.pages a[aria-current="page"]', "self"),
    ],
)
def test_text_on_coloured_backgrounds(selector: str, text_from: str) -> None:
    palette = variables()
    declarations = rule(selector)
    background = colour(declarations, "background", palette)
    foreground = colour(declarations, "color", palette) if text_from == "self" else palette[text_from]
    assert contrast(foreground, background) >= 4.5, (selector, foreground, background)


def test_large_text_mode_enlarges_everything() -> None:
    base = float(re.search(r":root\s*\{[^}]*font-size:\s*(\d+)px", CSS.read_text(encoding="utf-8")).group(1))  # type: ignore[union-attr]
    large = float(re.search(r"html\.large\s*\{\s*font-size:\s*(\d+)px", CSS.read_text(encoding="utf-8")).group(1))  # type: ignore[union-attr]
    assert large / base >= 1.3


# ---- the inbox's filters and pages, the item page's assignment choices (issue 9) ----------------------


class Controls(HTMLParser):
    """The form controls of a page with their attributes, the labels' targets, and the elements by id."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.ids: set[str] = set()
        self.tabindex: list[str] = []
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if found.get("tabindex") not in (None, "-1", "0"):
            self.tabindex.append(str(found["tabindex"]))
        if tag == "label" and found.get("for"):
            self.label_for.add(str(found["for"]))
        if tag in ("input", "select", "textarea") and found.get("type") != "hidden":
            self.controls.append(found)
        if tag == "a":
            self.links.append(found)


def controls_of(html: str) -> Controls:
    parsed = Controls()
    parsed.feed(html)
    return parsed


def check_labelled_and_described(html: str) -> Controls:
    """Every visible control has a label; every aria-describedby names an element of the page; no
    positive tabindex (the keyboard follows the page's order)."""
    parsed = controls_of(html)
    for control in parsed.controls:
        assert control.get("id") in parsed.label_for, control
        for described in (control.get("aria-describedby") or "").split():
            assert described in parsed.ids, (control, described)
    assert parsed.tabindex == []
    return parsed


@pytest.fixture
def web(engine: WorkflowEngine, settings: Settings, tmp_path: Path, clock: FrozenClock) -> Web:
    return make_web(engine, settings, tmp_path / "mail", clock)


def test_the_inbox_filters_are_labelled_and_its_pages_named(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    for _ in range(51):
        engine.fire(make_item(), "submit", "drafter_a")
    web.sign_in("reviewer_a")
    html = web.client.get("/").text
    parsed = check_labelled_and_described(html)
    assert {c.get("name") for c in parsed.controls} == {"definition", "state", "q", "overdue"}
    assert 'role="search"' in html and 'aria-describedby="f-q-hint"' in html
    assert '<nav class="pages" aria-label="分页">' in html
    current = [link for link in parsed.links if link.get("aria-current") == "page" and link.get("aria-label")]
    assert [link.get("aria-label") for link in current] == ["第 1 页"]
    numbered = [link for link in parsed.links if (link.get("href") or "").startswith("/?page=") and not link.get("rel")]
    assert numbered and all(link.get("aria-label") for link in numbered)
    bad = web.client.get("/", params={"definition": "x", "state": "y", "q": "字" * 101})
    parsed = check_labelled_and_described(bad.text)
    described = {c.get("name"): c.get("aria-describedby") for c in parsed.controls}
    assert described["definition"] == "f-definition-error" and described["state"] == "f-state-error"
    assert described["q"] == "f-q-hint f-q-error"
    assert all(c.get("aria-invalid") == "true" for c in parsed.controls if c.get("name") in ("definition", "q"))


def test_the_assignment_choices_are_labelled_and_a_refusal_is_tied_to_its_choice(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    item_id = make_item(actor="multi")
    engine.fire(item_id, "submit", "multi")
    reference = engine.show(item_id).reference
    web.sign_in("leader_a")
    page = web.client.get(f"/items/{reference}").text
    parsed = check_labelled_and_described(page)
    assert "assign-confidentiality_reviewer" in {c.get("id") for c in parsed.controls}
    refused = web.client.post(
        f"/items/{reference}/assign",
        data={"csrf": web.csrf(f"/items/{reference}"), "role": "confidentiality_reviewer", "assignee": "multi"},
    )
    parsed = check_labelled_and_described(refused.text)
    select = next(c for c in parsed.controls if c.get("id") == "assign-confidentiality_reviewer")
    assert select.get("aria-describedby") == "assign-confidentiality_reviewer-error"
    assert select.get("aria-invalid") == "true"


# ---- the workbench's forms (/items/new, /items/new/{definition}, /items/{ref}/edit) ---------------
# Every input labelled, help and errors tied to their input (aria-describedby), required ones marked,
# nothing out of the natural tab order, and the colours of the new parts legible.

WORKBENCH_COLOURS = [(".error-summary", "self"), (".due-banner", "self")]


@pytest.mark.parametrize(("selector", "text_from"), WORKBENCH_COLOURS)
def test_workbench_text_on_coloured_backgrounds(selector: str, text_from: str) -> None:
    test_text_on_coloured_backgrounds(selector, text_from)


def test_workbench_help_and_headings_are_legible() -> None:
    palette = variables()
    assert contrast(palette["muted"], palette["bg"]) >= 4.5  # .field .help, .req
    assert contrast(palette["late"], "#ffffff") >= 4.5  # .error-summary h2, .error


def assert_accessible_form(html: str) -> None:
    """Each visible input has a label; every id it is described by exists; errors mark their input."""
    controls = re.findall(r"<(?:input|select|textarea)\b[^>]*>", html)
    assert controls
    for tag in controls:
        if 'type="hidden"' in tag:
            continue
        found = re.search(r'id="([^"]+)"', tag)
        assert found, f"an input without an id: {tag}"
        input_id = found.group(1)
        if 'name="lang"' in tag or 'name="large"' in tag:
            continue
        assert f'<label for="{input_id}">' in html, f"no label for {input_id}"
        described = re.search(r'aria-describedby="([^"]+)"', tag)
        for target in described.group(1).split() if described else []:
            assert f'id="{target}"' in html, f"{input_id} is described by a missing {target}"
        if "required" in tag.split("aria-required")[0]:
            assert 'aria-required="true"' in tag, tag
        if 'aria-invalid="true"' in tag:
            assert described and f"{input_id}-error" in described.group(1), tag
    assert not re.search(r'tabindex="[1-9]', html), "a positive tabindex breaks the keyboard order"
    assert re.search(r'<button type="submit" class="primary">', html)


@pytest.fixture
def workbench_web(engine: WorkflowEngine, settings: Settings, tmp_path: Path, clock: FrozenClock) -> Web:
    return make_web(engine, settings, tmp_path / "mail", clock)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_workbench_pages_are_labelled_and_tie_errors_to_fields(
    workbench_web: Web, make_item: Callable[..., int], lang: str
) -> None:
    web = workbench_web
    web.client.cookies.set(LANG_COOKIE, lang)
    web.sign_in("drafter_a")
    chooser = web.client.get("/items/new").text
    assert "<h1>" in chooser and 'href="/items/new/proactive_disclosure"' in chooser
    for path in ("/items/new/proactive_disclosure", "/items/new/normative_document"):
        assert_accessible_form(web.client.get(path).text)
    reference = web.engine.show(make_item()).reference
    assert_accessible_form(web.client.get(f"/items/{reference}/edit").text)
    csrf = web.csrf("/items/new/proactive_disclosure")
    wrong = web.client.post(
        "/items/new/proactive_disclosure",
        files={"csrf": (None, csrf), "title": (None, ""), "category": (None, ""), "subjects": (None, "字" * 21)},
    ).text
    assert_accessible_form(wrong)
    assert wrong.count('aria-invalid="true"') == 3
    assert 'role="alert"' in wrong and 'href="#f-title"' in wrong and 'href="#f-category"' in wrong
    web.sign_in("office_a")
    assert_accessible_form(web.client.get("/items/new/disclosure_request").text)


# ---- the attachment forms of the item page (workflow/web/files.py) ----------------------------------


def test_the_attachment_forms_are_labelled_and_their_error_is_tied_to_the_file_input(
    tmp_path: Path, engine: Any, settings: Any, clock: Any, make_item: Any
) -> None:
    from tests import sample_files as files
    from tests.web_support import make_web

    web = make_web(engine, settings, tmp_path / "mail", clock)
    item_id = make_item()
    ref = engine.show(item_id).reference
    web.sign_in("drafter_a")
    token = web.csrf(f"/items/{ref}")
    web.client.post(f"/items/{ref}/attach", data={"csrf": token}, files=[("files", ("照片.png", files.png()))])
    page = web.client.get(f"/items/{ref}").text
    section = page[
        page.index('aria-labelledby="attachments-h"') : page.index("</section>", page.index("attachments-h"))
    ]
    for control in re.findall(r'<input (?![^>]*type="hidden")[^>]*>', section):
        found = re.search(r'id="([^"]+)"', control)
        assert found and f'<label for="{found.group(1)}">' in section, control
    described = re.search(r'aria-describedby="([^"]+)"', section)
    assert described and all(f'id="{part}"' in section for part in described.group(1).split())
    assert re.search(r'<button type="submit">[^<]+<span class="visually-hidden"> 照片.png</span></button>', section)
    assert all('scope="col"' in th for th in re.findall(r"<th(?:\s[^>]*)?>", section))
    refused = web.client.post(
        f"/items/{ref}/attach", data={"csrf": token}, files=[("files", ("年度报告.pdf", files.windows_exe()))]
    )
    html = refused.text
    error = re.search(r'<p id="attach_files_error" class="error" role="alert">([^<]+)</p>', html)
    assert error and "年度报告.pdf" in error.group(1)
    tied = re.search(r'<input id="attach_files"[^>]*>', html)
    assert tied and 'aria-describedby="attach_files_help attach_files_error"' in tied.group(0)
    assert 'aria-invalid="true"' in tied.group(0) and "autofocus" in tied.group(0)
    assert '<label for="attach_files">' in html


@pytest.mark.usefixtures("browser")
def test_attaching_and_downloading_by_keyboard_in_the_browser(
    tmp_path: Path, engine: Any, settings: Any, clock: Any, make_item: Any, page: Any
) -> None:
    from playwright.sync_api import expect

    from tests import sample_files as files
    from tests.web_support import free_port, make_web, serving
    from workflow.web.app import SESSION_COOKIE

    web = make_web(engine, settings, tmp_path / "mail", clock)
    item_id = make_item(title="预算公开")
    ref = engine.show(item_id).reference
    (tmp_path / "2026年预算表.xlsx").write_bytes(files.xlsx())
    (tmp_path / "年度报告.pdf").write_bytes(files.windows_exe())
    port = free_port()
    with serving(web.app.asgi(), port):
        base = f"http://127.0.0.1:{port}"
        page.context.add_cookies([{"name": SESSION_COOKIE, "value": web.tokens.session("drafter_a"), "url": base}])
        page.goto(f"{base}/items/{ref}")

        def tab_to(predicate: str) -> None:
            for _ in range(60):
                page.keyboard.press("Tab")
                if page.evaluate(f"(() => {{ const e = document.activeElement; return !!e && ({predicate}); }})()"):
                    return
            raise AssertionError(f"cannot reach {predicate} with the keyboard")

        tab_to("e.id === 'attach_files'")
        page.locator("#attach_files").set_input_files(str(tmp_path / "2026年预算表.xlsx"))  # the file chooser
        tab_to("e.textContent.trim() === '上传附件'")
        page.keyboard.press("Enter")
        expect(page.locator("table.attachments")).to_contain_text("2026年预算表.xlsx")

        tab_to("e.id === 'attach_files'")
        page.locator("#attach_files").set_input_files(str(tmp_path / "年度报告.pdf"))
        tab_to("e.textContent.trim() === '上传附件'")
        page.keyboard.press("Enter")
        expect(page.locator("#attach_files_error")).to_contain_text("年度报告.pdf 是程序")
        assert page.evaluate("document.activeElement.id") == "attach_files"  # back at the input, error read out
        save_screenshot(page, f"attach-refused-{engine.db.dialect.name}")

        page.goto(f"{base}/items/{ref}")
        tab_to("e.textContent.trim() === '2026年预算表.xlsx'")
        with page.expect_download() as download:
            page.keyboard.press("Enter")
        assert download.value.suggested_filename == "2026年预算表.xlsx"
        assert Path(download.value.path()).read_bytes() == (tmp_path / "2026年预算表.xlsx").read_bytes()


# ---- the administrator's pages (people, security log) -------------------------------------------

ADMIN_PAGE_RULES = [(".hint", "color"), ("tr.inactive td", "color")]


@pytest.mark.parametrize(("selector", "prop"), ADMIN_PAGE_RULES)
def test_admin_page_text_colours(selector: str, prop: str) -> None:
    palette = variables()
    assert contrast(colour(rule(selector), prop, palette), palette["bg"]) >= 4.5, selector


@pytest.fixture
def admin_web(engine: WorkflowEngine, settings: Settings, tmp_path: Path, clock: FrozenClock) -> Web:
    web = make_web(engine, settings, tmp_path / "mail", clock)
    web.sign_in("admin_a")
    return web


def labelled(html: str, path: str) -> None:
    """Every visible field has an id and a label for it; every group of boxes a legend."""
    fields = re.findall(r"<(?:input|select|textarea)(?![^>]*type=\"hidden\")[^>]*>", html)
    assert fields, path
    for tag in fields:
        found = re.search(r'\bid="([^"]+)"', tag)
        assert found and f'for="{found.group(1)}"' in html, (path, tag)
    assert html.count("<fieldset") == html.count("<legend>"), path


def errors_are_tied(html: str) -> list[str]:
    """Each error shown next to a field is named by that field's aria-describedby; the ids of the errors."""
    ids = re.findall(r'<p class="error" id="([^"]+)"', html)
    described = " ".join(re.findall(r'aria-describedby="([^"]+)"', html)).split()
    for error_id in ids:
        assert error_id in described, error_id
    return ids


def test_the_admin_pages_label_every_field(admin_web: Web, engine: WorkflowEngine) -> None:
    person = next(p.id for p in _people(engine) if p.name == "office_a")
    for path in ("/admin/people", f"/admin/people/{person}", "/admin/security"):
        page = admin_web.client.get(path)
        assert page.status_code == 200, path
        labelled(page.text, path)
        assert '<main id="main"' in page.text and "<h1>" in page.text


def test_the_admin_pages_tie_each_error_to_its_field(admin_web: Web, engine: WorkflowEngine) -> None:
    csrf = admin_web.csrf("/admin/people")
    added = admin_web.client.post(
        "/admin/people", data={"csrf": csrf, "name": "a b", "email": "x", "display_name": "张\x01", "roles": []}
    )
    assert added.status_code == 422 and errors_are_tied(added.text) == ["add-name-error"]
    assert 'aria-invalid="true"' in added.text
    person = next(p.id for p in _people(engine) if p.name == "office_a")
    for change, data, error_id in [
        ("display-name", {"display_name": " "}, "display_name-error"),
        ("roles", {"roles": []}, "roles-error"),
        ("delegate", {"substitute": "office_b", "starts_on": "2026-03-06", "ends_on": "2026-03-02"}, "ends_on-error"),
    ]:
        refused = admin_web.client.post(f"/admin/people/{person}/{change}", data={"csrf": csrf, **data})
        assert refused.status_code == 422 and errors_are_tied(refused.text) == [error_id], change
        labelled(refused.text, change)
    own = next(p.id for p in _people(engine) if p.name == "admin_a")
    refused = admin_web.client.post(f"/admin/people/{own}/active", data={"csrf": csrf, "active": "0"})
    assert errors_are_tied(refused.text) == ["active-error"]


def tab_to(page: Page, selector: str) -> None:
    """Press Tab until the element has the focus: it can be reached with the keyboard alone."""
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement === document.querySelector(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the keyboard")


def type_dates(page: Page, dates: dict[str, str]) -> None:
    """Type ISO dates into date inputs with the keyboard, segment by segment, in the order the browser's own
    locale shows them (month/day/year or year/month/day); a wrong guess is reloaded and typed again."""
    for order in ("mdy", "ymd"):
        for selector, iso in dates.items():
            year, month, day = iso.split("-")
            tab_to(page, selector)
            if order == "mdy":
                page.keyboard.type(month + day + year)  # month and day move on by themselves
            else:
                page.keyboard.type(year)
                page.keyboard.press("ArrowRight")
                page.keyboard.type(month + day)
        if all(page.eval_on_selector(s, "e => e.value") == iso for s, iso in dates.items()):
            return
        page.reload()
    raise AssertionError("the date inputs did not take the dates typed")


def test_an_administrator_works_the_people_pages_by_keyboard(
    page: Page, engine: WorkflowEngine, settings: Settings, tmp_path: Path, clock: FrozenClock
) -> None:
    web = make_web(engine, settings, tmp_path / "mail", clock)
    with serving(web.app.asgi()) as port:
        base = f"http://127.0.0.1:{port}"
        page.context.add_cookies([{"name": SESSION_COOKIE, "value": web.tokens.session("admin_a"), "url": base}])
        page.goto(base + "/")
        tab_to(page, 'a[href="/admin/people"]')
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("人员管理")
        for selector, text in (("#add-name", "zhang_wei"), ("#add-display_name", "张伟"),
                               ("#add-email", "zhang_wei@town.example.gov.cn")):  # fmt: skip
            tab_to(page, selector)
            page.keyboard.type(text)
        tab_to(page, "#add-roles-drafter")
        page.keyboard.press("Space")
        tab_to(page, "form[action='/admin/people'] button[type=submit]")
        page.keyboard.press("Enter")
        expect(page.get_by_role("status")).to_have_text("已添加张伟（zhang_wei）。")
        # A period that ends before it starts: the error is next to the last day, tied to it, nothing saved.
        type_dates(page, {"#starts_on": "2026-03-06", "#ends_on": "2026-03-02"})
        tab_to(page, "#substitute")
        page.keyboard.press("ArrowDown")
        tab_to(page, "form[action$='/delegate'] button[type=submit]")
        page.keyboard.press("Enter")
        expect(page.locator("#ends_on-error")).to_contain_text("2026-03-06")
        assert "ends_on-error" in (page.locator("#ends_on").get_attribute("aria-describedby") or "")
        save_screenshot(page, f"admin-person-error-{engine.db.dialect.name}")
        tab_to(page, "button#active")
        page.keyboard.press("Enter")
        expect(page.get_by_role("status")).to_contain_text("已停用张伟（zhang_wei）")
    triggers = [r.trigger for r in auditlog.read_entries(engine.db) if r.person == "zhang_wei"]
    assert triggers == ["person.add", "person.deactivate"]


def _people(engine: WorkflowEngine) -> list[Any]:
    with reading(engine.db) as conn:
        return list(list_users(conn))

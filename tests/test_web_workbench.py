"""Writing and revising items in the browser: /items/new, /items/new/{definition}, /items/{ref}/edit.

The rules are the core's (who may create, who may edit when, the input checks); the pages show every
problem next to its field, keep what was typed, and save nothing until the input is right."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests import sample_files
from tests.conftest import FrozenClock
from tests.web_support import Web, make_web
from workflow.core.attachments import Upload
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.store.models import Item, ItemRevision

REQUEST = {
    "field_requester": "张三",
    "field_requester_type": "natural_person",
    "field_channel": "post",
    "field_received_on": "2026-03-02",
}


@pytest.fixture
def web(engine: WorkflowEngine, settings: Settings, tmp_path: Path, clock: FrozenClock) -> Web:
    return make_web(engine, settings, tmp_path / "mail", clock)


def counts(web: Web) -> tuple[int, int]:
    with web.engine.db.connect() as conn:
        items = int(conn.execute(select(func.count()).select_from(Item.__table__)).scalar_one())
    return items, web.audit_count()


def post(web: Web, path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    """The form as a browser sends it (multipart/form-data), with this browser's CSRF token."""
    files = {name: (None, value) for name, value in {"csrf": web.csrf(path), **data}.items()}
    return web.client.post(path, files=files)


def error_of(html: str, input_id: str) -> str:
    """The error shown next to an input: the input must point at it (aria-describedby) and be marked invalid."""
    tag = re.search(rf'<(?:input|select|textarea)[^>]*id="{input_id}"[^>]*>', html)
    assert tag, f"no input {input_id}"
    assert 'aria-invalid="true"' in tag.group(0), tag.group(0)
    described = re.search(r'aria-describedby="([^"]*)"', tag.group(0))
    assert described and f"{input_id}-error" in described.group(1).split()
    found = re.search(rf'<p class="error" id="{input_id}-error">([^<]*)</p>', html)
    assert found
    return found.group(1)


def value_of(html: str, input_id: str) -> str:
    tag = re.search(rf'<(input|select|textarea)[^>]*id="{input_id}"[^>]*>', html)
    assert tag
    if tag.group(1) == "input":
        found = re.search(r'value="([^"]*)"', tag.group(0))
        return found.group(1) if found else ""
    if tag.group(1) == "textarea":
        return html[tag.end() : html.index("</textarea>", tag.end())]
    end = html.index("</select>", tag.end())
    selected = re.search(r'<option value="([^"]*)" selected', html[tag.end() : end])
    return selected.group(1) if selected else ""


# ---- what may be created ------------------------------------------------------------------------


def test_each_person_is_offered_what_they_may_create(web: Web) -> None:
    web.sign_in("drafter_a")
    page = web.client.get("/items/new")
    assert page.status_code == 200
    assert 'href="/items/new/proactive_disclosure"' in page.text and 'href="/items/new/normative_document"' in page.text
    assert "/items/new/disclosure_request" not in page.text
    assert 'href="/items/new"' in web.client.get("/").text  # the inbox links to it
    web.sign_in("office_a")
    page = web.client.get("/items/new")
    assert 'href="/items/new/disclosure_request"' in page.text and "proactive_disclosure" not in page.text
    web.sign_in("reviewer_a")
    assert "/items/new/" not in web.client.get("/items/new").text
    assert 'href="/items/new"' not in web.client.get("/").text


def test_a_person_who_may_not_create_is_refused_and_nothing_is_saved(web: Web) -> None:
    web.sign_in("reviewer_a")
    assert web.client.get("/items/new/proactive_disclosure").status_code == 403
    web.sign_in("drafter_a")
    csrf = web.csrf("/items/new/proactive_disclosure")
    web.sign_in("reviewer_a")
    before = counts(web)
    refused = web.client.post(
        "/items/new/proactive_disclosure", files={"csrf": (None, csrf), "title": (None, "t"), "category": (None, "03")}
    )
    assert refused.status_code == 403
    assert counts(web) == before
    assert "create_forbidden" in web.security_events()
    web.sign_in("drafter_a")
    assert web.client.get("/items/new/no_such_chain").status_code == 404
    web.sign_out()
    assert web.client.get("/items/new").headers["location"].startswith("/signin")


# ---- creating -----------------------------------------------------------------------------------


def test_create_by_form_with_metadata_and_a_declared_field(web: Web) -> None:
    web.sign_in("drafter_a")
    form = web.client.get("/items/new/proactive_disclosure").text
    assert 'enctype="multipart/form-data"' in form
    assert '<option value="03" >03 总结计划</option>' in form
    assert 'type="datetime-local"' in form and "Markdown" in form
    created = post(
        web,
        "/items/new/proactive_disclosure",
        {
            "title": " 2026年预算公开 ", "category": "03", "body": "第一段\r\n\r\n- 一\r\n- 二\r\n",
            "doc_number": "荷政发〔2026〕12号", "subjects": "财政 预算、财政",
            "field_publish_at": "2026-03-10T09:30",
        },
    )  # fmt: skip
    assert created.status_code == 303
    reference = created.headers["location"].rsplit("/", 1)[1]
    view = web.engine.show(reference)
    assert (view.title, view.category, view.created_by) == ("2026年预算公开", "03", "drafter_a")
    assert view.body == "第一段\n\n- 一\n- 二\n"
    assert view.fields == {"publish_at": "2026-03-10T09:30"}
    assert view.meta == {"doc_number": "荷政发〔2026〕12号", "subjects": ["财政", "预算"]}
    page = web.client.get(f"/items/{reference}").text
    assert "荷政发〔2026〕12号" in page and "财政、预算" in page
    assert f'href="/items/{reference}/edit"' in page


def test_every_kind_of_field_error_is_shown_next_to_its_field_and_nothing_is_saved(web: Web) -> None:
    web.sign_in("office_a")
    before = counts(web)
    typed = {
        "title": "", "body": "请公开2025年预算。",
        "field_requester": "", "field_requester_type": "martian", "field_channel": "post",
        "field_received_on": "2026-02-30",
    }  # fmt: skip
    answer = post(web, "/items/new/disclosure_request", typed)
    assert answer.status_code == 400
    html = answer.text
    assert "标题不能为空" in error_of(html, "f-title") or error_of(html, "f-title")
    assert "申请人" in error_of(html, "f-field-requester")
    assert "martian" in error_of(html, "f-field-requester_type")
    assert "2026-02-30" in error_of(html, "f-field-received_on")
    assert "aria-invalid" not in re.search(r'<select[^>]*id="f-field-channel"[^>]*>', html).group(0)  # type: ignore[union-attr]
    # Everything typed is kept.
    assert value_of(html, "f-body") == "请公开2025年预算。"
    assert value_of(html, "f-field-channel") == "post"
    assert value_of(html, "f-field-received_on") == "2026-02-30"
    # The summary on top links to each field.
    summary = html[html.index('class="error-summary"') : html.index("</div>", html.index('class="error-summary"'))]
    for input_id in ("f-title", "f-field-requester", "f-field-requester_type", "f-field-received_on"):
        assert f'href="#{input_id}"' in summary
    assert counts(web) == before

    web.sign_in("drafter_a")
    meta = post(
        web, "/items/new/proactive_disclosure",
        {"title": "t", "category": "", "doc_number": "号" * 101, "subjects": "字" * 21,
         "field_publish_at": "next week"},
    )  # fmt: skip
    assert meta.status_code == 400
    assert error_of(meta.text, "f-category") and "101" in error_of(meta.text, "f-doc-number")
    assert "字" * 21 in error_of(meta.text, "f-subjects") and error_of(meta.text, "f-field-publish_at")
    assert value_of(meta.text, "f-doc-number") == "号" * 101
    assert counts(web) == before


def test_the_registration_form_shows_the_statutory_due_date_after_saving(web: Web) -> None:
    web.sign_in("office_a")
    form = web.client.get("/items/new/disclosure_request").text
    assert "条例第三十一条" in form  # the art. 31 rules as help of the date received
    assert '<option value="natural_person" >自然人</option>' in form and '<option value="post" >信函</option>' in form
    assert 'type="date"' in form and 'aria-required="true"' in form
    assert 'name="field_outcome"' not in form  # decided with the reply (draft_reply), not when the letter arrives
    saved = post(web, "/items/new/disclosure_request", {"title": "申请公开2025年预算", "body": "请公开。", **REQUEST})
    assert saved.status_code == 303
    reference = saved.headers["location"].rsplit("/", 1)[1]
    view, deadlines = web.engine.deadlines(reference)
    due = next(d.status.due for d in deadlines if d.policy.name == "statutory_reply")
    assert due is not None and due.isoformat() == "2026-03-30"
    page = web.client.get(saved.headers["location"]).text
    banner = page[page.index('class="due-banner"') :]
    assert "法定答复期限" in banner[:300] and "2026年3月30日" in banner[:300]
    assert view.fields["channel"] == "post" and view.created_by == "office_a"


# ---- revising ------------------------------------------------------------------------------------


def test_revise_by_form_makes_a_new_version_of_the_revision(web: Web, make_item: Callable[..., int]) -> None:
    item_id = make_item(meta={"doc_number": "荷政发〔2026〕1号", "subjects": ["财政"]})
    web.sign_in("drafter_a")
    view = web.engine.show(item_id)
    form = web.client.get(f"/items/{view.reference}/edit").text
    assert value_of(form, "f-title") == "测试信息" and value_of(form, "f-doc-number") == "荷政发〔2026〕1号"
    assert value_of(form, "f-category") == "03" and value_of(form, "f-subjects") == "财政"
    saved = post(
        web, f"/items/{view.reference}/edit",
        {"version": str(view.version), "title": "新标题", "category": "06", "body": "新正文", "doc_number": "",
         "subjects": "财政 民生", "field_publish_at": ""},
    )  # fmt: skip
    assert saved.status_code == 303
    after = web.engine.show(item_id)
    assert (after.title, after.category, after.body, after.meta) == (
        "新标题",
        "06",
        "新正文",
        {"subjects": ["财政", "民生"]},
    )
    assert after.revision == view.revision and after.content_hash != view.content_hash
    with web.engine.db.connect() as conn:
        kept = conn.execute(select(ItemRevision.body).where(ItemRevision.item_id == item_id)).scalars().all()
    assert kept == ["新正文"]

    before = counts(web)
    bad = post(
        web,
        f"/items/{view.reference}/edit",
        {"version": str(after.version), "title": " ", "category": "06", "body": "x"},
    )
    assert bad.status_code == 400 and error_of(bad.text, "f-title") and value_of(bad.text, "f-body") == "x"
    stale = post(
        web,
        f"/items/{view.reference}/edit",
        {"version": str(view.version), "title": "旧", "category": "06", "body": "y"},
    )
    assert stale.status_code == 409
    assert counts(web) == before and web.engine.show(item_id).body == "新正文"


def test_revising_an_item_with_attachments_keeps_them(web: Web, make_item: Callable[..., int]) -> None:
    """The form never carries the attachments: saving it must keep the item's files, not be refused for them."""
    item_id = make_item(uploads=[Upload("预算表.pdf", io.BytesIO(sample_files.pdf()))])
    view = web.engine.show(item_id)
    web.sign_in("drafter_a")
    saved = post(
        web, f"/items/{view.reference}/edit",
        {"version": str(view.version), "title": "新标题", "category": "03", "body": "新正文", "subjects": "财政"},
    )  # fmt: skip
    assert saved.status_code == 303, saved.text
    after = web.engine.show(item_id)
    assert (after.title, after.body, after.meta["subjects"]) == ("新标题", "新正文", ["财政"])
    assert after.meta["attachments"] == view.meta["attachments"]


def test_revise_only_in_editable_states_and_by_who_may(web: Web, make_item: Callable[..., int]) -> None:
    item_id = make_item()
    reference = web.engine.show(item_id).reference
    web.sign_in("drafter_b")  # a drafter, but the item is drafter_a's
    assert web.client.get(f"/items/{reference}/edit").status_code in (403, 404)
    web.engine.fire(item_id, "submit", "drafter_a")
    web.sign_in("drafter_a")
    refused = web.client.get(f"/items/{reference}/edit")
    assert refused.status_code == 409 and "起草" in refused.text
    assert f"/items/{reference}/edit" not in web.client.get(f"/items/{reference}").text
    csrf = web.csrf("/items/new")
    before = counts(web)
    posted = web.client.post(
        f"/items/{reference}/edit", files={"csrf": (None, csrf), "title": (None, "x"), "category": (None, "03")}
    )
    assert posted.status_code == 409 and counts(web) == before
    web.sign_in("reviewer_a")
    assert web.client.get(f"/items/{reference}/edit").status_code == 409


def test_a_request_is_revised_with_its_received_date_kept(web: Web, make_item: Callable[..., int]) -> None:
    item_id = make_item("disclosure_request")
    web.engine.fire(item_id, "register", "office_a")
    reference = web.engine.show(item_id).reference
    web.sign_in("office_b")
    form = web.client.get(f"/items/{reference}/edit").text
    assert 'name="field_outcome"' in form  # while it is handled, the office may note the outcome
    date_input = re.search(r'<input[^>]*id="f-field-received_on"[^>]*>', form).group(0)  # type: ignore[union-attr]
    assert "readonly" in date_input
    version = str(web.engine.show(item_id).version)
    changed = post(
        web, f"/items/{reference}/edit",
        {"version": version, "title": "申请", "body": "补充", **REQUEST, "field_requester": "李四"},
    )  # fmt: skip
    assert changed.status_code == 303
    assert web.engine.show(item_id).fields["requester"] == "李四"
    before = counts(web)
    moved = post(
        web, f"/items/{reference}/edit",
        {"version": str(web.engine.show(item_id).version), "title": "申请", "body": "补充", **REQUEST,
         "field_received_on": "2026-02-01"},
    )  # fmt: skip
    assert moved.status_code == 400 and error_of(moved.text, "f-field-received_on")
    assert counts(web) == before


def test_a_received_date_after_today_is_refused_beside_it(web: Web) -> None:
    """The statutory reply period counts from the day received: a day not yet come (the clock says
    2026-03-02) would give the office more time than the law does."""
    web.sign_in("office_a")
    before = counts(web)
    answer = post(
        web, "/items/new/disclosure_request",
        {**REQUEST, "title": "申请公开预算", "body": "请公开。", "field_received_on": "2026-03-03"},
    )  # fmt: skip
    assert answer.status_code == 400
    assert "2026-03-03" in error_of(answer.text, "f-field-received_on")
    assert counts(web) == before
    today = post(web, "/items/new/disclosure_request", {**REQUEST, "title": "申请公开预算", "body": "请公开。"})
    assert today.status_code == 303


def test_dates_and_times_of_fields_read_as_people_write_them(web: Web, make_item: Callable[..., int]) -> None:
    item_id = make_item(fields={"formed_on": "2026-03-02", "publish_at": "2026-03-20T09:00"})
    web.sign_in("drafter_a")
    page = web.client.get(f"/items/{web.engine.show(item_id).reference}").text
    assert "2026年3月2日" in page and "09:00" in page
    office_part = page.split('<section class="public-preview"', 1)[0]  # the public preview uses the site's forms
    assert "2026-03-20T09:00" not in office_part and ">2026-03-02<" not in office_part

"""The administrator's pages (people, security log) and display names on every page, as served; SQLite and
PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import html as htmllib
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from notifications.notices import Notifier
from tests.conftest import FrozenClock
from tests.web_support import Web, make_web
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.store import audit_log as auditlog
from workflow.store.db import reading
from workflow.store.people import list_users, person_record
from workflow.web.app import LANG_COOKIE
from workflow.web.security import record


@pytest.fixture
def web(engine: WorkflowEngine, settings: Settings, tmp_path: Path, clock: FrozenClock) -> Web:
    return make_web(engine, settings, tmp_path / "mail", clock)


def people_audit(engine: WorkflowEngine) -> list[tuple[str, str, str]]:
    return [(r.trigger, r.person, r.actor) for r in auditlog.read_entries(engine.db) if r.item_id is None]


def user_id(engine: WorkflowEngine, name: str) -> int:
    with reading(engine.db) as conn:
        return next(p.id for p in list_users(conn) if p.name == name)


def field_error(html: str, field_id: str) -> str:
    """The error shown next to a field, after checking that the field points at it (aria-describedby)."""
    found = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', html)
    assert found, f"no error next to {field_id}"
    tag = re.search(rf'<(?:input|select|fieldset|button)[^>]*\bid="{field_id}"[^>]*>', html)
    assert tag and f"{field_id}-error" in tag.group(0).split("aria-describedby=")[1].split('"')[1], tag
    return htmllib.unescape(found.group(1))


# ---- who may use them ---------------------------------------------------------------------------


def test_only_administrators_see_the_admin_pages_and_their_links(web: Web, engine: WorkflowEngine) -> None:
    web.sign_in("leader_a")
    csrf = web.csrf("/")
    assert "/admin/people" not in web.client.get("/").text
    before = people_audit(engine)
    for path in ("/admin/people", f"/admin/people/{user_id(engine, 'office_a')}", "/admin/security"):
        assert web.client.get(path).status_code == 403
    posted = web.client.post("/admin/people", data={"csrf": csrf, "name": "x", "email": "x@t.cn", "roles": "office"})
    assert posted.status_code == 403
    deactivate = web.client.post(
        f"/admin/people/{user_id(engine, 'office_a')}/active", data={"csrf": csrf, "active": "0"}
    )
    assert deactivate.status_code == 403
    assert people_audit(engine) == before  # a refused change writes nothing
    assert web.security_events().count("page_forbidden") == 5
    web.sign_in("auditor_a")
    assert web.client.get("/admin/people").status_code == 403
    web.sign_in("admin_a")
    home = web.client.get("/").text
    assert 'href="/admin/people"' in home and 'href="/admin/security"' in home
    assert web.client.get("/admin/people").status_code == 200
    web.sign_out()
    assert web.client.get("/admin/people").headers["location"].startswith("/signin")


# ---- the people page ----------------------------------------------------------------------------


def test_an_administrator_does_every_people_change_from_the_pages(web: Web, engine: WorkflowEngine) -> None:
    engine.set_display_name("leader_b", "王强", by="admin_a")
    engine.delegate("leader_a", "leader_b", dt.date(2026, 3, 2), dt.date(2026, 3, 6), by="admin_a")
    web.sign_in("admin_a")
    listing = web.client.get("/admin/people").text
    row = re.search(r"<tr[^>]*>\s*<td><a href=\"/admin/people/\d+\">leader_a</a>.*?</tr>", listing, re.S)
    assert row and "领导" in row.group(0) and "王强（leader_b）" in row.group(0) and "启用" in row.group(0)
    csrf = web.csrf("/admin/people")

    added = web.client.post("/admin/people", data={
        "csrf": csrf, "name": "zhang_wei", "display_name": " 张伟 ", "email": "zhang_wei@town.example.gov.cn",
        "roles": ["drafter", "confidentiality_reviewer"],
    })  # fmt: skip
    assert added.status_code == 303
    page_path = added.headers["location"].split("?")[0]
    assert page_path == f"/admin/people/{user_id(engine, 'zhang_wei')}"
    shown = web.client.get(added.headers["location"]).text
    assert "已添加张伟（zhang_wei）。" in shown and 'role="status"' in shown

    def post(change: str, **data: Any) -> str:
        done = web.client.post(f"{page_path}/{change}", data={"csrf": csrf, **data})
        assert done.status_code == 303, done.text
        return htmllib.unescape(web.client.get(done.headers["location"]).text)

    assert "已保存张伟伟（zhang_wei）的显示名称。" in post("display-name", display_name="张伟伟")
    assert "已保存张伟伟（zhang_wei）的角色。" in post("roles", roles=["drafter", "leader"])
    assert "已停用张伟伟（zhang_wei），其历史记录保留。" in post("active", active="0")
    assert "张伟伟（zhang_wei）可以重新办理。" in post("active", active="1")
    assert "已保存张伟伟（zhang_wei）的邮件方式。" in post("digest", digest="1")
    delegated = post("delegate", substitute="leader_b", starts_on="2026-03-09", ends_on="2026-03-13")
    assert "已设置张伟伟（zhang_wei）的代理人。" in delegated and "王强（leader_b）" in delegated

    assert people_audit(engine)[2:] == [
        ("person.add", "zhang_wei", "admin_a"),
        ("person.display_name", "zhang_wei", "admin_a"),
        ("person.roles", "zhang_wei", "admin_a"),
        ("person.deactivate", "zhang_wei", "admin_a"),
        ("person.activate", "zhang_wei", "admin_a"),
        ("person.digest", "zhang_wei", "admin_a"),
        ("person.delegate", "zhang_wei", "admin_a"),
    ]
    rows = [r for r in auditlog.read_entries(engine.db) if r.person == "zhang_wei"]
    assert json.loads(rows[2].details) == {
        "granted": ["leader"], "removed": ["confidentiality_reviewer"], "roles": ["drafter", "leader"],
    }  # fmt: skip
    with reading(engine.db) as conn:
        stored = person_record(conn, "zhang_wei")
    assert stored is not None
    assert (stored.display_name, stored.roles, stored.active, stored.digest) == ("张伟伟", {"drafter", "leader"},
                                                                                  True, True)  # fmt: skip
    assert auditlog.verify(engine.db, engine.audit_key or b"").fault is None


REFUSALS: list[tuple[str, str, dict[str, Any], str, str]] = [
    # (who is changed, form, what is posted, the field the error is next to, words of the error)
    ("admin_a", "roles", {"roles": []}, "roles", "不能停用自己或去除自己的管理员角色"),
    ("admin_a", "active", {"active": "0"}, "active", "另一位管理员"),
    ("office_a", "roles", {"roles": []}, "roles", "没有任何角色"),
    ("office_a", "roles", {"roles": ["office", "chief"]}, "roles", "'chief'"),
    ("office_a", "roles", {"roles": ["office"]}, "roles", "没有变化"),
    ("office_a", "display-name", {"display_name": "  "}, "display_name", "显示名称不能为空"),
    ("office_a", "display-name", {"display_name": "王" * 65}, "display_name", "65"),
    ("office_a", "delegate", {"substitute": "office_a", "starts_on": "2026-03-02", "ends_on": "2026-03-03"},
     "substitute", "不能委托给自己"),
    ("office_a", "delegate", {"substitute": "office_b", "starts_on": "2026-03-06", "ends_on": "2026-03-02"},
     "ends_on", "2026-03-06"),
    ("office_a", "delegate", {"substitute": "office_b", "starts_on": "3月2日", "ends_on": "2026-03-02"},
     "starts_on", "3月2日"),
    ("office_a", "delegate", {"substitute": "nobody", "starts_on": "2026-03-02", "ends_on": "2026-03-02"},
     "substitute", "nobody"),
]  # fmt: skip


@pytest.mark.parametrize(("who", "form", "data", "field", "words"), REFUSALS)
def test_a_refused_change_is_shown_next_to_its_field_and_changes_nothing(
    web: Web, engine: WorkflowEngine, who: str, form: str, data: dict[str, Any], field: str, words: str
) -> None:
    web.sign_in("admin_a")
    path = f"/admin/people/{user_id(engine, who)}"
    csrf = web.csrf(path)
    before = people_audit(engine)
    refused = web.client.post(f"{path}/{form}", data={"csrf": csrf, **data})
    assert refused.status_code == 422
    assert words in field_error(refused.text, field)
    assert 'role="alert"' in refused.text and "没有作任何更改" in refused.text
    assert people_audit(engine) == before
    if form == "delegate":  # what was typed is kept
        for name in ("starts_on", "ends_on"):
            assert f'name="{name}" type="date" value="{htmllib.escape(data[name])}"' in refused.text


def test_adding_a_person_keeps_what_was_typed_and_marks_the_field(web: Web, engine: WorkflowEngine) -> None:
    web.sign_in("admin_a")
    csrf = web.csrf("/admin/people")
    before = people_audit(engine)
    cases = [
        ({"name": "zhang wei", "email": "z@t.cn", "roles": ["drafter"]}, "add-name", "zhang wei"),
        ({"name": "office_a", "email": "z@t.cn", "roles": ["drafter"]}, "add-name", "已存在"),
        ({"name": "zhang_wei", "email": "z@", "roles": ["drafter"]}, "add-email", "z@"),
        ({"name": "zhang_wei", "email": "Office_A@town.example.gov.cn", "roles": ["drafter"]}, "add-email",
         "office_a"),
        ({"name": "zhang_wei", "email": "z@t.cn", "roles": []}, "add-roles", "至少"),
        ({"name": "zhang_wei", "email": "z@t.cn", "roles": ["drafter"], "display_name": "张\u202e伟"},
         "add-display_name", "U+202E"),
    ]  # fmt: skip
    for data, field, words in cases:
        refused = web.client.post("/admin/people", data={"csrf": csrf, "display_name": "张伟", **data})
        assert refused.status_code == 422
        assert words in field_error(refused.text, field), data
        assert f'value="{htmllib.escape(str(data["email"]))}"' in refused.text  # kept as typed
    assert people_audit(engine) == before
    with reading(engine.db) as conn:
        assert "zhang_wei" not in {p.name for p in list_users(conn)}


# ---- the security log ---------------------------------------------------------------------------


def test_the_security_log_page_newest_first_paged_and_filtered(web: Web, engine: WorkflowEngine) -> None:
    engine.set_display_name("leader_a", "王强", by="admin_a")
    start = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
    for n in range(60):
        record(engine.db, "signin_requested", now=start + dt.timedelta(minutes=n), client="10.0.0.9",
               subject=f"person{n}@town.example.gov.cn")  # fmt: skip
    record(engine.db, "page_forbidden", now=start + dt.timedelta(hours=2), user="leader_a", subject="/audit")
    web.sign_in("admin_a")
    first = web.client.get("/admin/security")
    assert first.status_code == 200
    text = first.text
    assert text.index("/audit") < text.index("person59@") < text.index("person58@")  # newest first
    assert "person11@" in text and "person10@" not in text  # 50 a page: the refusal and person59 to person11
    assert "2026-03-02 11:00" in text  # 03:00 UTC is 11:00 office time
    assert "王强（leader_a）" in text and "页面被拒绝" in text
    older = re.search(r'href="(/admin/security\?page=2)"', text)
    assert older
    second = web.client.get(htmllib.unescape(older.group(1))).text
    assert "person10@" in second and "person0@" in second and "person11@" not in second
    assert 'href="/admin/security?page=1"' in second and "page=3" not in second
    by_event = web.client.get("/admin/security", params={"event": "page_forbidden"}).text
    assert "/audit" in by_event and "person59@" not in by_event
    by_user = web.client.get("/admin/security", params={"user": "王强"}).text  # a display name finds the login name
    assert "/audit" in by_user and "person59@" not in by_user
    web.client.cookies.set(LANG_COOKIE, "en")
    english = web.client.get("/admin/security", params={"event": "page_forbidden"}).text
    assert "Page refused" in english and "王强 (leader_a)" in english


# ---- display names on the pages ---------------------------------------------------------------


def test_display_names_on_the_inbox_item_confirm_audit_and_outbox_pages(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    for name, shown in [("drafter_a", "张伟"), ("reviewer_a", "李娜"), ("auditor_a", "周审"), ("office_a", "陈静")]:
        engine.set_display_name(name, shown, by="admin_a")
    engine.notifier = Notifier(web.app.mail)
    item_id = make_item(title="预算公开")
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "send_back", "reviewer_a", comment="请删去个人信息")
    reference = engine.show(item_id).reference

    web.sign_in("drafter_a")
    inbox = web.client.get("/").text
    assert "当前用户: 张伟" in inbox and "drafter_a" not in inbox
    item = web.client.get(f"/items/{reference}").text
    assert "承办人: 张伟（drafter_a）" in item  # who holds the item
    history = item.split('id="history-h"')[1]
    assert "张伟（drafter_a）" in history and "李娜（reviewer_a）" in history
    engine.fire(item_id, "submit", "drafter_a")
    web.sign_in("reviewer_a")
    confirm = web.client.get(web.link("reviewer_a", item_id, "clear")).text
    assert "办理人: 李娜（reviewer_a）" in confirm
    assert "自 李娜（reviewer_a）" in confirm  # the body unchanged since the reviewer decided
    assert "承办人: 张伟（drafter_a）" in confirm

    web.sign_in("auditor_a")
    audit = web.client.get("/audit", params={"item": reference}).text
    assert "张伟（drafter_a）" in audit and "李娜（reviewer_a）" in audit
    for asked in ("drafter_a", "张伟"):  # by login name or by display name
        people = web.client.get("/audit", params={"person": asked}).text
        assert "人员: 张伟（drafter_a）" in people and "李娜（reviewer_a）" not in people
    rows = list(csv.DictReader(io.StringIO(web.client.get("/audit.csv").text.lstrip("\ufeff"))))
    header = list(rows[0])
    assert header.index("actor_display_name") == header.index("actor") + 1
    assert header.index("person_display_name") == header.index("person") + 1
    assert {(r["actor"], r["actor_display_name"]) for r in rows if r["reference"]} >= {
        ("drafter_a", "张伟"), ("reviewer_a", "李娜"),
    }  # fmt: skip
    named = next(r for r in rows if r["trigger"] == "person.display_name" and r["person"] == "drafter_a")
    assert (named["person_display_name"], named["actor"], named["actor_display_name"]) == ("张伟", "admin_a", "")

    web.sign_in("office_a")
    with engine.db.begin() as conn:
        from notifications.outbox import outbox

        conn.execute(outbox.update().values(status="failed"))
        addresses = set(conn.execute(select(outbox.c.recipient)).scalars())
    assert "reviewer_a@town.example.gov.cn" in addresses
    page = htmllib.unescape(web.client.get("/outbox").text)
    assert "李娜（reviewer_a） <reviewer_a@town.example.gov.cn>" in page

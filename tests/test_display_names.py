"""Display names (张伟 beside ``zhang_wei``): checked by the core, changed through the engine into the audit
chain, shown through one lookup; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from notifications.notices import Notifier
from notifications.settings import MailSettings
from notifications.transport import SmtpTransport
from tests import test_cli
from tests.conftest import AUDIT_KEY, DEFINITIONS, FrozenClock
from tests.smtp_server import RecordingHandler
from tests.test_cli import PEOPLE_ROWS, Office, one_line
from tests.test_people_changes import people_rows, refused
from workflow.core.errors import InvalidInput, NotFound, NotPermitted
from workflow.core.names import NameEntry, Names, person_label
from workflow.core.personnel import Account, check_display_name
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.store import audit_log as auditlog
from workflow.store.db import make_engine, reading
from workflow.store.people import list_users, name_entries, person_record
from workflow.worker.passes import Worker

ROOT = Account("root")
template = test_cli.template
fresh = test_cli.fresh
"""The command line's office (a module's template database, a fresh copy per test), as tests/test_cli.py has it."""
KEY = AUDIT_KEY.encode()


# ---- the pure core ------------------------------------------------------------------------------


def test_a_display_name_is_trimmed_and_checked() -> None:
    assert check_display_name("  张伟 ") == "张伟"
    assert check_display_name("欧阳" + "娜" * 62) == "欧阳" + "娜" * 62  # 64 characters
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("   ", "input.display_name_empty", {}),
        ("张" * 65, "input.display_name_long", {"length": 65, "maximum": 64}),
        ("张\x07伟", "input.display_name_control", {"code": "U+0007", "position": 2}),
        ("张伟\u202e", "input.display_name_control", {"code": "U+202E", "position": 3}),  # right-to-left override
        ("张\n伟", "input.display_name_control", {"code": "U+000A", "position": 2}),
    ]
    for value, key, params in cases:
        with pytest.raises(InvalidInput) as caught:
            check_display_name(value)
        assert caught.value.key == key and caught.value.params == params, value
    assert "64" in InvalidInput("input.display_name_long", length=65, maximum=64).render("en")


def test_a_person_is_labelled_with_both_names_in_the_readers_language() -> None:
    assert person_label("zhang_wei", "张伟", "zh") == "张伟（zhang_wei）"
    assert person_label("zhang_wei", "张伟", "en") == "张伟 (zhang_wei)"
    assert person_label("zhang_wei", None, "zh") == "zhang_wei"
    loads: list[int] = []

    def load() -> list[NameEntry]:
        loads.append(1)
        return [NameEntry("zhang_wei", "Zhang_Wei@town.example.gov.cn", "张伟"), NameEntry("li_na", "l@t.cn", None)]

    names = Names(load, "zh")
    assert loads == []  # nothing read until a name is shown
    assert names.label("zhang_wei") == "张伟（zhang_wei）" and names.short("zhang_wei") == "张伟"
    assert names.label("li_na") == "li_na" and names.short("li_na") == "li_na"
    assert names.label("cli:root") == "cli:root" and names.label(None) == ""
    assert names.recipient("zhang_wei@town.example.gov.cn") == "张伟（zhang_wei） <zhang_wei@town.example.gov.cn>"
    assert names.recipient("someone@else.cn") == "someone@else.cn"
    assert loads == [1]  # one query for every lookup


# ---- through the engine -----------------------------------------------------------------------


def test_a_display_name_is_set_through_the_chain(engine: WorkflowEngine) -> None:
    added = engine.add_person(
        "zhang_wei", email="zhang_wei@town.example.gov.cn", roles=["drafter"], by=ROOT, display_name=" 张伟 "
    )
    assert added.display_name == "张伟"
    renamed = engine.set_display_name("zhang_wei", "张 伟", by="admin_a")
    assert renamed.display_name == "张 伟"
    named = engine.set_display_name("drafter_a", "王小明", by="admin_a")
    assert named.display_name == "王小明"
    rows = people_rows(engine)
    assert [(r.trigger, r.person, r.actor, r.role) for r in rows] == [
        ("person.add", "zhang_wei", "cli:root", "os_account"),
        ("person.display_name", "zhang_wei", "admin_a", "admin"),
        ("person.display_name", "drafter_a", "admin_a", "admin"),
    ]
    assert json.loads(rows[0].details) == {
        "email": "zhang_wei@town.example.gov.cn", "roles": ["drafter"], "display_name": "张伟",
    }  # fmt: skip
    assert json.loads(rows[1].details) == {"display_name": "张 伟", "previous": "张伟"}
    assert json.loads(rows[2].details) == {"display_name": "王小明", "previous": None}
    assert auditlog.verify(engine.db, KEY).fault is None
    with reading(engine.db) as conn:
        shown = {e.name: e.display_name for e in name_entries(conn)}
        listed = {u.name: u.display_name for u in list_users(conn)}
    assert shown["zhang_wei"] == listed["zhang_wei"] == "张 伟" and shown["leader_a"] is None


def test_display_name_refusals_change_nothing(engine: WorkflowEngine) -> None:
    refused(engine, NotPermitted, "refuse.people_admin", engine.set_display_name, "drafter_a", "王", by="drafter_a")
    refused(engine, NotPermitted, "refuse.people_admin", engine.set_display_name, "drafter_a", "王", by="leader_a")
    refused(engine, InvalidInput, "input.display_name_empty", engine.set_display_name, "drafter_a", " ", by=ROOT)
    refused(engine, InvalidInput, "input.display_name_long", engine.set_display_name, "drafter_a", "王" * 65, by=ROOT)
    refused(engine, NotFound, "notfound.user", engine.set_display_name, "nobody", "王", by=ROOT)
    refused(engine, InvalidInput, "input.display_name_control", engine.add_person, "x", email="x@t.cn",
            roles=["office"], by=ROOT, display_name="王\t五")  # fmt: skip
    engine.set_display_name("drafter_a", "王小明", by=ROOT)
    refused(engine, InvalidInput, "input.display_name_unchanged", engine.set_display_name, "drafter_a", "王小明 ",
            by=ROOT)  # fmt: skip
    with reading(engine.db) as conn:
        record = person_record(conn, "drafter_a")
    assert record is not None and record.display_name == "王小明"


def test_an_administrator_may_not_lock_themself_out(engine: WorkflowEngine) -> None:
    engine.add_person("boss", email="boss@town.example.gov.cn", roles=["admin", "leader"], by=ROOT)
    error = refused(engine, NotPermitted, "refuse.self_admin", engine.set_active, "admin_a", False, by="admin_a")
    assert "another administrator" in error.render("en")
    refused(engine, NotPermitted, "refuse.self_admin", engine.change_roles, "boss", remove=["admin"], by="boss")
    # Another administrator may; the operating-system account may; a role other than admin may go.
    assert engine.change_roles("boss", remove=["leader"], by="boss").roles == {"admin"}
    assert engine.change_roles("boss", grant=["leader"], remove=["admin"], by="admin_a").roles == {"leader"}
    assert engine.set_active("admin_a", False, by=ROOT).active is False


# ---- the command line -------------------------------------------------------------------------


def test_users_add_rename_and_list_with_display_names(fresh: Office) -> None:
    out = fresh.ok("users", "add", "zhang_wei", "--email", "zhang_wei@town.example.gov.cn", "--role", "drafter",
                   "--display-name", "张伟")  # fmt: skip
    assert out.strip() == "zhang_wei <zhang_wei@town.example.gov.cn> 承办人 (张伟)"
    fresh.ok("users", "add", "boss", "--email", "boss@town.example.gov.cn", "--role", "admin")
    assert fresh.ok("users", "display-name", "drafter", "王小明", "--as", "boss").strip() == "王小明（drafter）"
    assert fresh.ok("users", "display-name", "drafter", "王晓明", env={"GONGKAI_LANG": "en"}).strip() == (
        "王晓明 (drafter)"
    )
    people = {p["name"]: p for p in json.loads(fresh.ok("users", "list", "--json"))}
    assert people["zhang_wei"]["display_name"] == "张伟" and people["drafter"]["display_name"] == "王晓明"
    assert people["leader"]["display_name"] is None
    listed = fresh.ok("users", "list")
    assert re.search(r"^zhang_wei\s+张伟\s+zhang_wei@town", listed, re.MULTILINE), listed
    assert [e["details"] for e in fresh.audit()[PEOPLE_ROWS:]] == [
        {"email": "zhang_wei@town.example.gov.cn", "roles": ["drafter"], "display_name": "张伟"},
        {"email": "boss@town.example.gov.cn", "roles": ["admin"]},
        {"display_name": "王小明", "previous": None},
        {"display_name": "王晓明", "previous": "王小明"},
    ]
    triggers = [e["trigger"] for e in fresh.audit()[PEOPLE_ROWS:]]
    assert triggers == ["person.add", "person.add", "person.display_name", "person.display_name"]
    # Refused: nothing written, one clear line.
    before = fresh.audit()
    for args, needle in [
        (("users", "display-name", "drafter", "  "), "显示名称不能为空"),
        (("users", "display-name", "drafter", "王" * 65), "65"),
        (("users", "display-name", "nobody", "王"), "nobody"),
        (("users", "display-name", "drafter", "王", "--as", "leader"), "admin"),
    ]:
        result = fresh.run(*args)
        assert result.returncode in (1, 2) and needle in one_line(result), (args, result.stderr)
    assert fresh.audit() == before
    # item show names the holders by both names.
    item_id, _ = fresh.create("proactive_disclosure", "测试", "drafter", "--category", "03")
    assert "承办人: 王晓明（drafter）" in fresh.ok("item", "show", str(item_id))
    assert fresh.show(item_id)["holders"] == {"drafter": ["drafter"]}  # JSON keeps login names


# ---- emails -----------------------------------------------------------------------------------


def plain(received: Any) -> str:
    return str(received.message.get_body(("plain",)).get_content())


def test_emails_greet_and_name_people_by_their_display_names(
    engine: WorkflowEngine,
    make_item: Callable[..., int],
    clock: FrozenClock,
    server: tuple[RecordingHandler, int],
    mailbox: RecordingHandler,
) -> None:
    mail = MailSettings(smtp_url=f"smtp://127.0.0.1:{server[1]}", base_url="https://gk.town.example.gov.cn")
    engine.notifier = Notifier(mail)
    for name, shown in [("reviewer_a", "李娜"), ("reviewer_b", "刘洋"), ("leader_a", "王强"), ("multi", "赵敏")]:
        engine.set_display_name(name, shown, by="admin_a")
    engine.add_person("digest_reader", email="digest@town.example.gov.cn", roles=["confidentiality_reviewer"],
                      by="admin_a", display_name="孙丽")  # fmt: skip
    engine.set_digest("digest_reader", True, by="admin_a")
    clock.now = dt.datetime(2026, 3, 2, 1, tzinfo=dt.UTC)
    item_id = make_item(title="镇财政预算公开")
    engine.fire(item_id, "submit", "drafter_a")  # review due 2026-03-09
    worker = Worker(engine, Notifier(mail), lambda: SmtpTransport.from_url(mail.smtp_url or "", sender="gk@t.cn"))
    try:
        worker.run_pass(clock.now)
        new_task = next(r for r in mailbox.received if r.recipients[0] == "reviewer_a@town.example.gov.cn")
        assert plain(new_task).startswith("李娜，您好")  # the greeting uses the display name
        assert "李娜" in new_task.message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        digest = next(r for r in mailbox.received if r.recipients[0] == "digest@town.example.gov.cn")
        assert plain(digest).startswith("孙丽，您好") and "镇财政预算公开" in plain(digest)
        # Cleared three working days late; the sign-off is then overdue: the escalation names who was late.
        clock.now = dt.datetime(2026, 3, 12, 1, tzinfo=dt.UTC)
        engine.fire(item_id, "clear", "reviewer_b")
        worker.run_pass(clock.now)
        mailbox.reset()
        worker.run_pass(dt.datetime(2026, 3, 18, 1, tzinfo=dt.UTC))
    finally:
        worker.release()
    escalation = next(r for r in mailbox.received if "督办" in str(r.message["Subject"]))
    chain = plain(escalation).split("逾期经过")[1]
    assert "刘洋（reviewer_b）" in chain and "王强（leader_a）" in chain and "leader_b" in chain
    assert plain(escalation).startswith(("王强，您好", "赵敏，您好", "leader_b，您好", "leader_c，您好"))


def test_the_demo_office_knows_its_people_by_chinese_names(tmp_path: Path) -> None:
    from workflow.cli.demo import DEMO_PEOPLE, run_demo

    said: list[str] = []
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    settings = Settings(database_url=url, definitions_dir=DEFINITIONS, audit_key=AUDIT_KEY)
    run_demo(settings, MailSettings(smtp_url=None, mail_dir=tmp_path / "mail"), said.append, folder=tmp_path)
    db = make_engine(url)
    try:
        with reading(db) as conn:
            shown = {u.name: (u.display_name, u.roles) for u in list_users(conn)}
        assert shown["zhang_wei"][0] == "张伟" and shown["wu_gang"] == ("吴刚", ("admin",))
        assert {name: shown[name][0] for name, *_ in DEMO_PEOPLE} == {n: d for n, _, d, _ in DEMO_PEOPLE}
        added = [r for r in auditlog.read_entries(db) if r.trigger == "person.add"]
        assert json.loads(added[0].details)["display_name"] == "张伟"
    finally:
        db.dispose()
    assert any("张伟" in line and "zhang_wei" in line for line in said)

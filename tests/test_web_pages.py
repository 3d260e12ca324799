"""Signing in by email link, the inbox, the item page, the audit log and the outbox, as served."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select, update

from notifications.outbox import outbox
from tests.conftest import FrozenClock
from tests.env import outside_env
from tests.web_support import BASE_URL, Web, make_web
from workflow.core.errors import ConfigurationError
from workflow.core.personnel import Account
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.web.app import LANG_COOKIE, SESSION_COOKIE, create_app


@pytest.fixture
def web(engine: WorkflowEngine, settings: Settings, tmp_path: Path, clock: FrozenClock) -> Web:
    return make_web(engine, settings, tmp_path / "mail", clock)


def signin_link(web: Web, address: str) -> str | None:
    with web.engine.db.connect() as conn:
        texts = (
            conn.execute(select(outbox.c.body_text).where(outbox.c.event == "signin", outbox.c.recipient == address))
            .scalars()
            .all()
        )
    if not texts:
        return None
    found = re.search(re.escape(BASE_URL) + r"(/signin/\S+)", texts[-1])
    assert found
    return found.group(1)


# ---- sign-in ------------------------------------------------------------------------------------


def test_signing_in_by_an_emailed_link_that_works_once(web: Web) -> None:
    assert web.client.get("/").headers["location"].startswith("/signin")
    sent = web.client.post("/signin", data={"csrf": web.csrf(), "email": "Reviewer_A@town.example.gov.cn"})
    assert sent.status_code == 200 and "reviewer_a@town.example.gov.cn" in sent.text
    link = signin_link(web, "reviewer_a@town.example.gov.cn")
    assert link is not None
    confirm = web.client.get(link)  # opening it (a mail scanner) signs nobody in
    assert confirm.status_code == 200 and SESSION_COOKIE not in confirm.cookies and "reviewer_a" in confirm.text
    used = web.client.post(link, data={"csrf": web.csrf(link)})
    assert used.status_code == 303 and used.cookies.get(SESSION_COOKIE)
    cookie = used.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=28800" in cookie
    assert web.client.get("/").status_code == 200
    web.sign_out()
    assert web.client.get(link).status_code == 410  # once only
    assert "signin_link_reused" in web.security_events()


def test_an_unknown_address_gets_the_same_answer_and_no_email(web: Web) -> None:
    answer = web.client.post("/signin", data={"csrf": web.csrf(), "email": "nobody@example.org"})
    assert answer.status_code == 200 and "nobody@example.org" in answer.text
    assert signin_link(web, "nobody@example.org") is None


def test_sign_in_requests_are_rate_limited(web: Web) -> None:
    csrf = web.csrf()
    codes = [
        web.client.post("/signin", data={"csrf": csrf, "email": "leader_a@town.example.gov.cn"}).status_code
        for _ in range(5)
    ]
    assert codes == [200, 200, 200, 429, 429]
    assert web.security_events().count("signin_throttled") == 2


def test_sign_in_requests_from_one_client_address_are_limited_by_the_setting(
    engine: WorkflowEngine, settings: Settings, tmp_path: Path, clock: FrozenClock
) -> None:
    """Several people behind one router share a client address: the office sets how many may ask at once."""
    web = make_web(engine, dataclasses.replace(settings, signin_per_client=2), tmp_path / "mail", clock)
    csrf = web.csrf()
    codes = [
        web.client.post("/signin", data={"csrf": csrf, "email": f"{name}@town.example.gov.cn"}).status_code
        for name in ("leader_a", "leader_b", "leader_c")
    ]
    assert codes == [200, 200, 429]
    assert Settings.from_env({"GONGKAI_SIGNIN_PER_CLIENT": "50"}).signin_per_client == 50
    assert Settings.from_env({}).signin_per_client == 30


def test_a_forged_or_expired_session_is_no_session(web: Web) -> None:
    web.client.cookies.set(SESSION_COOKIE, web.tokens.session("reviewer_a") + "x")
    assert web.client.get("/").status_code == 303
    web.client.cookies.set(SESSION_COOKIE, "leader_a")
    assert web.client.get("/").status_code == 303


def test_the_web_app_refuses_to_start_without_a_secret(
    engine: WorkflowEngine, settings: Settings, tmp_path: Path
) -> None:
    from notifications.settings import MailSettings

    with pytest.raises(ConfigurationError) as missing:
        create_app(settings, engine, MailSettings(smtp_url=None))
    assert "GONGKAI_SECRET_KEY" in missing.value.render("en")


# ---- the inbox ----------------------------------------------------------------------------------


def test_the_inbox_lists_what_waits_for_me_overdue_first(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock
) -> None:
    clock.now = dt.datetime(2026, 3, 2, 2, tzinfo=dt.UTC)
    older = make_item(title="较早送审")
    engine.fire(older, "submit", "drafter_a")  # review due 2026-03-09
    clock.now = dt.datetime(2026, 3, 6, 2, tzinfo=dt.UTC)
    newer = make_item(title="较晚送审")
    engine.fire(newer, "submit", "drafter_a")  # review due 2026-03-13
    make_item(title="仍在起草")  # waits for its drafter, not for reviewers
    clock.now = dt.datetime(2026, 3, 10, 2, tzinfo=dt.UTC)
    web.sign_in("reviewer_a")
    page = web.client.get("/")
    assert page.status_code == 200
    text = page.text
    assert "仍在起草" not in text
    assert text.index("较早送审") < text.index("较晚送审")
    assert "已逾期 1 个工作日" in text and "还剩 3 个工作日" in text
    assert "共 2 项待办, 其中 1 项已逾期" in text
    assert "2026年3月9日" in text  # dates through Babel
    csrf = web.csrf("/")
    web.client.post("/prefs", data={"csrf": csrf, "lang": "en", "next": "/"})
    english = web.client.get("/").text
    assert "2 items waiting, 1 overdue" in english
    assert "1 working day overdue" in english and "3 working days left" in english  # plurals read right
    assert "Mar 9, 2026" in english
    web.sign_in("drafter_a")
    assert "仍在起草" in web.client.get("/").text and "较早送审" not in web.client.get("/").text


# ---- the item page ------------------------------------------------------------------------------


def test_the_item_page_shows_the_chain_history_and_my_buttons(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    item_id = make_item(title="预算公开", body="原稿第一段。")
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "send_back", "reviewer_a", comment="请删去个人信息")
    engine.edit(item_id, "drafter_a", body="修改后第一段。")
    engine.fire(item_id, "submit", "drafter_a")
    reference = engine.show(item_id).reference
    web.sign_in("reviewer_b")
    page = web.client.get(f"/items/{reference}")
    assert page.status_code == 200
    html = page.text
    assert "<svg" in html and "当前" in html  # the chain, the current state marked
    assert "请删去个人信息" in html  # history from the audit log
    # What changed since reviewer_a sent it back: the old wording struck out, the new one marked.
    assert "自 reviewer_a" in html and "<del>原稿</del>" in html and "<ins>修改后</ins>" in html
    assert 'name="trigger" value="clear"' in html and 'name="trigger" value="withhold"' in html
    csrf = web.csrf(f"/items/{reference}")
    version = engine.show(item_id).version
    fired = web.client.post(
        f"/items/{reference}/fire", data={"csrf": csrf, "trigger": "clear", "version": str(version)}
    )
    assert fired.status_code == 303 and engine.show(item_id).state == "leadership_signoff"
    stale = web.client.post(
        f"/items/{reference}/fire", data={"csrf": csrf, "trigger": "clear", "version": str(version)}
    )
    assert stale.status_code == 409 and "reviewer_b" in stale.text


def test_who_sees_an_item_and_its_body(web: Web, engine: WorkflowEngine, make_item: Callable[..., int]) -> None:
    item_id = make_item(title="机密草稿", body="草稿正文内容")
    engine.fire(item_id, "submit", "drafter_a")
    reference = engine.show(item_id).reference
    web.sign_in("drafter_b")  # another drafter holds no role on it
    assert web.client.get(f"/items/{reference}").status_code == 404
    assert "item_forbidden" in web.security_events()
    web.sign_in("auditor_a")  # auditors see every item, read-only, and no body before publication
    audited = web.client.get(f"/items/{reference}")
    assert audited.status_code == 200 and "草稿正文内容" not in audited.text
    assert 'name="trigger"' not in audited.text
    web.sign_in("reviewer_a")
    assert "草稿正文内容" in web.client.get(f"/items/{reference}").text
    engine.fire(item_id, "clear", "reviewer_a")
    engine.fire(item_id, "sign_off", "leader_a")
    web.sign_in("auditor_a")
    assert "草稿正文内容" in web.client.get(f"/items/{reference}").text  # published: no longer confidential


def test_large_text_and_english_are_remembered_switches(web: Web) -> None:
    web.sign_in("reviewer_a")
    csrf = web.csrf("/")
    assert web.client.post("/prefs", data={"csrf": csrf, "large": "1", "next": "/"}).status_code == 303
    assert (
        web.client.post("/prefs", data={"csrf": csrf, "lang": "en", "next": "//evil.example"}).headers["location"]
        == "/"
    )
    page = web.client.get("/")
    assert 'class="large"' in page.text and "My inbox" in page.text and 'lang="en"' in page.text
    assert web.client.get("/prefs").status_code == 405  # a switch is a form, never a GET


def test_every_form_field_has_a_label(web: Web, engine: WorkflowEngine, make_item: Callable[..., int]) -> None:
    item_id = make_item()
    engine.fire(item_id, "submit", "drafter_a")
    web.sign_in("reviewer_a")
    for path in ("/", f"/items/{engine.show(item_id).reference}", web.link("reviewer_a", item_id, "send_back")):
        html = web.client.get(path).text
        ids = re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', html)
        fields = re.findall(r"<(?:input|select|textarea)(?![^>]*type=\"hidden\")[^>]*>", html)
        assert len(ids) == len(fields), path
        for field_id in ids:
            assert f'for="{field_id}"' in html, (path, field_id)


# ---- auditors and the office ----------------------------------------------------------------------


def test_the_audit_log_filters_and_downloads_for_auditors_only(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    first, second = make_item(title="甲"), make_item(title="乙")
    engine.fire(first, "submit", "drafter_a")
    engine.fire(second, "submit", "drafter_a")
    engine.fire(second, "send_back", "reviewer_a", comment="补充")
    web.sign_in("reviewer_a")
    assert web.client.get("/audit").status_code == 403
    web.sign_in("auditor_a")
    page = web.client.get("/audit", params={"person": "reviewer_a"})
    assert page.status_code == 200 and "补充" in page.text and "显示最近 1 条" in page.text
    reference = engine.show(second).reference
    download = web.client.get("/audit.csv", params={"item": reference})
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text.lstrip("\ufeff"))))
    assert [r["trigger"] for r in rows] == ["send_back", "submit", "create"]
    assert {r["reference"] for r in rows} == {reference} and all(len(r["hash"]) == 64 for r in rows)
    everything = list(csv.DictReader(io.StringIO(web.client.get("/audit.csv").text.lstrip("\ufeff"))))
    assert len(everything) == 5
    # The dates of a filter come back in the form as the date inputs read them (ISO), in either language.
    today = engine.today().isoformat()
    for lang in ("zh", "en"):
        web.client.cookies.set(LANG_COOKIE, lang)
        dated = web.client.get("/audit", params={"since": today, "until": today})
        assert f'name="since" type="date" value="{today}"' in dated.text
        assert f'name="until" type="date" value="{today}"' in dated.text
    web.client.cookies.delete(LANG_COOKIE)


def test_the_audit_log_shows_people_changes(web: Web, engine: WorkflowEngine) -> None:
    engine.add_person("clerk", email="clerk@town.example.gov.cn", roles=["office"], by=Account("root"))
    engine.change_roles("clerk", grant=["leader"], by="admin_a")
    web.sign_in("auditor_a")
    page = web.client.get("/audit", params={"person": "clerk"})
    assert page.status_code == 200 and "显示最近 2 条" in page.text
    assert "人员: clerk" in page.text and "更改角色" in page.text and "cli:root" in page.text
    rows = list(csv.DictReader(io.StringIO(web.client.get("/audit.csv").text.lstrip("\ufeff"))))
    assert [(r["trigger"], r["person"], r["actor"], r["role"], r["item_id"]) for r in rows] == [
        ("person.roles", "clerk", "admin_a", "admin", ""),
        ("person.add", "clerk", "cli:root", "os_account", ""),
    ]
    assert json.loads(rows[0]["details"]) == {"granted": ["leader"], "removed": [], "roles": ["leader", "office"]}


def test_the_office_sees_failed_messages_and_retries_one(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    from notifications.notices import Notifier

    engine.notifier = Notifier(web.app.mail)
    item_id = make_item()
    engine.fire(item_id, "submit", "drafter_a")
    with engine.db.begin() as conn:
        failed_id = conn.execute(select(outbox.c.id).order_by(outbox.c.id).limit(1)).scalar_one()
        conn.execute(
            update(outbox).where(outbox.c.id == failed_id).values(status="failed", last_error="550 no such user")
        )
    web.sign_in("reviewer_a")
    assert web.client.get("/outbox").status_code == 403
    web.sign_in("office_a")
    page = web.client.get("/outbox")
    assert page.status_code == 200 and "550 no such user" in page.text
    retried = web.client.post(f"/outbox/{failed_id}/retry", data={"csrf": web.csrf("/outbox")})
    assert retried.status_code == 303
    with engine.db.connect() as conn:
        assert conn.execute(select(outbox.c.status).where(outbox.c.id == failed_id)).scalar_one() == "pending"


def test_a_link_to_review_again_shows_that_nothing_changed(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    item_id = make_item(body="不变的正文。")
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "send_back", "reviewer_a", comment="请核实")
    engine.fire(item_id, "submit", "drafter_a")  # resubmitted without an edit
    page = web.client.get(web.link("reviewer_a", item_id, "clear"))
    assert "正文没有修改" in page.text and "<del>" not in page.text


# ---- configuration and the command ----------------------------------------------------------------


def test_link_and_session_lifetimes_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from workflow.tokens import TokenRefused
    from workflow.wiring import tokens_for

    settings = Settings.from_env(
        {"GONGKAI_SECRET_KEY": "s" * 40, "GONGKAI_ACTION_LINK_DAYS": "2", "GONGKAI_SESSION_HOURS": "1"}
    )
    tokens = tokens_for(settings)
    real = time.time()
    with monkeypatch.context() as past:
        past.setattr(time, "time", lambda: real - 3 * 24 * 3600)
        old_link = tokens.action("reviewer_a", 1, "clear", 2)
        old_session = tokens.session("reviewer_a")
    with pytest.raises(TokenRefused) as refused:
        tokens.read_action(old_link)
    assert refused.value.reason == "expired"
    assert tokens.read_session(old_session) is None
    assert tokens.read_action(tokens.action("reviewer_a", 1, "clear", 2)).trigger == "clear"
    for bad in ("0", "-1", "seven"):
        with pytest.raises(ConfigurationError) as error:
            Settings.from_env({"GONGKAI_ACTION_LINK_DAYS": bad})
        assert "GONGKAI_ACTION_LINK_DAYS" in error.value.render("en")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_gongkai_web_serves_and_refuses_to_start_without_a_secret(tmp_path: Path, workers: str) -> None:
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.conftest import AUDIT_KEY, DEFINITIONS

    gongkai = Path(sys.executable).parent / "gongkai"
    env = {
        **outside_env(),
        "GONGKAI_DATABASE_URL": f"sqlite:///{tmp_path / 'web.db'}", "GONGKAI_AUDIT_KEY": AUDIT_KEY,
        "GONGKAI_DEFINITIONS_DIR": str(DEFINITIONS),
    }  # fmt: skip
    subprocess.run([gongkai, "init"], env=env, check=True, capture_output=True)
    refused = subprocess.run([gongkai, "web"], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "GONGKAI_SECRET_KEY" in refused.stderr
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [gongkai, "web", "--port", str(port), "--workers", workers], env={**env, "GONGKAI_SECRET_KEY": "k" * 40},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/signin", timeout=2) as response:
                    assert (
                        response.status == 200
                        and "frame-ancestors 'none'" in response.headers["content-security-policy"]
                    )
                    break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "gongkai web did not start"
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_each_revision_shows_what_changed_from_the_one_before(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    item_id = make_item(body="第一版：办事时间周一至周五。")
    for trigger, actor in (("submit", "drafter_a"), ("clear", "reviewer_a"), ("sign_off", "leader_a")):
        engine.fire(item_id, trigger, actor)
    engine.fire(item_id, "revise", "drafter_a")  # revision 2
    engine.edit(item_id, "drafter_a", body="第二版：办事时间周一至周六。")
    web.sign_in("drafter_a")
    html = web.client.get(f"/items/{engine.show(item_id).reference}").text
    assert "第 2 稿" in html and "第 1 稿" in html and "与第 1 稿相比的修改" in html
    assert "<del>" in html and "<ins>" in html

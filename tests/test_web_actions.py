"""Action links: GET only shows, POST (with its CSRF token) decides once, by the engine's rules."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import FrozenClock
from tests.web_support import Web, make_web
from workflow.engine import WorkflowEngine
from workflow.settings import Settings


@pytest.fixture
def web(engine: WorkflowEngine, settings: Settings, tmp_path: Path, clock: FrozenClock) -> Web:
    return make_web(engine, settings, tmp_path / "mail", clock)


@pytest.fixture
def in_review(engine: WorkflowEngine, make_item: Callable[..., int]) -> int:
    item_id = make_item(title="村道硬化工程 <script>alert(1)</script>", body="第一段。\n第二段。")
    engine.fire(item_id, "submit", "drafter_a")
    return item_id


def test_opening_a_link_shows_the_decision_and_changes_nothing(web: Web, in_review: int) -> None:
    link = web.link("reviewer_a", in_review, "clear")
    before = (web.engine.show(in_review).version, web.audit_count(), web.used_count())
    for _ in range(3):  # a mail scanner, a link preview, the person
        page = web.client.get(link)
        assert page.status_code == 200
    assert (web.engine.show(in_review).version, web.audit_count(), web.used_count()) == before
    html = page.text
    assert web.engine.show(in_review).reference in html
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    assert "审查通过" in html and 'method="post"' in html
    assert "第一段" in html  # the reviewer reads what they clear


def test_the_button_decides_once_and_the_link_is_then_refused(web: Web, in_review: int) -> None:
    link = web.link("reviewer_a", in_review, "clear")
    csrf = web.csrf(link)
    done = web.client.post(link, data={"csrf": csrf, "comment": "无涉密内容"})
    assert done.status_code == 200, done.text
    item = web.engine.show(in_review)
    assert item.state == "leadership_signoff"
    with web.engine.db.connect() as conn:  # the audit row names the person the link was sent to
        history = conn.execute(text("SELECT actor, trigger, comment FROM audit_log ORDER BY seq DESC LIMIT 1")).one()
    assert tuple(history) == ("reviewer_a", "clear", "无涉密内容")
    again = web.client.get(link)
    assert again.status_code == 410 and "只能使用一次" in again.text
    replay = web.client.post(link, data={"csrf": csrf})
    assert replay.status_code == 410
    assert web.engine.show(in_review).version == item.version
    assert web.security_events().count("action_link_reused") == 2


def test_an_altered_token_is_refused_and_logged(web: Web, in_review: int) -> None:
    link = web.link("reviewer_a", in_review, "clear")
    token = link.rsplit("/", 1)[1]
    altered = f"/act/{token[:-3]}{'AAA' if not token.endswith('AAA') else 'BBB'}"
    for response in (web.client.get(altered), web.client.post(altered, data={"csrf": web.csrf()})):
        assert response.status_code == 400 and "无效" in response.text
    assert web.engine.show(in_review).state == "confidentiality_review"
    assert web.security_events().count("action_link_invalid") == 2


def test_a_token_signed_with_another_key_is_refused(web: Web, in_review: int) -> None:
    from workflow.tokens import Tokens

    forged = Tokens("someone-elses-secret-0123456789-abcdefgh").action("reviewer_a", in_review, "clear", 2)
    assert web.client.get(f"/act/{forged}").status_code == 400


def test_an_expired_link_is_refused_on_the_servers_wall_clock(
    web: Web, in_review: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = time.time()
    with monkeypatch.context() as past:
        past.setattr(time, "time", lambda: real - 8 * 24 * 3600)  # signed eight days ago
        link = web.link("reviewer_a", in_review, "clear")
    response = web.client.get(link)
    assert response.status_code == 410 and "过期" in response.text
    assert web.client.post(link, data={"csrf": web.csrf()}).status_code == 410
    assert web.engine.show(in_review).state == "confidentiality_review"
    assert "action_link_expired" in web.security_events()


def test_a_link_opened_by_someone_else_signed_in_is_refused(web: Web, in_review: int) -> None:
    link = web.link("reviewer_a", in_review, "clear")
    web.sign_in("reviewer_b")
    page = web.client.get(link)
    assert page.status_code == 403 and "reviewer_a" in page.text
    assert web.client.post(link, data={"csrf": web.csrf(), "comment": "x"}).status_code == 403
    assert web.engine.show(in_review).state == "confidentiality_review"
    assert web.security_events().count("action_link_other_user") == 2


def test_a_link_for_a_person_who_may_not_decide_shows_why_and_does_nothing(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    item_id = make_item(actor="multi")  # multi drafts, and is also a reviewer
    engine.fire(item_id, "submit", "multi")
    link = web.link("multi", item_id, "clear")
    page = web.client.get(link)
    assert page.status_code == 403 and "职责分离" in page.text
    response = web.client.post(link, data={"csrf": web.csrf(link)})
    assert response.status_code == 422 and "职责分离" in response.text
    assert engine.show(item_id).state == "confidentiality_review"
    assert web.used_count() == 0


def test_a_stale_link_says_who_acted_and_does_nothing(web: Web, engine: WorkflowEngine, in_review: int) -> None:
    link = web.link("reviewer_a", in_review, "clear")
    csrf = web.csrf(link)
    engine.fire(in_review, "send_back", "reviewer_b", comment="请补充依据")
    page = web.client.get(link)
    assert page.status_code == 409 and "reviewer_b" in page.text and "退回" in page.text
    after = engine.show(in_review)
    assert web.client.post(link, data={"csrf": csrf}).status_code == 409
    assert engine.show(in_review).version == after.version and after.state == "drafting"


def test_a_post_without_its_csrf_token_is_refused(web: Web, in_review: int) -> None:
    link = web.link("reviewer_a", in_review, "clear")
    web.client.get(link)
    assert web.client.post(link, data={"comment": "x"}).status_code == 403
    assert web.client.post(link, data={"csrf": "0" * 64}).status_code == 403
    assert web.engine.show(in_review).state == "confidentiality_review"
    assert web.security_events().count("csrf_refused") == 2


def test_a_required_comment_is_asked_for_and_the_link_still_works_after(web: Web, in_review: int) -> None:
    link = web.link("reviewer_a", in_review, "send_back")
    page = web.client.get(link)
    assert "意见 (必填)" in page.text and "required" in page.text
    csrf = web.csrf(link)
    missing = web.client.post(link, data={"csrf": csrf, "comment": "  "})
    assert missing.status_code == 422 and "意见" in missing.text
    assert web.engine.show(in_review).state == "confidentiality_review" and web.used_count() == 0
    done = web.client.post(link, data={"csrf": csrf, "comment": "附件含个人信息"})
    assert done.status_code == 200 and web.engine.show(in_review).state == "drafting"


def test_two_posts_of_one_link_at_once_decide_once(web: Web, in_review: int) -> None:
    import threading

    link = web.link("reviewer_a", in_review, "clear")
    csrf = web.csrf(link)
    codes: list[int] = []
    barrier = threading.Barrier(2)

    def press() -> None:
        barrier.wait()
        codes.append(web.client.post(link, data={"csrf": csrf}).status_code)

    threads = [threading.Thread(target=press) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) in ([200, 409], [200, 410])
    assert web.engine.show(in_review).state == "leadership_signoff"
    assert web.used_count() == 1


def test_every_response_carries_the_security_headers(web: Web, in_review: int) -> None:
    for response in (web.client.get(web.link("reviewer_a", in_review, "clear")), web.client.get("/nowhere")):
        headers = response.headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["cache-control"] == "no-store"


def test_the_office_reads_the_security_log_with_the_cli(web: Web, in_review: int, settings: Settings) -> None:
    import json

    from click.testing import CliRunner

    from tests.conftest import AUDIT_KEY
    from workflow.cli.main import main

    web.client.get(f"/act/{'x' * 40}")
    env = {"GONGKAI_DATABASE_URL": settings.database_url, "GONGKAI_AUDIT_KEY": AUDIT_KEY,
           "GONGKAI_DEFINITIONS_DIR": str(settings.definitions_dir)}  # fmt: skip
    result = CliRunner().invoke(main, ["security-log", "--json"], env=env)
    assert result.exit_code == 0, result.output
    events = json.loads(result.output)
    assert events[0]["event"] == "action_link_invalid" and events[0]["client"]
    text = CliRunner().invoke(main, ["security-log", "--event", "action_link_invalid"], env=env)
    assert "action_link_invalid" in text.output


def test_notices_offer_the_decisions_that_are_open_when_they_are_sent(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int], tmp_path: Path, clock: FrozenClock
) -> None:
    import email
    from email import policy

    from notifications.notices import Notifier
    from notifications.settings import MailSettings
    from notifications.transport import FolderTransport
    from workflow.worker.passes import Worker

    folder = tmp_path / "sent"
    mail = MailSettings(smtp_url=None, mail_dir=folder, base_url="http://testserver")
    engine.notifier = Notifier(mail, signer=web.tokens)
    moved_on = make_item(title="已被退回的事项")
    engine.fire(moved_on, "submit", "drafter_a")
    engine.fire(moved_on, "send_back", "reviewer_b", comment="先退回")  # before any notice went out
    waiting = make_item(title="仍待审查的事项", actor="multi")
    engine.fire(waiting, "submit", "multi")
    Worker(engine, Notifier(mail, signer=web.tokens), lambda: FolderTransport(folder)).run_pass(clock.now)
    sent: dict[tuple[str, str], str] = {}
    for path in folder.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        title = "已被退回" if "已被退回" in str(message["Subject"]) else "仍待审查"
        sent[(str(message["To"]).split("@")[0], title + ":" + str(message["Subject"]).split()[1])] = body
    assert ("reviewer_a", "已被退回:保密审查") not in sent  # it moved on before it went out: not sent at all
    assert "- 送审：http://testserver/act/" in sent[("drafter_a", "已被退回:起草")]
    offered = sent[("reviewer_a", "仍待审查:保密审查")]
    assert all(f"- {label}：http://testserver/act/" in offered for label in ("审查通过", "退回", "不予公开"))
    assert ("multi", "仍待审查:保密审查") not in sent  # the actor is not told of their own act


def test_links_made_for_a_version_the_item_left_are_none(web: Web, engine: WorkflowEngine, in_review: int) -> None:
    from workflow.worker.links import EmailLinks

    links = EmailLinks(engine, web.tokens)
    version = engine.show(in_review).version
    acting = {"user": "reviewer_a", "item_id": in_review, "version": version, "roles": ["confidentiality_reviewer"]}
    assert [link.label for link in links.links("http://testserver", acting, "zh")] == ["审查通过", "退回", "不予公开"]
    engine.fire(in_review, "clear", "reviewer_b")
    assert links.links("http://testserver", acting, "zh") == []
    assert links.links("http://testserver", {**acting, "item_id": 999999}, "zh") == []


def test_a_decision_that_needs_a_field_asks_for_it(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    request_id = make_item("disclosure_request")
    engine.fire(request_id, "register", "office_a")
    link = web.link("office_b", request_id, "draft_reply")
    page = web.client.get(link)
    assert page.status_code == 200
    assert 'name="field_outcome"' in page.text and '<option value="partly_disclosed">部分公开</option>' in page.text
    csrf = web.csrf(link)
    bad = web.client.post(link, data={"csrf": csrf, "field_outcome": "whatever"})
    assert bad.status_code == 422 and "whatever" in bad.text
    assert engine.show(request_id).state == "processing"
    done = web.client.post(link, data={"csrf": csrf, "field_outcome": "partly_disclosed"})
    assert done.status_code == 200
    item = engine.show(request_id)
    assert item.state == "reply_review" and item.fields["outcome"] == "partly_disclosed"
    web.sign_in("office_a")
    shown = web.client.get(f"/items/{item.reference}").text
    assert "自然人" in shown and "网络" in shown and "部分公开" in shown  # choices as people call them

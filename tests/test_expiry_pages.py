"""The office sees the public side of an item: ``item show --json`` and the item page's header; and the
leader gives 有效期至 on the sign-off confirmation page."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FrozenClock
from tests.test_cli import Office, fresh, template  # noqa: F401 (the fixtures)
from tests.web_support import Web, make_web
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.web.app import LANG_COOKIE


def test_item_show_json_gives_the_public_side(fresh: Office) -> None:  # noqa: F811
    item_id, ref = fresh.create("proactive_disclosure", "防汛值班安排", "drafter", "--category", "03")
    fresh.ok("item", "fire", ref, "submit", "--as", "drafter")
    fresh.ok("item", "fire", ref, "clear", "--as", "reviewer")
    assert fresh.show(item_id)["public"] is None

    past = fresh.run("item", "fire", ref, "sign_off", "--as", "leader", "--field", "unpublish_at=2020-01-01T00:00")
    assert past.returncode == 1 and len(past.stderr.strip().splitlines()) == 1
    assert "unpublish_at" in past.stderr and "2020-01-01T00:00" in past.stderr
    assert fresh.show(item_id)["state"] == "leadership_signoff"

    fresh.ok("item", "fire", ref, "sign_off", "--as", "leader", "--field", "unpublish_at=2099-12-31T17:00")
    shown = fresh.show(item_id)
    public = shown["public"]
    assert set(public) == {"status", "first_published_at", "published_at", "revised_at", "expires_at", "status_at"}
    assert public["status"] == "current" and public["revised_at"] is None
    assert public["expires_at"] == "2099-12-31T17:00:00+08:00"
    assert public["published_at"] == public["first_published_at"] == shown["published_at"]

    fresh.ok("item", "fire", ref, "withdraw", "--as", "leader2", "--comment", "信息有误")
    public = fresh.show(item_id)["public"]
    assert public["status"] == "withdrawn" and public["status_at"] >= public["published_at"]


@pytest.fixture
def web(engine: WorkflowEngine, settings: Settings, tmp_path: Path, clock: FrozenClock) -> Web:
    return make_web(engine, settings, tmp_path / "mail", clock)


@pytest.fixture
def cleared(engine: WorkflowEngine, make_item: Callable[..., int]) -> int:
    item_id = make_item(title="农村低保名单公示")
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "clear", "reviewer_a")
    return item_id


def test_the_sign_off_page_offers_valid_until_as_an_optional_input(web: Web, cleared: int) -> None:
    link = web.link("leader_a", cleared, "sign_off")
    page = web.client.get(link)
    assert page.status_code == 200
    found = re.search(r"<input[^>]*name=\"field_unpublish_at\"[^>]*>", page.text)
    assert found is not None, page.text
    assert 'type="datetime-local"' in found.group(0) and "required" not in found.group(0)
    assert "有效期至" in page.text and "（可不填）" in page.text and "移出现行目录" in page.text  # label and help

    done = web.client.post(link, data={"csrf": web.csrf(link), "field_unpublish_at": "2026-09-30T18:00"})
    assert done.status_code == 200, done.text
    public = web.engine.public(cleared)
    assert public is not None and public.expires_at == dt.datetime(2026, 9, 30, 10, 0, tzinfo=dt.UTC)


def test_the_sign_off_page_without_valid_until_publishes_with_no_end(web: Web, cleared: int) -> None:
    link = web.link("leader_a", cleared, "sign_off")
    done = web.client.post(link, data={"csrf": web.csrf(link), "field_unpublish_at": ""})
    assert done.status_code == 200, done.text
    public = web.engine.public(cleared)
    assert public is not None and public.expires_at is None


def test_the_item_page_header_shows_the_public_status_and_valid_until(
    web: Web, engine: WorkflowEngine, cleared: int, clock: FrozenClock
) -> None:
    web.sign_in("leader_a")
    before = web.client.get(f"/items/{engine.show(cleared).reference}").text
    assert "公开状态" not in before
    set_expiry = re.search(r'<input[^>]*name="field_unpublish_at"[^>]*>', before)
    assert set_expiry is not None and "required" not in set_expiry.group(0)  # offered on the sign-off form

    engine.fire(cleared, "sign_off", "leader_a", fields={"unpublish_at": "2026-03-10T09:00"})
    page = web.client.get(f"/items/{engine.show(cleared).reference}").text
    assert "公开状态（有效性）" in page and "<strong>有效</strong>" in page
    assert "有效期至 2026-03-10 09:00" in page and "索引号" in page
    # set_expiry is offered to the leader on the published item, its field required there
    required = re.search(r'<input[^>]*id="set_expiry_field_unpublish_at"[^>]*>', page)
    assert required is not None and "required" in required.group(0)

    engine.fire_timed(
        cleared, "expire", expected_version=engine.show(cleared).version,
        as_of=dt.datetime(2026, 3, 10, 1, 0, tzinfo=dt.UTC),
    )  # fmt: skip
    expired = web.client.get(f"/items/{engine.show(cleared).reference}").text
    assert "<strong>已失效</strong>" in expired and "自 2026-03-02 10:00 起" in expired
    web.client.cookies.set(LANG_COOKIE, "en")
    english = web.client.get(f"/items/{engine.show(cleared).reference}").text
    assert "<strong>Expired</strong>" in english and "since 2026-03-02 10:00" in english

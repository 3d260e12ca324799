"""The item page's 公开渠道 section: each channel's status, for the staff signed in."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FrozenClock
from tests.web_support import Web, make_web
from workflow.engine import WorkflowEngine
from workflow.publishing.channels.runner import perform_due
from workflow.publishing.channels.webhook import WebhookChannel
from workflow.settings import Settings
from workflow.web.app import LANG_COOKIE


@pytest.fixture
def web(engine: WorkflowEngine, settings: Settings, tmp_path: Path, clock: FrozenClock) -> Web:
    return make_web(engine, settings, tmp_path / "mail", clock)


def test_the_item_page_shows_each_channel_and_a_failure(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock
) -> None:
    item_id = make_item(title="渠道状态")
    ref = engine.show(item_id).reference
    web.sign_in("leader_a")
    assert "公开渠道" not in web.client.get(f"/items/{ref}").text  # not published: no channels yet
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "clear", "reviewer_a")
    engine.fire(item_id, "sign_off", "leader_a")
    unsigned = WebhookChannel("http://127.0.0.1:9/", None, engine.registry.office(), engine.registry.catalog(),
                              engine.zone)  # fmt: skip
    perform_due(engine, {"webhook": unsigned}, "test:1:web", clock.now, wall=clock.now)
    page = web.client.get(f"/items/{ref}").text
    section = page[page.index('id="channels-h"') :]
    section = section[: section.index("</section>")]
    for expected in ("公开渠道", "政府信息公开网站", "县级政务公开平台", "村务公开栏", "待处理", "失败（不再自动重试）",
                     "GONGKAI_WEBHOOK_SECRET is not set", f"gongkai publication retry {ref}"):  # fmt: skip
        assert expected in section, expected
    web.client.cookies.set(LANG_COOKIE, "en")
    english = web.client.get(f"/items/{ref}").text
    assert "Publication channels" in english and "County platform" in english and "failed, not retried" in english
    web.sign_out()
    assert "GONGKAI_WEBHOOK_SECRET" not in web.client.get(f"/items/{ref}").text

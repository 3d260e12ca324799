"""公开预览: before sign-off the leader sees the item as the public will, on the item page, on the sign-off
confirmation page, on /items/{ref}/preview and in the file ``gongkai item preview`` writes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests import sample_files
from tests.conftest import FrozenClock
from tests.site_support import Page, builder_for, publish, read_page
from tests.test_cli import base_env, run
from tests.web_support import Web, make_web
from workflow.core.attachments import Upload
from workflow.engine import WorkflowEngine
from workflow.settings import Settings

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def web(engine: WorkflowEngine, settings: Settings, tmp_path: Path, clock: FrozenClock) -> Web:
    return make_web(engine, settings, tmp_path / "mail", clock)


def at_signoff(engine: WorkflowEngine, make_item: Callable[..., int], **kwargs: object) -> int:
    item_id = make_item(**kwargs)
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "clear", "reviewer_a")
    return item_id


def test_the_preview_command_writes_a_standalone_page(
    engine: WorkflowEngine, make_item: Callable[..., int], settings: Settings, tmp_path: Path
) -> None:
    item_id = at_signoff(
        engine, make_item, title="村道维修公告", category="06", body="维修期间**绕行**。",
        meta={"doc_number": "荷政发〔2026〕3号", "subjects": ["交通"]},
    )  # fmt: skip
    env = {**base_env(settings.database_url), "GONGKAI_FILES_DIR": str(tmp_path / "files")}
    out = tmp_path / "preview.html"
    result = run(tmp_path, env, "item", "preview", str(item_id), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    page = read_page(out)
    assert not page.problems
    assert "村道维修公告" in page.title
    for text in (
        "公开预览",
        "索引号 发布时生成",
        "发布机构 腾冲市荷花镇人民政府",
        "公开目录 便民服务",
        "文号 荷政发〔2026〕3号",
    ):
        assert text in page.text, text
    html = out.read_text(encoding="utf-8")
    assert "<style>" in html and "line-break: strict" in html and 'rel="stylesheet"' not in html
    assert "<strong>绕行</strong>" in html
    missing = run(tmp_path, env, "item", "preview", "GK-2026-9999", "--out", str(tmp_path / "none.html"))
    assert missing.returncode == 2 and not (tmp_path / "none.html").exists()


def test_a_republication_preview_keeps_the_number_and_shows_the_revision(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock, tmp_path: Path
) -> None:
    from workflow.publishing.site import SiteRenderer
    from workflow.publishing.site.preview import preview_page, would_be

    item_id = publish(engine, make_item, title="办事指南", category="06")
    number, _ = engine.publication(item_id)
    clock.advance(days=2)
    engine.fire(item_id, "revise", "drafter_a")
    engine.edit(item_id, "drafter_a", body="新的正文")
    renderer = SiteRenderer(builder_for(engine, tmp_path / "site").config)
    page = Page(preview_page(renderer, would_be(engine, item_id)))
    assert f"索引号 {number}" in page.text and "修订 2026-03-04" in page.text and "新的正文" in page.text


def test_the_item_page_and_the_sign_off_confirmation_show_the_preview(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    item_id = make_item(title="春耕补贴发放", category="06", body="补贴标准见附件。")
    engine.attach(item_id, "drafter_a", [Upload("标准.pdf", __import__("io").BytesIO(sample_files.pdf()))])
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "clear", "reviewer_a")
    ref = engine.show(item_id).reference
    web.sign_in("leader_a")
    item_page = web.client.get(f"/items/{ref}")
    assert item_page.status_code == 200
    page = Page(item_page.text)
    assert not page.problems
    assert "公开预览" in page.text and "索引号 发布时生成" in page.text and "补贴标准见附件。" in page.text
    assert "标准.pdf" in page.text
    assert all(b - a <= 1 for a, b in zip(page.headings, page.headings[1:], strict=False)), page.headings
    whole = web.client.get(f"/items/{ref}/preview")
    assert whole.status_code == 200 and "/public-assets/site.css" in whole.text
    assert "公开预览" in whole.text and "春耕补贴发放" in whole.text
    assert web.client.get("/public-assets/site.css").status_code == 200
    web.sign_out()
    confirm = web.client.get(web.link("leader_a", item_id, "sign_off"))
    assert confirm.status_code == 200
    assert "公开预览" in confirm.text and "发布时生成" in confirm.text and "春耕补贴发放" in confirm.text
    send_back = web.client.get(web.link("leader_a", item_id, "send_back"))
    assert send_back.status_code == 200 and "公开预览" not in send_back.text
    engine.fire(item_id, "sign_off", "leader_a")
    web.sign_in("leader_a")
    assert "公开预览" not in web.client.get(f"/items/{ref}").text
    assert web.client.get(f"/items/{ref}/preview").status_code == 404


def test_no_preview_for_who_may_not_read_the_body(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    item_id = at_signoff(engine, make_item, title="保密审查后的信息")
    ref = engine.show(item_id).reference
    web.sign_in("drafter_b")
    assert web.client.get(f"/items/{ref}/preview").status_code == 404


def test_site_build_builds_then_catches_up(
    engine: WorkflowEngine, make_item: Callable[..., int], settings: Settings, tmp_path: Path, clock: FrozenClock
) -> None:
    publish(engine, make_item, title="第一条", category="08")
    env = {
        **base_env(settings.database_url), "GONGKAI_FILES_DIR": str(tmp_path / "files"),
        "GONGKAI_SITE_DIR": str(tmp_path / "public" / "site"),
    }  # fmt: skip
    first = run(tmp_path, env, "site", "build")
    assert first.returncode == 0, first.stderr
    assert "完整构建：1 条公开信息" in first.stdout
    assert (tmp_path / "public" / "site").is_symlink()
    assert run(tmp_path, env, "site", "build").stdout.strip() == "网站已是最新"
    clock.advance(hours=1)
    later = publish(engine, make_item, title="第二条", category="08")
    caught_up = run(tmp_path, env, "site", "build")
    assert caught_up.returncode == 0 and "更新了 1 条过时的信息" in caught_up.stdout
    assert engine.show(later).reference in (tmp_path / "public/site/catalog/08/index.html").read_text(encoding="utf-8")
    full = run(tmp_path, env, "site", "build", "--full")
    assert full.returncode == 0 and "完整构建：2 条公开信息" in full.stdout

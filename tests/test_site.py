"""The public catalogue site built from ``publications``: pages, listings, the archive, the feed and the
sitemap; incremental updates that write only what shows the items they are given."""

from __future__ import annotations

import datetime as dt
import hashlib
import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from sqlalchemy import select

from tests import sample_files
from tests.conftest import FrozenClock
from tests.site_support import builder_for, publish, read_page, site_files
from workflow.core.errors import ConfigurationError
from workflow.core.publication import EXPIRED
from workflow.engine import WorkflowEngine
from workflow.publishing.channels.base import ChannelJob
from workflow.publishing.channels.portal import PortalChannel
from workflow.publishing.site import layout
from workflow.publishing.site.manifest import Manifest
from workflow.publishing.site.render import human_size
from workflow.store.publications import end_publication, public_item, publications

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
ORGAN = "腾冲市荷花镇人民政府"


def ref_of(engine: WorkflowEngine, item_id: int) -> str:
    return engine.show(item_id).reference


def listed_refs(path: Path) -> set[str]:
    """The items a listing page links to."""
    return {
        posixpath.basename(link)[: -len(".html")]
        for link in read_page(path).links
        if link.split("/")[-2:-1] == ["items"]
    }


def test_a_published_item_shows_every_field_its_attachment_and_its_number(
    engine: WorkflowEngine, make_item: Callable[..., int], tmp_path: Path
) -> None:
    content = sample_files.pdf("防汛安排")
    item_id = publish(
        engine, make_item, title="第三季度防汛工作安排", category="07", body="本镇第三季度**防汛**工作安排。",
        meta={"doc_number": "荷政发〔2026〕12号", "subjects": ["防汛", "应急"]}, fields={"formed_on": "2026-02-27"},
        files=(("安排表.pdf", content),),
    )  # fmt: skip
    number, _ = engine.publication(item_id)
    report = builder_for(engine, tmp_path / "site").full()
    site = tmp_path / "site"
    assert report.kind == "full" and site.is_symlink()
    page = read_page(site / "items" / f"{ref_of(engine, item_id)}.html")
    text = page.text
    for label, value in [
        ("索引号", number), ("发布机构", ORGAN), ("公开目录", "应急管理"), ("发布日期", "2026-03-02 10:00:00"),
        ("成文日期", "2026-02-27"), ("文号", "荷政发〔2026〕12号"), ("主题词", "防汛、应急"), ("有效性", "有效"),
    ]:  # fmt: skip
        assert f"{label} {value}" in text, (label, value, text)
    assert number == "01526086-8-07/2026-00001"
    assert "第三季度防汛工作安排" in page.title and "本镇第三季度 防汛 工作安排。" in text
    assert "修订" not in text
    sha = hashlib.sha256(content).hexdigest()
    link = next(link for link in page.links if link.startswith("../files/"))
    assert link == f"../files/{sha}/{quote('安排表.pdf')}"
    assert (site / "files" / sha / "安排表.pdf").read_bytes() == content
    assert f"安排表.pdf ({human_size(len(content))})" in text
    ref = ref_of(engine, item_id)
    assert ref in listed_refs(site / "index.html")
    assert ref in listed_refs(site / "catalog/07/index.html")
    assert ref in listed_refs(site / "catalog/07/page-1.html")
    assert ref not in listed_refs(site / "archive/index.html")
    assert "应急管理 1 条" in read_page(site / "index.html").text


def test_attachment_links_resolve_to_the_file_with_its_name(
    engine: WorkflowEngine, make_item: Callable[..., int], tmp_path: Path
) -> None:
    content = sample_files.pdf()
    item_id = publish(engine, make_item, files=(("预算 说明.pdf", content),))
    builder_for(engine, tmp_path / "site").full()
    site = tmp_path / "site"
    for copy in ("items", "elder/items"):
        page = read_page(site / copy / f"{ref_of(engine, item_id)}.html")
        link = next(link for link in page.links if "files/" in link)
        assert (site / copy / unquote(link)).resolve().read_bytes() == content


def test_withdrawn_item_leaves_every_listing_and_its_page_says_so(
    engine: WorkflowEngine, make_item: Callable[..., int], tmp_path: Path, clock: FrozenClock
) -> None:
    content = sample_files.pdf("撤回")
    kept = publish(engine, make_item, title="保留的信息", category="07")
    gone = publish(
        engine, make_item, title="将撤回的信息", category="07", body="秘密正文", files=(("撤回.pdf", content),)
    )
    builder = builder_for(engine, tmp_path / "site")
    builder.full()
    site = tmp_path / "site"
    ref, kept_ref = ref_of(engine, gone), ref_of(engine, kept)
    assert ref in listed_refs(site / "catalog/07/index.html")
    clock.advance(days=3)
    engine.fire(gone, "withdraw", "leader_a", comment="内容有误，撤回")
    report = builder.update([gone])
    assert report.kind == "incremental"
    for listing in ("index.html", "catalog/07/index.html", "catalog/07/page-1.html", "archive/index.html"):
        for copy in ("", "elder/"):
            refs = listed_refs(site / f"{copy}{listing}")
            assert ref not in refs, listing
    assert kept_ref in listed_refs(site / "catalog/07/index.html")
    feed = ET.parse(site / "feed.xml").getroot()
    assert [e.findtext(f"{ATOM}id") for e in feed.iter(f"{ATOM}entry")] == [
        f"https://www.tengchong.gov.cn/hehua/items/{kept_ref}.html"
    ]
    chunk = ET.parse(site / layout.sitemap_chunk(1)).getroot()
    locs = [u.findtext(f"{SITEMAP}loc") for u in chunk.iter(f"{SITEMAP}url")]
    assert locs == [f"https://www.tengchong.gov.cn/hehua/items/{kept_ref}.html"]
    page = read_page(site / "items" / f"{ref}.html")
    assert "已撤回" in page.text and "2026-03-05" in page.text
    assert "将撤回的信息" not in page.text and "秘密正文" not in page.text and "内容有误" not in page.text
    assert not (site / "files" / hashlib.sha256(content).hexdigest()).exists()
    assert "应急管理 1 条" in read_page(site / "index.html").text
    # Listings were rewritten before the page that now says 已撤回.
    assert report.written.index("catalog/07/index.html") < report.written.index(f"items/{ref}.html")


def test_expired_and_repealed_items_move_to_the_archive(
    engine: WorkflowEngine, make_item: Callable[..., int], tmp_path: Path, clock: FrozenClock
) -> None:
    expiring = publish(engine, make_item, title="过期的通知", category="06")
    document = make_item("normative_document", title="废止的规范性文件", category="04")
    engine.fire(document, "submit", "drafter_a")
    engine.fire(document, "pass_legality", "legal_a")
    engine.fire(document, "clear", "reviewer_a")
    engine.fire(document, "sign_off", "leader_a")
    engine.fire(document, "sign_off", "leader_b")
    builder = builder_for(engine, tmp_path / "site")
    builder.full()
    site = tmp_path / "site"
    clock.advance(days=10)
    # The expiry itself is the worker's (another change); here the publication is ended as the engine does.
    with engine.db.begin() as conn:
        assert end_publication(conn, expiring, EXPIRED, clock.now)
    engine.fire(document, "repeal", "leader_a", comment="上位法修改")
    builder.update([expiring, document])
    archive = listed_refs(site / "archive/index.html")
    assert archive == {ref_of(engine, expiring), ref_of(engine, document)}
    assert ref_of(engine, expiring) not in listed_refs(site / "catalog/06/index.html")
    assert ref_of(engine, document) not in listed_refs(site / "catalog/04/index.html")
    assert "有效性 已失效" in read_page(site / "items" / f"{ref_of(engine, expiring)}.html").text
    assert "有效性 已废止" in read_page(site / "items" / f"{ref_of(engine, document)}.html").text
    assert "已失效信息 2 条" in read_page(site / "index.html").text.replace("（不再有效）", "")
    feed = (site / "feed.xml").read_text(encoding="utf-8")
    assert ref_of(engine, expiring) not in feed
    assert ref_of(engine, expiring) in (site / layout.sitemap_chunk(1)).read_text(encoding="utf-8")


def test_a_revised_item_keeps_its_number_and_shows_the_revision(
    engine: WorkflowEngine, make_item: Callable[..., int], tmp_path: Path, clock: FrozenClock
) -> None:
    item_id = publish(engine, make_item, title="办事指南", category="06", body="旧的办理时间。")
    number, _ = engine.publication(item_id)
    builder = builder_for(engine, tmp_path / "site")
    builder.full()
    clock.advance(days=40)
    engine.fire(item_id, "revise", "drafter_a")
    engine.edit(item_id, "drafter_a", body="新的办理时间：工作日全天。")
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "clear", "reviewer_a")
    builder.update([item_id])  # the revision in progress is not public: the page still shows the old text
    page = (tmp_path / "site/items" / f"{ref_of(engine, item_id)}.html").read_text(encoding="utf-8")
    assert "旧的办理时间" in page and "修订" not in page
    engine.fire(item_id, "sign_off", "leader_a")
    builder.update([item_id])
    text = read_page(tmp_path / "site/items" / f"{ref_of(engine, item_id)}.html").text
    assert engine.publication(item_id)[0] == number
    assert f"索引号 {number}" in text and "新的办理时间" in text and "旧的办理时间" not in text
    assert "修订 2026-04-11" in text and "发布日期 2026-03-02 10:00:00" in text
    assert "修订" in read_page(tmp_path / "site/catalog/06/index.html").text


def test_an_update_writes_only_what_shows_the_item(
    engine: WorkflowEngine, make_item: Callable[..., int], tmp_path: Path, clock: FrozenClock
) -> None:
    for n in range(layout.PAGE_SIZE):
        publish(engine, make_item, title=f"信息{n}", category="03")
        clock.advance(minutes=1)
    other = publish(engine, make_item, title="别的目录", category="08")
    builder = builder_for(engine, tmp_path / "site")
    builder.full()
    site = tmp_path / "site"
    before = {name: (site / name).stat().st_mtime_ns for name in site_files(site.resolve())}
    before = {name: at for name, at in before.items() if not name.startswith("search/")}
    clock.advance(minutes=1)
    newest = publish(engine, make_item, title="第二十一条", category="03")
    report = builder.update([newest])
    ref = ref_of(engine, newest)
    expected = {
        f"items/{ref}.html", "catalog/03/page-2.html", "catalog/03/page-1.html", "catalog/03/index.html",
        "index.html",
    }  # fmt: skip
    expected = expected | {f"elder/{p}" for p in expected} | {"feed.xml", layout.sitemap_chunk(1)}
    assert set(report.written) == expected  # the search index writes its own files (tests/test_search.py)
    after = {name: (site / name).stat().st_mtime_ns for name in site_files(site.resolve())}
    after = {name: at for name, at in after.items() if not name.startswith("search/")}
    changed = {name for name in before if after.get(name) != before[name]}
    assert changed <= expected and f"items/{ref_of(engine, other)}.html" not in changed
    assert set(after) - set(before) == {f"items/{ref}.html", f"elder/items/{ref}.html", "catalog/03/page-2.html",
                                        "elder/catalog/03/page-2.html"}  # fmt: skip
    assert listed_refs(site / "catalog/03/page-2.html") == {ref}
    assert len(listed_refs(site / "catalog/03/page-1.html")) == layout.PAGE_SIZE
    assert "page-2.html" in read_page(site / "catalog/03/page-1.html").links
    assert ref in listed_refs(site / "catalog/03/index.html")
    # Up to date: nothing to do.
    assert builder.out_of_date() == []
    assert builder.catch_up().kind == "none"


def test_without_a_live_site_an_update_is_a_full_build_and_builds_are_pruned(
    engine: WorkflowEngine, make_item: Callable[..., int], tmp_path: Path
) -> None:
    item_id = publish(engine, make_item)
    builder = builder_for(engine, tmp_path / "site")
    assert builder.update([item_id]).kind == "full"
    first = (tmp_path / "site").resolve()
    second = builder.full().build
    third = builder.full().build
    assert second is not None and third is not None
    assert (tmp_path / "site").resolve() == third
    builds = {p.name for p in (tmp_path / "site.builds").iterdir() if p.is_dir()}
    assert builds == {second.name, third.name} and first.name not in builds


def test_a_folder_in_the_sites_place_is_refused(engine: WorkflowEngine, tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("hand-made")
    with pytest.raises(ConfigurationError) as refused:
        builder_for(engine, tmp_path / "site").full()
    assert "GONGKAI_SITE_DIR" in refused.value.render("en")
    assert (tmp_path / "site" / "index.html").read_text() == "hand-made"


def test_the_feed_and_the_sitemap_are_valid(
    engine: WorkflowEngine, make_item: Callable[..., int], tmp_path: Path, clock: FrozenClock
) -> None:
    ids = []
    for n in range(3):
        ids.append(publish(engine, make_item, title=f"通知<{n}>&", category="08"))
        clock.advance(hours=1)
    builder_for(engine, tmp_path / "site").full()
    site = tmp_path / "site"
    feed = ET.parse(site / "feed.xml").getroot()
    assert feed.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert feed.findtext(f"{ATOM}{name}")
    assert feed.find(f"{ATOM}author/{ATOM}name") is not None
    assert feed.find(f"{ATOM}link[@rel='self']") is not None
    entries = list(feed.iter(f"{ATOM}entry"))
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["通知<2>&", "通知<1>&", "通知<0>&"]
    for entry in entries:
        for name in ("id", "title", "updated", "published"):
            assert entry.findtext(f"{ATOM}{name}"), name
        dt.datetime.fromisoformat(entry.findtext(f"{ATOM}updated", "").replace("Z", "+00:00"))
        assert entry.find(f"{ATOM}link[@rel='alternate']") is not None
    index = ET.parse(site / "sitemap.xml").getroot()
    assert index.tag == f"{SITEMAP}sitemapindex"
    urls = []
    for loc in index.iter(f"{SITEMAP}loc"):
        assert loc.text is not None and loc.text.startswith("https://www.tengchong.gov.cn/hehua/")
        chunk = ET.parse(site / loc.text.removeprefix("https://www.tengchong.gov.cn/hehua/")).getroot()
        assert chunk.tag == f"{SITEMAP}urlset"
        urls += [u.findtext(f"{SITEMAP}loc") for u in chunk.iter(f"{SITEMAP}url")]
    assert len(urls) <= layout.SITEMAP_CHUNK + 20
    for item_id in ids:
        assert f"https://www.tengchong.gov.cn/hehua/items/{ref_of(engine, item_id)}.html" in urls
    assert "https://www.tengchong.gov.cn/hehua/guide.html" in urls


def test_every_page_is_well_formed_accessible_and_has_its_elderly_copy(
    engine: WorkflowEngine, make_item: Callable[..., int], tmp_path: Path
) -> None:
    publish(engine, make_item, title="有附件的信息", files=(("附件.pdf", sample_files.pdf()),), category="01")
    publish(engine, make_item, title="年度报告", category="12")
    builder_for(engine, tmp_path / "site").full()
    root = (tmp_path / "site").resolve()
    pages = sorted(p for p in site_files(root) if p.endswith(".html"))
    standard = [p for p in pages if not p.startswith("elder/")]
    assert {
        "index.html",
        "guide.html",
        "search.html",
        "404.html",
        "archive/index.html",
        "catalog/12/index.html",
    } <= set(standard)
    for path in pages:
        page = read_page(root / path)
        assert not page.problems, (path, page.problems)
        assert page.html_attrs.get("lang") == "zh-CN", path
        assert page.title.strip(), path
        assert {"main", "nav", "header", "footer"} <= page.landmarks, path
        assert page.images_without_alt == 0
        assert all(i is not None and i in page.labels for i in page.inputs), path
        assert page.headings and page.headings[0] == 1, path
        assert all(b - a <= 1 for a, b in zip(page.headings, page.headings[1:], strict=False)), (path, page.headings)
        assert "#main" in page.links, path
        elder = path.startswith("elder/")
        assert (page.html_attrs.get("class") == "elder") == elder, path
        assert any(t in page.text for t in ("进入适老化模式", "退出适老化模式")), path
        if path == "404.html":
            continue
        for link in page.links:
            if link.startswith(("#", "https://", "http://")):
                continue
            target = posixpath.normpath(posixpath.join(posixpath.dirname(path), unquote(link.split("#")[0])))
            shared = target.startswith(("assets/", "files/", "search/")) or target in ("feed.xml", "sitemap.xml")
            if elder and not shared and "elder/" + target != path:
                # Links from the elderly-friendly copy stay in it, except the switch back.
                is_switch = target == path.removeprefix("elder/")
                assert target.startswith("elder/") or is_switch, (path, link)
            if target.startswith("search/") or target == "assets/search.js":
                continue  # the search index and its script come with the search module
            assert (root / target).exists(), (path, link)
    for path in standard:
        assert f"elder/{path}" in pages or path == "404.html"
    assert "年度报告" in read_page(root / "catalog/12/index.html").text
    assert "政府信息公开年度报告" in read_page(root / "index.html").text


def test_the_guide_is_written_from_the_offices_template(
    engine: WorkflowEngine, make_item: Callable[..., int], tmp_path: Path
) -> None:
    builder_for(engine, tmp_path / "site").full()
    text = read_page(tmp_path / "site/guide.html").text
    assert "公开指南" in text and ORGAN in text and "请填写办公地址" in text
    for name in ("镇情概况", "便民服务", "政府信息公开年度报告"):
        assert name in text


def test_english_labels_by_setting(engine: WorkflowEngine, make_item: Callable[..., int], tmp_path: Path) -> None:
    item_id = publish(engine, make_item, category="07")
    builder_for(engine, tmp_path / "site", lang="en").full()
    page = read_page(tmp_path / "site/items" / f"{ref_of(engine, item_id)}.html")
    assert page.html_attrs["lang"] == "en"
    assert "Index number" in page.text and "Emergency management" in page.text and "In force" in page.text
    assert "Elderly-friendly mode" in page.text


def test_the_portal_channel_updates_the_site_for_its_job(
    engine: WorkflowEngine, make_item: Callable[..., int], tmp_path: Path
) -> None:
    builder = builder_for(engine, tmp_path / "site")
    builder.full()
    item_id = publish(engine, make_item, title="经由频道发布", category="08")
    with engine.db.connect() as conn:
        item = public_item(conn, item_id)
        assert conn.execute(select(publications.c.item_id)).scalars().all() == [item_id]
    assert item is not None
    job = ChannelJob(id=1, key="k", item_id=item_id, channel="portal", event="publish", revision=1, attempts=1)
    result = PortalChannel(builder).perform(job, item)
    assert f"items/{item.reference}.html" in result and "incremental" in result
    assert item.reference in listed_refs(tmp_path / "site/catalog/08/index.html")
    manifest = Manifest(builder.manifest_path((tmp_path / "site").resolve()))
    try:
        entry = manifest.entry(item_id)
        assert entry is not None and entry.shown_as(item)
    finally:
        manifest.close()

"""The notice-board PDFs and the broadcast script, written by the worker's pass into GONGKAI_CHANNELS_DIR."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pypdf
import pytest
from sqlalchemy import Engine

from notifications.notices import Notifier
from notifications.settings import MailSettings
from notifications.transport import FolderTransport
from tests.conftest import FrozenClock
from workflow.core.spoken import spoken_text
from workflow.engine import WorkflowEngine
from workflow.publishing.channels.base import ChannelError, ChannelJob
from workflow.publishing.channels.broadcast import BroadcastChannel
from workflow.publishing.channels.notice_board import NoticeBoardChannel, cjk_font_family
from workflow.settings import Settings
from workflow.store.publication_jobs import item_jobs
from workflow.store.publications import public_item
from workflow.worker.passes import Worker

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
BODY = """## 一、维修范围

荷花村至**甘蔗寨村**道路，详见[镇政府网站](https://www.tengchong.gov.cn/hehua)。

| 路段 | 工期 |
|---|---|
| 荷花村段 | 3月10日至3月20日 |
| 甘蔗寨段 | 3月21日至3月31日 |

- 请绕行
- 注意*安全*
"""


def published(engine: WorkflowEngine, make_item: Callable[..., int], **kwargs: object) -> int:
    item_id = make_item(**kwargs)
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "clear", "reviewer_a")
    engine.fire(item_id, "sign_off", "leader_a")
    return item_id


def worker(engine: WorkflowEngine, tmp_path: Path, channels: dict[str, Any]) -> Worker:
    mail = MailSettings(smtp_url=None, mail_dir=tmp_path / "mail", base_url="http://127.0.0.1:8000")
    return Worker(engine, Notifier(mail, "zh"), lambda: FolderTransport(tmp_path / "mail"), channels=channels)


def channels_of(engine: WorkflowEngine, folder: Path, clock: FrozenClock) -> dict[str, Any]:
    office, catalog = engine.registry.office(), engine.registry.catalog()
    return {
        "notice_board": NoticeBoardChannel(folder, office, catalog, engine.zone, clock=clock),
        "broadcast": BroadcastChannel(folder, office, engine.zone),
    }


def test_a_pass_prints_one_a4_pdf_per_village_with_chinese_fonts_embedded(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock, tmp_path: Path
) -> None:
    item_id = published(
        engine, make_item, title="荷花村道路维修公告", body=BODY, category="06",
        meta={"doc_number": "荷政发〔2026〕12号", "subjects": ["交通"]},
    )  # fmt: skip
    folder = tmp_path / "channels"
    clock.advance(hours=1)
    report = worker(engine, tmp_path, channels_of(engine, folder, clock)).run_pass(clock.now)
    assert report.channels_delivered == 2 and report.channels_failed == 0
    with engine.db.connect() as conn:
        item = public_item(conn, item_id)
        jobs = {j.channel: j for j in item_jobs(conn, item_id)}
    assert item is not None
    pdfs = sorted((folder / "notice_board" / "2026" / item.reference).glob("*.pdf"))
    villages = engine.registry.office().villages
    assert sorted(p.stem for p in pdfs) == sorted(villages) and len(pdfs) == 10
    assert jobs["notice_board"].status == "done" and "10 PDFs" in (jobs["notice_board"].result or "")
    reader = pypdf.PdfReader(folder / "notice_board" / "2026" / item.reference / "荷花村.pdf")
    page = reader.pages[0]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    text = "".join(p.extract_text() for p in reader.pages)
    compact = re.sub(r"\s+", "", text)
    for expected in ("腾冲市荷花镇人民政府", "公告", "荷花村道路维修公告", item.index_number, "荷政发〔2026〕12号",
                     "2026年3月2日", "张贴于荷花村公示栏", "甘蔗寨段"):  # fmt: skip
        assert expected in compact, expected
    fonts = []
    for number in range(len(reader.pages)):
        resources = reader.pages[number]["/Resources"]
        for font in resources["/Font"].values():
            font = font.get_object()
            descendants = [d.get_object() for d in font.get("/DescendantFonts", [])] or [font]
            for described in descendants:
                descriptor = described["/FontDescriptor"].get_object()
                embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
                fonts.append((str(font["/BaseFont"]), embedded))
    assert fonts and all(embedded for _, embedded in fonts), fonts
    assert any("CJK" in name for name, _ in fonts), fonts


def test_the_broadcast_script_is_plain_spoken_text(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock, tmp_path: Path
) -> None:
    item_id = published(engine, make_item, title="荷花村道路维修公告", body=BODY, category="06")
    folder = tmp_path / "channels"
    worker(engine, tmp_path, channels_of(engine, folder, clock)).run_pass(clock.now)
    with engine.db.connect() as conn:
        item = public_item(conn, item_id)
    assert item is not None
    script = (folder / "broadcast" / "2026" / f"{item.reference}.txt").read_text(encoding="utf-8")
    assert script.startswith("各位村民")
    for expected in ("荷花村道路维修公告", "一、维修范围", "荷花村至甘蔗寨村道路，详见镇政府网站。",
                     "荷花村段，3月10日至3月20日", "请绕行", "注意安全", item.index_number,
                     "腾冲市荷花镇人民政府", "2026年3月2日"):  # fmt: skip
        assert expected in script, expected
    for markup in ("#", "*", "|", "](", "---", "https://"):
        assert markup not in script, markup


def test_spoken_text_of_markdown() -> None:
    assert (
        spoken_text("# 标题\n\n正文**加粗**，`代码`，![图](x.png)\n\n1. 一\n2. 二")
        == "标题\n\n正文加粗，代码，图\n\n一\n\n二"
    )
    assert spoken_text("") == ""


def test_without_a_cjk_font_the_job_fails_naming_the_package(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    empty = tmp_path / "fonts.conf"
    empty.write_text('<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig></fontconfig>')
    monkeypatch.setenv("FONTCONFIG_FILE", str(empty))
    with pytest.raises(ChannelError, match="fonts-noto-cjk") as refused:
        cjk_font_family()
    assert refused.value.retry is False
    item_id = published(engine, make_item, category="06")
    folder = tmp_path / "channels"
    report = worker(engine, tmp_path, channels_of(engine, folder, clock)).run_pass(clock.now)
    assert report.channels_failed == 1
    with engine.db.connect() as conn:
        board = next(j for j in item_jobs(conn, item_id) if j.channel == "notice_board")
    assert board.status == "failed" and "fonts-noto-cjk" in (board.last_error or "")
    assert not (folder / "notice_board").exists()


def test_a_withdrawn_item_is_not_printed_and_a_retry_overwrites(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock, tmp_path: Path, db: Engine
) -> None:
    item_id = published(engine, make_item, title="旧标题", category="06")
    folder = tmp_path / "channels"
    board = channels_of(engine, folder, clock)["broadcast"]
    with engine.db.connect() as conn:
        item = public_item(conn, item_id)
    assert item is not None
    job = ChannelJob(1, "k", item_id, "broadcast", "publish", 1, 1)
    board.perform(job, item)
    path = folder / "broadcast" / "2026" / f"{item.reference}.txt"
    first = path.read_text(encoding="utf-8")
    board.perform(job, item)  # again: the same file, whole, no temporary left behind
    assert path.read_text(encoding="utf-8") == first
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    engine.fire(item_id, "withdraw", "leader_a", comment="错误信息")
    with engine.db.connect() as conn:
        gone = public_item(conn, item_id)
    assert gone is not None and gone.status == "withdrawn"
    assert board.perform(job, gone).startswith("not done: the item is withdrawn")


def test_settings_make_the_registry(engine: WorkflowEngine, settings: Settings) -> None:
    from workflow.publishing.channels.registry import channels

    assert sorted(channels(engine, settings)) == ["broadcast", "notice_board", "portal", "webhook"]


def test_a_scheduled_publication_reaches_the_broadcast_in_the_same_pass(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock, tmp_path: Path
) -> None:
    item_id = make_item(title="定时发布的公告", category="06")
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "clear", "reviewer_a")
    engine.fire(item_id, "schedule", "leader_a", fields={"publish_at": "2026-03-03T09:00"})
    folder = tmp_path / "channels"
    pass_worker = worker(engine, tmp_path, channels_of(engine, folder, clock))
    early = dt.datetime(2026, 3, 3, 8, 59, tzinfo=SHANGHAI)
    clock.now = early
    assert pass_worker.run_pass(early).channels_delivered == 0
    assert not (folder / "broadcast").exists()
    due = dt.datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI)
    clock.now = due
    report = pass_worker.run_pass(due)
    assert report.fired == 1 and report.channels_delivered == 2
    assert len(list((folder / "broadcast" / "2026").glob("*.txt"))) == 1

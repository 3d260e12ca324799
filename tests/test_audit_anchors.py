"""The daily anchor of the audit chain: once per office day into GONGKAI_ANCHOR_FILE and to the auditors by
email (real SMTP), on SQLite and PostgreSQL; and the anchors catching a cut tail and a whole-chain rewrite."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, text, update

from notifications.notices import Notifier
from notifications.settings import MailSettings
from notifications.transport import SmtpTransport
from tests.conftest import FrozenClock
from tests.smtp_server import RecordingHandler
from workflow.core.chain import GENESIS_HASH, row_hash
from workflow.engine import WorkflowEngine
from workflow.store import audit_log as auditlog
from workflow.store.anchors import Anchor, append_anchor, check_anchors, read_anchor_file
from workflow.worker.anchoring import anchor_daily
from workflow.worker.passes import Worker

ZONE = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def mail_settings(server: tuple[RecordingHandler, int]) -> MailSettings:
    return MailSettings(smtp_url=f"smtp://127.0.0.1:{server[1]}", base_url="https://gk.town.example.gov.cn")


def make_worker(engine: WorkflowEngine, mail: MailSettings, anchor_file: Path) -> Worker:
    url = mail.smtp_url
    assert url
    return Worker(engine, Notifier(mail), lambda: SmtpTransport.from_url(url, sender="gongkai@town.example.gov.cn"),
                  anchor_file=anchor_file)  # fmt: skip


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_chain_is_anchored_once_per_office_day_to_the_file_and_the_auditors(
    engine: WorkflowEngine,
    make_item: Callable[..., int],
    clock: FrozenClock,
    mail_settings: MailSettings,
    mailbox: RecordingHandler,
    tmp_path: Path,
) -> None:
    anchors = tmp_path / "kept" / "anchors.jsonl"
    engine.add_person("auditor_b", email="auditor_b@town.example.gov.cn", roles=["auditor"], by="admin_a")
    engine.add_person("gone", email="gone@town.example.gov.cn", roles=["auditor"], by="admin_a")
    engine.set_active("gone", False, by="admin_a")
    clock.now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=ZONE)
    item_id = make_item(title="甲")
    worker = make_worker(engine, mail_settings, anchors)
    worker.run_pass(clock.now)
    head = auditlog.anchor(engine.db)
    assert lines(anchors) == [{"day": "2026-03-02", "seq": head["seq"], "hash": head["hash"],
                               "taken_at": "2026-03-02T09:00:00+08:00"}]  # fmt: skip
    told = [m for m in mailbox.received if head["hash"] in m.message.get_body(("plain",)).get_content()]  # type: ignore[union-attr]
    assert sorted(m.recipients[0] for m in told) == ["auditor_a@town.example.gov.cn", "auditor_b@town.example.gov.cn"]
    text = told[0].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert Anchor(head["seq"], head["hash"], "2026-03-02", "2026-03-02T09:00:00+08:00").as_line() in text
    assert f"#{head['seq']}" in str(told[0].message["Subject"])

    # Later the same office day (23:30, already the 3rd in UTC): a second pass, another worker, the step
    # alone: one line and one email each, still the anchor taken first, though the chain grew since.
    engine.fire(item_id, "submit", "drafter_a")
    clock.now = dt.datetime(2026, 3, 2, 23, 30, tzinfo=ZONE)
    worker.run_pass(clock.now)
    worker.release()
    other = make_worker(engine, mail_settings, anchors)
    other.run_pass(clock.now)
    assert anchor_daily(engine, other.notifier, clock.now, anchors) == 0
    assert len(lines(anchors)) == 1 and lines(anchors)[0]["seq"] == head["seq"]
    assert len([m for m in mailbox.received if "#" + str(head["seq"]) in str(m.message["Subject"])]) == 2

    # The next office day: a new anchor at the new head.
    clock.now = dt.datetime(2026, 3, 3, 0, 30, tzinfo=ZONE)
    other.run_pass(clock.now)
    second = auditlog.anchor(engine.db)
    assert [(a["day"], a["seq"]) for a in lines(anchors)] == [("2026-03-02", head["seq"]),
                                                               ("2026-03-03", second["seq"])]  # fmt: skip
    assert second["seq"] > head["seq"]
    assert check_anchors(engine.db, read_anchor_file(anchors)) is None


def test_a_pass_killed_before_the_file_was_written_writes_the_same_anchor_on_the_next_pass(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock, tmp_path: Path
) -> None:
    clock.now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=ZONE)
    make_item()
    notifier = Notifier(MailSettings(smtp_url=None, mail_dir=tmp_path / "mail", base_url="https://gk.example.cn"))
    assert anchor_daily(engine, notifier, clock.now, None) == 1  # the email written, no file configured
    taken = auditlog.anchor(engine.db)
    make_item()  # the chain grows before the file is written
    anchors = tmp_path / "anchors.jsonl"
    anchors.write_text('{"day": "2026-03-01", "seq": 1, "hash": "' + "a" * 64 + '"}', encoding="utf-8")  # no newline
    assert anchor_daily(engine, notifier, clock.now, anchors) == 0
    assert [(a["day"], a["seq"], a["hash"]) for a in lines(anchors)][1:] == [("2026-03-02", taken["seq"],
                                                                             taken["hash"])]  # fmt: skip
    assert not append_anchor(anchors, Anchor(99, "b" * 64, "2026-03-02"))


def unguard(engine: WorkflowEngine) -> None:
    """Drop the append-only triggers, as someone with the database's owner rights could."""
    with engine.db.begin() as conn:
        if engine.db.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        else:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))


def cut_tail(engine: WorkflowEngine, keep: int) -> None:
    """Entries after ``keep`` removed and the head moved back to match: the chain alone still verifies."""
    with engine.db.begin() as conn:
        conn.execute(delete(auditlog.audit_log).where(auditlog.audit_log.c.seq > keep))
        digest = conn.execute(select(auditlog.audit_log.c.hash).where(auditlog.audit_log.c.seq == keep)).scalar_one()
        conn.execute(update(auditlog.audit_head).values(seq=keep, hash=digest))


def rewrite(engine: WorkflowEngine, key: bytes, change: Callable[[dict[str, Any]], None]) -> None:
    """Every entry changed by ``change`` and the chain re-signed with ``key``, as someone holding a key would."""
    prev = GENESIS_HASH
    with engine.db.begin() as conn:
        for row in list(conn.execute(select(auditlog.audit_log).order_by(auditlog.audit_log.c.seq))):
            data = dict(row._mapping)
            change(data)
            data["prev_hash"] = prev
            data["hash"] = row_hash(key, data)
            conn.execute(update(auditlog.audit_log).where(auditlog.audit_log.c.seq == row.seq).values(
                comment=data["comment"], prev_hash=data["prev_hash"], hash=data["hash"]))  # fmt: skip
            prev = data["hash"]
        conn.execute(update(auditlog.audit_head).values(hash=prev))


def test_the_anchors_name_the_first_one_a_cut_tail_or_a_rewritten_chain_no_longer_extends(
    engine: WorkflowEngine, make_item: Callable[..., int], tmp_path: Path
) -> None:
    anchors = tmp_path / "anchors.jsonl"
    for day in (2, 3, 4, 5):
        make_item(title=f"第{day}天")
        head = auditlog.anchor(engine.db)
        append_anchor(anchors, Anchor(head["seq"], head["hash"], f"2026-03-0{day}"))
    kept = read_anchor_file(anchors)
    assert [a.seq for a in kept] == [1, 2, 3, 4] and check_anchors(engine.db, kept) is None
    unguard(engine)

    rewrite(engine, b"another-key-0123456789-0123456789-abcdef", lambda row: None)
    assert auditlog.verify(engine.db, b"another-key-0123456789-0123456789-abcdef").fault is None
    fault = check_anchors(engine.db, kept)
    assert fault is not None and (fault.number, fault.anchor.day, fault.fault.seq, fault.fault.reason) == (
        1, "2026-03-02", 1, "anchor_mismatch",
    )  # fmt: skip

    cut_tail(engine, 2)
    fault = check_anchors(engine.db, kept)
    assert fault is not None and fault.number == 1  # the rewrite is older than the cut: named first

    # The real key, only the end cut: the first anchor beyond the end, and the first entry gone (#3).
    fresh = tmp_path / "fresh.jsonl"
    rewrite(engine, engine._audit_key(), lambda row: None)
    for seq in (1, 2):
        append_anchor(fresh, Anchor(seq, _hash_of(engine, seq), f"2026-03-0{seq}"))
    append_anchor(fresh, Anchor(4, "c" * 64, "2026-03-09"))
    fault = check_anchors(engine.db, read_anchor_file(fresh))
    assert fault is not None and (fault.number, fault.anchor.seq, fault.fault.seq, fault.fault.reason) == (
        3, 4, 3, "missing",
    )  # fmt: skip
    assert auditlog.check_anchor(engine.db, {"seq": 4, "hash": "c" * 64}) == auditlog.ChainFault(3, "missing")


def _hash_of(engine: WorkflowEngine, seq: int) -> str:
    with engine.db.connect() as conn:
        return str(conn.execute(select(auditlog.audit_log.c.hash).where(auditlog.audit_log.c.seq == seq)).scalar_one())

"""The demo leaves a public catalogue worth looking at, and the worker expires its public notice on time."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, select

from notifications.settings import MailSettings
from tests.conftest import AUDIT_KEY, DEFINITIONS, ROOT
from tests.env import outside_env
from workflow.cli.demo import run_demo
from workflow.core.publication import PublicItem
from workflow.settings import Settings
from workflow.store import audit_log as auditlog
from workflow.store.db import make_engine, reading
from workflow.store.publications import public_items
from workflow.store.queries import items


def test_the_demo_publishes_across_sub_directories_and_the_worker_expires_its_notice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    settings = Settings(database_url=url, definitions_dir=DEFINITIONS, audit_key=AUDIT_KEY)
    said: list[str] = []
    started = dt.datetime.now(dt.UTC)
    run_demo(settings, MailSettings(smtp_url=None, mail_dir=tmp_path / "mail"), said.append, folder=tmp_path)
    db = make_engine(url)
    try:
        with reading(db) as conn:
            public = {p.title: p for p in public_items(conn)}
        current = [p for p in public.values() if p.status == "current"]
        assert len(current) >= 6 and len({p.category for p in current}) >= 5
        assert len({p.index_number for p in public.values()}) == len(public)
        plan = public["2026 年汛期防汛应急预案"]
        assert plan.doc_number and plan.subjects == ("应急", "防汛") and plan.fields["formed_on"]
        assert [a.name for a in plan.attachments] == ["汛期值班表.pdf"]
        assert public["关于临时停水的通知"].status == "withdrawn"
        report = public["荷花镇 2025 年工作总结"]
        assert report.revised_at is not None and report.revision == 2 and "更正" in report.body
        normative = public["荷花镇农村人居环境整治管理办法（试行）"]
        assert normative.expires_at is not None and normative.expires_at > started + dt.timedelta(days=4 * 365)
        notice = public["2026 年第一季度农村低保对象公示"]
        assert notice.status == "current" and notice.expires_at is not None
        assert started < notice.expires_at <= started + dt.timedelta(minutes=3)
        until = notice.expires_at.astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat(timespec="minutes")
        assert any(f"unpublish_at={until}" in line for line in said)  # the walkthrough says when

        worker = worker_at(settings, tmp_path, notice.expires_at - dt.timedelta(seconds=1))
        assert worker.returncode == 0, worker.stderr
        assert status_of(db, notice) == ("current", "published")
        worker = worker_at(settings, tmp_path, notice.expires_at)
        assert worker.returncode == 0, worker.stderr
        assert status_of(db, notice) == ("expired", "expired")
        assert auditlog.verify(db, AUDIT_KEY.encode()).fault is None
    finally:
        db.dispose()


def worker_at(settings: Settings, folder: Path, at: dt.datetime) -> subprocess.CompletedProcess[str]:
    env = {
        **outside_env(),
        "GONGKAI_DATABASE_URL": settings.database_url, "GONGKAI_AUDIT_KEY": AUDIT_KEY,
        "GONGKAI_DEFINITIONS_DIR": str(DEFINITIONS), "GONGKAI_MAIL_DIR": str(folder / "mail"),
    }  # fmt: skip
    return subprocess.run(
        [sys.executable, str(ROOT / "run_worker.py"), "--once", "--at", at.isoformat()],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def status_of(db: Engine, item: PublicItem) -> tuple[str, str]:
    """(public status, item state) as stored now."""
    with reading(db) as conn:
        state = conn.execute(select(items.c.state).where(items.c.id == item.item_id)).scalar_one()
        fresh = next(p for p in public_items(conn) if p.item_id == item.item_id)
    return fresh.status, state

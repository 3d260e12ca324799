"""有效期至 (unpublish_at), withdrawal and revision as the public and the office expect them (issue 10 item 5).

The engine on SQLite and PostgreSQL; the worker as the office runs it (``run_worker.py --once --at``, a
subprocess) for the moments the clock decides: scheduled publication and expiry.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import AUDIT_KEY, ROOT, FrozenClock
from tests.env import outside_env
from workflow.core.errors import NotPermitted, TransitionNotAllowed
from workflow.core.publication import item_path
from workflow.engine import WorkflowEngine, audit_log
from workflow.settings import Settings
from workflow.store.audit_log import verify
from workflow.store.publications import publication_jobs, publications
from workflow.store.queries import items

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)  # the clock fixture's moment, in office time


def office_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def public_row(engine: WorkflowEngine, item_id: int) -> Any:
    with engine.db.connect() as conn:
        return conn.execute(select(publications).where(publications.c.item_id == item_id)).one_or_none()


def jobs(engine: WorkflowEngine, item_id: int) -> list[tuple[str, str, int]]:
    """(event, channel, revision) of the item's channel jobs, in the order written."""
    with engine.db.connect() as conn:
        rows = conn.execute(
            select(publication_jobs.c.event, publication_jobs.c.channel, publication_jobs.c.revision)
            .where(publication_jobs.c.item_id == item_id)
            .order_by(publication_jobs.c.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def audit_rows(engine: WorkflowEngine, item_id: int) -> list[Any]:
    with engine.db.connect() as conn:
        return list(conn.execute(select(audit_log).where(audit_log.c.item_id == item_id).order_by(audit_log.c.seq)))


def counts(engine: WorkflowEngine) -> tuple[int, int, int]:
    with engine.db.connect() as conn:
        return tuple(  # type: ignore[return-value]
            int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in (audit_log, items, publication_jobs)
        )


def chain_verifies(engine: WorkflowEngine) -> int:
    result = verify(engine.db, AUDIT_KEY.encode())
    assert result.fault is None, result.fault
    return result.count


PUBLISH_CHANNELS = [("publish", "portal", 1), ("publish", "webhook", 1), ("publish", "notice_board", 1)]
"""Category 03 in office.yaml: portal, webhook, notice_board."""


@pytest.fixture
def cleared(engine: WorkflowEngine, make_item: Callable[..., int]) -> int:
    """An item of category 03 waiting for the leader's sign-off."""
    item_id = make_item(title="春耕补贴发放公告", body="补贴标准如下。")
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "clear", "reviewer_a")
    return item_id


# ---- setting 有效期至 ------------------------------------------------------------------------------------


def test_the_leader_sets_valid_until_at_sign_off_and_the_public_row_carries_it(
    engine: WorkflowEngine, cleared: int
) -> None:
    engine.fire(cleared, "sign_off", "leader_a", fields={"unpublish_at": "2026-03-10T09:00"})
    row = public_row(engine, cleared)
    assert row.status == "current" and row.expires_at == office_time("2026-03-10T09:00")
    public = engine.public(cleared)
    assert public is not None and public.expires_at == office_time("2026-03-10T09:00") and public.revised_at is None
    sign_off = audit_rows(engine, cleared)[-1]
    assert sign_off.trigger == "sign_off" and json.loads(sign_off.fields)["unpublish_at"] == "2026-03-10T09:00"
    assert jobs(engine, cleared) == PUBLISH_CHANNELS


def test_a_valid_until_not_after_now_is_refused_and_changes_nothing(
    engine: WorkflowEngine, cleared: int, make_item: Callable[..., int]
) -> None:
    before = counts(engine)
    for moment in ("2026-03-02T09:59", "2026-03-02T10:00", "2026-03-02T02:00+00:00"):
        with pytest.raises(TransitionNotAllowed) as refused:
            engine.fire(cleared, "sign_off", "leader_a", fields={"unpublish_at": moment})
        assert refused.value.key == "refuse.unpublish_passed"
        assert "unpublish_at" in refused.value.render("en") and "not after now" in refused.value.render("en")
    assert "有效期至" in refused.value.render("zh")
    with pytest.raises(TransitionNotAllowed) as at_creation:
        make_item(fields={"unpublish_at": "2026-03-01T09:00"})
    assert at_creation.value.key == "refuse.unpublish_passed"
    assert counts(engine) == before  # no item, no audit row, no job
    assert engine.show(cleared).state == "leadership_signoff" and public_row(engine, cleared) is None


def test_a_proposed_valid_until_that_has_passed_holds_the_sign_off_until_a_later_one_is_given(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock
) -> None:
    item_id = make_item(fields={"unpublish_at": "2026-03-03T09:00"})  # proposed by the drafter
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "clear", "reviewer_a")
    clock.advance(days=2)
    with pytest.raises(TransitionNotAllowed) as refused:
        engine.fire(item_id, "sign_off", "leader_a")
    assert refused.value.key == "refuse.unpublish_passed" and "2026-03-03T09:00" in refused.value.render("en")
    engine.fire(item_id, "sign_off", "leader_a", fields={"unpublish_at": "2026-06-30T17:00"})
    assert public_row(engine, item_id).expires_at == office_time("2026-06-30T17:00")


def test_a_scheduled_publication_must_come_before_its_valid_until(engine: WorkflowEngine, cleared: int) -> None:
    with pytest.raises(TransitionNotAllowed) as refused:
        engine.fire(
            cleared,
            "schedule",
            "leader_a",
            fields={"publish_at": "2026-03-05T09:00", "unpublish_at": "2026-03-05T09:00"},
        )
    assert refused.value.key == "refuse.unpublish_before_publication"
    assert "2026-03-05T09:00" in refused.value.render("en")
    assert engine.show(cleared).state == "leadership_signoff"
    engine.fire(
        cleared, "schedule", "leader_a", fields={"publish_at": "2026-03-05T09:00", "unpublish_at": "2026-03-05T09:01"}
    )
    assert engine.show(cleared).state == "scheduled"


def test_set_expiry_by_a_leader_later_and_by_nobody_else(engine: WorkflowEngine, cleared: int) -> None:
    engine.fire(cleared, "sign_off", "leader_a")
    assert public_row(engine, cleared).expires_at is None
    before = counts(engine)
    with pytest.raises(NotPermitted) as drafter:
        engine.fire(cleared, "set_expiry", "drafter_a", fields={"unpublish_at": "2026-04-01T00:00"})
    assert drafter.value.key == "refuse.role"
    with pytest.raises(NotPermitted):
        engine.fire(cleared, "set_expiry", "office_a", fields={"unpublish_at": "2026-04-01T00:00"})
    with pytest.raises(TransitionNotAllowed) as no_field:
        engine.fire(cleared, "set_expiry", "leader_b")
    assert "unpublish_at" in no_field.value.render("en")
    with pytest.raises(TransitionNotAllowed) as past:
        engine.fire(cleared, "set_expiry", "leader_b", fields={"unpublish_at": "2026-03-01T00:00"})
    assert past.value.key == "refuse.unpublish_passed"
    with pytest.raises(TransitionNotAllowed) as sideways:  # only the fires that declare it set 有效期至
        engine.fire(cleared, "confirm_current", "drafter_a", fields={"unpublish_at": "2026-04-01T00:00"})
    assert sideways.value.key == "refuse.field_not_taken" and "confirm_current" in sideways.value.render("en")
    assert counts(engine) == before and public_row(engine, cleared).expires_at is None

    engine.fire(cleared, "set_expiry", "leader_b", fields={"unpublish_at": "2026-04-01T00:00"}, comment="试行一个月")
    assert engine.show(cleared).state == "published"
    assert public_row(engine, cleared).expires_at == office_time("2026-04-01T00:00")
    engine.fire(cleared, "set_expiry", "leader_a", fields={"unpublish_at": "2026-05-01T00:00"})
    assert public_row(engine, cleared).expires_at == office_time("2026-05-01T00:00")
    first, second = audit_rows(engine, cleared)[-2:]
    assert (first.trigger, first.actor, first.from_state, first.to_state) == (
        "set_expiry", "leader_b", "published", "published",
    )  # fmt: skip
    assert json.loads(first.fields)["unpublish_at"] == "2026-04-01T00:00" and first.comment == "试行一个月"
    assert second.actor == "leader_a" and json.loads(second.fields)["unpublish_at"] == "2026-05-01T00:00"
    assert jobs(engine, cleared) == PUBLISH_CHANNELS  # a new date tells no channel: the site shows it when built
    chain_verifies(engine)


# ---- the worker ------------------------------------------------------------------------------------------


def run_worker(settings: Settings, mail_dir: Path, at: str) -> subprocess.CompletedProcess[str]:
    env = {
        **outside_env(),
        "GONGKAI_DATABASE_URL": settings.database_url,
        "GONGKAI_AUDIT_KEY": settings.audit_key or "",
        "GONGKAI_DEFINITIONS_DIR": str(settings.definitions_dir),
        "GONGKAI_MAIL_DIR": str(mail_dir),
        "GONGKAI_LANG": "en",
    }
    finished = subprocess.run(
        [sys.executable, str(ROOT / "run_worker.py"), "--once", "--at", at],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    return finished


def test_the_worker_publishes_at_publish_at_and_expires_at_valid_until_not_before(
    engine: WorkflowEngine, settings: Settings, cleared: int, tmp_path: Path
) -> None:
    engine.fire(
        cleared, "schedule", "leader_a", fields={"publish_at": "2026-03-05T09:00", "unpublish_at": "2026-03-10T09:00"}
    )
    mail = tmp_path / "mail"

    site = Path(os.environ["GONGKAI_SITE_DIR"])  # the worker's portal channel builds it (tests/conftest.py)
    page = site / item_path(engine.show(cleared).reference)
    title = "春耕补贴发放公告"

    run_worker(settings, mail, "2026-03-05T08:59+08:00")
    assert engine.show(cleared).state == "scheduled"
    assert public_row(engine, cleared) is None and jobs(engine, cleared) == []
    assert not page.exists()

    run_worker(settings, mail, "2026-03-05T09:00+08:00")
    assert engine.show(cleared).state == "published"
    row = public_row(engine, cleared)
    assert (row.status, row.published_at, row.expires_at) == (
        "current", office_time("2026-03-05T09:00"), office_time("2026-03-10T09:00"),
    )  # fmt: skip
    assert jobs(engine, cleared) == PUBLISH_CHANNELS
    assert title in page.read_text(encoding="utf-8") and title in (site / "index.html").read_text(encoding="utf-8")
    assert title not in (site / "archive" / "index.html").read_text(encoding="utf-8")

    run_worker(settings, mail, "2026-03-10T08:59+08:00")
    assert engine.show(cleared).state == "published" and public_row(engine, cleared).status == "current"
    assert len(jobs(engine, cleared)) == 3

    run_worker(settings, mail, "2026-03-10T09:00+08:00")
    assert engine.show(cleared).state == "expired"
    row = public_row(engine, cleared)
    assert (row.status, row.status_at) == ("expired", office_time("2026-03-10T09:00"))
    assert row.title == "春耕补贴发放公告" and row.index_number  # kept for the archive
    assert jobs(engine, cleared) == [*PUBLISH_CHANNELS, ("expire", "portal", 1), ("expire", "webhook", 1)]
    assert "No longer in force" in page.read_text(encoding="utf-8")  # 已失效: the page stays, marked (GONGKAI_LANG=en)
    assert title in (site / "archive" / "index.html").read_text(encoding="utf-8")
    assert title not in (site / "index.html").read_text(encoding="utf-8")

    run_worker(settings, mail, "2026-03-11T09:00+08:00")  # nothing left to fire
    assert len(jobs(engine, cleared)) == 5
    publish, expire = (r for r in audit_rows(engine, cleared) if r.actor == "system" and r.trigger != "channel")
    assert (publish.trigger, publish.role, publish.from_state, publish.to_state) == (
        "publish", "office", "scheduled", "published",
    )  # fmt: skip
    assert (expire.trigger, expire.role, expire.from_state, expire.to_state) == (
        "expire", "office", "published", "expired",
    )  # fmt: skip
    details = json.loads(expire.details)
    assert details["scheduled_for"] == "2026-03-10T09:00" and details["channels"] == ["portal", "webhook"]
    chain_verifies(engine)


# ---- withdrawal -----------------------------------------------------------------------------------------


def test_an_expired_item_may_still_be_withdrawn_with_a_reason_the_public_never_sees(
    engine: WorkflowEngine, cleared: int
) -> None:
    engine.fire(cleared, "sign_off", "leader_a", fields={"unpublish_at": "2026-03-03T09:00"})
    engine.fire_timed(
        cleared, "expire", expected_version=engine.show(cleared).version, as_of=NOW + dt.timedelta(days=2)
    )
    assert public_row(engine, cleared).status == "expired"
    with pytest.raises(TransitionNotAllowed) as no_reason:
        engine.fire(cleared, "withdraw", "leader_a")
    assert no_reason.value.key == "refuse.comment_required"
    with pytest.raises(NotPermitted):
        engine.fire(cleared, "withdraw", "drafter_a", comment="误发")
    reason = "附件含有申请人身份证号码"
    engine.fire(cleared, "withdraw", "leader_b", comment=reason)
    assert engine.show(cleared).state == "withdrawn"
    row = public_row(engine, cleared)
    assert row.status == "withdrawn" and row.status_at == NOW
    assert reason not in repr(tuple(row))  # the reason stays in the audit log
    assert jobs(engine, cleared)[-2:] == [("withdraw", "portal", 1), ("withdraw", "webhook", 1)]
    withdraw = audit_rows(engine, cleared)[-1]
    assert (withdraw.trigger, withdraw.from_state, withdraw.comment) == ("withdraw", "expired", reason)
    with pytest.raises(TransitionNotAllowed):  # withdrawn is final
        engine.fire(cleared, "withdraw", "leader_b", comment="再次")
    chain_verifies(engine)


def test_the_worker_does_not_expire_an_item_before_its_moment_nor_one_without_valid_until(
    engine: WorkflowEngine, cleared: int, make_item: Callable[..., int]
) -> None:
    engine.fire(cleared, "sign_off", "leader_a", fields={"unpublish_at": "2026-03-03T09:00"})
    with pytest.raises(TransitionNotAllowed) as early:
        engine.fire_timed(cleared, "expire", expected_version=engine.show(cleared).version, as_of=NOW)
    assert early.value.key == "refuse.not_yet"
    other = make_item()
    for trigger, actor in (("submit", "drafter_a"), ("clear", "reviewer_a"), ("sign_off", "leader_a")):
        engine.fire(other, trigger, actor)
    with pytest.raises(TransitionNotAllowed) as never:
        engine.fire_timed(other, "expire", expected_version=engine.show(other).version, as_of=NOW)
    assert never.value.key == "refuse.fields_missing"
    assert public_row(engine, cleared).status == public_row(engine, other).status == "current"


# ---- revision -------------------------------------------------------------------------------------------


def test_a_revision_keeps_the_index_number_and_the_public_sees_the_old_text_until_it_is_republished(
    engine: WorkflowEngine, cleared: int, clock: FrozenClock
) -> None:
    engine.fire(cleared, "sign_off", "leader_a")
    first = public_row(engine, cleared)
    clock.advance(days=3)
    engine.fire(cleared, "revise", "drafter_a")
    engine.edit(cleared, "drafter_a", body="补贴标准已调整。", title="春耕补贴发放公告（修订）")
    engine.fire(cleared, "submit", "drafter_a")
    in_progress = public_row(engine, cleared)
    assert tuple(in_progress) == tuple(first)  # the uncleared draft is not public
    engine.fire(cleared, "clear", "reviewer_a")
    assert tuple(public_row(engine, cleared)) == tuple(first)
    clock.advance(hours=1)
    engine.fire(cleared, "sign_off", "leader_b")

    again = public_row(engine, cleared)
    assert again.index_number == first.index_number
    assert (again.title, again.body, again.revision) == ("春耕补贴发放公告（修订）", "补贴标准已调整。", 2)
    assert again.first_published_at == first.first_published_at and again.published_at > first.published_at
    assert again.status == "current" and again.content_hash != first.content_hash
    public = engine.public(cleared)
    assert public is not None and public.revised_at == again.published_at
    assert jobs(engine, cleared) == [*PUBLISH_CHANNELS, *((e, c, 2) for e, c, _ in PUBLISH_CHANNELS)]
    republished = audit_rows(engine, cleared)[-1]
    assert republished.trigger == "sign_off"
    assert json.loads(republished.details)["index_number"] == first.index_number
    chain_verifies(engine)


# ---- normative documents --------------------------------------------------------------------------------


def test_a_normative_document_expires_from_filed_and_its_leaders_may_set_its_validity(
    engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    item_id = make_item("normative_document", title="村规民约管理办法")
    for trigger, actor in (("submit", "drafter_a"), ("pass_legality", "legal_a"), ("clear", "reviewer_a")):
        engine.fire(item_id, trigger, actor)
    engine.fire(item_id, "sign_off", "leader_a", fields={"unpublish_at": "2031-03-01T00:00"})  # five years
    assert public_row(engine, item_id) is None  # one signature of two
    engine.fire(item_id, "sign_off", "leader_b")
    assert public_row(engine, item_id).expires_at == office_time("2031-03-01T00:00")
    engine.fire(item_id, "file_record", "office_a")
    engine.fire(item_id, "set_expiry", "leader_c", fields={"unpublish_at": "2028-03-01T00:00"})
    assert public_row(engine, item_id).expires_at == office_time("2028-03-01T00:00")
    engine.fire_timed(
        item_id, "expire", expected_version=engine.show(item_id).version, as_of=office_time("2028-03-01T00:00")
    )
    assert engine.show(item_id).state == "expired" and public_row(engine, item_id).status == "expired"
    with pytest.raises(TransitionNotAllowed):  # an expired document is not repealed: it has lapsed
        engine.fire(item_id, "repeal", "leader_a", comment="废止")
    assert [e for e, _, _ in jobs(engine, item_id)][-2:] == ["expire", "expire"]
    chain_verifies(engine)

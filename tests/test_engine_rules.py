"""The rules the engine enforces on every fire, edit and assignment, on SQLite and PostgreSQL.

Each test states the rule in the office's terms and checks the real values the
engine returns and writes: the refusal's type, key and parameters, the item's
state and version, and the audit rows.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from tests.conftest import DEFINITIONS, FrozenClock
from workflow.core import chain as audit
from workflow.core.errors import (
    DefinitionError,
    GongkaiError,
    InvalidInput,
    NotFound,
    NotPermitted,
    TransitionNotAllowed,
)
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.store import audit_log as auditlog
from workflow.store.models import AuditEntry, Item, ItemRevision
from workflow.store.people import delegate
from workflow.store.registry import DefinitionRegistry

MakeItem = Callable[..., int]


# ---- helpers ---------------------------------------------------------------------------------


def refused(kind: type[GongkaiError], key: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> GongkaiError:
    """Run ``call`` and insist it is refused with exactly this error type and key."""
    with pytest.raises(kind) as caught:
        call(*args, **kwargs)
    assert caught.value.key == key, (caught.value.key, caught.value.params)
    return caught.value


def triggers_of(engine: WorkflowEngine, item_id: int) -> list[str]:
    return [row.trigger for row in auditlog.read_entries(engine.db, item_id)]


def last_row(engine: WorkflowEngine, item_id: int) -> Any:
    return auditlog.read_entries(engine.db, item_id)[-1]


def audit_count(db: Engine) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(AuditEntry.__table__)).scalar_one())


def to_signoff(engine: WorkflowEngine, item_id: int, drafter: str = "drafter_a", reviewer: str = "reviewer_a") -> None:
    engine.fire(item_id, "submit", drafter)
    engine.fire(item_id, "clear", reviewer)


def to_collective(engine: WorkflowEngine, item_id: int, drafter: str = "drafter_a") -> None:
    engine.fire(item_id, "submit", drafter)
    engine.fire(item_id, "pass_legality", "legal_a")
    engine.fire(item_id, "clear", "reviewer_a")


def publish(engine: WorkflowEngine, item_id: int) -> None:
    to_signoff(engine, item_id)
    engine.fire(item_id, "sign_off", "leader_a")


def request_fields(received_on: str = "2026-03-02") -> dict[str, str]:
    return {"requester": "张三", "requester_type": "natural_person", "channel": "online", "received_on": received_on}


# ---- roles -----------------------------------------------------------------------------------


def test_a_drafter_cannot_clear(engine: WorkflowEngine, make_item: MakeItem) -> None:
    item_id = make_item()
    engine.fire(item_id, "submit", "drafter_a")
    error = refused(NotPermitted, "refuse.role", engine.fire, item_id, "clear", "drafter_a")
    assert error.params["role"] == "confidentiality_reviewer"
    assert error.params["trigger"] == "clear"
    assert error.params["available"] == []
    item = engine.show(item_id)
    assert (item.state, item.version) == ("confidentiality_review", 2)
    assert triggers_of(engine, item_id) == ["create", "submit"]


@pytest.mark.parametrize(
    ("trigger", "actor", "role"),
    [
        ("submit", "reviewer_a", "drafter"),
        ("submit", "leader_a", "drafter"),
        ("submit", "drafter_b", "drafter"),  # a drafter, but not the one who holds this item
    ],
)
def test_only_the_items_drafter_submits(
    engine: WorkflowEngine, make_item: MakeItem, trigger: str, actor: str, role: str
) -> None:
    item_id = make_item()
    error = refused(NotPermitted, "refuse.role", engine.fire, item_id, trigger, actor)
    assert error.params["role"] == role
    assert engine.show(item_id).state == "drafting"


def test_a_reviewer_cannot_sign_off_and_a_leader_cannot_clear(engine: WorkflowEngine, make_item: MakeItem) -> None:
    item_id = make_item()
    engine.fire(item_id, "submit", "drafter_a")
    refused(NotPermitted, "refuse.role", engine.fire, item_id, "clear", "leader_a")
    engine.fire(item_id, "clear", "reviewer_a")
    error = refused(NotPermitted, "refuse.role", engine.fire, item_id, "sign_off", "reviewer_b")
    assert error.params["role"] == "leader"


def test_create_needs_the_creator_role(engine: WorkflowEngine, db: Engine) -> None:
    error = refused(
        NotPermitted,
        "refuse.create_role",
        engine.create,
        "proactive_disclosure",
        title="t",
        actor="reviewer_a",
        category="03",
    )
    assert error.params["role"] == "drafter"
    refused(
        NotPermitted,
        "refuse.create_role",
        engine.create,
        "disclosure_request",
        title="t",
        actor="drafter_a",
        fields=request_fields(),
    )
    assert engine.list_items() == []
    assert audit_count(db) == 0


# ---- separation of duties --------------------------------------------------------------------


def test_multi_cannot_clear_or_withhold_their_own_draft(engine: WorkflowEngine, make_item: MakeItem) -> None:
    item_id = make_item(actor="multi")
    engine.fire(item_id, "submit", "multi")
    error = refused(NotPermitted, "refuse.separation_role", engine.fire, item_id, "clear", "multi")
    assert error.params["person"] == "multi"
    assert error.params["role"] == "drafter"
    refused(NotPermitted, "refuse.separation_role", engine.fire, item_id, "withhold", "multi", comment="涉密")
    # What multi may still do here is send it back; withhold would be refused, so it is not offered.
    assert error.params["available"] == ["send_back"]
    assert engine.show(item_id, viewer="multi").available_triggers == ["send_back"]
    # Another reviewer clears it; multi then cannot sign off their own draft either.
    engine.fire(item_id, "clear", "reviewer_a")
    error = refused(NotPermitted, "refuse.separation_role", engine.fire, item_id, "sign_off", "multi")
    assert error.params["available"] == ["send_back"]
    engine.fire(item_id, "sign_off", "leader_b")
    assert engine.show(item_id).state == "published"


def test_the_leader_who_signs_off_is_not_the_one_who_cleared(engine: WorkflowEngine, make_item: MakeItem) -> None:
    item_id = make_item()
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "clear", "multi")  # multi holds the reviewer role and did not draft this one
    error = refused(NotPermitted, "refuse.separation_trigger", engine.fire, item_id, "sign_off", "multi")
    assert error.params == {
        "person": "multi",
        "other": "clear",
        "trigger": "sign_off",
        "available": ["send_back"],
    }
    result = engine.fire(item_id, "sign_off", "leader_a")
    assert result.to_state == "published"
    rows = auditlog.read_entries(engine.db, item_id)
    assert [(r.trigger, r.actor) for r in rows] == [
        ("create", "drafter_a"),
        ("submit", "drafter_a"),
        ("clear", "multi"),
        ("sign_off", "leader_a"),
    ]


def test_separation_on_the_normative_document(engine: WorkflowEngine, make_item: MakeItem) -> None:
    own = make_item("normative_document", actor="multi")
    engine.fire(own, "submit", "multi")
    engine.fire(own, "pass_legality", "legal_a")
    refused(NotPermitted, "refuse.separation_role", engine.fire, own, "clear", "multi")
    engine.fire(own, "clear", "reviewer_a")
    refused(NotPermitted, "refuse.separation_role", engine.fire, own, "sign_off", "multi")

    other = make_item("normative_document")
    engine.fire(other, "submit", "drafter_a")
    engine.fire(other, "pass_legality", "legal_a")
    engine.fire(other, "clear", "multi")
    refused(NotPermitted, "refuse.separation_trigger", engine.fire, other, "sign_off", "multi")


def test_the_reply_is_cleared_by_someone_else_than_the_signer(engine: WorkflowEngine, make_item: MakeItem) -> None:
    item_id = make_item("disclosure_request")
    engine.fire(item_id, "register", "office_a")
    engine.fire(item_id, "draft_reply", "office_a", fields={"outcome": "disclosed"})
    engine.fire(item_id, "clear", "multi")
    error = refused(NotPermitted, "refuse.separation_trigger", engine.fire, item_id, "sign_off", "multi")
    assert error.params["other"] == "clear"
    assert engine.fire(item_id, "sign_off", "leader_c").to_state == "answered"


# ---- comments, fields, extension --------------------------------------------------------------


def _at_confidentiality_review(engine: WorkflowEngine, make_item: MakeItem) -> int:
    item_id = make_item()
    engine.fire(item_id, "submit", "drafter_a")
    return item_id


def _published(engine: WorkflowEngine, make_item: MakeItem) -> int:
    item_id = make_item()
    publish(engine, item_id)
    return item_id


def _processing(engine: WorkflowEngine, make_item: MakeItem) -> int:
    item_id = make_item("disclosure_request")
    engine.fire(item_id, "register", "office_a")
    return item_id


@pytest.mark.parametrize(
    ("setup", "trigger", "actor", "from_state", "to_state"),
    [
        (_at_confidentiality_review, "send_back", "reviewer_a", "confidentiality_review", "drafting"),
        (_at_confidentiality_review, "withhold", "reviewer_a", "confidentiality_review", "withheld"),
        (_published, "withdraw", "leader_b", "published", "withdrawn"),
        (_processing, "request_correction", "office_a", "processing", "awaiting_correction"),
        (_processing, "extend", "leader_a", "processing", "processing"),
    ],
)
def test_these_triggers_need_a_comment(
    engine: WorkflowEngine,
    make_item: MakeItem,
    setup: Callable[[WorkflowEngine, MakeItem], int],
    trigger: str,
    actor: str,
    from_state: str,
    to_state: str,
) -> None:
    item_id = setup(engine, make_item)
    version = engine.show(item_id).version
    for blank in (None, "", "   \n\t"):
        error = refused(
            TransitionNotAllowed, "refuse.comment_required", engine.fire, item_id, trigger, actor, comment=blank
        )
        assert error.params["trigger"] == trigger
        # A comment is the caller's to give: the trigger is still offered.
        assert trigger in error.params["available"]
    assert engine.show(item_id).version == version
    result = engine.fire(item_id, trigger, actor, comment="  理由: 需要补充材料  ")
    assert (result.from_state, result.to_state) == (from_state, to_state)
    row = last_row(engine, item_id)
    assert (row.trigger, row.actor, row.comment) == (trigger, actor, "理由: 需要补充材料")
    assert engine.show(item_id).version == version + 1


def test_draft_reply_needs_a_valid_outcome(engine: WorkflowEngine, make_item: MakeItem) -> None:
    item_id = _processing(engine, make_item)
    error = refused(TransitionNotAllowed, "refuse.field_required", engine.fire, item_id, "draft_reply", "office_a")
    assert error.params["field"] == "outcome"
    assert "draft_reply" in error.params["available"]
    error = refused(
        TransitionNotAllowed,
        "refuse.bad_choice",
        engine.fire,
        item_id,
        "draft_reply",
        "office_a",
        fields={"outcome": "maybe"},
    )
    assert error.params["field"] == "outcome" and error.params["value"] == "maybe"
    assert "refused_state_secret" in error.params["allowed"]
    refused(
        TransitionNotAllowed,
        "refuse.bad_choice",
        engine.fire,
        item_id,
        "draft_reply",
        "office_a",
        fields={"outcome": ""},
    )
    item = engine.show(item_id)
    assert (item.state, item.version, "outcome" in item.fields) == ("processing", 2, False)

    result = engine.fire(item_id, "draft_reply", "office_a", fields={"outcome": "partly_disclosed"})
    assert result.to_state == "reply_review"
    assert engine.show(item_id).fields["outcome"] == "partly_disclosed"
    assert json.loads(last_row(engine, item_id).fields) == {"outcome": "partly_disclosed"}


def test_no_correction_in_time_is_answered_from_awaiting_correction(
    engine: WorkflowEngine, make_item: MakeItem
) -> None:
    item_id = _processing(engine, make_item)
    engine.fire(item_id, "request_correction", "office_a", comment="请说明所需信息的名称")
    result = engine.fire(item_id, "draft_reply", "office_a", fields={"outcome": "other_no_correction"})
    assert (result.from_state, result.to_state) == ("awaiting_correction", "reply_review")


def test_extend_once_only_by_a_leader_and_it_changes_no_state(
    engine: WorkflowEngine, make_item: MakeItem, db: Engine
) -> None:
    item_id = _processing(engine, make_item)
    error = refused(NotPermitted, "refuse.role", engine.fire, item_id, "extend", "office_a", comment="延期")
    assert error.params["role"] == "leader"
    assert "extend" not in error.params["available"]
    before = audit_count(db)
    result = engine.fire(item_id, "extend", "leader_a", comment="需要调取档案, 延长20个工作日")
    assert (result.from_state, result.to_state) == ("processing", "processing")
    assert audit_count(db) == before + 1
    row = last_row(engine, item_id)
    assert (row.trigger, row.from_state, row.to_state, row.actor, row.role) == (
        "extend",
        "processing",
        "processing",
        "leader_a",
        "leader",
    )
    item = engine.show(item_id)
    assert (item.state, item.version) == ("processing", 3)
    # Once per item, whoever asks, and it is no longer offered.
    for leader in ("leader_a", "leader_b"):
        error = refused(
            TransitionNotAllowed, "refuse.once_only", engine.fire, item_id, "extend", leader, comment="再延期"
        )
        assert "extend" not in error.params["available"]
    assert "extend" not in engine.show(item_id, viewer="leader_b").available_triggers
    # Still once after leaving processing and coming back.
    engine.fire(item_id, "consult_third_party", "office_a")
    engine.fire(item_id, "third_party_replied", "office_a")
    refused(TransitionNotAllowed, "refuse.once_only", engine.fire, item_id, "extend", "leader_c", comment="三次")
    assert audit_count(db) == before + 3


def test_extend_only_while_processing(engine: WorkflowEngine, make_item: MakeItem) -> None:
    item_id = make_item("disclosure_request")
    error = refused(TransitionNotAllowed, "refuse.wrong_state", engine.fire, item_id, "extend", "leader_a", comment="x")
    assert error.params["state"] == "received"
    assert error.params["available"] == []


# ---- quorum ------------------------------------------------------------------------------------


def _signoffs(engine: WorkflowEngine, item_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (r.actor, r.to_state, json.loads(r.details))
        for r in auditlog.read_entries(engine.db, item_id)
        if r.trigger == "sign_off"
    ]


def test_normative_document_needs_two_distinct_leaders(engine: WorkflowEngine, make_item: MakeItem) -> None:
    item_id = make_item("normative_document")
    to_collective(engine, item_id)
    first = engine.fire(item_id, "sign_off", "leader_a")
    assert (first.from_state, first.to_state) == ("collective_decision", "collective_decision")
    assert first.details == {"quorum": {"votes": 1, "needed": 2}}
    error = refused(NotPermitted, "refuse.already_voted", engine.fire, item_id, "sign_off", "leader_a")
    assert error.params["available"] == ["send_back"]
    assert engine.show(item_id).state == "collective_decision"
    assert "sign_off" in engine.show(item_id, viewer="leader_b").available_triggers
    second = engine.fire(item_id, "sign_off", "leader_b")
    assert second.to_state == "published"
    assert second.details == {"quorum": {"votes": 2, "needed": 2}}
    assert _signoffs(engine, item_id) == [
        ("leader_a", "collective_decision", {"quorum": {"votes": 1, "needed": 2}}),
        # The publication's audit row also carries the index number and the moment (office time).
        ("leader_b", "published", {
            "quorum": {"votes": 2, "needed": 2},
            "index_number": "01526086-8-03/2026-00001", "published_at": "2026-03-02T10:00:00+08:00",
            "channels": ["portal", "webhook", "notice_board"],
        }),
    ]  # fmt: skip
    assert engine.fire(item_id, "file_record", "office_a").to_state == "filed"


def test_sending_back_resets_the_votes(engine: WorkflowEngine, make_item: MakeItem) -> None:
    item_id = make_item("normative_document")
    to_collective(engine, item_id)
    engine.fire(item_id, "sign_off", "leader_a")
    engine.fire(item_id, "send_back", "leader_b", comment="第三条需修改")
    assert engine.show(item_id).state == "drafting"
    to_collective(engine, item_id)
    # leader_a's vote from the first round does not count, and leader_a may vote again.
    again = engine.fire(item_id, "sign_off", "leader_a")
    assert again.to_state == "collective_decision"
    assert again.details["quorum"]["votes"] == 1
    refused(NotPermitted, "refuse.already_voted", engine.fire, item_id, "sign_off", "leader_a")
    assert engine.fire(item_id, "sign_off", "leader_c").to_state == "published"


# ---- late correction (Regulation art. 30, working days) ----------------------------------------


# Working days are counted with chinese_calendar, from the day after receipt:
#   received 2026-02-10 (Tue): 02-11 (1), 02-12 (2), 02-13 (3), 02-14 Sat make-up day (4),
#   02-15..02-23 Spring Festival off, 02-24 (5), 02-25 (6), 02-26 (7) -> the limit is 02-26.
#   A plain Mon-Fri count would give 02-19, so 02-26 is on time only because of the holiday.
#   received 2026-02-09 (Mon): 02-10 .. 02-14 are 1-5, 02-24 (6), 02-25 (7) -> limit 02-25.
#   received 2026-03-02 (Mon): 03-03 .. 03-06 (1-4), 03-09 .. 03-11 (5-7) -> limit 03-11.
@pytest.mark.parametrize(
    ("received_on", "corrected_on", "limit"),
    [
        ("2026-02-10", "2026-02-26", None),
        ("2026-02-10", "2026-02-27", "2026-02-26"),
        ("2026-02-10", "2026-03-02", "2026-02-26"),
        ("2026-02-09", "2026-02-25", None),
        ("2026-02-09", "2026-02-26", "2026-02-25"),
        ("2026-03-02", "2026-03-02", None),
        ("2026-03-02", "2026-03-11", None),
        ("2026-03-02", "2026-03-12", "2026-03-11"),
    ],
)
def test_a_late_correction_request_is_marked(
    engine: WorkflowEngine,
    make_item: MakeItem,
    clock: FrozenClock,
    received_on: str,
    corrected_on: str,
    limit: str | None,
) -> None:
    clock.now = dt.datetime.fromisoformat(received_on).replace(hour=1, tzinfo=dt.UTC)
    item_id = make_item("disclosure_request", fields=request_fields(received_on))
    engine.fire(item_id, "register", "office_a")
    # 23:30 in Beijing on the day of the correction: still that day in the office's time zone.
    clock.now = dt.datetime.fromisoformat(corrected_on).replace(hour=15, minute=30, tzinfo=dt.UTC)
    result = engine.fire(item_id, "request_correction", "office_a", comment="申请内容不明确")
    details = json.loads(last_row(engine, item_id).details)
    if limit is None:
        assert details == {}
        assert "late" not in result.details
    else:
        expected = {
            "from_field": "received_on",
            "from": received_on,
            "limit": limit,
            "working_days": 7,
            "on": corrected_on,
        }
        assert set(details) == {"late"}
        late = dict(details["late"])
        # The mark names the calendar data it was counted with (and no year counted without data).
        assert str(late.pop("calendar")).startswith("chinesecalendar-")
        assert late == expected
        assert result.details == details
    # Late or not, the correction request went through.
    assert engine.show(item_id).state == "awaiting_correction"


def test_the_day_is_counted_in_beijing_time(engine: WorkflowEngine, make_item: MakeItem, clock: FrozenClock) -> None:
    item_id = make_item("disclosure_request", fields=request_fields("2026-02-10"))
    engine.fire(item_id, "register", "office_a")
    # 2026-02-26 16:30 UTC is already 2026-02-27 00:30 in Beijing: one day past the limit.
    clock.now = dt.datetime(2026, 2, 26, 16, 30, tzinfo=dt.UTC)
    engine.fire(item_id, "request_correction", "office_a", comment="不明确")
    late = json.loads(last_row(engine, item_id).details)["late"]
    assert (late["limit"], late["on"]) == ("2026-02-26", "2026-02-27")


# ---- editing: what is signed off is what was reviewed -------------------------------------------


def test_edit_only_while_drafting(engine: WorkflowEngine, make_item: MakeItem) -> None:
    item_id = make_item(title="2026年预算", body="初稿")
    created = engine.show(item_id)
    edited = engine.edit(item_id, "drafter_a", body="第二稿", title="2026年部门预算")
    assert (edited.title, edited.body, edited.version) == ("2026年部门预算", "第二稿", 2)
    assert edited.content_hash == audit.content_hash("2026年部门预算", "第二稿", "03", {})
    assert edited.content_hash != created.content_hash
    row = last_row(engine, item_id)
    assert (row.trigger, row.from_state, row.to_state, row.content_hash) == (
        "edit",
        "drafting",
        "drafting",
        edited.content_hash,
    )
    assert json.loads(row.details) == {"previous_content_hash": created.content_hash, "title": "2026年部门预算"}

    refused(NotPermitted, "refuse.edit_role", engine.edit, item_id, "reviewer_a", body="x")
    refused(NotPermitted, "refuse.edit_role", engine.edit, item_id, "drafter_b", body="x")

    submitted = engine.fire(item_id, "submit", "drafter_a")
    error = refused(TransitionNotAllowed, "refuse.not_editable", engine.edit, item_id, "drafter_a", body="偷改")
    assert error.params["state"] == "confidentiality_review"
    engine.fire(item_id, "clear", "reviewer_a")
    refused(TransitionNotAllowed, "refuse.not_editable", engine.edit, item_id, "drafter_a", body="偷改")
    signed = engine.fire(item_id, "sign_off", "leader_a")
    refused(TransitionNotAllowed, "refuse.not_editable", engine.edit, item_id, "drafter_a", body="偷改")

    rows = {r.trigger: r for r in auditlog.read_entries(engine.db, item_id)}
    assert rows["submit"].content_hash == submitted.item.content_hash == edited.content_hash
    assert rows["clear"].content_hash == rows["submit"].content_hash
    assert rows["sign_off"].content_hash == rows["submit"].content_hash == signed.item.content_hash
    assert engine.show(item_id).body == "第二稿"


def test_a_sent_back_draft_can_be_edited_again(engine: WorkflowEngine, make_item: MakeItem) -> None:
    item_id = make_item(body="初稿")
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "send_back", "reviewer_a", comment="删去身份证号")
    engine.edit(item_id, "drafter_a", body="已删去")
    submitted = engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "clear", "reviewer_b")
    signed = engine.fire(item_id, "sign_off", "leader_a")
    assert signed.item.content_hash == submitted.item.content_hash == audit.content_hash("测试信息", "已删去", "03", {})


def test_edit_a_request_while_processing(engine: WorkflowEngine, make_item: MakeItem) -> None:
    item_id = make_item("disclosure_request")
    refused(TransitionNotAllowed, "refuse.not_editable", engine.edit, item_id, "office_a", body="x")
    engine.fire(item_id, "register", "office_a")
    edited = engine.edit(item_id, "office_a", body="申请获取2025年预算")
    assert edited.body == "申请获取2025年预算"
    engine.fire(item_id, "draft_reply", "office_a", fields={"outcome": "disclosed"})
    reviewed = engine.show(item_id)
    refused(TransitionNotAllowed, "refuse.not_editable", engine.edit, item_id, "office_a", body="y")
    engine.fire(item_id, "clear", "reviewer_a")
    engine.fire(item_id, "sign_off", "leader_a")
    rows = {r.trigger: r for r in auditlog.read_entries(engine.db, item_id)}
    # The outcome is part of what was reviewed: the hash covers it from draft_reply on.
    assert rows["draft_reply"].content_hash == reviewed.content_hash
    assert rows["sign_off"].content_hash == reviewed.content_hash
    assert reviewed.content_hash == audit.content_hash(
        "测试信息", "申请获取2025年预算", None, {**request_fields(), "outcome": "disclosed"}
    )


def test_revise_starts_revision_two(engine: WorkflowEngine, make_item: MakeItem, db: Engine) -> None:
    item_id = make_item(body="第一版")
    publish(engine, item_id)
    refused(NotPermitted, "refuse.role", engine.fire, item_id, "revise", "drafter_b")
    result = engine.fire(item_id, "revise", "drafter_a")
    assert (result.to_state, result.item.revision) == ("drafting", 2)
    engine.edit(item_id, "drafter_a", body="第二版")
    revisions = ItemRevision.__table__
    with db.connect() as conn:
        rows = conn.execute(
            select(revisions.c.revision, revisions.c.body)
            .where(revisions.c.item_id == item_id)
            .order_by(revisions.c.revision)
        ).all()
    assert [tuple(r) for r in rows] == [(1, "第一版"), (2, "第二版")]
    to_signoff(engine, item_id, reviewer="reviewer_b")
    final = engine.fire(item_id, "sign_off", "leader_b")
    assert (final.to_state, final.item.revision, final.item.body) == ("published", 2, "第二版")


# ---- assignment and delegation ----------------------------------------------------------------


def test_assignment_binds_the_role_on_the_item(engine: WorkflowEngine, make_item: MakeItem) -> None:
    item_id = make_item()
    refused(
        NotPermitted,
        "refuse.assign_role",
        engine.assign,
        item_id,
        "confidentiality_reviewer",
        "reviewer_b",
        "drafter_a",
    )
    refused(
        InvalidInput,
        "input.assignee_lacks_role",
        engine.assign,
        item_id,
        "confidentiality_reviewer",
        "leader_a",
        "admin_a",
    )
    refused(NotFound, "notfound.user", engine.assign, item_id, "confidentiality_reviewer", "nobody", "admin_a")
    view = engine.assign(item_id, "confidentiality_reviewer", "reviewer_b", "admin_a")
    assert view.holders == {"drafter": ["drafter_a"], "confidentiality_reviewer": ["reviewer_b"]}
    row = last_row(engine, item_id)
    assert (row.trigger, row.actor, row.role, row.from_state, row.to_state) == (
        "assign",
        "admin_a",
        "admin",
        "drafting",
        "drafting",
    )
    assert json.loads(row.details) == {"role": "confidentiality_reviewer", "to": "reviewer_b", "from": []}

    engine.fire(item_id, "submit", "drafter_a")
    error = refused(NotPermitted, "refuse.role", engine.fire, item_id, "clear", "reviewer_a")
    assert error.params["available"] == []
    assert engine.show(item_id, viewer="reviewer_a").available_triggers == []
    assert engine.fire(item_id, "clear", "reviewer_b").to_state == "leadership_signoff"

    engine.assign(item_id, "leader", "leader_c", "office_a")
    assert json.loads(last_row(engine, item_id).details)["from"] == []
    refused(NotPermitted, "refuse.role", engine.fire, item_id, "sign_off", "leader_a")
    engine.fire(item_id, "sign_off", "leader_c")
    assert triggers_of(engine, item_id) == ["create", "assign", "submit", "clear", "assign", "sign_off"]


def test_reassignment_records_the_previous_holder(engine: WorkflowEngine, make_item: MakeItem) -> None:
    item_id = make_item()
    engine.assign(item_id, "confidentiality_reviewer", "reviewer_b", "admin_a")
    engine.assign(item_id, "confidentiality_reviewer", "reviewer_a", "leader_a")
    assert json.loads(last_row(engine, item_id).details) == {
        "role": "confidentiality_reviewer",
        "to": "reviewer_a",
        "from": ["reviewer_b"],
    }
    publish(engine, item_id)
    engine.fire(item_id, "withdraw", "leader_a", comment="过时")
    refused(TransitionNotAllowed, "refuse.assign_terminal", engine.assign, item_id, "leader", "leader_b", "admin_a")


def _delegate(db: Engine, principal: str, substitute: str, starts: str, ends: str) -> None:
    with db.begin() as conn:
        delegate(
            conn,
            principal,
            substitute,
            dt.date.fromisoformat(starts),
            dt.date.fromisoformat(ends),
            dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        )


def test_a_substitute_signs_off_within_the_period(
    engine: WorkflowEngine, make_item: MakeItem, db: Engine, clock: FrozenClock
) -> None:
    _delegate(db, "leader_a", "office_b", "2026-03-02", "2026-03-06")
    item_id = make_item()
    to_signoff(engine, item_id)
    assert sorted(engine.show(item_id, viewer="office_b").available_triggers) == ["schedule", "send_back", "sign_off"]
    result = engine.fire(item_id, "sign_off", "office_b")
    assert result.to_state == "published"
    row = last_row(engine, item_id)
    assert (row.actor, row.on_behalf_of, row.role) == ("office_b", "leader_a", "leader")
    assert auditlog.verify(db, engine.audit_key).fault is None


@pytest.mark.parametrize("now", ["2026-03-01T15:59:00+00:00", "2026-03-06T16:00:00+00:00"])
def test_a_substitute_outside_the_period_is_refused(
    engine: WorkflowEngine, make_item: MakeItem, db: Engine, clock: FrozenClock, now: str
) -> None:
    # 2026-03-01 23:59 and 2026-03-07 00:00 in Beijing: the day before and the day after.
    _delegate(db, "leader_a", "office_b", "2026-03-02", "2026-03-06")
    item_id = make_item()
    to_signoff(engine, item_id)
    clock.now = dt.datetime.fromisoformat(now)
    error = refused(NotPermitted, "refuse.role", engine.fire, item_id, "sign_off", "office_b")
    assert error.params["available"] == []
    assert engine.show(item_id).state == "leadership_signoff"


def test_a_substitute_still_obeys_separation_of_duties(engine: WorkflowEngine, make_item: MakeItem, db: Engine) -> None:
    # reviewer_a stands in for leader_b: having cleared an item, they may not sign it off as leader_b.
    _delegate(db, "leader_b", "reviewer_a", "2026-03-01", "2026-03-31")
    item_id = make_item()
    to_signoff(engine, item_id, reviewer="reviewer_a")
    error = refused(NotPermitted, "refuse.separation_trigger", engine.fire, item_id, "sign_off", "reviewer_a")
    assert error.params["other"] == "clear"
    # multi cleared another item; office_b standing in for multi may not sign it off either.
    _delegate(db, "multi", "office_b", "2026-03-01", "2026-03-31")
    other = make_item()
    to_signoff(engine, other, reviewer="multi")
    refused(NotPermitted, "refuse.separation_trigger", engine.fire, other, "sign_off", "office_b")
    # A principal's own vote and their substitute's are one vote.
    _delegate(db, "leader_a", "office_a", "2026-03-01", "2026-03-31")
    doc = make_item("normative_document")
    to_collective(engine, doc)
    engine.fire(doc, "sign_off", "leader_a")
    refused(NotPermitted, "refuse.already_voted", engine.fire, doc, "sign_off", "office_a")
    result = engine.fire(doc, "sign_off", "leader_c")
    assert result.to_state == "published"


def test_a_substitute_vote_counts_for_the_principal(engine: WorkflowEngine, make_item: MakeItem, db: Engine) -> None:
    _delegate(db, "leader_a", "office_b", "2026-03-01", "2026-03-31")
    doc = make_item("normative_document")
    to_collective(engine, doc)
    engine.fire(doc, "sign_off", "office_b")
    refused(NotPermitted, "refuse.already_voted", engine.fire, doc, "sign_off", "leader_a")
    assert engine.fire(doc, "sign_off", "leader_b").to_state == "published"
    assert [(r.actor, r.on_behalf_of) for r in auditlog.read_entries(db, doc) if r.trigger == "sign_off"] == [
        ("office_b", "leader_a"),
        ("leader_b", None),
    ]


# ---- references, lookups, input -----------------------------------------------------------------


def test_references_count_per_definition_and_year(
    engine: WorkflowEngine, make_item: MakeItem, clock: FrozenClock
) -> None:
    refs = [engine.show(make_item()).reference for _ in range(2)]
    assert refs == ["GK-2026-0001", "GK-2026-0002"]
    assert engine.show(make_item("normative_document")).reference == "GF-2026-0001"
    assert engine.show(make_item("disclosure_request")).reference == "SQ-2026-0001"
    assert engine.show(make_item()).reference == "GK-2026-0003"
    # 2026-12-31 16:30 UTC is 2027-01-01 00:30 in Beijing: the new year's first number.
    clock.now = dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC)
    assert engine.show(make_item()).reference == "GK-2027-0001"
    assert engine.show(make_item("normative_document")).reference == "GF-2027-0001"


def test_show_by_id_or_reference(engine: WorkflowEngine, make_item: MakeItem) -> None:
    make_item()
    item_id = make_item(title="第二件")
    by_id = engine.show(item_id)
    assert by_id.reference == "GK-2026-0002"
    for ref in ("GK-2026-0002", "gk-2026-0002", " GK-2026-0002 ", str(item_id)):
        assert engine.show(ref).id == item_id
        assert engine.show(ref).title == "第二件"
    assert engine.fire("gk-2026-0002", "submit", "drafter_a").item.id == item_id


@pytest.mark.parametrize("ref", [99999, "99999", "GK-2026-9999", "SQ-2026-0001", "nonsense"])
def test_unknown_items_are_not_found(engine: WorkflowEngine, make_item: MakeItem, ref: str | int) -> None:
    make_item()
    refused(NotFound, "notfound.item", engine.show, ref)
    refused(NotFound, "notfound.item", engine.fire, ref, "submit", "drafter_a")
    refused(NotFound, "notfound.item", engine.edit, ref, "drafter_a", body="x")
    refused(NotFound, "notfound.item", engine.assign, ref, "leader", "leader_a", "admin_a")


def test_unknown_user_and_definition(engine: WorkflowEngine, make_item: MakeItem) -> None:
    item_id = make_item()
    refused(NotFound, "notfound.user", engine.fire, item_id, "submit", "ghost")
    refused(NotFound, "notfound.user", engine.create, "proactive_disclosure", title="t", actor="ghost", category="03")
    refused(NotFound, "notfound.definition", engine.create, "no_such_chain", title="t", actor="drafter_a")


def test_unknown_fields_are_invalid_input(engine: WorkflowEngine, make_item: MakeItem, db: Engine) -> None:
    error = refused(
        InvalidInput,
        "input.unknown_field",
        engine.create,
        "proactive_disclosure",
        title="t",
        actor="drafter_a",
        category="03",
        fields={"colour": "red"},
    )
    assert error.params["field"] == "colour"
    item_id = make_item("disclosure_request")
    engine.fire(item_id, "register", "office_a")
    refused(
        InvalidInput,
        "input.unknown_field",
        engine.fire,
        item_id,
        "draft_reply",
        "office_a",
        fields={"outcome": "disclosed", "verdict": "ok"},
    )
    assert engine.show(item_id).state == "processing"
    assert [i.id for i in engine.list_items()] == [item_id]


@pytest.mark.parametrize("missing", ["requester", "requester_type", "channel", "received_on"])
def test_missing_required_fields_refuse_create(engine: WorkflowEngine, db: Engine, missing: str) -> None:
    fields = request_fields()
    del fields[missing]
    error = refused(
        TransitionNotAllowed,
        "refuse.fields_missing",
        engine.create,
        "disclosure_request",
        title="申请",
        actor="office_a",
        fields=fields,
    )
    assert error.params["fields"] == missing
    assert engine.list_items() == []
    assert audit_count(db) == 0


def test_bad_field_values_refuse_create(engine: WorkflowEngine) -> None:
    refused(
        TransitionNotAllowed,
        "refuse.bad_date",
        engine.create,
        "disclosure_request",
        title="申请",
        actor="office_a",
        fields=request_fields("2026-02-30"),
    )
    refused(
        TransitionNotAllowed,
        "refuse.bad_choice",
        engine.create,
        "disclosure_request",
        title="申请",
        actor="office_a",
        fields={**request_fields(), "channel": "pigeon"},
    )
    refused(
        InvalidInput,
        "input.empty_title",
        engine.create,
        "proactive_disclosure",
        title="  ",
        actor="drafter_a",
        category="03",
    )
    assert engine.list_items() == []


@pytest.mark.parametrize("given", ["03", "总结计划", "Reports and plans", " 03 "])
def test_category_by_code_or_name(engine: WorkflowEngine, given: str) -> None:
    item = engine.create("proactive_disclosure", title="年度计划", actor="drafter_a", category=given)
    assert item.category == "03"


@pytest.mark.parametrize("given", ["99", "总结", "3", "reports and plans"])
def test_unknown_category_is_refused(engine: WorkflowEngine, db: Engine, given: str) -> None:
    error = refused(
        InvalidInput,
        "input.unknown_category",
        engine.create,
        "proactive_disclosure",
        title="t",
        actor="drafter_a",
        category=given,
    )
    assert "03 总结计划" in error.params["allowed"]
    assert audit_count(db) == 0


def test_category_required_where_the_definition_says(engine: WorkflowEngine) -> None:
    for definition in ("proactive_disclosure", "normative_document"):
        for blank in (None, "", "  "):
            refused(
                InvalidInput,
                "input.category_required",
                engine.create,
                definition,
                title="t",
                actor="drafter_a",
                category=blank,
            )
    request = engine.create("disclosure_request", title="申请", actor="office_a", fields=request_fields())
    assert request.category is None


# ---- available triggers on refusal -----------------------------------------------------------------


def test_refusals_list_what_the_actor_may_fire_now(engine: WorkflowEngine, make_item: MakeItem) -> None:
    item_id = make_item()
    engine.fire(item_id, "submit", "drafter_a")
    error = refused(TransitionNotAllowed, "refuse.wrong_state", engine.fire, item_id, "sign_off", "reviewer_a")
    assert error.params["state"] == "confidentiality_review"
    assert sorted(error.params["available"]) == ["clear", "send_back", "withhold"]
    assert error.params["last"]["actor"] == "drafter_a"
    assert error.params["last"]["trigger"] == "submit"
    error = refused(TransitionNotAllowed, "refuse.unknown_trigger", engine.fire, item_id, "publicize", "reviewer_a")
    assert sorted(error.params["available"]) == ["clear", "send_back", "withhold"]
    error = refused(TransitionNotAllowed, "refuse.wrong_state", engine.fire, item_id, "submit", "drafter_a")
    assert error.params["available"] == []
    engine.fire(item_id, "clear", "reviewer_a")
    error = refused(TransitionNotAllowed, "refuse.wrong_state", engine.fire, item_id, "clear", "leader_a")
    assert sorted(error.params["available"]) == ["schedule", "send_back", "sign_off"]
    assert error.params["last"]["actor"] == "reviewer_a"


# ---- definition version pinning -----------------------------------------------------------------

ARCHIVE = """
  - trigger: archive
    source: published
    dest: archived
    role: office
"""


def _engine_on(db: Engine, directory: Path, settings: Settings, clock: FrozenClock) -> WorkflowEngine:
    return WorkflowEngine(db, DefinitionRegistry(directory), settings.require_audit_key(), clock=clock)


def test_items_keep_the_definition_version_they_started_on(
    engine: WorkflowEngine, db: Engine, settings: Settings, clock: FrozenClock, tmp_path: Path
) -> None:
    folder = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS, folder)
    ours = _engine_on(db, folder, settings, clock)
    path = folder / "proactive_disclosure.yaml"
    first = ours.create("proactive_disclosure", title="旧规则", actor="drafter_a", category="03")

    original = path.read_text(encoding="utf-8")
    changed = original.replace(
        "  withdrawn:\n",
        "  archived:\n    label: {zh: 已归档, en: Archived}\n    terminal: true\n  withdrawn:\n",
    ).replace("label: {zh: 领导签发, en: Leadership sign-off}", "label: {zh: 主要领导签发, en: Head sign-off}")
    changed = changed.replace("\ntriggers:\n", "\ntriggers:\n  archive:\n    label: {zh: 归档, en: Archive}\n", 1)
    changed = changed.rstrip("\n") + "\n" + ARCHIVE
    assert changed != original
    path.write_text(changed, encoding="utf-8")
    second = ours.create("proactive_disclosure", title="新规则", actor="drafter_a", category="03")
    third = ours.create("proactive_disclosure", title="新规则, 未提交", actor="drafter_b", category="03")
    assert first.definition_version != second.definition_version == third.definition_version
    assert ours.show(first.id).definition_version == first.definition_version

    for item in (first, second):
        to_signoff(ours, item.id)
        ours.fire(item.id, "sign_off", "leader_a")
    refused(TransitionNotAllowed, "refuse.unknown_trigger", ours.fire, first.id, "archive", "office_a")
    assert "archive" not in ours.show(first.id, viewer="office_a").available_triggers
    assert ours.fire(second.id, "archive", "office_a").to_state == "archived"
    rows = auditlog.read_entries(db)
    assert {r.definition_version for r in rows if r.item_id == first.id} == {first.definition_version}
    assert {r.definition_version for r in rows if r.item_id == second.id} == {second.definition_version}

    # A broken file stops new items but not the ones in flight, even for an engine that never
    # saw the old files (the pinned versions come from the database).
    path.write_text(changed.replace("initial: drafting", "initial: nowhere"), encoding="utf-8")
    with pytest.raises(DefinitionError):
        ours.create("proactive_disclosure", title="坏", actor="drafter_a", category="03")
    fresh = _engine_on(db, folder, settings, clock)
    with pytest.raises(DefinitionError):
        fresh.create("proactive_disclosure", title="坏", actor="drafter_a", category="03")
    assert fresh.fire(first.id, "withdraw", "leader_b", comment="旧的撤回").to_state == "withdrawn"
    assert fresh.fire(third.id, "submit", "drafter_b").to_state == "confidentiality_review"
    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(DefinitionError):
        fresh.create("proactive_disclosure", title="坏", actor="drafter_a", category="03")
    assert fresh.fire(third.id, "clear", "reviewer_a").to_state == "leadership_signoff"
    assert fresh.show(third.id).definition_version == second.definition_version
    assert auditlog.verify(db, settings.require_audit_key()).fault is None
    with db.connect() as conn:
        items = Item.__table__
        count = conn.execute(select(func.count()).select_from(items)).scalar_one()
    assert count == 3

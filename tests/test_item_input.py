"""The input rules of an item, in one home (workflow.core.authoring): 文号 and 主题词, every problem of a
form keyed by its field, edits of fields and category in editable states; a refused change writes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from tests.conftest import DEFINITIONS
from workflow.core.authoring import (
    check_doc_number,
    check_item_input,
    check_subjects,
    creatable,
    frozen_fields,
    split_subjects,
)
from workflow.core.decisions import Person
from workflow.core.errors import InvalidInput, NotPermitted, TransitionNotAllowed
from workflow.core.loader import load_catalog, load_definitions
from workflow.engine import WorkflowEngine, audit_log
from workflow.store.models import Item

DEFS = load_definitions(DEFINITIONS)
CATALOG = load_catalog(DEFINITIONS)
REQUEST = {"requester": "张三", "requester_type": "natural_person", "channel": "post", "received_on": "2026-03-02"}


def counts(engine: WorkflowEngine) -> tuple[int, int]:
    with engine.db.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(Item.__table__)).scalar_one(),
            conn.execute(select(func.count()).select_from(audit_log)).scalar_one(),
        )


# ---- 文号 and 主题词 (pure) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("财政 预算", ["财政", "预算"]),
        ("财政、预算，决算,公开", ["财政", "预算", "决算", "公开"]),
        ("  财政\u3000预算  财政 ", ["财政", "预算"]),
        (["财政", " 预算 ", "财政、决算"], ["财政", "预算", "决算"]),
        ("", []),
        (None, []),
    ],
)
def test_subject_words_are_split_trimmed_and_deduplicated(typed: object, words: list[str]) -> None:
    assert split_subjects(typed) == words  # type: ignore[arg-type]
    assert check_subjects(typed) == words


def test_subject_word_limits() -> None:
    assert len(check_subjects(" ".join(f"词{i}" for i in range(10)))) == 10
    with pytest.raises(InvalidInput) as many:
        check_subjects(" ".join(f"词{i}" for i in range(11)))
    assert many.value.key == "input.too_many_subjects" and many.value.params["count"] == 11
    assert check_subjects("字" * 20) == ["字" * 20]
    with pytest.raises(InvalidInput) as long:
        check_subjects("短 " + "字" * 21)
    assert long.value.key == "input.subject_too_long" and long.value.params["word"] == "字" * 21
    with pytest.raises(InvalidInput) as control:
        check_subjects("财\x07政")
    assert control.value.key == "input.subject_control"


def test_document_number_limits() -> None:
    assert check_doc_number("  荷政发〔2026〕12号 ") == "荷政发〔2026〕12号"
    assert check_doc_number(None) == ""
    assert check_doc_number("号" * 100) == "号" * 100
    with pytest.raises(InvalidInput) as long:
        check_doc_number("号" * 101)
    assert long.value.key == "input.doc_number_too_long" and long.value.params["length"] == 101
    for bad in ("荷政发\n12号", "荷政发\t12号", "荷政发\x00"):
        with pytest.raises(InvalidInput) as control:
            check_doc_number(bad)
        assert control.value.key == "input.doc_number_control"


# ---- every problem of a form, keyed by field (pure) ------------------------------------------------


def test_every_problem_is_reported_by_its_field() -> None:
    checked = check_item_input(
        DEFS["disclosure_request"],
        CATALOG,
        title=" ",
        category="99",
        fields={"requester_type": "martian", "received_on": "2026-02-30", "colour": "red"},
        meta={"doc_number": "号" * 101, "subjects": "字" * 21},
    )
    assert {key: p.key for key, p in checked.problems.items()} == {
        "title": "input.empty_title",
        "category": "input.unknown_category",
        "field:requester_type": "refuse.bad_choice",
        "field:received_on": "refuse.bad_date",
        "field:colour": "input.unknown_field",
        "field:requester": "refuse.field_missing",
        "field:channel": "refuse.field_missing",
        "doc_number": "input.doc_number_too_long",
        "subjects": "input.subject_too_long",
    }


def test_the_engine_refuses_with_the_first_problem_and_missing_fields_together() -> None:
    checked = check_item_input(DEFS["disclosure_request"], CATALOG, title="申请", category=None, fields={})
    with pytest.raises(TransitionNotAllowed) as refused:
        checked.raise_first()
    assert refused.value.key == "refuse.fields_missing"
    assert refused.value.params["fields"] == "requester, requester_type, channel, received_on"
    clean = check_item_input(
        DEFS["proactive_disclosure"], CATALOG, title=" 计划 ", category="总结计划", fields={},
        meta={"doc_number": " 荷政发〔2026〕1号", "subjects": "财政、预算"},
    )  # fmt: skip
    assert clean.problems == {}
    assert (clean.title, clean.category, clean.meta) == (
        "计划", "03", {"doc_number": "荷政发〔2026〕1号", "subjects": ["财政", "预算"]},
    )  # fmt: skip


def test_who_may_create_what() -> None:
    every = list(DEFS.values())
    drafter = Person("d", frozenset({"drafter"}))
    office = Person("o", frozenset({"office"}))
    reviewer = Person("r", frozenset({"confidentiality_reviewer"}))
    standing_in = Person("r", frozenset({"confidentiality_reviewer"}), stands_in_for=(office,))
    assert {d.name for d in creatable(every, drafter)} == {"proactive_disclosure", "normative_document"}
    assert {d.name for d in creatable(every, office)} == {"disclosure_request", "appeal", "consultation"}
    assert creatable(every, reviewer) == []
    assert {d.name for d in creatable(every, standing_in)} == {"disclosure_request", "appeal", "consultation"}


def test_the_received_date_is_frozen_once_a_request_exists() -> None:
    assert frozen_fields(DEFS["disclosure_request"]) == frozenset({"received_on"})
    assert frozen_fields(DEFS["proactive_disclosure"]) == frozenset()


# ---- the engine: metadata checked, edits of fields and category ------------------------------------


def test_create_checks_and_normalises_the_metadata(engine: WorkflowEngine) -> None:
    view = engine.create(
        "proactive_disclosure", title="预算公开", actor="drafter_a", category="03",
        meta={"doc_number": " 荷政发〔2026〕12号 ", "subjects": "财政 预算、财政"},
    )  # fmt: skip
    assert view.meta == {"doc_number": "荷政发〔2026〕12号", "subjects": ["财政", "预算"]}
    before = counts(engine)
    with pytest.raises(InvalidInput) as refused:
        engine.create(
            "proactive_disclosure",
            title="t",
            actor="drafter_a",
            category="03",
            meta={"subjects": ["x"] * 3 + list("abcdefghijk")},
        )
    assert refused.value.key == "input.too_many_subjects"
    assert counts(engine) == before


def test_edit_changes_fields_and_category_in_an_editable_state(
    engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    item_id = make_item()
    view = engine.show(item_id)
    edited = engine.edit(
        item_id, "drafter_a", body=view.body, category="便民服务", fields={"publish_at": "2026-03-10T09:00"}
    )
    assert edited.category == "06" and edited.fields == {"publish_at": "2026-03-10T09:00"}
    assert edited.content_hash != view.content_hash
    with engine.db.connect() as conn:
        last = conn.execute(select(audit_log.c.trigger, audit_log.c.fields).order_by(audit_log.c.seq.desc())).first()
    assert last is not None and last.trigger == "edit" and "publish_at" in last.fields
    cleared = engine.edit(item_id, "drafter_a", body=view.body, fields={})
    assert cleared.fields == {} and cleared.category == "06"

    before = counts(engine), engine.show(item_id).content_hash
    for kwargs, key in (
        ({"category": ""}, "input.category_required"),
        ({"category": "99"}, "input.unknown_category"),
        ({"fields": {"publish_at": "next week"}}, "refuse.bad_datetime"),
        ({"fields": {"colour": "red"}}, "input.unknown_field"),
        ({"meta": {"doc_number": "a\nb"}}, "input.doc_number_control"),
    ):
        with pytest.raises((InvalidInput, TransitionNotAllowed)) as refused:
            engine.edit(item_id, "drafter_a", body="新", **kwargs)  # type: ignore[arg-type]
        assert refused.value.key == key
    assert (counts(engine), engine.show(item_id).content_hash) == before


def test_edit_of_a_request_keeps_its_received_date(engine: WorkflowEngine, make_item: Callable[..., int]) -> None:
    item_id = make_item("disclosure_request", fields=dict(REQUEST))
    with pytest.raises(TransitionNotAllowed) as refused:
        engine.edit(item_id, "office_a", body="x", fields={**REQUEST, "channel": "email"})
    assert refused.value.key == "refuse.not_editable"  # received: registered first
    engine.fire(item_id, "register", "office_a")
    changed = engine.edit(item_id, "office_b", body="申请内容", fields={**REQUEST, "requester": "李四"})
    assert changed.fields["requester"] == "李四"
    without_date = {k: v for k, v in REQUEST.items() if k != "received_on"}
    kept = engine.edit(item_id, "office_b", body="申请内容", fields=without_date)
    assert kept.fields["received_on"] == "2026-03-02"
    before = counts(engine)
    with pytest.raises(InvalidInput) as frozen:
        engine.edit(item_id, "office_b", body="申请内容", fields={**REQUEST, "received_on": "2026-02-20"})
    assert frozen.value.key == "input.field_frozen"
    with pytest.raises(TransitionNotAllowed) as missing:
        engine.edit(item_id, "office_b", body="申请内容", fields={"received_on": "2026-03-02"})
    assert missing.value.key == "refuse.fields_missing"
    with pytest.raises(NotPermitted):
        engine.edit(item_id, "drafter_a", body="申请内容", fields=dict(REQUEST))
    assert counts(engine) == before


def test_the_engine_refuses_a_clock_start_after_today(engine: WorkflowEngine) -> None:
    """The same rule for scripts: ``item create`` with a received date after today writes nothing."""
    with pytest.raises(InvalidInput) as refused:
        engine.create(
            "disclosure_request", title="申请", actor="office_a", body="请公开。",
            fields={"requester": "张三", "requester_type": "natural_person", "channel": "post",
                    "received_on": (engine.today() + dt.timedelta(days=1)).isoformat()},
        )  # fmt: skip
    assert refused.value.key == "input.field_in_future"
    assert engine.list_items() == []

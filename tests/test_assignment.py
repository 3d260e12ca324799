"""Assignment through the pure core: who may assign (the definition's ``assigned_by``), the assignee's
role, and separation of duties evaluated against the assignee; a refusal changes nothing.

On SQLite and PostgreSQL (the ``engine`` fixture); the YAML key's validation is checked without a database.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import DEFINITIONS
from workflow.core.assignment import decide_assign, eligible_assignees
from workflow.core.decisions import ItemSnapshot, Person
from workflow.core.errors import DefinitionError, GongkaiError, InvalidInput, NotPermitted
from workflow.core.loader import load_definition_text
from workflow.engine import WorkflowEngine
from workflow.store import audit_log as auditlog
from workflow.store.models import AuditEntry
from workflow.store.people import load_person

MakeItem = Callable[..., int]
PROACTIVE = (DEFINITIONS / "proactive_disclosure.yaml").read_text(encoding="utf-8")


def stored(engine: WorkflowEngine, item_id: int) -> tuple[int, dict[str, Any], int]:
    """(version, holders, audit rows): what a refused assignment must leave as it was."""
    with engine.db.connect() as conn:
        row = engine.item_row(conn, item_id)
        count = conn.execute(select(func.count()).select_from(AuditEntry.__table__)).scalar_one()
    return row.version, row.holders, int(count)


def refused_unchanged(engine: WorkflowEngine, item_id: int, kind: type[GongkaiError], key: str, *args: str) -> Any:
    before = stored(engine, item_id)
    with pytest.raises(kind) as caught:
        engine.assign(item_id, *args)
    assert caught.value.key == key, (caught.value.key, caught.value.params)
    assert stored(engine, item_id) == before
    return caught.value


def test_the_drafter_cannot_be_assigned_as_the_items_confidentiality_reviewer(
    engine: WorkflowEngine, make_item: MakeItem
) -> None:
    # multi holds drafter, confidentiality_reviewer and leader; as the creator they are the item's drafter.
    item_id = make_item(actor="multi")
    error = refused_unchanged(
        engine, item_id, NotPermitted, "refuse.assign_separation_role", "confidentiality_reviewer", "multi", "admin_a"
    )
    assert error.params == {
        "person": "multi",
        "role": "confidentiality_reviewer",
        "other": "drafter",
        "trigger": "clear",
    }
    assert "nobody could then fire 'clear'" in error.render("en")
    # Nor as the leader who signs off (sign_off: not the drafter).
    refused_unchanged(engine, item_id, NotPermitted, "refuse.assign_separation_role", "leader", "multi", "office_a")
    # Someone else may be.
    assert engine.assign(item_id, "confidentiality_reviewer", "reviewer_b", "admin_a").holders[
        "confidentiality_reviewer"
    ] == ["reviewer_b"]


def test_the_reviewer_who_cleared_cannot_be_assigned_as_the_leader_who_signs_off(
    engine: WorkflowEngine, make_item: MakeItem
) -> None:
    item_id = make_item()
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "clear", "multi")
    error = refused_unchanged(
        engine, item_id, NotPermitted, "refuse.assign_separation_trigger", "leader", "multi", "leader_a"
    )
    assert error.params["other"] == "clear" and error.params["trigger"] in ("sign_off", "schedule")
    engine.assign(item_id, "leader", "leader_b", "leader_a")
    assert engine.fire(item_id, "sign_off", "leader_b").to_state == "published"


def test_who_may_assign_and_whom(engine: WorkflowEngine, make_item: MakeItem) -> None:
    item_id = make_item()
    refused_unchanged(engine, item_id, NotPermitted, "refuse.assign_role", "leader", "leader_b", "drafter_a")
    refused_unchanged(engine, item_id, InvalidInput, "input.assignee_lacks_role", "leader", "reviewer_a", "admin_a")
    error = refused_unchanged(
        engine, item_id, InvalidInput, "input.role_not_in_definition", "legal_reviewer", "legal_a", "admin_a"
    )
    assert "proactive_disclosure" in error.render("en")
    view = engine.assign(item_id, "leader", "leader_b", "office_a")
    row = auditlog.read_entries(engine.db, item_id)[-1]
    assert (row.trigger, row.actor, row.role, row.person) == ("assign", "office_a", "office", None)
    assert json.loads(row.details) == {"role": "leader", "to": "leader_b", "from": []}
    assert view.version == 2


# ---- the pure core and the YAML key ----------------------------------------------------------


def test_assigned_by_comes_from_the_definition() -> None:
    narrowed = load_definition_text(PROACTIVE + "\nassigned_by: [admin]\n", "narrowed.yaml")
    assert narrowed.assigned_by == ("admin",)
    snapshot = ItemSnapshot(narrowed, "drafting", {}, {"drafter": ["drafter_a"]}, {})
    reviewer = Person("reviewer_b", frozenset({"confidentiality_reviewer"}))
    with pytest.raises(NotPermitted) as caught:
        decide_assign(
            snapshot, "confidentiality_reviewer", "reviewer_b", reviewer, Person("boss", frozenset({"leader"}))
        )
    assert caught.value.params["roles"] == "admin"
    done = decide_assign(
        snapshot, "confidentiality_reviewer", "reviewer_b", reviewer, Person("root", frozenset({"admin"}))
    )
    assert done.holders == {"drafter": ["drafter_a"], "confidentiality_reviewer": ["reviewer_b"]}
    # The bundled definitions do not declare it: the office's practice since the first version.
    assert load_definition_text(PROACTIVE, "proactive_disclosure.yaml").assigned_by == ("admin", "leader", "office")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[chief]", "unknown role 'chief'"),
        ("[]", "'assigned_by' must be a non-empty list"),
        ("admin", "non-empty list"),
    ],
)
def test_a_bad_assigned_by_is_named_with_file_and_line(value: str, message: str) -> None:
    text = PROACTIVE + f"\nassigned_by: {value}\n"
    line = text.count("\n")
    with pytest.raises(DefinitionError) as caught:
        load_definition_text(text, "bad.yaml")
    rendered = caught.value.render("en")
    assert f"bad.yaml:{line}: " in rendered and message in rendered, rendered


def test_handing_a_role_to_its_holder_again_is_refused_and_not_offered(
    engine: WorkflowEngine, make_item: MakeItem
) -> None:
    """Nothing would change: no audit row for it, and the item page does not offer it."""
    item_id = make_item()
    engine.assign(item_id, "leader", "leader_b", "leader_a")
    refused_unchanged(engine, item_id, InvalidInput, "input.already_assigned", "leader", "leader_b", "leader_a")
    with engine.db.connect() as conn:
        row = engine.item_row(conn, item_id)
        definition = engine.registry.pinned(conn, row.definition, row.definition_version)
        leaders = [
            load_person(conn, name, engine.today(), with_substitutions=False) for name in ("leader_b", "leader_c")
        ]
        assigner = load_person(conn, "leader_a", engine.today(), with_substitutions=False)
    snapshot = ItemSnapshot(definition, row.state, row.fields, row.holders, row.acted)
    assert eligible_assignees(snapshot, "leader", leaders, assigner) == ["leader_c"]

"""Assignment from the item page: only the people who may take a role are offered (the core's
``eligible_assignees``, which agrees with ``decide_assign`` and the engine); a forged choice is refused
beside its select and changes nothing; success redirects and confirms. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import OFFICE, FrozenClock
from tests.web_support import Web, make_web
from workflow.core.assignment import assignable_roles, decide_assign, eligible_assignees
from workflow.core.decisions import ItemSnapshot, Person
from workflow.core.errors import GongkaiError
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.store.models import AuditEntry
from workflow.store.people import load_person
from workflow.web.queries import people_holding


@pytest.fixture
def web(engine: WorkflowEngine, settings: Settings, tmp_path: Path, clock: FrozenClock) -> Web:
    return make_web(engine, settings, tmp_path / "mail", clock)


def stored(engine: WorkflowEngine, item_id: int) -> tuple[int, dict[str, Any], int]:
    with engine.db.connect() as conn:
        row = engine.item_row(conn, item_id)
        count = conn.execute(select(func.count()).select_from(AuditEntry.__table__)).scalar_one()
    return row.version, row.holders, int(count)


def options(html: str, role: str) -> list[str]:
    found = re.search(rf'<select id="assign-{role}" name="assignee"[^>]*>(.*?)</select>', html, re.S)
    assert found, f"no choice for {role}"
    return re.findall(r'<option value="([^"]+)">', found.group(1))


def test_the_offered_people_are_exactly_those_the_engine_accepts(
    engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    item_id = make_item(actor="multi")  # multi drafts it: separation of duties bars them from reviewing it
    engine.fire(item_id, "submit", "multi")
    with engine.db.connect() as conn:
        row = engine.item_row(conn, item_id)
        definition = engine.registry.pinned(conn, row.definition, row.definition_version)
        snapshot = ItemSnapshot(definition, row.state, row.fields, row.holders, row.acted)
        assigner = load_person(conn, "leader_a", engine.today(), with_substitutions=True)
        roles = assignable_roles(snapshot, assigner)
        people = [p for p, _ in people_holding(conn, roles)]
        everyone = [load_person(conn, name, engine.today(), with_substitutions=False) for name, _ in OFFICE]
    assert "confidentiality_reviewer" in roles and "leader" in roles
    for role in roles:
        offered = eligible_assignees(snapshot, role, [p for p in people if role in p.roles], assigner)
        for candidate in everyone:
            try:
                decide_assign(snapshot, role, candidate.name, candidate, assigner)
                accepted = True
            except GongkaiError:
                accepted = False
            assert (candidate.name in offered) == accepted, (role, candidate.name)
    reviewers = eligible_assignees(
        snapshot, "confidentiality_reviewer", [p for p in people if "confidentiality_reviewer" in p.roles], assigner
    )
    assert reviewers == ["reviewer_a", "reviewer_b"]  # not multi, the drafter
    assert assignable_roles(snapshot, Person("drafter_a", frozenset({"drafter"}))) == []
    # The engine agrees, both ways.
    before = stored(engine, item_id)
    with pytest.raises(GongkaiError):
        engine.assign(item_id, "confidentiality_reviewer", "multi", "leader_a")
    assert stored(engine, item_id) == before
    engine.assign(item_id, "confidentiality_reviewer", "reviewer_b", "leader_a")


def test_a_leader_hands_a_role_from_the_item_page(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    item_id = make_item(actor="multi", title="指定审查人")
    engine.fire(item_id, "submit", "multi")
    reference = engine.show(item_id).reference
    engine.assign(item_id, "leader", "leader_a", "office_a")  # leader_a now holds the item's sign-off
    web.sign_in("leader_a")
    page = web.client.get(f"/items/{reference}")
    assert page.status_code == 200
    assert options(page.text, "confidentiality_reviewer") == ["reviewer_a", "reviewer_b"]
    assert '<label for="assign-confidentiality_reviewer">' in page.text
    assert "任何具有该角色的人" in page.text  # the reviewer role is open until it is handed on
    csrf = web.csrf(f"/items/{reference}")
    done = web.client.post(
        f"/items/{reference}/assign", data={"csrf": csrf, "role": "confidentiality_reviewer", "assignee": "reviewer_b"}
    )
    assert (
        done.status_code == 303 and done.headers["location"] == f"/items/{reference}?assigned=confidentiality_reviewer"
    )
    confirmed = web.client.get(done.headers["location"]).text
    assert "保密审查员 现已指定给 reviewer_b。" in confirmed
    assert engine.show(item_id).holders["confidentiality_reviewer"] == ["reviewer_b"]


def test_a_forged_assignment_is_refused_beside_its_choice_and_changes_nothing(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    item_id = make_item(actor="multi", title="伪造指定")
    engine.fire(item_id, "submit", "multi")
    reference = engine.show(item_id).reference
    web.sign_in("office_a")
    csrf = web.csrf(f"/items/{reference}")
    before = stored(engine, item_id)
    forged = web.client.post(
        f"/items/{reference}/assign", data={"csrf": csrf, "role": "confidentiality_reviewer", "assignee": "multi"}
    )
    assert forged.status_code == 422
    assert stored(engine, item_id) == before  # version, holders, audit rows
    html = forged.text
    assert 'aria-describedby="assign-confidentiality_reviewer-error"' in html
    error = re.search(r'<p id="assign-confidentiality_reviewer-error" class="error" role="alert">([^<]+)</p>', html)
    assert error and "multi" in error.group(1)
    # Someone outside the definition's assigned_by sees who holds each role, and no choice.
    web.sign_in("reviewer_a")
    page = web.client.get(f"/items/{reference}").text
    assert "Who holds each role" not in page and "各角色由谁承担" in page and 'name="assignee"' not in page
    refused = web.client.post(
        f"/items/{reference}/assign",
        data={"csrf": web.csrf(f"/items/{reference}"), "role": "leader", "assignee": "leader_b"},
    )
    assert refused.status_code == 422 and stored(engine, item_id) == before

from __future__ import annotations

from collections.abc import Callable

from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.store import audit_log as auditlog


def test_proactive_item_walks_the_whole_chain(
    engine: WorkflowEngine, make_item: Callable[..., int], settings: Settings
) -> None:
    item_id = make_item()
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "clear", "reviewer_a")
    result = engine.fire(item_id, "sign_off", "leader_a")
    assert result.to_state == "published"
    rows = auditlog.read_entries(engine.db, item_id)
    assert [r.trigger for r in rows] == ["create", "submit", "clear", "sign_off"]
    verified = auditlog.verify(engine.db, settings.require_audit_key())
    assert verified.fault is None and verified.count == 4


def test_machine_table_agrees_with_the_machine_for_every_state_and_trigger() -> None:
    from pathlib import Path

    from workflow.core.errors import TransitionNotAllowed
    from workflow.core.loader import load_definitions
    from workflow.core.machine import compiled

    for definition in load_definitions(Path(__file__).resolve().parent.parent / "definitions").values():
        machine = compiled(definition)
        for state in definition.states:
            for trigger in definition.triggers:
                try:
                    expected: str | None = machine.run(state, trigger)
                except TransitionNotAllowed:
                    expected = None
                try:
                    got: str | None = machine.next_state(state, trigger)
                except TransitionNotAllowed:
                    got = None
                assert got == expected, (definition.name, state, trigger)

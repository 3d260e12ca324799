"""Who may pick up work: pooled roles, and fires that lose a race without a version."""

from __future__ import annotations

import threading
from collections.abc import Callable

from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.store import audit_log as auditlog
from workflow.store.db import make_engine
from workflow.store.registry import DefinitionRegistry


def test_a_request_belongs_to_the_whole_disclosure_office(
    engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    item_id = make_item("disclosure_request")
    assert engine.show(item_id).holders == {}
    assert engine.fire(item_id, "register", "office_b").to_state == "processing"


def sign_at_once(engines: list[WorkflowEngine], item_id: int, leaders: list[str]) -> list[BaseException]:
    """Each engine signs as one leader, all released at the same moment; the errors raised."""
    barrier = threading.Barrier(len(leaders))
    errors: list[BaseException] = []

    def vote(engine: WorkflowEngine, leader: str) -> None:
        barrier.wait()
        try:
            engine.fire(item_id, "sign_off", leader)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=vote, args=pair) for pair in zip(engines, leaders, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_two_leaders_signing_at_once_both_count(
    engine: WorkflowEngine, make_item: Callable[..., int], settings: Settings
) -> None:
    """Without an expected version a lost race is decided again: no vote is refused for timing."""
    key = settings.require_audit_key()
    for _ in range(5):
        item_id = make_item("normative_document")
        engine.fire(item_id, "submit", "drafter_a")
        engine.fire(item_id, "pass_legality", "legal_a")
        engine.fire(item_id, "clear", "reviewer_a")
        engines = [
            WorkflowEngine(make_engine(settings.database_url), DefinitionRegistry(settings.definitions_dir), key)
            for _ in range(2)
        ]
        errors = sign_at_once(engines, item_id, ["leader_a", "leader_b"])
        for other in engines:
            other.db.dispose()
        assert errors == []
        assert engine.show(item_id).state == "published"
    assert auditlog.verify(engine.db, key).fault is None

"""Races between real processes: many firing the same transition at one item (one winner, one audit row, the
chain verifies), and writers on distinct items of one SQLite file (never "database is locked", nothing lost)."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from multiprocessing.synchronize import Barrier
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import DEFINITIONS
from tests.reliability.conftest import figure, sizes
from workflow.core.errors import Busy, Conflict, TransitionNotAllowed
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.store import audit_log as auditlog
from workflow.store.db import make_engine
from workflow.store.models import AuditEntry
from workflow.store.registry import DefinitionRegistry

audit = AuditEntry.__table__
FORK = multiprocessing.get_context("fork")
"""Forked after the imports: a racer costs milliseconds to start, not an interpreter's start-up."""


def child_engine(settings: Settings) -> WorkflowEngine:
    return WorkflowEngine(make_engine(settings.database_url), DefinitionRegistry(DEFINITIONS),
                          settings.require_audit_key())  # fmt: skip


def outcome(error: BaseException) -> str:
    if isinstance(error, Conflict):
        return "conflict"
    if isinstance(error, TransitionNotAllowed) and error.key == "refuse.wrong_state":
        return "wrong_state"
    if isinstance(error, Busy) or "database is locked" in str(error):
        return "locked"
    return f"error: {type(error).__name__}: {error}"


def _fire_at_one(settings: Settings, item_id: int, version: int, actor: str, barrier: Barrier, out: Any) -> None:
    engine = child_engine(settings)
    engine.show(item_id)  # connected and warmed before the start line
    barrier.wait(timeout=60)
    try:
        engine.fire(item_id, "clear", actor, expected_version=version)
        out.put("won")
    except Exception as error:  # every outcome is reported to the parent and checked there
        out.put(outcome(error))
    finally:
        engine.db.dispose()


def run_processes(target: Callable[..., None], args: list[tuple[Any, ...]], timeout: float = 120) -> list[Any]:
    """Start one process per argument tuple (each gets a queue last); their reports, after all have ended."""
    out = FORK.Queue()
    processes = [FORK.Process(target=target, args=(*arg, out)) for arg in args]
    for process in processes:
        process.start()
    results = [out.get(timeout=timeout) for _ in processes]
    for process in processes:
        process.join(timeout=timeout)
        assert process.exitcode == 0, f"a racer died: exit code {process.exitcode}"
    return results


@pytest.mark.slow
@pytest.mark.parametrize("racers", sizes(20, 50))
def test_many_processes_firing_one_transition_have_one_winner(
    engine: WorkflowEngine, settings: Settings, make_item: Callable[..., int], racers: int
) -> None:
    item_id = make_item(title="同一条信息")
    engine.fire(item_id, "submit", "drafter_a")
    version = engine.show(item_id).version
    engine.db.dispose()  # the children connect on their own
    barrier = FORK.Barrier(racers)
    actors = ["reviewer_a", "reviewer_b"]
    started = time.perf_counter()
    results = run_processes(_fire_at_one, [(settings, item_id, version, actors[n % 2], barrier) for n in range(racers)])
    seconds = time.perf_counter() - started
    item = engine.show(item_id)
    with engine.db.connect() as conn:
        clears = conn.execute(
            select(func.count()).select_from(audit).where(audit.c.item_id == item_id, audit.c.trigger == "clear")
        ).scalar_one()
    verified = auditlog.verify(engine.db, settings.require_audit_key())
    figure("one item, racing processes", database=engine.db.dialect.name, processes=racers,
           winners=results.count("won"), conflicts=results.count("conflict"), audit_rows=clears,
           chain=verified.count, seconds=f"{seconds:.2f}")  # fmt: skip
    assert results.count("won") == 1
    assert all(result in ("won", "conflict", "wrong_state") for result in results), results
    assert (item.state, item.version) == ("leadership_signoff", version + 1)
    assert clears == 1
    assert verified.fault is None


def _walk_items(settings: Settings, item_ids: list[int], transitions: int, barrier: Barrier, out: Any) -> None:
    """Submit and send back this writer's own items in turn until ``transitions`` moves are made."""
    engine = child_engine(settings)
    barrier.wait(timeout=60)
    done, problems = 0, []
    for n in range(transitions):
        item_id = item_ids[n % len(item_ids)]
        try:
            if (n // len(item_ids)) % 2 == 0:
                engine.fire(item_id, "submit", "drafter_a")
            else:
                engine.fire(item_id, "send_back", "reviewer_a", comment="请补充依据")
            done += 1
        except Exception as error:  # counted by the parent: a drill fails on any
            problems.append(outcome(error))
    engine.db.dispose()
    out.put((done, problems))


@pytest.mark.slow
@pytest.mark.parametrize("shape", sizes((4, 100), (8, 500)))
def test_writers_on_one_sqlite_file_are_never_locked_out_and_lose_nothing(
    sqlite_settings: Settings, shape: tuple[int, int]
) -> None:
    settings = sqlite_settings
    engine = child_engine(settings)
    writers, transitions = shape
    per_writer = 5
    items = [
        [engine.create("proactive_disclosure", title=f"写入者 {w} 信息 {n}", actor="drafter_a", body="正文",
                       category="03").id for n in range(per_writer)]
        for w in range(writers)
    ]  # fmt: skip
    with engine.db.connect() as conn:
        rows_before = conn.execute(select(func.count()).select_from(audit)).scalar_one()
    versions = {item_id: engine.show(item_id).version for group in items for item_id in group}
    engine.db.dispose()
    barrier = FORK.Barrier(writers)
    started = time.perf_counter()
    results = run_processes(_walk_items, [(settings, group, transitions, barrier) for group in items], timeout=600)
    seconds = time.perf_counter() - started
    problems = [problem for _, group in results for problem in group]
    moved = sum(done for done, _ in results)
    with engine.db.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(audit)).scalar_one() - rows_before
    lost = 0
    for group in items:
        for index, item_id in enumerate(group):
            made = len(range(index, transitions, per_writer))
            item = engine.show(item_id)
            lost += versions[item_id] + made - item.version
            assert item.state == ("drafting" if made % 2 == 0 else "confidentiality_review")
    verified = auditlog.verify(engine.db, settings.require_audit_key())
    figure("SQLite writers on distinct items", processes=writers, transitions=writers * transitions, moved=moved,
           locked=problems.count("locked"), other_errors=len(problems) - problems.count("locked"), lost_updates=lost,
           audit_rows=rows, seconds=f"{seconds:.2f}",
           per_second=f"{moved / seconds:.0f}")  # fmt: skip
    assert problems == []
    assert moved == rows == writers * transitions
    assert lost == 0
    assert verified.fault is None

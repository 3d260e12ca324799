"""benchmarks/compare.py: every contender does the work, refuses what it must, and the checks can fail.

Needs the ``bench`` extra (SpiffWorkflow, transitions, python-statemachine); skipped without it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

pytest.importorskip("SpiffWorkflow")
pytest.importorskip("transitions")
pytest.importorskip("statemachine")

from benchmarks import compare


@pytest.mark.parametrize("contender", compare.CONTENDERS)
def test_each_contender_moves_every_item_and_its_chain_checks(contender: str, tmp_path: Path) -> None:
    result = compare.run_one(contender, "sqlite", 4, tmp_path)
    assert result["problems"] == []
    assert result["rate"] > 0 and result["rss_kib"] > 0


@pytest.mark.parametrize("contender", compare.CONTENDERS)
def test_each_contender_refuses_a_wrong_state_and_a_wrong_role(contender: str, tmp_path: Path) -> None:
    with compare.fresh_database("sqlite", tmp_path, contender) as url:
        ids, fire, _check, close = compare.side(contender, url, 2)
        try:
            for trigger, actor in (compare.WRONG_STATE, compare.WRONG_ROLE, ("submit", "nobody")):
                with pytest.raises(Exception):  # noqa: B017 - each library refuses with its own exception
                    fire(ids[0], trigger, actor)
            fire(ids[0], "submit", "drafter_a")
            with pytest.raises(Exception):  # noqa: B017
                fire(ids[0], "submit", "drafter_a")  # no longer drafting
        finally:
            close()


@pytest.mark.parametrize("contender", ["handwritten", "spiff", "transitions", "statemachine"])
def test_the_check_finds_a_changed_audit_row_and_an_unfinished_item(contender: str, tmp_path: Path) -> None:
    with compare.fresh_database("sqlite", tmp_path, contender) as url:
        ids, fire, check, close = compare.side(contender, url, 3)
        try:
            for item_id in ids:
                for trigger, actor in compare.CHAIN:
                    fire(item_id, trigger, actor)
        finally:
            close()
        assert check() == []
        path = url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            (actor,) = conn.execute("SELECT actor FROM bench_audit WHERE seq = 5").fetchone()
            conn.execute("UPDATE bench_audit SET actor = 'leader_a' WHERE seq = 5")
        assert any("chain broken at seq 5" in p for p in check())
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE bench_audit SET actor = ? WHERE seq = 5", (actor,))
            conn.execute("UPDATE bench_items SET state = 'leadership_signoff' WHERE id = 2")
        assert check() == ["states {'leadership_signoff': 1, 'published': 2}"]

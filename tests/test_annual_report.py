"""The annual report's figures counted from items moved through the real chains (SQLite and PostgreSQL).

One office history from 2024 to 2026 (times in UTC, the office in Asia/Shanghai): applications of several
requester types and outcomes across the year boundaries, proactive items created in one year and published
in the next, normative documents issued, filed and repealed, reconsiderations and lawsuits with results, and
consultations. 2025 is the year reported on.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from tests.conftest import AUDIT_KEY, DEFINITIONS, FrozenClock
from tests.env import outside_env
from tests.test_cli import run
from workflow.engine import WorkflowEngine
from workflow.reports.annual import OUTCOMES, AnnualFigures, read_year
from workflow.store.annual_rows import items
from workflow.store.db import reading


def at(text: str) -> dt.datetime:
    """A UTC instant; 02:00 UTC is 10:00 in the office."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@dataclass
class History:
    engine: WorkflowEngine
    clock: FrozenClock
    refs: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def when(self, moment: str) -> None:
        self.clock.now = at(moment if "T" in moment else f"{moment}T02:00")

    def create(self, name: str, definition: str, actor: str, **kwargs: Any) -> None:
        view = self.engine.create(definition, title=f"{name} 的标题", actor=actor, **kwargs)
        self.refs[name], self.ids[name] = view.reference, view.id

    def fire(self, name: str, trigger: str, actor: str, **kwargs: Any) -> None:
        self.engine.fire(self.ids[name], trigger, actor, **kwargs)

    # the chains, step by step as the office takes them
    def proactive(self, name: str, created: str, published: str, category: str) -> None:
        self.when(created)
        self.create(name, "proactive_disclosure", "drafter_a", category=category, body="正文")
        self.fire(name, "submit", "drafter_a")
        self.fire(name, "clear", "reviewer_a")
        self.when(published)
        self.fire(name, "sign_off", "leader_a")

    def normative(self, name: str, published: str) -> None:
        self.when(published)
        self.create(name, "normative_document", "drafter_a", category="04", body="第一条")
        self.fire(name, "submit", "drafter_a")
        self.fire(name, "pass_legality", "legal_a")
        self.fire(name, "clear", "reviewer_a")
        self.fire(name, "sign_off", "leader_a")
        self.fire(name, "sign_off", "leader_b")

    def application(self, name: str, received: str, requester_type: str) -> None:
        self.when(received)
        fields = {"requester": "申请人", "requester_type": requester_type, "channel": "online", "received_on": received}
        self.create(name, "disclosure_request", "office_a", fields=fields)
        self.fire(name, "register", "office_a")

    def answer(self, name: str, moment: str, outcome: str) -> None:
        self.when(moment)
        self.fire(name, "draft_reply", "office_a", fields={"outcome": outcome})
        self.fire(name, "clear", "reviewer_a")
        self.fire(name, "sign_off", "leader_a")

    def appeal(self, name: str, filed: str, kind: str, route: str | None = None) -> None:
        self.when(filed)
        fields = {"kind": kind, "applicant": "申请人", "filed_on": filed}
        if route is not None:
            fields["route"] = route
        self.create(name, "appeal", "office_a", fields=fields)

    def result(self, name: str, moment: str, result: str) -> None:
        self.when(moment)
        self.fire(name, "record_result", "office_a", fields={"result": result})
        self.fire(name, "close", "office_a")

    def consultation(self, name: str, received: str) -> None:
        self.when(received)
        self.create(name, "consultation", "office_a", fields={"channel": "phone", "received_on": received})


def build(engine: WorkflowEngine, clock: FrozenClock) -> History:
    h = History(engine, clock)
    h.normative("N3", "2024-03-04")
    h.normative("N2", "2024-05-06")
    h.application("A7", "2024-11-04", "other")  # answered only in 2026: over and forward
    h.when("2024-12-02")
    h.create("P2", "proactive_disclosure", "drafter_a", category="06", body="便民", meta={"subjects": ["新农合"]})
    h.application("A1", "2024-12-20", "natural_person")  # answered in January: carried over
    h.application("A2", "2024-12-23", "business")
    h.answer("A2", "2024-12-30", "disclosed")  # all in 2024: not in 2025 at all
    h.when("2025-01-06")
    h.fire("P2", "submit", "drafter_a")
    h.fire("P2", "clear", "reviewer_a")
    h.fire("P2", "sign_off", "leader_a")  # created in 2024, published in 2025
    h.answer("A1", "2025-01-10", "disclosed")
    h.consultation("C1", "2025-02-03")
    h.fire("C1", "answer", "office_a", comment="已告知申请途径")
    h.application("A3", "2025-03-03", "research")
    h.answer("A3", "2025-03-20", "partly_disclosed")
    h.appeal("R1", "2025-04-01", "reconsideration")
    h.application("A4", "2025-05-06", "natural_person")
    h.answer("A4", "2025-05-08", "refused_third_party")
    h.appeal("L1", "2025-05-12", "lawsuit", "direct")
    h.application("A8", "2025-06-02", "other")
    h.answer("A8", "2025-06-10", "not_processed_repeated")
    h.result("R1", "2025-06-16", "upheld")
    h.when("2025-06-16")
    h.fire("N2", "repeal", "leader_a", comment="已被新文件替代")
    h.appeal("L2", "2025-07-01", "lawsuit", "after_reconsideration")  # no result yet: pending
    h.normative("N1", "2025-08-04")
    h.when("2025-08-11")
    h.fire("N1", "file_record", "office_a")
    h.result("L1", "2025-09-01", "corrected")
    h.appeal("R2", "2025-11-03", "reconsideration")  # decided only in 2026: pending in 2025
    h.application("A5", "2025-12-22", "legal_service")  # answered in 2026: carried forward
    h.application("A6", "2025-12-29", "public_interest")  # not answered at all: carried forward
    h.proactive("P3", "2025-12-15", "2025-12-31T15:30", "03")  # 23:30 in Shanghai: still 2025
    h.consultation("C2", "2025-12-31")
    h.proactive("P1", "2025-12-20", "2025-12-31T23:30", "03")  # 07:30 on 1 January in Shanghai: 2026
    h.when("2026-01-04")
    h.fire("C2", "answer", "office_a", comment="已答复")
    h.answer("A5", "2026-01-08", "unavailable_not_held")
    h.result("R2", "2026-01-15", "corrected")
    h.answer("A7", "2026-02-02", "other_fee_unpaid")
    return h


def figures(engine: WorkflowEngine, year: int) -> AnnualFigures:
    categories = [c.code for c in engine.registry.catalog().categories]
    with reading(engine.db) as conn:
        return read_year(conn, year, engine.zone, categories)


@pytest.fixture
def history(engine: WorkflowEngine, clock: FrozenClock) -> History:
    return build(engine, clock)


def test_the_year_counts_every_figure_of_the_national_format(history: History) -> None:
    counted = figures(history.engine, 2025)
    got = counted.to_json()
    r = history.refs
    assert got["year"] == 2025
    assert got["proactive"]["published"] == 3  # P2 (created 2024), P3 (23:30 on 31 Dec), N1
    assert got["proactive"]["by_category"] == {f"{n:02d}": 0 for n in range(1, 13)} | {"03": 1, "04": 1, "06": 1}
    assert got["proactive"]["by_channel"] == {"portal": 3, "notice_board": 2, "broadcast": 1, "webhook": 3}
    assert got["proactive"]["by_subject"] == {"新农合": 1}
    assert got["normative"] == {"issued": 1, "repealed": 1, "in_force": 2, "filed": 1}
    applications = got["applications"]
    assert applications["received"] == {
        "natural_person": 1, "business": 0, "research": 1, "public_interest": 1, "legal_service": 1, "other": 1,
        "total": 5,
    }  # fmt: skip
    assert applications["carried_over"] == 2
    assert applications["carried_forward"] == 3
    outcomes = applications["outcomes"]
    assert list(outcomes) == [*OUTCOMES, "total"]
    assert {k: v for k, v in outcomes.items() if v} == {
        "disclosed": 1, "partly_disclosed": 1, "refused_third_party": 1, "not_processed_repeated": 1, "total": 4,
    }  # fmt: skip
    # table 三 column by column: the natural persons, and 其他 with one carried over and forward
    person = applications["by_requester"]["natural_person"]
    assert (person["received"], person["carried_over"], person["carried_forward"]) == (1, 1, 0)
    assert {k: v for k, v in person["outcomes"].items() if v} == {"disclosed": 1, "refused_third_party": 1, "total": 2}
    other = applications["by_requester"]["other"]
    assert (other["received"], other["carried_over"], other["carried_forward"]) == (1, 1, 1)
    assert got["reconsiderations"] == {"upheld": 1, "corrected": 0, "other": 0, "pending": 1, "total": 2}
    assert got["lawsuits"] == {
        "direct": {"upheld": 0, "corrected": 1, "other": 0, "pending": 0, "total": 1},
        "after_reconsideration": {"upheld": 0, "corrected": 0, "other": 0, "pending": 1, "total": 1},
    }
    assert got["consultations"] == {"received": 2, "answered": 1}
    # 一 + 二 = 三(总计) + 四: 5 + 2 = 4 + 3
    assert counted.check() == (5, 2, 4, 3)
    assert counted.check().holds
    assert got["check"] == {"received": 5, "carried_over": 2, "handled": 4, "carried_forward": 3, "holds": True}
    assert got["problems"] == []
    explained = counted.explain()
    assert explained["applications.carried_over"] == [r["A7"], r["A1"]]
    assert explained["applications.carried_forward"] == [r["A7"], r["A5"], r["A6"]]
    assert explained["proactive.published"] == [r["P2"], r["N1"], r["P3"]]
    assert explained["normative.repealed"] == [r["N2"]]
    assert explained["reconsiderations.pending"] == [r["R2"]]
    assert explained["lawsuits.after_reconsideration.pending"] == [r["L2"]]
    # every figure of the JSON is the length of its explain list
    for path, references in explained.items():
        node: Any = got
        for key in path.split("."):
            node = node[key]
        assert node == len(references), path


def test_neighbouring_years_count_their_own_events(history: History) -> None:
    before, after = figures(history.engine, 2024).to_json(), figures(history.engine, 2026)
    r = history.refs
    # 2024: N3, N2 issued and in force; A7, A1, A2 received; A2 answered; A7 and A1 carried forward
    assert before["normative"] == {"issued": 2, "repealed": 0, "in_force": 2, "filed": 0}
    assert before["applications"]["received"]["total"] == 3
    assert before["applications"]["outcomes"]["total"] == 1
    assert before["applications"]["carried_forward"] == 2
    assert figures(history.engine, 2024).check().holds
    # 2026: P1, published at 23:30 UTC on 31 December 2025, counts here; A7, A5, A6 carried over
    assert after.explain()["proactive.published"] == [r["P1"]]
    assert after.explain()["applications.carried_over"] == [r["A7"], r["A5"], r["A6"]]
    assert after.explain()["applications.outcomes.total"] == [r["A7"], r["A5"]]  # in the order of the items
    assert after.to_json()["reconsiderations"]["total"] == 0  # R2 was filed in 2025
    assert after.to_json()["consultations"] == {"received": 0, "answered": 1}
    assert after.check() == (0, 3, 2, 1)
    assert after.check().holds


def test_a_lawsuit_without_its_route_is_named_not_guessed(engine: WorkflowEngine, clock: FrozenClock) -> None:
    h = History(engine, clock)
    h.appeal("L9", "2025-03-03", "lawsuit")
    counted = figures(engine, 2025)
    assert counted.to_json()["lawsuits"]["direct"]["total"] == 0
    assert counted.to_json()["lawsuits"]["after_reconsideration"]["total"] == 0
    assert len(counted.problems) == 1 and counted.problems[0].startswith(h.refs["L9"])


def command_env(settings: Any) -> dict[str, str]:
    return outside_env() | {
        "PYTHONUTF8": "1", "GONGKAI_DATABASE_URL": settings.database_url, "GONGKAI_AUDIT_KEY": AUDIT_KEY,
        "GONGKAI_DEFINITIONS_DIR": str(DEFINITIONS), "GONGKAI_LANG": "en",
    }  # fmt: skip


def test_the_check_fails_when_an_answer_precedes_its_receipt(
    engine: WorkflowEngine, clock: FrozenClock, settings: Any, tmp_path: Path
) -> None:
    """An application answered in 2024 whose receipt date says 2025 (an impossible record) breaks the check,
    and the command says so and exits 1."""
    h = History(engine, clock)
    h.application("X", "2024-12-30", "business")
    h.answer("X", "2024-12-31", "disclosed")
    # the receipt date is changed around the engine, as a careless repair in SQL would
    with engine.db.begin() as conn:
        row = conn.execute(items.select().where(items.c.id == h.ids["X"])).mappings().one()
        conn.execute(
            update(items).where(items.c.id == h.ids["X"]).values(fields={**row["fields"], "received_on": "2025-01-02"})
        )
    check = figures(engine, 2025).check()
    assert check == (1, 0, 0, 0)
    assert not check.holds
    shown = run(tmp_path, command_env(settings), "report", "annual", "--year", "2025", "--json")
    assert shown.returncode == 1
    assert json.loads(shown.stdout)["check"]["holds"] is False
    assert shown.stderr.splitlines() == [
        "The check of table 3 fails: received 1 + carried over 0 != handled 0 + carried forward 0"
    ]


def test_report_annual_command_prints_the_json_and_the_items_behind_each_figure(
    history: History, settings: Any, tmp_path: Path
) -> None:
    env = command_env(settings)
    shown = run(tmp_path, env, "report", "annual", "--year", "2025", "--json")
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document == figures(history.engine, 2025).to_json()
    assert document["applications"]["received"]["total"] == 5
    explained = run(tmp_path, env, "report", "annual", "--year", "2025", "--explain")
    assert explained.returncode == 0, explained.stderr
    lines = explained.stdout.splitlines()
    r = history.refs
    assert f"applications.carried_over = 2: {r['A7']}, {r['A1']}" in lines
    assert f"lawsuits.direct.corrected = 1: {r['L1']}" in lines
    assert "applications.received.business = 0" in lines
    bad = run(tmp_path, env, "report", "annual", "--year", "twenty")
    assert bad.returncode == 2 and bad.stdout == ""

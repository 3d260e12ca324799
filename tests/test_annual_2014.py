"""The town's 2014 report (domain.md section 1) counted again from its year rebuilt through the real chains."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import DEFINITIONS, FrozenClock
from tests.town_2014 import FIGURES, NORMATIVE_CATEGORY, definitions_2014, rebuild_2014
from workflow.engine import WorkflowEngine
from workflow.reports.annual import read_year
from workflow.store.db import reading
from workflow.store.registry import DefinitionRegistry


def test_the_rebuilt_2014_states_the_figures_of_the_town_report(
    engine: WorkflowEngine, clock: FrozenClock, tmp_path: Path
) -> None:
    town = WorkflowEngine(
        engine.db, DefinitionRegistry(definitions_2014(tmp_path / "definitions", DEFINITIONS)), engine.audit_key,
        clock=clock,
    )  # fmt: skip
    made = rebuild_2014(town, clock)
    categories = [c.code for c in town.registry.catalog().categories]
    with reading(town.db) as conn:
        counted = read_year(conn, 2014, town.zone, categories)
    got = counted.to_json()
    assert got["proactive"]["published"] == FIGURES["published"] == 56
    assert got["proactive"]["by_channel"]["portal"] == FIGURES["portal"] == 12
    assert counted.explain()["proactive.by_channel.portal"] == made["normative_document"]
    assert got["proactive"]["by_channel"]["webhook"] == 56
    assert got["proactive"]["by_definition"] == {"proactive_disclosure": 44, "normative_document": 12}
    assert got["proactive"]["by_category"][NORMATIVE_CATEGORY] == 12
    assert sum(got["proactive"]["by_category"].values()) == 56
    assert got["proactive"]["by_category"]["12"] == 0  # no annual report published inside the year
    assert got["normative"] == {"issued": 12, "repealed": 0, "in_force": 12, "filed": FIGURES["normative_filed"]}
    key_areas = {subject: got["proactive"]["by_subject"].get(subject, 0) for subject in FIGURES["key_areas"]}
    assert key_areas == FIGURES["key_areas"] == {
        "预决算和三公经费": 3, "疾病预防": 3, "食品安全检查": 1, "新农合补偿": 3, "失业保险金发放": 3,
    }  # fmt: skip
    assert got["applications"]["received"]["total"] == FIGURES["applications"] == 0
    assert got["applications"]["outcomes"]["total"] == 0
    assert got["reconsiderations"]["total"] == FIGURES["reconsiderations"] == 0
    assert got["lawsuits"]["direct"]["total"] + got["lawsuits"]["after_reconsideration"]["total"] == 0
    assert counted.check() == (0, 0, 0, 0) and counted.check().holds
    assert got["problems"] == []
    # the year around it counts nothing of 2014's publications, and the documents are still in force
    with reading(town.db) as conn:
        after = read_year(conn, 2015, town.zone, categories).to_json()
    assert after["proactive"]["published"] == 0
    assert after["normative"] == {"issued": 0, "repealed": 0, "in_force": 12, "filed": 0}

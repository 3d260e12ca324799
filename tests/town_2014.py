"""The town's year 2014 (domain.md section 1) rebuilt by moving items through the real chains.

Its report (January to November 2014): 56 items proactively disclosed, 12 of them on the government portal;
12 normative documents filed with the town's discipline commission (纪委) for the record; no applications,
reconsiderations, lawsuits or complaints. Key areas: 3 items on budgets, final accounts and the "three public
expenses"; 3 on disease prevention and 1 on food-safety inspection; 3 on rural cooperative medical insurance
compensation; 3 on unemployment insurance payments.

How the figures come about (nothing here writes a count): the 12 normative documents are catalogued under
政策法规 (04), whose channels in ``tests/data/town_2014/office.yaml`` include the portal; no other
sub-directory has it, so exactly those 12 publications go through the portal. The 56 are the 12 normative
documents and 44 proactive disclosures, each created, reviewed, signed off (the documents by two leaders, then
filed for the record) on a working day of 2014 with a frozen clock. The key areas are the items' 主题词.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from tests.conftest import FrozenClock
from workflow.core.calendar import WorkingCalendar
from workflow.engine import WorkflowEngine

HERE = Path(__file__).resolve().parent
OFFICE_2014 = HERE / "data" / "town_2014" / "office.yaml"

KEY_AREAS = {
    # 主题词 -> (catalogue sub-directory, items)
    "预决算和三公经费": ("03", 3),
    "疾病预防": ("07", 3),
    "食品安全检查": ("07", 1),
    "新农合补偿": ("06", 3),
    "失业保险金发放": ("06", 3),
}
OTHER_ITEMS = {"01": 2, "02": 2, "03": 4, "05": 3, "06": 2, "08": 10, "09": 4, "10": 2, "11": 2}
"""The other 31 proactive disclosures by sub-directory (town overview, functions, plans, licensing, news...)."""
NORMATIVE_DOCUMENTS = 12
NORMATIVE_CATEGORY = "04"

FIGURES = {
    "published": 56,
    "portal": 12,
    "normative_filed": 12,
    "applications": 0,
    "reconsiderations": 0,
    "lawsuits": 0,
    "key_areas": {subject: count for subject, (_category, count) in KEY_AREAS.items()},
}
"""What the town's report states: the test compares the counted year with these."""


def definitions_2014(folder: Path, definitions: Path) -> Path:
    """A definitions folder with today's chains and catalogue and the town's channels of 2014."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in definitions.glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    shutil.copy(OFFICE_2014, folder / "office.yaml")
    return folder


def working_days_2014(calendar: WorkingCalendar, count: int) -> list[dt.date]:
    """``count`` working days spread from January to November 2014 (every third one)."""
    days: list[dt.date] = []
    day = dt.date(2014, 1, 6)
    while len(days) < count * 3:
        if calendar.is_working_day(day):
            days.append(day)
        day += dt.timedelta(days=1)
    chosen = days[::3][:count]
    assert chosen[-1] <= dt.date(2014, 11, 30), chosen[-1]
    return chosen


def rebuild_2014(engine: WorkflowEngine, clock: FrozenClock) -> dict[str, list[str]]:
    """Move the town's 56 publications of 2014 through their chains; returns the references by kind.

    ``clock`` is the engine's clock, set before each step. The office's people are
    those of tests/conftest.py (drafter_a, reviewer_a, leader_a, leader_b, legal_a, office_a).
    """
    plan: list[tuple[str, str, tuple[str, ...]]] = []  # (definition, category, subjects)
    for subject, (category, count) in KEY_AREAS.items():
        plan += [("proactive_disclosure", category, (subject,))] * count
    for category, count in OTHER_ITEMS.items():
        plan += [("proactive_disclosure", category, ())] * count
    plan += [("normative_document", NORMATIVE_CATEGORY, ("规范性文件",))] * NORMATIVE_DOCUMENTS
    days = working_days_2014(engine.calendar, len(plan))
    made: dict[str, list[str]] = {"proactive_disclosure": [], "normative_document": []}
    for number, ((definition, category, subjects), day) in enumerate(zip(plan, days, strict=True), start=1):

        def step(hour: int, day: dt.date = day) -> None:
            clock.now = dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)

        step(1)  # 09:00 in the office
        view = engine.create(
            definition, title=f"2014年第{number}条", actor="drafter_a", category=category,
            body=f"荷花镇2014年公开信息第{number}条。", meta={"subjects": list(subjects)} if subjects else None,
        )  # fmt: skip
        engine.fire(view.id, "submit", "drafter_a")
        if definition == "normative_document":
            step(2)
            engine.fire(view.id, "pass_legality", "legal_a")
        step(3)
        engine.fire(view.id, "clear", "reviewer_a")
        step(6)  # 14:00
        engine.fire(view.id, "sign_off", "leader_a")
        if definition == "normative_document":
            engine.fire(view.id, "sign_off", "leader_b")
            step(8)
            engine.fire(view.id, "file_record", "office_a", comment="报镇纪委备案")
        made[definition].append(view.reference)
    return made

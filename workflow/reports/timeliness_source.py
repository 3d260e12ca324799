"""The timeliness report of a period, counted from the database through the engine's registry and calendar."""

from __future__ import annotations

import datetime as dt

from workflow.core.definition import Definition
from workflow.engine import WorkflowEngine
from workflow.reports.timeliness import TimelinessReport, check_period, count
from workflow.store.db import reading
from workflow.store.stage_history import ItemHistory, histories


def timeliness_report(engine: WorkflowEngine, start: dt.date, end: dt.date) -> TimelinessReport:
    """Every stage left and limit met from ``start`` to ``end`` (office dates, both included)."""
    check_period(start, end)
    since = dt.datetime.combine(start, dt.time(), engine.zone).astimezone(dt.UTC)
    before = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), engine.zone).astimezone(dt.UTC)
    with reading(engine.db) as conn:
        # Every stored version at once: the histories stream on a server-side cursor meanwhile.
        pinned = {(d.name, d.version): d for d in engine.registry.stored(conn)}

        def definition_of(history: ItemHistory) -> Definition:
            return pinned[(history.definition, history.definition_version)]

        return count(histories(conn, since, before), definition_of, engine.calendar, engine.zone, start, end)

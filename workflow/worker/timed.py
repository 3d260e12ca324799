"""Timed transitions: items whose scheduled moment (a ``fires_at`` datetime field) has come.

A leader may sign an item off for publication at a set time (``schedule``, with
``publish_at``); the worker then fires ``publish`` once that moment has passed. Only the
states that timed transitions leave are read, through the (definition, state) index.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from workflow.core.decisions import field_moment
from workflow.store.db import reading
from workflow.store.queries import in_states, items

if TYPE_CHECKING:
    from workflow.engine import WorkflowEngine


@dataclass(frozen=True)
class DueFire:
    item_id: int
    reference: str
    trigger: str
    version: int
    """The item's version when it was found: the fire is for that version only."""
    moment: dt.datetime


def due_fires(engine: WorkflowEngine, now: dt.datetime) -> list[DueFire]:
    """Every timed transition whose moment is at or before ``now``, earliest first."""
    with reading(engine.db) as conn:
        waiting: dict[str, set[str]] = {}
        for definition in engine.registry.stored(conn):
            for transition in definition.timed_transitions:
                waiting.setdefault(definition.name, set()).update(transition.sources)
        if not waiting:
            return []
        rows = conn.execute(
            select(
                items.c.id, items.c.reference, items.c.definition, items.c.definition_version,
                items.c.state, items.c.fields, items.c.version,
            ).where(in_states(waiting))
        ).all()  # fmt: skip
        found = []
        for row in rows:
            definition = engine.registry.pinned(conn, row.definition, row.definition_version)
            for transition in definition.timed_transitions:
                if row.state not in transition.sources or transition.fires_at is None:
                    continue
                moment = field_moment(row.fields.get(transition.fires_at), engine.zone)
                if moment is not None and moment <= now:
                    found.append(DueFire(row.id, row.reference, transition.trigger, row.version, moment))
    return sorted(found, key=lambda fire: (fire.moment, fire.item_id))

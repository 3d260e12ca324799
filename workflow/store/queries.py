"""The reads several rooms share: an item's due date now, the (definition, state) filter, and the
items waiting for a decision with the people they wait for.

One home each, so the inbox, the digest, the worker's timed fires and ``item list`` ask the same
question the same way, through the same indexes: ``ix_items_definition_state`` for the states,
``ix_deadlines_item`` (item, applies_now, due_on) for the due date, looked up per item.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, ScalarSelect, Select, Table, and_, false, func, or_, select

from workflow.core.acting import must_act, states_to_act
from workflow.core.decisions import Person
from workflow.core.definition import Definition
from workflow.store.models import Deadline, Item
from workflow.store.registry import DefinitionRegistry

items = cast(Table, Item.__table__)
deadlines = cast(Table, Deadline.__table__)


def earliest_due(item_id: ColumnElement[int] | int) -> Select[Any]:
    """The due date that applies to an item now: the earliest of its deadlines that apply in its state."""
    return select(func.min(deadlines.c.due_on)).where(deadlines.c.item_id == item_id, deadlines.c.applies_now.is_(True))


def due_on_now() -> ScalarSelect[dt.date | None]:
    """:func:`earliest_due` of each row of ``items`` in the enclosing query (one index lookup per item)."""
    return earliest_due(items.c.id).scalar_subquery()


def in_states(states: Mapping[str, Collection[str]]) -> ColumnElement[bool]:
    """Items of these definitions in these states (definition name -> state names); nothing when empty."""
    pairs = [
        and_(items.c.definition == name, items.c.state.in_(sorted(names))) for name, names in states.items() if names
    ]
    return or_(*pairs) if pairs else false()


def states_where_roles_act(
    definitions: Iterable[Definition], roles: Collection[str] | None = None
) -> dict[str, set[str]]:
    """Definition name -> the states in which one of ``roles`` (any when None) acts, over every stored version."""
    found: dict[str, set[str]] = {}
    for definition in definitions:
        found.setdefault(definition.name, set()).update(states_to_act(definition, roles))
    return found


@dataclass(frozen=True)
class WaitingItem:
    """An item waiting for a decision, as the inbox and the digest list it."""

    id: int
    reference: str
    title: str
    definition: Definition
    state: str
    holders: Mapping[str, Sequence[str]]
    version: int
    due_on: dt.date | None


def items_waiting(
    conn: Connection, registry: DefinitionRegistry, roles: Collection[str] | None = None
) -> list[WaitingItem]:
    """Items in a state where one of ``roles`` (any role when None) must act, each with its due date now.

    Only a reader's candidates: :func:`waiting_for` keeps those waiting for that person.
    """
    states = states_where_roles_act(registry.stored(conn), roles)
    query = select(
        items.c.id, items.c.reference, items.c.title, items.c.definition, items.c.definition_version,
        items.c.state, items.c.holders, items.c.version, due_on_now().label("due_on"),
    ).where(in_states(states))  # fmt: skip
    found = []
    for row in conn.execute(query):
        definition = registry.pinned(conn, row.definition, row.definition_version)
        holders = row.holders or {}
        found.append(
            WaitingItem(row.id, row.reference, row.title, definition, row.state, holders, row.version, row.due_on)
        )
    return found


def waiting_for(person: Person, candidates: Iterable[WaitingItem]) -> list[WaitingItem]:
    """The candidates waiting for ``person`` (the core's :func:`must_act`), asked once per kind of item."""
    answers: dict[tuple[Any, ...], bool] = {}
    found = []
    for item in candidates:
        holders = tuple(sorted((role, tuple(names)) for role, names in item.holders.items()))
        key = (item.definition.name, item.definition.version, item.state, holders)
        if key not in answers:
            answers[key] = must_act(person, item.definition, item.state, item.holders)
        if answers[key]:
            found.append(item)
    return found

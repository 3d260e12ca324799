"""An item's holders (``items.holders``, JSON: role -> names) asked in SQL, per dialect.

The rule of who holds a role on an item is the core's (:func:`workflow.core.decisions.holds_role`,
given to the store as :class:`workflow.core.acting.Holding` rows); this module only spells it for
SQLite (``json_each``, ``json_array_length``) and PostgreSQL (``json_array_elements_text``,
``json_array_length`` over ``->``), each written out for its dialect. ``tests/test_inbox_sql.py``
holds the SQL to the core's answers on both databases.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import ColumnElement, Table, and_, false, func, literal, or_, select

from workflow.core.acting import Holding
from workflow.store.models import Item

items = cast(Table, Item.__table__)


def _sqlite_path(role: str) -> str:
    return '$."' + role.replace('"', "") + '"'


def assigned_to_any(dialect: str, role: str, names: Sequence[str]) -> ColumnElement[bool]:
    """``role`` is assigned on the item to one of ``names``."""
    if dialect == "sqlite":
        elements = func.json_each(items.c.holders, _sqlite_path(role)).table_valued("value")
    else:
        elements = func.json_array_elements_text(items.c.holders[role]).table_valued("value").render_derived()
    return select(literal(1)).select_from(elements).where(_one_of(elements.c.value, names)).exists()


def assigned_to_nobody(dialect: str, role: str) -> ColumnElement[bool]:
    """``role`` has no names on the item (absent, or an empty list): open to whoever holds it."""
    if dialect == "sqlite":
        length = func.json_array_length(items.c.holders, _sqlite_path(role))
    else:
        length = func.json_array_length(items.c.holders[role])
    return func.coalesce(length, 0) == 0


def _one_of(column: ColumnElement[str], values: Sequence[str]) -> ColumnElement[bool]:
    """``column = value`` for one value (no IN list to expand on every execution), else ``IN``."""
    return column == values[0] if len(values) == 1 else column.in_(list(values))


def held(dialect: str, found: Sequence[Holding], names: Sequence[str]) -> ColumnElement[bool]:
    """Items held through one of ``found`` by the person whose :func:`acting_names` are ``names``."""
    clauses = []
    for holding in found:
        binds = assigned_to_any(dialect, holding.role, names)
        if holding.open:  # the cheap test first
            binds = or_(assigned_to_nobody(dialect, holding.role), binds)
        clauses.append(
            and_(
                items.c.definition == holding.definition,
                items.c.definition_version == holding.version,
                _one_of(items.c.state, sorted(holding.states)),
                binds,
            )
        )
    return or_(*clauses) if clauses else false()

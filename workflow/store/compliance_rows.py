"""The rows the compliance check reads: items with their audit history, and the chain's people changes.

Plain frozen dataclasses, read straight from the tables (never through the engine), so a row written
around the engine is seen as it is stored. Items are read in id order, a batch at a time with the audit
rows of that batch only, so memory stays bounded however long the log grows; people changes are few
(one row per person added, role changed, substitute named) and are read whole.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Engine, Row, Table, select

from workflow.core.definition import Definition
from workflow.core.errors import GongkaiError
from workflow.store.db import reading
from workflow.store.models import AuditEntry, DefinitionVersion, Item, User, UserRole
from workflow.store.registry import DefinitionRegistry

audit_log = cast(Table, AuditEntry.__table__)
items = cast(Table, Item.__table__)
users = cast(Table, User.__table__)
user_roles = cast(Table, UserRole.__table__)
versions = cast(Table, DefinitionVersion.__table__)

ITEM_BATCH = 500
"""Items read per query; their audit rows come with them in one more query."""


@dataclass(frozen=True)
class Step:
    """One audit row as stored (``fields`` and ``details`` decoded; undecodable JSON reads as empty)."""

    seq: int
    item_id: int | None
    definition: str | None
    definition_version: str | None
    trigger: str
    from_state: str | None
    to_state: str | None
    actor: str
    on_behalf_of: str | None
    role: str
    at: dt.datetime
    comment: str | None
    fields: dict[str, Any]
    details: dict[str, Any]
    content_hash: str | None
    person: str | None

    @property
    def principal(self) -> str:
        """Whom the actor acted for: themself unless a substitute."""
        return self.on_behalf_of or self.actor


@dataclass(frozen=True)
class StoredItem:
    """An ``items`` row, the columns the check compares with the log."""

    id: int
    reference: str
    definition: str
    definition_version: str
    state: str
    version: int
    title: str
    body: str
    category: str | None
    fields: dict[str, Any]
    meta: dict[str, Any] | None
    content_hash: str


@dataclass(frozen=True)
class ItemHistory:
    item: StoredItem
    steps: tuple[Step, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class StoredPerson:
    """A person as the ``users`` and ``user_roles`` tables hold them now."""

    name: str
    roles: frozenset[str]
    active: bool


def _json(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _step(row: Row[Any]) -> Step:
    return Step(
        seq=row.seq, item_id=row.item_id, definition=row.definition, definition_version=row.definition_version,
        trigger=row.trigger, from_state=row.from_state, to_state=row.to_state, actor=row.actor,
        on_behalf_of=row.on_behalf_of, role=row.role, at=row.at, comment=row.comment, fields=_json(row.fields),
        details=_json(row.details), content_hash=row.content_hash, person=row.person,
    )  # fmt: skip


def people_steps(db: Engine) -> list[Step]:
    """Every item-less row of the chain (people changes), in chain order."""
    with reading(db) as conn:
        rows = conn.execute(select(audit_log).where(audit_log.c.item_id.is_(None)).order_by(audit_log.c.seq))
        return [_step(row) for row in rows]


def stored_people(db: Engine) -> list[StoredPerson]:
    """Every person as stored now, with their roles."""
    with reading(db) as conn:
        roles: dict[int, set[str]] = {}
        for user_id, role in conn.execute(select(user_roles.c.user_id, user_roles.c.role)):
            roles.setdefault(user_id, set()).add(role)
        return [
            StoredPerson(row.name, frozenset(roles.get(row.id, ())), bool(row.active))
            for row in conn.execute(select(users.c.id, users.c.name, users.c.active).order_by(users.c.name))
        ]


def item_histories(db: Engine, batch: int = ITEM_BATCH) -> Iterator[ItemHistory]:
    """Every item with its audit rows in chain order, in item order, ``batch`` items per read."""
    last = 0
    while True:
        with reading(db) as conn:
            found = conn.execute(select(items).where(items.c.id > last).order_by(items.c.id).limit(batch)).all()
            if not found:
                return
            steps = _steps_between(conn, found[0].id, found[-1].id)
        for row in found:
            yield ItemHistory(_item(row), tuple(steps.get(row.id, ())))
        last = found[-1].id


def _steps_between(conn: Connection, first: int, last: int) -> dict[int, list[Step]]:
    by_item: dict[int, list[Step]] = {}
    rows = conn.execute(
        select(audit_log)
        .where(audit_log.c.item_id >= first, audit_log.c.item_id <= last)
        .order_by(audit_log.c.item_id, audit_log.c.seq)
    )
    for row in rows:
        by_item.setdefault(row.item_id, []).append(_step(row))
    return by_item


def orphan_steps(db: Engine, per_item: int = 20) -> dict[int, list[Step]]:
    """Audit rows naming an item the ``items`` table no longer holds (removed by hand): the first few of each."""
    with reading(db) as conn:
        missing = [
            item_id
            for (item_id,) in conn.execute(
                select(audit_log.c.item_id)
                .where(audit_log.c.item_id.is_not(None), audit_log.c.item_id.not_in(select(items.c.id)))
                .group_by(audit_log.c.item_id)
                .order_by(audit_log.c.item_id)
            )
        ]
        return {
            item_id: [
                _step(row)
                for row in conn.execute(
                    select(audit_log).where(audit_log.c.item_id == item_id).order_by(audit_log.c.seq).limit(per_item)
                )
            ]
            for item_id in missing
        }


def _item(row: Row[Any]) -> StoredItem:
    return StoredItem(
        id=row.id, reference=row.reference, definition=row.definition, definition_version=row.definition_version,
        state=row.state, version=row.version, title=row.title, body=row.body, category=row.category,
        fields=dict(row.fields or {}), meta=dict(row.meta) if row.meta is not None else None,
        content_hash=row.content_hash,
    )  # fmt: skip


def stored_definitions(db: Engine, registry: DefinitionRegistry) -> dict[tuple[str, str], Definition]:
    """Every definition version stored in the database, parsed from its stored source; a version whose
    source no longer loads is left out (the steps pinned to it are then reported as unchecked)."""
    found: dict[tuple[str, str], Definition] = {}
    with reading(db) as conn:
        for name, version in conn.execute(select(versions.c.name, versions.c.version)).all():
            try:
                found[(name, version)] = registry.pinned(conn, name, version)
            except GongkaiError:
                continue
    return found

"""people changes in the audit chain: item-less audit rows naming the person

Revision ID: 0009
Revises: 0008

An audit row about a person (added, roles changed, deactivated, a substitute named, a digest
chosen) has no item: ``item_id``, ``definition``, ``definition_version``, ``to_state`` and
``content_hash`` may be empty, and the new ``person`` column names whom it is about. Rows written
before keep their hashes (see ``workflow.core.chain.OPTIONAL_COLUMNS``). On SQLite the table is
rebuilt, which drops its triggers: the append-only triggers are created again here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ITEM_COLUMNS: dict[str, sa.types.TypeEngine[Any]] = {
    "item_id": sa.Integer(),
    "definition": sa.String(length=64),
    "definition_version": sa.String(length=64),
    "to_state": sa.String(length=64),
    "content_hash": sa.String(length=64),
}


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        for name, kind in ITEM_COLUMNS.items():
            batch.alter_column(name, existing_type=kind, nullable=True)
        batch.add_column(sa.Column("person", sa.String(length=64), nullable=True))
        batch.create_index("ix_audit_log_person", ["person", "seq"])
    _sqlite_append_only()


def downgrade() -> None:
    people_rows = op.get_bind().execute(sa.text("SELECT count(*) FROM audit_log WHERE item_id IS NULL")).scalar()
    if people_rows:
        # The chain is append-only: its people rows cannot be removed, so the columns stay as they are.
        raise RuntimeError(f"audit_log holds {people_rows} people rows; 0009 cannot be undone without losing them")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index("ix_audit_log_person")
        batch.drop_column("person")
        for name, kind in ITEM_COLUMNS.items():
            batch.alter_column(name, existing_type=kind, nullable=False)
    _sqlite_append_only()


def _sqlite_append_only() -> None:
    """SQLite's batch rebuild drops the table's triggers; PostgreSQL keeps them through ALTER TABLE."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(f"DROP TRIGGER IF EXISTS audit_log_no_{action.lower()}")
        op.execute(
            f"CREATE TRIGGER audit_log_no_{action.lower()} BEFORE {action} ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )

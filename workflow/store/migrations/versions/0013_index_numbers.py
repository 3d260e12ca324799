"""index numbers (索引号): given to an item the first time it is published, kept for good

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("index_number", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ux_items_index_number", "items", ["index_number"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_items_index_number", table_name="items")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("published_at")
        batch.drop_column("index_number")

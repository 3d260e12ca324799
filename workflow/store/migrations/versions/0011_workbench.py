"""the workbench: display names of people, item metadata (文号, 主题词, attachments), stored files

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("display_name", sa.String(length=64), nullable=True))
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("meta", sa.JSON(), nullable=True))
    with op.batch_alter_table("item_revisions") as batch:
        batch.add_column(sa.Column("meta", sa.JSON(), nullable=True))
    op.create_table(
        "stored_files",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )


def downgrade() -> None:
    op.drop_table("stored_files")
    with op.batch_alter_table("item_revisions") as batch:
        batch.drop_column("meta")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("meta")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("display_name")

"""delegations by principal: who stands in for a holder today is looked up on every new-task notice

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_delegations_principal", "delegations", ["principal_id", "ends_on", "starts_on"])


def downgrade() -> None:
    op.drop_index("ix_delegations_principal", table_name="delegations")

"""the inbox's views: items a person created, items a person acted on (as actor or for someone)

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_items_created_by", "items", ["created_by", "id"])
    op.create_index("ix_audit_log_actor", "audit_log", ["actor", "item_id"])
    op.create_index("ix_audit_log_on_behalf_of", "audit_log", ["on_behalf_of", "item_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_on_behalf_of", table_name="audit_log")
    op.drop_index("ix_audit_log_actor", table_name="audit_log")
    op.drop_index("ix_items_created_by", table_name="items")

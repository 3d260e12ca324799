"""The Alembic migrations build exactly the schema the models declare (tables, columns, types, indexes),
on SQLite and on PostgreSQL: a model changed without its migration, or the reverse, fails here."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from workflow.store.models import Base


def test_the_migrated_schema_is_the_models_schema(db: Engine) -> None:
    with db.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []

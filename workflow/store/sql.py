"""The few statements whose SQL differs between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Connection, Table, update
from sqlalchemy.dialects import postgresql, sqlite

from workflow.store.models import ReferenceCounter

_counters = cast(Table, ReferenceCounter.__table__)


def _insert(conn: Connection, table: Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def insert_if_absent(conn: Connection, table: Table, values: dict[str, Any], keys: list[str]) -> bool:
    """Insert one row unless a row with the same ``keys`` exists; True when inserted."""
    statement = _insert(conn, table).values(**values).on_conflict_do_nothing(index_elements=keys)
    # Ask for the key back: on PostgreSQL, SQLAlchemy adds RETURNING for the primary key by
    # itself and then reports rowcount -1, so rowcount cannot tell an insert from a skip.
    statement = statement.returning(*table.primary_key.columns)
    return conn.execute(statement).first() is not None


def next_counter(conn: Connection, prefix: str, year: int) -> int:
    """The next number of a per-prefix, per-year sequence; safe under concurrent writers."""
    statement = _insert(conn, _counters).values(prefix=prefix, year=year, last=1)
    statement = statement.on_conflict_do_update(
        index_elements=["prefix", "year"], set_={"last": _counters.c.last + 1}
    ).returning(_counters.c.last)
    return int(conn.execute(statement).scalar_one())


def settle_claim(
    conn: Connection, table: Table, row_id: int, claimed_status: str, owner: str, until: Any, values: dict[str, Any]
) -> bool:
    """Apply ``values`` to a claimed row of a leased queue (the outbox, the channel jobs) and drop its lease,
    only while the row is still under this very claim (status, owner and lease end as claimed): a worker whose
    lease ran out and was taken over changes nothing. True when the row was settled."""
    statement = (
        update(table)
        .where(
            table.c.id == row_id,
            table.c.status == claimed_status,
            table.c.lease_owner == owner,
            table.c.lease_until == until,
        )
        .values(lease_owner=None, lease_until=None, **values)
    )
    return bool(conn.execute(statement).rowcount == 1)

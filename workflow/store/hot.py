"""The statements on the hot path of ``fire``, hand-written and run on the driver's cursor.

Measured on this machine: a prebuilt SQLAlchemy Core statement costs about 38 µs
to execute on SQLite, the same SQL on the DBAPI cursor about 5 µs; a fire runs six
statements. So these few statements skip SQLAlchemy's statement machinery but run
on the connection (and inside the transaction) that SQLAlchemy opened.

The SQL is kept as named blocks per dialect, as procrastinate keeps its queries:
``hot_sqlite.sql`` (``:name`` parameters) and ``hot_postgresql.sql`` (``%(name)s``),
each statement written out in full for its dialect, never derived from the other;
``tests/test_hot_sql.py`` holds both files to the same names and parameters.
Column formats match what the ORM reads and writes (see ``models.py``).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import Connection

from workflow.core.chain import CHAINED_COLUMNS

ITEM_COLUMNS = (
    "id", "reference", "definition", "definition_version", "state", "version", "revision", "title",
    "category", "body", "fields", "holders", "acted", "content_hash", "created_by", "created_at", "updated_at",
    "meta",
)  # fmt: skip
"""The columns ``item_by_id`` and ``item_by_reference`` select, in this order."""
AUDIT_COLUMNS = (*CHAINED_COLUMNS, "hash")
JSON_ITEM_COLUMNS = ("fields", "holders", "acted")
OUTBOX_COLUMNS = (
    "message_id", "dedupe_key", "event", "item_id", "recipient", "subject", "body_text", "body_html", "status",
    "attempts", "next_attempt_at", "created_at", "context",
)  # fmt: skip
DIALECTS = ("sqlite", "postgresql")
NAME_MARKER = "-- name:"


def parse_named_sql(text: str, source: str = "<sql>") -> dict[str, str]:
    """The ``-- name: NAME`` blocks of ``text``: name -> statement, other ``--`` comment lines left out."""
    found: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []

    def close() -> None:
        if name is not None:
            statement = "\n".join(lines).strip()
            if not statement:
                raise ValueError(f"{source}: the block '{name}' has no statement")
            found[name] = statement

    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith(NAME_MARKER):
            close()
            name, lines = stripped.removeprefix(NAME_MARKER).strip(), []
            if not name.isidentifier() or name in found:
                raise ValueError(f"{source}:{number}: bad or repeated statement name '{name}'")
        elif stripped.startswith("--") or not stripped:
            continue
        elif name is None:
            raise ValueError(f"{source}:{number}: SQL before the first '{NAME_MARKER}' line")
        else:
            lines.append(line.rstrip())
    close()
    return found


@functools.cache
def statements(dialect: str) -> Mapping[str, str]:
    """The named statements of one dialect, read once from ``hot_<dialect>.sql`` beside this module."""
    if dialect not in DIALECTS:
        raise ValueError(f"no hot-path SQL for the dialect '{dialect}' (only {', '.join(DIALECTS)})")
    filename = f"hot_{dialect}.sql"
    text = resources.files(__package__).joinpath(filename).read_text(encoding="utf-8")
    return parse_named_sql(text, filename)


@dataclass(frozen=True, slots=True)
class ItemRow:
    id: int
    reference: str
    definition: str
    definition_version: str
    state: str
    version: int
    revision: int
    title: str
    category: str | None
    body: str
    fields: dict[str, Any]
    holders: dict[str, list[str]]
    acted: dict[str, list[list[str]]]
    content_hash: str
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    meta: dict[str, Any]
    """文号, 主题词 and attachments (``items.meta``; {} when the column is empty)."""


def _sqlite_time(value: dt.datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores: naive UTC with microseconds."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_read_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)


class HotPath:
    """The hot statements for one dialect (``sqlite`` or ``postgresql``)."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"
        self.sql = statements(dialect)

    def _one(self, conn: Connection, name: str, params: Mapping[str, Any]) -> Any:
        """The first row of a statement, on the transaction's own DBAPI connection; the cursor is closed."""
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:  # sqlite3's cursor is no context manager: close it by hand, as cheaply as a with-block
            cursor.execute(self.sql[name], params)
            return cursor.fetchone()
        finally:
            cursor.close()

    def _all(self, conn: Connection, name: str, params: Mapping[str, Any]) -> list[Any]:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(self.sql[name], params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def _write(self, conn: Connection, name: str, params: Mapping[str, Any]) -> int:
        """Run an INSERT or UPDATE; the rows it changed."""
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(self.sql[name], params)
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def batch(self, conn: Connection, calls: Sequence[tuple[str, Mapping[str, Any]]]) -> list[tuple[list[Any], int]]:
        """Run statements in order; on PostgreSQL in one round trip (psycopg's pipeline mode on the
        transaction's own connection), on SQLite one after the other. Each one's (rows, rowcount).

        An error in any statement raises here and aborts the transaction: nothing after it runs.
        """
        if self.sqlite:
            results = []
            for name, params in calls:
                cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                try:
                    cursor.execute(self.sql[name], params)
                    results.append((list(cursor.fetchall()) if cursor.description else [], int(cursor.rowcount)))
                finally:
                    cursor.close()
            return results
        driver = conn.connection.driver_connection
        cursors = []
        with driver.pipeline():  # type: ignore[union-attr]
            for name, params in calls:
                cursor = driver.cursor()  # type: ignore[union-attr]
                cursor.execute(self.sql[name], params)
                cursors.append(cursor)
        try:
            return [(list(c.fetchall()) if c.description else [], int(c.rowcount)) for c in cursors]
        finally:
            for cursor in cursors:
                cursor.close()

    def _time(self, value: dt.datetime) -> Any:
        return _sqlite_time(value) if self.sqlite else value

    def item(self, conn: Connection, key: int | str) -> ItemRow | None:
        name = "item_by_id" if isinstance(key, int) else "item_by_reference"
        return self._item(self._one(conn, name, {"key": key}))

    def item_and_roles(
        self, conn: Connection, key: int | str, person: str
    ) -> tuple[ItemRow | None, tuple[int, bool, tuple[str, ...]] | None]:
        """:meth:`item` and :meth:`user_roles` in one round trip: what a decision needs."""
        name = "item_by_id" if isinstance(key, int) else "item_by_reference"
        (items, _), (roles, _) = self.batch(conn, [(name, {"key": key}), ("user_roles", {"name": person})])
        return self._item(items[0] if items else None), self._roles(roles)

    def _item(self, row: Any) -> ItemRow | None:
        if row is None:
            return None
        values = dict(zip(ITEM_COLUMNS, row, strict=True))
        if self.sqlite:
            for column in JSON_ITEM_COLUMNS:
                values[column] = json.loads(values[column])
            values["created_at"] = _sqlite_read_time(values["created_at"])
            values["updated_at"] = _sqlite_read_time(values["updated_at"])
            if values["meta"] is not None:
                values["meta"] = json.loads(values["meta"])
        values["meta"] = values["meta"] or {}
        return ItemRow(**values)

    def user_roles(self, conn: Connection, name: str) -> tuple[int, bool, tuple[str, ...]] | None:
        """(user id, active, roles) of a person, or None when there is no such person."""
        return self._roles(self._all(conn, "user_roles", {"name": name}))

    @staticmethod
    def _roles(rows: Sequence[Any]) -> tuple[int, bool, tuple[str, ...]] | None:
        if not rows:
            return None
        return rows[0][0], bool(rows[0][1]), tuple(row[2] for row in rows if row[2])

    def update_item(
        self,
        conn: Connection,
        row: ItemRow,
        *,
        state: str,
        revision: int,
        fields: dict[str, Any],
        acted: dict[str, Any],
        content_hash: str,
        updated_at: dt.datetime,
    ) -> int:
        """The conditional update: 1 when this writer won, 0 when the item moved meanwhile."""
        params = {
            "state": state, "new_version": row.version + 1, "revision": revision, "fields": json.dumps(fields),
            "acted": json.dumps(acted), "content_hash": content_hash, "updated_at": self._time(updated_at),
            "id": row.id, "version": row.version,
        }  # fmt: skip
        return self._write(conn, "update_item", params)

    def chain_head(self, conn: Connection) -> tuple[int, str]:
        """The chain's last (seq, hash), locked until commit (SQLite: by BEGIN IMMEDIATE)."""
        seq, digest = self._one(conn, "lock_head", {})
        return int(seq), str(digest)

    def head_and_deadlines(self, conn: Connection, item_id: int) -> tuple[tuple[int, str], list[Any]]:
        """The locked chain head (as :meth:`chain_head`) and the item's deadline rows, in one round trip."""
        (head, _), (rows, _) = self.batch(conn, [("lock_head", {}), ("deadlines_of_item", {"item_id": item_id})])
        return (int(head[0][0]), str(head[0][1])), rows

    def append_audit(self, conn: Connection, entry: dict[str, Any]) -> None:
        """The audit row and the chain head's move, in one round trip."""
        params = dict(entry)
        params["at"] = self._time(entry["at"])
        self.batch(conn, [("insert_audit", params), ("update_head", {"seq": entry["seq"], "hash": entry["hash"]})])

    def deadlines(self, conn: Connection, item_id: int) -> dict[str, tuple[dict[str, Any], str, bool, dt.date | None]]:
        """kind -> (clock, status, applies_now, due_on) of an item's stored deadlines."""
        return self.deadline_rows(self._all(conn, "deadlines_of_item", {"item_id": item_id}))

    @staticmethod
    def deadline_rows(rows: Sequence[Any]) -> dict[str, tuple[dict[str, Any], str, bool, dt.date | None]]:
        return {
            kind: (
                json.loads(clock) if isinstance(clock, str) else clock,
                status,
                bool(applies),
                dt.date.fromisoformat(due) if isinstance(due, str) else due,
            )
            for kind, clock, status, applies, due in rows
        }

    def update_deadline(self, conn: Connection, values: dict[str, Any]) -> None:
        self._write(conn, "update_deadline", self._deadline_params(values))

    def update_deadlines(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Several deadline rows, in one round trip."""
        if rows:
            self.batch(conn, [("update_deadline", self._deadline_params(values)) for values in rows])

    def _deadline_params(self, values: dict[str, Any]) -> dict[str, Any]:
        params = dict(values)
        params["clock"] = json.dumps(values["clock"])
        for key in ("due_at", "computed_at"):
            params[key] = self._time(values[key]) if values[key] is not None else None
        if self.sqlite:
            for key in ("due_on", "met_on"):
                params[key] = values[key].isoformat() if values[key] is not None else None
        return params

    def people(
        self, conn: Connection, role: str, assigned: Sequence[str], today: dt.date
    ) -> list[tuple[str, str, bool, str | None, str | None]]:
        """(name, email, wants a digest, standing in for whom or None, display name or None) of the active
        people holding ``role`` (those assigned, else all with it), then of those standing in for them ``today``."""
        day = today.isoformat() if self.sqlite else today
        if assigned:
            rows = [
                row
                for name in assigned
                for row in self._all(conn, "person_named", {"name": name, "active": True, "today": day})
            ]
        else:
            rows = self._all(conn, "people_with_role", {"role": role, "active": True, "today": day})
        return [(row[0], row[1], bool(row[2]), row[3], row[4]) for row in rows]

    def people_names(self, conn: Connection) -> list[tuple[str, str, str | None]]:
        """(login name, email, display name or None) of everyone: read on every page that names a person."""
        return [(row[0], row[1], row[2]) for row in self._all(conn, "people_names", {})]

    def insert_outbox(self, conn: Connection, values: dict[str, Any]) -> bool:
        """One outbox row unless its dedupe key is there already; True when written."""
        return self._write(conn, "insert_outbox", self._outbox_params(values)) == 1

    def insert_outboxes(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
        """Several outbox rows (as :meth:`insert_outbox`) in one round trip; how many were written."""
        if not rows:
            return 0
        return sum(count for _, count in self.batch(conn, [("insert_outbox", self._outbox_params(v)) for v in rows]))

    def _outbox_params(self, values: dict[str, Any]) -> dict[str, Any]:
        params = {column: values[column] for column in OUTBOX_COLUMNS}
        params["next_attempt_at"] = self._time(values["next_attempt_at"])
        params["created_at"] = self._time(values["created_at"])
        params["context"] = json.dumps(values["context"]) if values["context"] is not None else None
        return params

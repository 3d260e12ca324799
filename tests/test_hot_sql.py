"""The hot path's SQL: one named file per dialect, the same statements and parameters in both."""

from __future__ import annotations

import re

import pytest

from workflow.store.hot import (
    AUDIT_COLUMNS,
    DIALECTS,
    ITEM_COLUMNS,
    OUTBOX_COLUMNS,
    parse_named_sql,
    statements,
)

PARAMETER = {
    "sqlite": re.compile(r"(?<![:\w]):([a-z_]+)"),
    "postgresql": re.compile(r"%\(([a-z_]+)\)s"),
}
"""How each driver spells a named parameter: sqlite3 ``:name``, psycopg ``%(name)s``."""


def parameters(dialect: str, sql: str) -> set[str]:
    return set(PARAMETER[dialect].findall(sql))


def test_both_dialects_define_the_same_statements_with_the_same_parameters() -> None:
    sqlite, postgresql = statements("sqlite"), statements("postgresql")
    assert sqlite.keys() == postgresql.keys()
    for name in sqlite:
        assert parameters("sqlite", sqlite[name]) == parameters("postgresql", postgresql[name]), name


@pytest.mark.parametrize("dialect", DIALECTS)
def test_each_statement_uses_only_its_own_drivers_parameter_style(dialect: str) -> None:
    other = PARAMETER["postgresql" if dialect == "sqlite" else "sqlite"]
    for name, sql in statements(dialect).items():
        assert not other.findall(sql), (dialect, name)
        assert "%s" not in sql and "?" not in sql, (dialect, name)  # no positional parameters either


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_statements_read_and_write_the_columns_the_code_expects(dialect: str) -> None:
    sql = statements(dialect)
    for name in ("item_by_id", "item_by_reference"):
        selected = re.match(r"SELECT (.*?)\s+FROM items", sql[name], re.S)
        assert selected is not None
        assert tuple(c.strip() for c in selected.group(1).split(",")) == ITEM_COLUMNS
    assert parameters(dialect, sql["insert_audit"]) == set(AUDIT_COLUMNS)
    assert parameters(dialect, sql["insert_outbox"]) == set(OUTBOX_COLUMNS)


def test_named_blocks_are_parsed_and_mistakes_are_named_with_their_line() -> None:
    text = "-- header\n\n-- name: first\nSELECT 1\n  -- a note\n FROM t\n\n-- name: second\nSELECT 2\n"
    assert parse_named_sql(text) == {"first": "SELECT 1\n FROM t", "second": "SELECT 2"}
    with pytest.raises(ValueError, match=r"x.sql:3: bad or repeated statement name 'first'"):
        parse_named_sql("-- name: first\nSELECT 1\n-- name: first\nSELECT 2\n", "x.sql")
    with pytest.raises(ValueError, match=r"x.sql:1: SQL before the first"):
        parse_named_sql("SELECT 1\n-- name: first\nSELECT 2\n", "x.sql")
    with pytest.raises(ValueError, match="'empty' has no statement"):
        parse_named_sql("-- name: empty\n-- name: full\nSELECT 1\n", "x.sql")
    with pytest.raises(ValueError, match="no hot-path SQL for the dialect 'mysql'"):
        statements("mysql")

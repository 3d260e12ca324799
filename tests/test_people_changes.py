"""People changes go through the engine and the pure core and land in the audit chain, on SQLite and
PostgreSQL; migration 0009 keeps chains written before it verifying and the table append-only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text

from tests.conftest import AUDIT_KEY, DEFINITIONS, PG_ADMIN, FrozenClock, _pg_available, _pg_url, in_ci
from workflow.core import chain
from workflow.core.errors import GongkaiError, InvalidInput, NotFound, NotPermitted
from workflow.core.personnel import Account
from workflow.engine import WorkflowEngine
from workflow.store import audit_log as auditlog
from workflow.store.db import make_engine
from workflow.store.migrate import upgrade
from workflow.store.people import load_person, person_record
from workflow.store.registry import DefinitionRegistry

ROOT = Account("root")
KEY = AUDIT_KEY.encode()


def people_rows(engine: WorkflowEngine) -> list[Any]:
    return [row for row in auditlog.read_entries(engine.db) if row.item_id is None]


def tables(db: Engine) -> list[list[tuple[Any, ...]]]:
    with db.connect() as conn:
        return [
            [tuple(r) for r in conn.execute(text(query))]
            for query in (
                "SELECT count(*), max(seq) FROM audit_log",
                "SELECT name, email, active, digest FROM users ORDER BY name",
                "SELECT user_id, role FROM user_roles ORDER BY user_id, role",
                "SELECT principal_id, substitute_id, starts_on, ends_on FROM delegations ORDER BY id",
            )
        ]


def refused(engine: WorkflowEngine, kind: type[GongkaiError], key: str, call: Any, *args: Any, **kwargs: Any) -> Any:
    before = tables(engine.db)
    with pytest.raises(kind) as caught:
        call(*args, **kwargs)
    assert caught.value.key == key, (caught.value.key, caught.value.params)
    assert tables(engine.db) == before
    return caught.value


def test_every_people_change_is_a_chained_row(engine: WorkflowEngine, clock: FrozenClock) -> None:
    engine.add_person("boss", email="boss@town.example.gov.cn", roles=["admin", "admin"], by=ROOT)
    engine.add_person("clerk", email="clerk@town.example.gov.cn", roles=["office"], by="boss")
    assert engine.change_roles("clerk", grant=["drafter"], remove=["office"], by="boss").roles == {"drafter"}
    engine.delegate("leader_a", "leader_b", dt.date(2026, 3, 2), dt.date(2026, 3, 6), by="leader_a")
    engine.set_digest("clerk", True, by="clerk")
    assert engine.set_active("clerk", False, by="admin_a").active is False
    assert engine.set_active("clerk", True, by="admin_a").active is True

    rows = people_rows(engine)
    assert [(r.trigger, r.person, r.actor, r.role) for r in rows] == [
        ("person.add", "boss", "cli:root", "os_account"),
        ("person.add", "clerk", "boss", "admin"),
        ("person.roles", "clerk", "boss", "admin"),
        ("person.delegate", "leader_a", "leader_a", "self"),
        ("person.digest", "clerk", "clerk", "self"),
        ("person.deactivate", "clerk", "admin_a", "admin"),
        ("person.activate", "clerk", "admin_a", "admin"),
    ]
    assert json.loads(rows[0].details) == {"email": "boss@town.example.gov.cn", "roles": ["admin"]}
    assert json.loads(rows[2].details) == {"granted": ["drafter"], "removed": ["office"], "roles": ["drafter"]}
    assert json.loads(rows[3].details) == {"substitute": "leader_b", "from": "2026-03-02", "until": "2026-03-06"}
    assert {(r.item_id, r.definition, r.definition_version, r.to_state, r.content_hash) for r in rows} == {
        (None, None, None, None, None)
    }
    assert all(r.at == clock.now for r in rows)
    with engine.db.connect() as conn:
        record = person_record(conn, "clerk")
        assert record is not None and (record.roles, record.digest, record.active) == ({"drafter"}, True, True)
        assert load_person(conn, "leader_b", dt.date(2026, 3, 3), with_substitutions=True).stands_in_for

    # People rows and item rows share one chain.
    engine.create("proactive_disclosure", title="测试", actor="clerk", category="03", body="正文")
    result = auditlog.verify(engine.db, KEY)
    assert result.fault is None and result.count == len(rows) + 1


def test_people_refusals_name_the_rule_and_change_nothing(engine: WorkflowEngine) -> None:
    refused(engine, NotPermitted, "refuse.people_admin", engine.add_person, "x", email="x@t.cn", roles=["office"],
            by="leader_a")  # fmt: skip
    refused(
        engine, InvalidInput, "input.unknown_role", engine.add_person, "x", email="x@t.cn", roles=["chief"], by=ROOT
    )
    refused(engine, InvalidInput, "input.bad_user_name", engine.add_person, "cli:x", email="x@t.cn", roles=["office"],
            by=ROOT)  # fmt: skip
    refused(engine, InvalidInput, "input.user_exists", engine.add_person, "office_a", email="x@t.cn", roles=["office"],
            by=ROOT)  # fmt: skip
    # An address is one person's (the sign-in link goes to whoever has it), whatever its case.
    error = refused(engine, InvalidInput, "input.email_taken", engine.add_person, "x",
                    email=" Office_A@Town.Example.gov.cn", roles=["office"], by=ROOT)  # fmt: skip
    assert "office_a" in error.render("en") and "office_a@town.example.gov.cn" in error.render("en")
    error = refused(engine, NotPermitted, "refuse.self_grant", engine.change_roles, "admin_a", grant=["leader"],
                    by="admin_a")  # fmt: skip
    assert "another administrator" in error.render("en")
    refused(engine, NotFound, "notfound.user", engine.change_roles, "nobody", grant=["leader"], by="admin_a")
    refused(engine, InvalidInput, "input.no_roles_left", engine.change_roles, "office_a", remove=["office"], by=ROOT)
    refused(engine, InvalidInput, "input.roles_unchanged", engine.change_roles, "office_a", grant=["office"], by=ROOT)
    refused(engine, InvalidInput, "input.delegate_period", engine.delegate, "leader_a", "leader_b",
            dt.date(2026, 3, 6), dt.date(2026, 3, 2), by=ROOT)  # fmt: skip
    refused(engine, NotPermitted, "refuse.people_admin", engine.delegate, "leader_a", "leader_b",
            dt.date(2026, 3, 2), dt.date(2026, 3, 6), by="leader_b")  # fmt: skip
    refused(engine, NotPermitted, "refuse.people_admin", engine.set_digest, "leader_a", True, by="leader_b")
    refused(engine, InvalidInput, "input.already_active", engine.set_active, "leader_a", True, by=ROOT)
    engine.set_active("leader_b", False, by=ROOT)
    refused(engine, InvalidInput, "input.inactive_person", engine.delegate, "leader_a", "leader_b",
            dt.date(2026, 3, 2), dt.date(2026, 3, 6), by=ROOT)  # fmt: skip
    # A deactivated administrator can no longer act as one.
    engine.set_active("admin_a", False, by=ROOT)
    refused(engine, NotFound, "notfound.user", engine.set_active, "leader_b", True, by="admin_a")


def test_a_changed_people_row_is_caught_by_verify(engine: WorkflowEngine, db: Engine) -> None:
    engine.add_person("clerk", email="clerk@town.example.gov.cn", roles=["office"], by=ROOT)
    engine.change_roles("clerk", grant=["leader"], by="admin_a")
    engine.set_active("clerk", False, by="admin_a")
    assert auditlog.verify(db, KEY).fault is None
    seq = people_rows(engine)[1].seq
    with db.begin() as conn:
        if db.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
        else:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        # Someone with the database but not the key pretends the role granted was office, not leader.
        conn.execute(
            text("UPDATE audit_log SET details = :d WHERE seq = :seq"),
            {"d": chain.canonical_json({"granted": ["office"], "removed": [], "roles": ["office"]}), "seq": seq},
        )
    result = auditlog.verify(db, KEY)
    assert result.fault is not None and (result.fault.seq, result.fault.reason) == (seq, "changed")


# ---- migration 0009 --------------------------------------------------------------------------

OLD_COLUMNS = (
    "seq", "item_id", "definition", "definition_version", "trigger", "from_state", "to_state", "actor",
    "on_behalf_of", "role", "at", "comment", "fields", "details", "content_hash", "prev_hash",
)  # fmt: skip
"""The chained columns before 0009, as the rows written then were hashed."""


def old_hash(row: dict[str, Any]) -> str:
    """The encoding before 0009, written out here so the test does not lean on today's chain.py."""
    payload = {name: row[name] for name in OLD_COLUMNS}
    payload["at"] = chain.canonical_time(row["at"])
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hmac.new(KEY, encoded, hashlib.sha256).hexdigest()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all, of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    problem = _pg_available()
    if problem is not None:
        if in_ci():
            pytest.fail(f"PostgreSQL is required in CI and did not answer: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    name = f"gk_old_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield _pg_url(name)
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_chain_written_before_0009_verifies_after_it_and_stays_append_only(empty_url: str) -> None:
    db = make_engine(empty_url)
    try:
        upgrade(db, "0008")
        start = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
        prev = chain.GENESIS_HASH
        with db.begin() as conn:
            for seq in (1, 2, 3):
                row: dict[str, Any] = {
                    "seq": seq, "item_id": 1, "definition": "proactive_disclosure", "definition_version": "v" * 64,
                    "trigger": ("create", "submit", "clear")[seq - 1], "from_state": None if seq == 1 else "s",
                    "to_state": "t", "actor": "drafter_a", "on_behalf_of": None, "role": "drafter",
                    "at": start + dt.timedelta(minutes=seq), "comment": "意见" if seq == 2 else None,
                    "fields": "{}", "details": chain.canonical_json({"n": seq}), "content_hash": "c" * 64,
                    "prev_hash": prev,
                }  # fmt: skip
                row["hash"] = prev = old_hash(row)
                columns = [*OLD_COLUMNS, "hash"]
                conn.execute(
                    text(
                        f"INSERT INTO audit_log ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
                    ),
                    {**row, "at": row["at"].replace(tzinfo=None) if db.dialect.name == "sqlite" else row["at"]},
                )
            conn.execute(text("UPDATE audit_head SET seq = 3, hash = :h WHERE id = 1"), {"h": prev})
        with db.connect() as conn:
            written = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM audit_log ORDER BY seq"))]
        for row in written:  # read back raw: SQLite gives naive text times
            row["at"] = row["at"] if isinstance(row["at"], dt.datetime) else dt.datetime.fromisoformat(row["at"])
            row["at"] = row["at"].replace(tzinfo=dt.UTC) if row["at"].tzinfo is None else row["at"]
        assert "person" not in written[0] and chain.verify_chain(KEY, written) == chain.VerifyResult(3, None)

        upgrade(db, "head")
        assert auditlog.verify(db, KEY) == chain.VerifyResult(3, None)
        for statement in ("UPDATE audit_log SET comment = 'x' WHERE seq = 2", "DELETE FROM audit_log WHERE seq = 3"):
            with pytest.raises(Exception, match="append-only"), db.begin() as conn:
                conn.execute(text(statement))

        # The upgraded chain goes on with people rows, and all of it verifies.
        engine = WorkflowEngine(db, DefinitionRegistry(DEFINITIONS), KEY, clock=lambda: start)
        engine.add_person("boss", email="boss@town.example.gov.cn", roles=["admin"], by=ROOT)
        assert auditlog.verify(db, KEY) == chain.VerifyResult(4, None)
    finally:
        db.dispose()


def test_an_address_is_kept_as_sign_in_looks_it_up(engine: WorkflowEngine, db: Engine) -> None:
    """Sign-in lowercases the address typed; a person added as Lin.Fang@… must be found by it."""
    engine.add_person("lin_fang", email=" Lin.Fang@Town.Example.gov.cn ", roles=["drafter"], by=ROOT)
    with db.connect() as conn:
        record = person_record(conn, "lin_fang")
    assert record is not None and record.email == "lin.fang@town.example.gov.cn"

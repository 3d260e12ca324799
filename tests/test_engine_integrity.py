"""Integrity: refusals write nothing, races have one winner, tampering is caught.

Every test runs on a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, MetaData, delete, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from tests.conftest import AUDIT_KEY, DEFINITIONS, FrozenClock
from workflow.core.chain import row_hash
from workflow.core.errors import Conflict, GongkaiError, TransitionNotAllowed
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.store import audit_log as auditlog
from workflow.store.db import make_engine
from workflow.store.models import AuditEntry, AuditHead
from workflow.store.people import delegate
from workflow.store.registry import DefinitionRegistry

MakeItem = Callable[..., int]
audit_log = AuditEntry.__table__
audit_head = AuditHead.__table__
KEY = AUDIT_KEY.encode("utf-8")


# ---- (a) a refusal leaves the database exactly as it was ---------------------------------------


def dump(db: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (as the database has them), in a stable order."""
    meta = MetaData()
    with db.connect() as conn:
        meta.reflect(bind=conn)
        tables = {}
        for name in sorted(meta.tables):
            table = meta.tables[name]
            order = list(table.primary_key.columns) or list(table.columns)
            rows = conn.execute(select(table).order_by(*order)).all()
            tables[name] = [tuple(repr(value) for value in row) for row in rows]
        if conn.dialect.name == "postgresql":
            sequences = conn.execute(
                text("SELECT sequencename, last_value FROM pg_sequences ORDER BY sequencename")
            ).all()
            tables["<sequences>"] = [tuple(row) for row in sequences]
    return tables


def sqlite_bytes(db: Engine) -> dict[str, bytes]:
    """The database file (and its WAL, if one is left) after every connection is closed."""
    db.dispose()
    path = Path(str(make_url(str(db.url)).database))
    files = {path.name: path.read_bytes()}
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        files[wal.name] = wal.read_bytes()
    return files


def _request_in_processing(engine: WorkflowEngine, make_item: MakeItem) -> int:
    item_id = make_item("disclosure_request")
    engine.fire(item_id, "register", "office_a")
    engine.fire(item_id, "extend", "leader_a", comment="延期")
    return item_id


def refusals(engine: WorkflowEngine, items: dict[str, int]) -> list[Callable[[], object]]:
    """One call per kind of refusal; each must raise and write nothing."""
    draft, review, doc, request = items["draft"], items["review"], items["doc"], items["request"]
    return [
        lambda: engine.fire(review, "clear", "drafter_a"),  # role
        lambda: engine.fire(review, "clear", "multi"),  # separation of duties (multi drafted it)
        lambda: engine.fire(review, "sign_off", "leader_a"),  # wrong state
        lambda: engine.fire(review, "publish", "leader_a"),  # unknown trigger
        lambda: engine.fire(review, "send_back", "reviewer_a", comment="  "),  # comment required
        lambda: engine.fire(review, "clear", "reviewer_a", expected_version=1),  # stale version
        lambda: engine.fire(review, "clear", "ghost"),  # unknown user
        lambda: engine.fire(99999, "submit", "drafter_a"),  # unknown item
        lambda: engine.fire(doc, "sign_off", "leader_a"),  # already voted
        lambda: engine.fire(request, "extend", "leader_b", comment="再延"),  # once only
        lambda: engine.fire(request, "draft_reply", "office_a"),  # field required
        lambda: engine.fire(request, "draft_reply", "office_a", fields={"outcome": "maybe"}),  # bad choice
        lambda: engine.fire(request, "draft_reply", "office_a", fields={"verdict": "x"}),  # unknown field
        lambda: engine.edit(review, "drafter_a", body="偷改"),  # not editable
        lambda: engine.edit(draft, "drafter_b", body="x"),  # not the drafter
        lambda: engine.assign(draft, "leader", "leader_a", "drafter_a"),  # may not assign
        lambda: engine.assign(draft, "leader", "reviewer_a", "admin_a"),  # assignee lacks the role
        lambda: engine.create("proactive_disclosure", title="t", actor="reviewer_a", category="03"),  # role
        lambda: engine.create("proactive_disclosure", title="t", actor="drafter_a", category="99"),  # category
        lambda: engine.create("disclosure_request", title="t", actor="office_a", fields={"requester": "张三"}),
    ]


def test_a_refusal_leaves_the_database_unchanged(
    engine: WorkflowEngine, make_item: MakeItem, db: Engine, database_url: str
) -> None:
    review = make_item(actor="multi")
    engine.fire(review, "submit", "multi")
    doc = make_item("normative_document")
    engine.fire(doc, "submit", "drafter_a")
    engine.fire(doc, "pass_legality", "legal_a")
    engine.fire(doc, "clear", "reviewer_a")
    engine.fire(doc, "sign_off", "leader_a")
    items = {"draft": make_item(), "review": review, "doc": doc, "request": _request_in_processing(engine, make_item)}
    calls = refusals(engine, items)

    sqlite = database_url.startswith("sqlite")
    before = dump(db)
    files_before = sqlite_bytes(db) if sqlite else {}
    for index, call in enumerate(calls):
        with pytest.raises(GongkaiError):
            call()
        assert dump(db) == before, f"refusal #{index} changed the database"
    if sqlite:
        files_after = sqlite_bytes(db)
        assert files_after.keys() == files_before.keys()
        for name, content in files_before.items():
            assert files_after[name] == content, f"{name} changed"
    # And the engine still works afterwards.
    engine.fire(review, "clear", "reviewer_a")
    assert dump(db) != before


# ---- (b) races: one winner ------------------------------------------------------------------------


def engines_for(
    settings: Settings, clock: FrozenClock, shared: WorkflowEngine, count: int, separate: bool
) -> list[WorkflowEngine]:
    """``count`` engines: the shared one repeated, or each on its own pool of connections."""
    if not separate:
        return [shared] * count
    return [
        WorkflowEngine(
            make_engine(settings.database_url),
            DefinitionRegistry(DEFINITIONS),
            settings.require_audit_key(),
            clock=clock,
        )
        for _ in range(count)
    ]


@contextmanager
def racers(
    settings: Settings, clock: FrozenClock, shared: WorkflowEngine, count: int, separate: bool
) -> Iterator[list[WorkflowEngine]]:
    engines = engines_for(settings, clock, shared, count, separate)
    try:
        yield engines
    finally:
        if separate:
            for engine in engines:
                engine.db.dispose()


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Start the calls at the same moment on their own threads; each result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except Exception as error:  # collected and checked by the caller
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    return results


def is_lost_race(result: Any) -> bool:
    if isinstance(result, Conflict):
        return True
    return isinstance(result, TransitionNotAllowed) and result.key == "refuse.wrong_state"


ROUNDS = 25


@pytest.mark.slow
@pytest.mark.parametrize("separate", [False, True], ids=["one_pool", "separate_engines"])
def test_two_reviewers_clearing_at_once_have_one_winner(
    engine: WorkflowEngine, make_item: MakeItem, settings: Settings, clock: FrozenClock, separate: bool
) -> None:
    with racers(settings, clock, engine, 2, separate) as (first, second):
        for _ in range(ROUNDS):
            item_id = make_item()
            engine.fire(item_id, "submit", "drafter_a")
            results = race(
                [
                    partial(first.fire, item_id, "clear", "reviewer_a"),
                    partial(second.fire, item_id, "clear", "reviewer_b"),
                ]
            )
            winners = [i for i, r in enumerate(results) if not isinstance(r, Exception)]
            assert len(winners) == 1, results
            loser = results[1 - winners[0]]
            assert is_lost_race(loser), repr(loser)
            item = engine.show(item_id)
            assert (item.state, item.version) == ("leadership_signoff", 3)
            rows = auditlog.read_entries(engine.db, item_id)
            assert [r.trigger for r in rows] == ["create", "submit", "clear"]
            assert rows[-1].actor == ("reviewer_a", "reviewer_b")[winners[0]]
    verified = auditlog.verify(engine.db, KEY)
    assert verified.fault is None and verified.count == 3 * ROUNDS


@pytest.mark.slow
@pytest.mark.parametrize("separate", [False, True], ids=["one_pool", "separate_engines"])
def test_clear_and_send_back_at_once_have_one_winner(
    engine: WorkflowEngine, make_item: MakeItem, settings: Settings, clock: FrozenClock, separate: bool
) -> None:
    with racers(settings, clock, engine, 3, separate) as engines:
        for _ in range(ROUNDS):
            item_id = make_item()
            engine.fire(item_id, "submit", "drafter_a")
            version = engine.show(item_id).version
            results = race(
                [
                    partial(engines[0].fire, item_id, "clear", "reviewer_a", expected_version=version),
                    partial(
                        engines[1].fire, item_id, "send_back", "reviewer_b", comment="退回", expected_version=version
                    ),
                    partial(
                        engines[2].fire, item_id, "withhold", "reviewer_b", comment="不予公开", expected_version=version
                    ),
                ]
            )
            winners = [r for r in results if not isinstance(r, Exception)]
            assert len(winners) == 1, results
            # With the version they saw, every loser learns the item moved (not some other refusal).
            assert all(isinstance(r, Conflict) for r in results if isinstance(r, Exception)), results
            item = engine.show(item_id)
            assert item.state == winners[0].to_state
            assert item.version == version + 1
            assert len(auditlog.read_entries(engine.db, item_id)) == 3
    assert auditlog.verify(engine.db, KEY).fault is None


@pytest.mark.slow
@pytest.mark.parametrize("separate", [False, True], ids=["one_pool", "separate_engines"])
def test_two_leaders_voting_at_once_lose_no_vote(
    engine: WorkflowEngine, make_item: MakeItem, settings: Settings, clock: FrozenClock, separate: bool
) -> None:
    with racers(settings, clock, engine, 2, separate) as (first, second):
        for _ in range(ROUNDS // 2):
            item_id = make_item("normative_document")
            engine.fire(item_id, "submit", "drafter_a")
            engine.fire(item_id, "pass_legality", "legal_a")
            engine.fire(item_id, "clear", "reviewer_a")
            leaders = ("leader_a", "leader_b")
            results = race(
                [
                    partial(first.fire, item_id, "sign_off", leaders[0]),
                    partial(second.fire, item_id, "sign_off", leaders[1]),
                ]
            )
            won = [leaders[i] for i, r in enumerate(results) if not isinstance(r, Exception)]
            lost = [r for r in results if isinstance(r, Exception)]
            assert all(isinstance(r, Conflict) for r in lost), lost
            assert len(won) >= 1
            rows = [r for r in auditlog.read_entries(engine.db, item_id) if r.trigger == "sign_off"]
            # Every vote that succeeded is recorded, and the quorum is reached exactly when two did.
            assert sorted(r.actor for r in rows) == sorted(won)
            assert engine.show(item_id).state == ("published" if len(won) == 2 else "collective_decision")
            for index, result in enumerate(results):
                if isinstance(result, Exception):
                    assert engine.fire(item_id, "sign_off", leaders[index]).to_state == "published"
            rows = [r for r in auditlog.read_entries(engine.db, item_id) if r.trigger == "sign_off"]
            assert sorted(r.actor for r in rows) == ["leader_a", "leader_b"]
            assert [r.to_state for r in rows] == ["collective_decision", "published"]
    assert auditlog.verify(engine.db, KEY).fault is None


CHAINS: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "proactive_disclosure": [("submit", "drafter_a", {}), ("clear", "reviewer_a", {}), ("sign_off", "leader_a", {})],
    "normative_document": [
        ("submit", "drafter_a", {}),
        ("pass_legality", "legal_a", {}),
        ("clear", "reviewer_b", {}),
        ("sign_off", "leader_a", {}),
        ("sign_off", "leader_b", {}),
        ("file_record", "office_a", {}),
    ],
    "disclosure_request": [
        ("register", "office_a", {}),
        ("draft_reply", "office_a", {"fields": {"outcome": "disclosed"}}),
        ("clear", "reviewer_a", {}),
        ("sign_off", "leader_c", {}),
    ],
}


@pytest.mark.slow
@pytest.mark.parametrize("separate", [False, True], ids=["one_pool", "separate_engines"])
def test_many_threads_on_many_items_keep_one_chain(
    engine: WorkflowEngine, make_item: MakeItem, settings: Settings, clock: FrozenClock, separate: bool
) -> None:
    threads, per_thread = 6, 3
    owned = [
        [(name, make_item(name)) for name in list(CHAINS)[:per_thread]] for _ in range(threads)
    ]  # every thread walks one item of each definition
    created = threads * per_thread
    with racers(settings, clock, engine, threads, separate) as engines:

        def walk(index: int) -> int:
            fired = 0
            for step in range(max(len(chain) for chain in CHAINS.values())):
                for name, item_id in owned[index]:
                    if step < len(CHAINS[name]):
                        trigger, actor, extra = CHAINS[name][step]
                        engines[index].fire(item_id, trigger, actor, **extra)
                        fired += 1
            return fired

        results = race([lambda i=i: walk(i) for i in range(threads)])  # type: ignore[misc]
    assert not [r for r in results if isinstance(r, Exception)], results
    fired = sum(results)
    assert fired == threads * sum(len(chain) for chain in CHAINS.values())

    rows = auditlog.read_entries(engine.db)
    assert [r.seq for r in rows] == list(range(1, created + fired + 1))
    assert len({r.prev_hash for r in rows}) == len(rows)  # no two rows claim the same predecessor
    for previous, row in itertools.pairwise(rows):
        assert row.prev_hash == previous.hash
    verified = auditlog.verify(engine.db, KEY)
    assert verified.fault is None and verified.count == created + fired
    final = {"proactive_disclosure": "published", "normative_document": "filed", "disclosure_request": "answered"}
    for items in owned:
        for name, item_id in items:
            assert engine.show(item_id).state == final[name]
            expected = ["create"] + [trigger for trigger, _, _ in CHAINS[name]]
            assert [r.trigger for r in rows if r.item_id == item_id] == expected


# ---- (c) tampering is caught ---------------------------------------------------------------------


def build_chain(engine: WorkflowEngine, make_item: MakeItem) -> None:
    """Seven rows: 1 create A, 2 submit A, 3 create B, 4 clear A (comment), 5 submit B,
    6 sign_off A, 7 send_back B (comment)."""
    a = make_item(title="A")
    engine.fire(a, "submit", "drafter_a")
    b = make_item(title="B", actor="drafter_b")
    engine.fire(a, "clear", "reviewer_a", comment="无涉密内容")
    engine.fire(b, "submit", "drafter_b")
    engine.fire(a, "sign_off", "leader_a")
    engine.fire(b, "send_back", "reviewer_b", comment="请补充依据")


def drop_append_only(conn: Connection) -> None:
    """What an attacker with database access does first."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text("DROP TRIGGER audit_log_no_delete"))
    else:
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))


def row_values(conn: Connection, seq: int) -> dict[str, Any]:
    row = conn.execute(select(audit_log).where(audit_log.c.seq == seq)).one()
    return dict(row._mapping)


def _change(column: str, value: Any, seq: int) -> Callable[[Connection], None]:
    def tamper(conn: Connection) -> None:
        conn.execute(update(audit_log).where(audit_log.c.seq == seq).values({column: value}))

    return tamper


def _shift_time(conn: Connection) -> None:
    at = row_values(conn, 2)["at"]
    conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(at=at + dt.timedelta(seconds=1)))


def _delete(seq: int) -> Callable[[Connection], None]:
    def tamper(conn: Connection) -> None:
        conn.execute(delete(audit_log).where(audit_log.c.seq == seq))

    return tamper


def _swap(first: int, second: int) -> Callable[[Connection], None]:
    def tamper(conn: Connection) -> None:
        a, b = row_values(conn, first), row_values(conn, second)
        for seq, values in ((first, b), (second, a)):
            values = {k: v for k, v in values.items() if k != "seq"}
            conn.execute(update(audit_log).where(audit_log.c.seq == seq).values(values))

    return tamper


def _head(**values: Any) -> Callable[[Connection], None]:
    def tamper(conn: Connection) -> None:
        conn.execute(update(audit_head).where(audit_head.c.id == 1).values(values))

    return tamper


def _delete_last_and_fix_head(conn: Connection) -> None:
    sixth = row_values(conn, 6)
    conn.execute(delete(audit_log).where(audit_log.c.seq == 7))
    conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=6, hash=sixth["hash"]))


TAMPERING: dict[str, tuple[Callable[[Connection], None], int, str]] = {
    "comment": (_change("comment", "无涉密内容, 同意", 4), 4, "changed"),
    "comment_removed": (_change("comment", None, 7), 7, "changed"),
    "actor": (_change("actor", "leader_b", 6), 6, "changed"),
    "on_behalf_of": (_change("on_behalf_of", "leader_c", 6), 6, "changed"),
    "to_state": (_change("to_state", "withheld", 4), 4, "changed"),
    "fields": (_change("fields", '{"outcome":"disclosed"}', 5), 5, "changed"),
    "content_hash": (_change("content_hash", "f" * 64, 2), 2, "changed"),
    "at": (_shift_time, 2, "changed"),
    "hash": (_change("hash", "0" * 64, 5), 5, "changed"),
    "delete_middle": (_delete(4), 4, "missing"),
    "delete_first": (_delete(1), 1, "missing"),
    "delete_last": (_delete(7), 7, "missing"),
    "swap": (_swap(3, 5), 3, "changed"),
    "head_hash": (_head(hash="a" * 64), 7, "head_mismatch"),
    "head_seq_lowered": (_head(seq=6), 7, "head_mismatch"),
    "head_seq_raised": (_head(seq=8), 8, "missing"),
}


@pytest.mark.parametrize("kind", list(TAMPERING))
def test_tampering_is_caught(engine: WorkflowEngine, make_item: MakeItem, db: Engine, kind: str) -> None:
    build_chain(engine, make_item)
    assert auditlog.verify(db, KEY) == auditlog.VerifyResult(7, None)
    tamper, seq, reason = TAMPERING[kind]
    with db.begin() as conn:
        drop_append_only(conn)
        tamper(conn)
    result = auditlog.verify(db, KEY)
    assert result.fault is not None, f"{kind} went unnoticed"
    assert (result.fault.seq, result.fault.reason) == (seq, reason)
    assert result.count == (seq - 1 if reason != "head_mismatch" else 7)


def test_a_spliced_row_from_a_rewound_chain_is_reordered(
    engine: WorkflowEngine, make_item: MakeItem, db: Engine
) -> None:
    """Rewind the chain to row 5, let new rows be written, then splice an old genuine row back in."""
    build_chain(engine, make_item)
    with db.begin() as conn:
        old_six = row_values(conn, 6)
        fifth = row_values(conn, 5)
        drop_append_only(conn)
        conn.execute(delete(audit_log).where(audit_log.c.seq > 5))
        conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=5, hash=fifth["hash"]))
    engine.fire(make_item(title="C"), "submit", "drafter_a")  # new rows 6 (create C) and 7 (submit C)
    assert auditlog.verify(db, KEY).fault is None
    new_six = auditlog.read_entries(db)[5]
    assert new_six.seq == 6 and new_six.hash != old_six["hash"]
    with db.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 6))
        conn.execute(audit_log.insert().values(old_six))
    # Row 6 is genuine (its own HMAC holds) so it is not "changed"; row 7 no longer follows it.
    assert row_hash(KEY, old_six) == old_six["hash"]
    result = auditlog.verify(db, KEY)
    assert result.fault is not None
    assert (result.fault.seq, result.fault.reason, result.fault.expected) == (7, "reordered", old_six["hash"])


def test_truncation_with_a_forged_head_needs_the_anchor(
    engine: WorkflowEngine, make_item: MakeItem, db: Engine
) -> None:
    """An attacker who deletes the last row and rewinds the head is caught by a kept anchor only."""
    build_chain(engine, make_item)
    kept = auditlog.anchor(db)
    assert kept["seq"] == 7
    assert auditlog.check_anchor(db, kept) is None
    with db.begin() as conn:
        drop_append_only(conn)
        _delete_last_and_fix_head(conn)
    assert auditlog.verify(db, KEY) == auditlog.VerifyResult(6, None)  # the chain alone cannot tell
    fault = auditlog.check_anchor(db, kept)
    assert fault is not None and (fault.seq, fault.reason) == (7, "missing")


def test_the_wrong_key_fails_verification(engine: WorkflowEngine, make_item: MakeItem, db: Engine) -> None:
    build_chain(engine, make_item)
    result = auditlog.verify(db, b"another-key-of-the-same-length-0123456789")
    assert result.fault is not None
    assert (result.count, result.fault.seq, result.fault.reason) == (0, 1, "changed")
    assert auditlog.verify(db, KEY).fault is None


def test_the_database_refuses_to_change_the_audit_log(engine: WorkflowEngine, make_item: MakeItem, db: Engine) -> None:
    build_chain(engine, make_item)
    before = auditlog.read_entries(db)
    statements = [
        "UPDATE audit_log SET comment = 'x' WHERE seq = 4",
        "UPDATE audit_log SET actor = 'leader_b'",
        "DELETE FROM audit_log WHERE seq = 7",
        "DELETE FROM audit_log",
    ]
    if db.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_log")
    for statement in statements:
        with pytest.raises(DBAPIError) as caught, db.begin() as conn:
            conn.execute(text(statement))
        assert "append-only" in str(caught.value), statement
    assert auditlog.read_entries(db) == before
    assert auditlog.verify(db, KEY) == auditlog.VerifyResult(7, None)
    # Appending still works.
    engine.fire(make_item(), "submit", "drafter_a")
    assert auditlog.verify(db, KEY) == auditlog.VerifyResult(9, None)


def test_a_substitute_row_verifies_and_its_principal_is_chained(
    engine: WorkflowEngine, make_item: MakeItem, db: Engine
) -> None:
    with db.begin() as conn:
        delegate(conn, "leader_a", "office_b", dt.date(2026, 3, 1), dt.date(2026, 3, 31), dt.datetime.now(dt.UTC))
    item_id = make_item()
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "clear", "reviewer_a")
    engine.fire(item_id, "sign_off", "office_b")
    assert auditlog.verify(db, KEY).fault is None
    with db.begin() as conn:
        drop_append_only(conn)
        conn.execute(update(audit_log).where(audit_log.c.seq == 4).values(on_behalf_of=None))
    result = auditlog.verify(db, KEY)
    assert result.fault is not None and (result.fault.seq, result.fault.reason) == (4, "changed")

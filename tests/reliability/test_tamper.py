"""Tampering with a long audit log: each kind of change is found, and the FIRST bad entry is named.

The log is built fast through the engine's own chain code (``row_hash``, the rows inserted in bulk), not
through ``fire``; each case then changes a copy of it as someone with the database's owner rights could
(the append-only triggers dropped first) and the verification must name the entry where it starts.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, delete, insert, select, text, update

from tests.conftest import AUDIT_KEY, DEFINITIONS
from tests.reliability.conftest import figure, sizes
from tests.test_cli import Office, base_env
from workflow.core.chain import GENESIS_HASH, ChainFault, VerifyResult, row_hash
from workflow.settings import Settings
from workflow.store import audit_log as auditlog
from workflow.store.anchors import Anchor, append_anchor, check_anchors, read_anchor_file
from workflow.store.db import make_engine
from workflow.wiring import initialise

KEY = AUDIT_KEY.encode()
ANOTHER_KEY = "another-key-0123456789-0123456789-abcdef"
ANCHORS = 10
"""Anchors kept along the log (as the worker's daily ones would be): one every tenth of it."""
TRIGGERS = [("create", None, "drafting", "drafter"), ("submit", "drafting", "confidentiality_review", "drafter"),
            ("clear", "confidentiality_review", "leadership_signoff", "confidentiality_reviewer"),
            ("sign_off", "leadership_signoff", "published", "leader")]  # fmt: skip
START = dt.datetime(2020, 1, 6, 1, 0, tzinfo=dt.UTC)


def chain_rows(
    count: int, key: bytes = KEY, change: Callable[[dict[str, Any]], None] | None = None
) -> Iterator[dict[str, Any]]:
    """``count`` entries like an office's: four steps per item, comments, fields, Chinese text, chained."""
    prev = GENESIS_HASH
    for seq in range(1, count + 1):
        trigger, source, dest, role = TRIGGERS[(seq - 1) % 4]
        row: dict[str, Any] = {
            "seq": seq, "item_id": (seq - 1) // 4 + 1, "definition": "proactive_disclosure",
            "definition_version": "1", "trigger": trigger, "from_state": source, "to_state": dest,
            "actor": f"{role}_{seq % 3}", "on_behalf_of": None, "role": role,
            "at": START + dt.timedelta(minutes=seq), "comment": "无涉密内容，同意公开" if seq % 4 == 3 else None,
            "fields": '{"unpublish_at":"2030-01-01"}' if trigger == "sign_off" else "{}",
            "details": '{"late":true}' if seq % 7 == 0 else "{}", "content_hash": f"{seq:064x}",
            "prev_hash": prev, "person": None,
        }  # fmt: skip
        if change is not None:
            change(row)
        row["hash"] = row_hash(key, row)
        prev = row["hash"]
        yield row


def write_chain(conn: Connection, rows: Iterator[dict[str, Any]], batch: int = 5_000) -> tuple[int, str]:
    """Insert the rows in batches and set the head; (last seq, last hash)."""
    last: tuple[int, str] = (0, GENESIS_HASH)
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        last = (row["seq"], row["hash"])
        if len(chunk) == batch:
            conn.execute(insert(auditlog.audit_log), chunk)
            chunk = []
    if chunk:
        conn.execute(insert(auditlog.audit_log), chunk)
    conn.execute(update(auditlog.audit_head).where(auditlog.audit_head.c.id == 1).values(seq=last[0], hash=last[1]))
    return last


BUILT: dict[int, tuple[Path, Path, float]] = {}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], tuple[Path, Path, float]]:
    """A log of ``size`` entries (built once per size): the SQLite file, its anchor file, seconds to build."""

    def build(size: int) -> tuple[Path, Path, float]:
        if size not in BUILT:
            folder = tmp_path_factory.mktemp(f"chain{size}")
            url = f"sqlite:///{folder / 'gongkai.db'}"
            db = make_engine(url)
            initialise(Settings(database_url=url, definitions_dir=DEFINITIONS, audit_key=AUDIT_KEY), db)
            started = time.perf_counter()
            every = size // ANCHORS
            anchors = folder / "anchors.jsonl"
            with db.begin() as conn:
                rows = list(chain_rows(size))
                write_chain(conn, iter(rows))
            for n in range(1, ANCHORS + 1):
                row = rows[n * every - 1]
                day = (START + dt.timedelta(days=n)).date().isoformat()
                append_anchor(anchors, Anchor(row["seq"], row["hash"], day))
            db.dispose()
            BUILT[size] = (folder / "gongkai.db", anchors, time.perf_counter() - started)
        return BUILT[size]

    return build


def unguard(conn: Connection) -> None:
    conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
    conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))


def row_of(conn: Connection, seq: int) -> dict[str, Any]:
    return dict(conn.execute(select(auditlog.audit_log).where(auditlog.audit_log.c.seq == seq)).one()._mapping)


def set_row(conn: Connection, seq: int, values: dict[str, Any]) -> None:
    conn.execute(update(auditlog.audit_log).where(auditlog.audit_log.c.seq == seq).values(values))


Tamper = Callable[[Connection, int, random.Random], tuple[int, str]]
"""Change the log (of ``size`` entries) and say which entry must be named first, and why."""


def field(column: str, value: Callable[[Any], Any]) -> Tamper:
    def tamper(conn: Connection, size: int, rng: random.Random) -> tuple[int, str]:
        seq = rng.randrange(2, size)
        set_row(conn, seq, {column: value(row_of(conn, seq)[column])})
        return seq, "changed"

    return tamper


def delete_rows(run: int) -> Tamper:
    def tamper(conn: Connection, size: int, rng: random.Random) -> tuple[int, str]:
        seq = rng.randrange(2, size - run)
        conn.execute(delete(auditlog.audit_log).where(auditlog.audit_log.c.seq.between(seq, seq + run - 1)))
        return seq, "missing"

    return tamper


def swap(conn: Connection, size: int, rng: random.Random) -> tuple[int, str]:
    """Two entries exchange places (each keeps its own signature; only the seq stays put)."""
    first, second = sorted(rng.sample(range(2, size), 2))
    a, b = row_of(conn, first), row_of(conn, second)
    for seq, values in ((first, b), (second, a)):
        set_row(conn, seq, {k: v for k, v in values.items() if k != "seq"})
    return first, "changed"


def insert_row(forged: bool) -> Tamper:
    """An entry slipped in after ``seq``, the later ones moved up by one: forged (signed with another key) or
    a genuine entry of another place replayed."""

    def tamper(conn: Connection, size: int, rng: random.Random) -> tuple[int, str]:
        seq = rng.randrange(2, size)
        table = auditlog.audit_log
        conn.execute(update(table).where(table.c.seq > seq).values(seq=-(table.c.seq + 1)))
        conn.execute(update(table).where(table.c.seq < 0).values(seq=-table.c.seq))
        before = row_of(conn, seq)
        if forged:
            row = {**before, "seq": seq + 1, "trigger": "withhold", "to_state": "withheld", "prev_hash": before["hash"],
                   "comment": "涉密，不予公开"}  # fmt: skip
            row["hash"] = row_hash(ANOTHER_KEY.encode(), row)
        else:
            row = {**row_of(conn, rng.randrange(1, seq)), "seq": seq + 1}
        conn.execute(insert(table).values(row))
        conn.execute(update(auditlog.audit_head).values(seq=size + 1))
        return seq + 1, "changed"

    return tamper


def flip_byte(conn: Connection, size: int, rng: random.Random) -> tuple[int, str]:
    """One bit of one byte of a stored value flipped, as a failing disk or a careless hex edit would."""
    seq = rng.randrange(2, size)
    column = rng.choice(["actor", "trigger", "fields", "content_hash", "prev_hash", "hash", "role"])
    value = str(row_of(conn, seq)[column]).encode("ascii")
    at = rng.randrange(len(value))
    flipped = value[:at] + bytes([value[at] ^ 1]) + value[at + 1 :]
    set_row(conn, seq, {column: flipped.decode("ascii")})
    return seq, "changed"


def resign_from(key: bytes) -> Tamper:
    """An entry changed and the chain re-signed from it on, with a key that is not the office's."""

    def tamper(conn: Connection, size: int, rng: random.Random) -> tuple[int, str]:
        start = rng.randrange(2, size)
        prev = row_of(conn, start - 1)["hash"]
        table = auditlog.audit_log
        rows = [dict(r._mapping) for r in conn.execute(select(table).where(table.c.seq >= start).order_by(table.c.seq))]
        rows[0]["comment"] = "同意（改）"
        for row in rows:
            row["prev_hash"] = prev
            row["hash"] = prev = row_hash(key, row)
        conn.execute(delete(table).where(table.c.seq >= start))
        conn.execute(insert(table), rows)
        conn.execute(update(auditlog.audit_head).values(hash=prev))
        return start, "changed"

    return tamper


def head_forged(conn: Connection, size: int, rng: random.Random) -> tuple[int, str]:
    conn.execute(update(auditlog.audit_head).values(hash="a" * 64))
    return size, "head_mismatch"


FIELD_CHANGES: dict[str, Callable[[Any], Any]] = {
    "comment": lambda v: (v or "") + "，另附意见", "actor": lambda v: "leader_9", "role": lambda v: "admin",
    "trigger": lambda v: "withhold", "to_state": lambda v: "withheld",
    "from_state": lambda v: "withheld" if v is None else None,
    "item_id": lambda v: v + 1, "fields": lambda v: '{"outcome":"disclosed"}', "details": lambda v: '{"x":1}',
    "content_hash": lambda v: "f" * 64, "at": lambda v: v + dt.timedelta(seconds=1),
    "definition_version": lambda v: "2", "on_behalf_of": lambda v: "leader_c", "prev_hash": lambda v: "0" * 64,
    "hash": lambda v: "0" * 64,
}  # fmt: skip
CASES: dict[str, Tamper] = {
    **{f"field_{column}": field(column, change) for column, change in FIELD_CHANGES.items()},
    "delete_one": delete_rows(1),
    "delete_run": delete_rows(50),
    "swap": swap,
    "insert_forged": insert_row(forged=True),
    "insert_replayed": insert_row(forged=False),
    "flip_byte": flip_byte,
    "resigned_wrong_key": resign_from(ANOTHER_KEY.encode()),
    "head_forged": head_forged,
}


def copy_of(built: tuple[Path, Path, float], tmp_path: Path) -> Engine:
    target = tmp_path / "gongkai.db"
    shutil.copyfile(built[0], target)
    return make_engine(f"sqlite:///{target}")


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("size", sizes(5_000, 100_000))
def test_every_tamper_is_found_at_its_first_bad_entry(
    built: Callable[[int], tuple[Path, Path, float]], tmp_path: Path, size: int, case: str
) -> None:
    db = copy_of(built(size), tmp_path)
    rng = random.Random(f"{case}:{size}")
    with db.begin() as conn:
        unguard(conn)
        seq, reason = CASES[case](conn, size, rng)
    started = time.perf_counter()
    result = auditlog.verify(db, KEY)
    seconds = time.perf_counter() - started
    db.dispose()
    named = (result.fault.seq, result.fault.reason) if result.fault else None
    figure("tamper", case=case, entries=size, tampered=seq, named=named, seconds=f"{seconds:.2f}")
    assert result.fault is not None, f"{case} went unnoticed"
    assert (result.fault.seq, result.fault.reason) == (seq, reason)


@pytest.mark.slow
@pytest.mark.parametrize("size", sizes(5_000, 100_000))
def test_a_clean_log_verifies_and_its_anchors_hold(
    built: Callable[[int], tuple[Path, Path, float]], tmp_path: Path, size: int
) -> None:
    path, anchors, build_seconds = built(size)
    db = make_engine(f"sqlite:///{path}")
    started = time.perf_counter()
    result = auditlog.verify(db, KEY)
    seconds = time.perf_counter() - started
    assert check_anchors(db, read_anchor_file(anchors)) is None
    db.dispose()
    figure("clean log", entries=size, build_seconds=f"{build_seconds:.2f}", verify_seconds=f"{seconds:.2f}",
           per_second=f"{size / seconds:.0f}")  # fmt: skip
    assert result == VerifyResult(size, None)


def verify_command(path: Path, anchors: Path, key: str) -> tuple[int, str]:
    env = {**base_env(f"sqlite:///{path}"), "GONGKAI_AUDIT_KEY": key, "GONGKAI_LANG": "en"}
    done = Office(path.parent, env).run("audit", "verify", "--anchors", str(anchors))
    return done.returncode, done.stdout + done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("size", sizes(5_000, 100_000))
def test_a_cut_tail_is_caught_by_the_anchors_at_the_first_entry_gone(
    built: Callable[[int], tuple[Path, Path, float]], tmp_path: Path, size: int
) -> None:
    source = built(size)
    db = copy_of(source, tmp_path)
    keep = random.Random(size).randrange(size // 2, size - size // ANCHORS)  # behind the last anchors
    table = auditlog.audit_log
    with db.begin() as conn:
        unguard(conn)
        conn.execute(delete(table).where(table.c.seq > keep))
        conn.execute(update(auditlog.audit_head).values(seq=keep, hash=row_of(conn, keep)["hash"]))
    assert auditlog.verify(db, KEY) == VerifyResult(keep, None)  # the chain alone cannot tell
    fault = check_anchors(db, read_anchor_file(source[1]))
    db.dispose()
    assert fault is not None and fault.fault == ChainFault(keep + 1, "missing")
    code, out = verify_command(tmp_path / "gongkai.db", source[1], AUDIT_KEY)
    figure("cut tail", entries=size, kept=keep, named=fault.fault.seq, anchor=fault.number, exit=code)
    assert code == 1 and f"audit entry #{keep + 1} is missing" in out, out


@pytest.mark.slow
@pytest.mark.parametrize("size", sizes(5_000, 100_000))
def test_a_whole_rewrite_under_a_replaced_key_is_caught_by_the_anchors(
    built: Callable[[int], tuple[Path, Path, float]], tmp_path: Path, size: int
) -> None:
    """Every entry rewritten and re-signed, and the key file replaced: the walk holds; the anchors do not.

    The first bad entry is #1 here; an anchor can only say that the log no longer holds its entry, so the
    first anchor (the earliest entry anyone kept) is named, bounding where the rewrite starts."""
    source = built(size)
    db = copy_of(source, tmp_path)

    def soften(row: dict[str, Any]) -> None:
        row["comment"] = "同意" if row["comment"] else None
        row["actor"] = "leader_0" if row["role"] == "leader" else row["actor"]

    with db.begin() as conn:
        unguard(conn)
        conn.execute(delete(auditlog.audit_log))
        write_chain(conn, chain_rows(size, ANOTHER_KEY.encode(), soften))
    assert auditlog.verify(db, ANOTHER_KEY.encode()) == VerifyResult(size, None)
    assert auditlog.verify(db, KEY).fault == ChainFault(1, "changed")  # with the office's own key: at #1
    kept = read_anchor_file(source[1])
    fault = check_anchors(db, kept)
    db.dispose()
    assert fault is not None and (fault.number, fault.fault) == (1, ChainFault(kept[0].seq, "anchor_mismatch"))
    code, out = verify_command(tmp_path / "gongkai.db", source[1], ANOTHER_KEY)
    figure("whole rewrite", entries=size, walk="verifies under the replaced key", anchor=fault.number,
           named=fault.fault.seq, exit=code)  # fmt: skip
    assert code == 1 and f"audit entry #{kept[0].seq} does not match the anchor" in out, out

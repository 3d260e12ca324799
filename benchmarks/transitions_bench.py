"""Transitions per second: the real engine against hand-written SQL on the same SQLite schema.

Usage::

    python benchmarks/transitions_bench.py N [--db-dir DIR] [--repeat R] [--profile] [--no-memory]

N items go through the whole ``proactive_disclosure`` chain (create, then submit, clear and
sign_off: three transitions per item), one durable commit per step (SQLite WAL,
synchronous=NORMAL, BEGIN IMMEDIATE, as ``workflow/store/db.py`` sets):

* engine side: ``workflow.wiring.initialise`` + ``WorkflowEngine`` over a fresh SQLite file, people
  added with ``workflow.store.people.add_user`` (a drafter, a confidentiality reviewer, a leader);
* hand-written side: another fresh file with the same schema (``initialise`` runs the same Alembic
  migration on it), then the standard library's ``sqlite3`` only. Per transition: BEGIN IMMEDIATE;
  SELECT the item; SELECT the actor's roles; UPDATE items ... WHERE id AND version; SELECT audit_head;
  INSERT INTO audit_log (HMAC computed with ``workflow.core.chain.row_hash``); UPDATE audit_head;
  SELECT the item's deadlines; UPDATE the deadline rows whose clock moved (1 or 2); INSERT the
  new-task notice into the outbox where someone must act next; COMMIT.
  Creates: BEGIN IMMEDIATE; roles; reference counter; INSERT items, item_revisions, audit_log; head.

Each repeat uses fresh files; the reported rate is the median over R repeats. Afterwards, both audit
chains must verify (``workflow.store.audit_log.verify``) and the row counts of both files must match.

Memory: on one more fresh engine database, three batches of N items each go through the chain under
``tracemalloc``: over a database holding 0, N and 2N items. Flat peaks and no retained growth
between batches show the engine keeps nothing per item in memory.

``--profile`` runs the engine side once more under cProfile (fires only, creates separately) and
prints the top 40 functions by cumulative and by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import io
import json
import os
import pstats
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine  # noqa: E402

from notifications.settings import MailSettings  # noqa: E402
from workflow.clock import utc_now  # noqa: E402
from workflow.core import chain as audit  # noqa: E402
from workflow.core.calendar import WorkingCalendar  # noqa: E402
from workflow.engine import INDEX_COUNTER, WorkflowEngine  # noqa: E402
from workflow.settings import Settings  # noqa: E402
from workflow.store import audit_log as auditlog  # noqa: E402
from workflow.store.db import DEFAULT_BUSY_TIMEOUT_MS, make_engine  # noqa: E402
from workflow.store.people import add_user  # noqa: E402
from workflow.wiring import initialise, open_engine  # noqa: E402

DEFINITIONS = ROOT / "definitions"
AUDIT_KEY = "benchmark-audit-key-0123456789-abcdefghijklmnop"
DEFINITION = "proactive_disclosure"
CATEGORY = "03"
PEOPLE = [("drafter_a", ["drafter"]), ("reviewer_a", ["confidentiality_reviewer"]), ("leader_a", ["leader"])]
CHAIN = [("submit", "drafter_a"), ("clear", "reviewer_a"), ("sign_off", "leader_a")]
MAIL = MailSettings(smtp_url=None)
"""The new-task notices are written to the outbox, never sent: the defaults serve."""
BODY = "2026 年镇级财政预算收入 1,250 万元, 支出 1,180 万元。\n三公经费预算 18.6 万元。\n"
TABLES = (
    "items", "item_revisions", "audit_log", "deadlines", "outbox", "reference_counters", "users", "user_roles",
)  # fmt: skip


@dataclass
class SideRun:
    """One repeat of one side: seconds spent creating and firing."""

    create_s: float
    fire_s: float
    items: int
    fire_cpu_s: float
    """Process CPU time of the fires: steadier than wall time when other work shares the machine."""

    @property
    def fire_rate(self) -> float:
        return 3 * self.items / self.fire_s

    @property
    def fire_cpu_rate(self) -> float:
        return 3 * self.items / self.fire_cpu_s

    @property
    def create_rate(self) -> float:
        return self.items / self.create_s

    @property
    def step_rate(self) -> float:
        return 4 * self.items / (self.create_s + self.fire_s)


# ---- preparing a database ---------------------------------------------------------------------


def settings_for(path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{path}", definitions_dir=DEFINITIONS, audit_key=AUDIT_KEY)


def fresh_database(path: Path) -> Settings:
    """A migrated database at ``path`` with the definitions registered and the three people added."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    settings = settings_for(path)
    db = make_engine(settings.database_url)
    try:
        initialise(settings, db)
        with db.begin() as conn:
            for name, roles in PEOPLE:
                add_user(conn, name, f"{name}@town.example.gov.cn", roles, utc_now())
    finally:
        db.dispose()
    return settings


# ---- the engine side --------------------------------------------------------------------------


def engine_create(engine: WorkflowEngine, count: int, start: int) -> list[int]:
    ids = []
    for number in range(start, start + count):
        view = engine.create(
            DEFINITION, title=f"2026 年财政预算公开 {number}", actor="drafter_a", category=CATEGORY, body=BODY
        )
        ids.append(view.id)
    return ids


def engine_fire(engine: WorkflowEngine, ids: list[int]) -> None:
    for item_id in ids:
        for trigger, actor in CHAIN:
            engine.fire(item_id, trigger, actor)


def run_engine(path: Path, items: int) -> SideRun:
    engine = open_engine(fresh_database(path), mail=MAIL)
    try:
        gc.collect()
        started = time.perf_counter()
        ids = engine_create(engine, items, 1)
        created, cpu = time.perf_counter(), time.process_time()
        engine_fire(engine, ids)
        done, cpu_done = time.perf_counter(), time.process_time()
    finally:
        engine.db.dispose()
    return SideRun(created - started, done - created, items, cpu_done - cpu)


# ---- the hand-written side --------------------------------------------------------------------

# (state, trigger) -> (destination, role, triggers whose actors may not fire it); the drafter
# holder may never clear or sign off (the definition's not_same_actor_as guards).
HAND_CHAIN: dict[tuple[str, str], tuple[str, str, tuple[str, ...]]] = {
    ("drafting", "submit"): ("confidentiality_review", "drafter", ()),
    ("confidentiality_review", "clear"): ("leadership_signoff", "confidentiality_reviewer", ("submit",)),
    ("leadership_signoff", "sign_off"): ("published", "leader", ("submit", "clear")),
}

ROLES_SQL = (
    "SELECT users.id, users.active, user_roles.role FROM users "
    "LEFT JOIN user_roles ON user_roles.user_id = users.id WHERE users.name = ?"
)
ITEM_SQL = (
    "SELECT id, definition, definition_version, state, version, revision, title, category, body, "
    "fields, holders, acted FROM items WHERE id = ?"
)
UPDATE_ITEM_SQL = (
    "UPDATE items SET state = ?, version = version + 1, acted = ?, fields = ?, content_hash = ?, "
    "updated_at = ? WHERE id = ? AND version = ?"
)
HEAD_SQL = "SELECT seq, hash FROM audit_head WHERE id = 1"
INSERT_AUDIT_SQL = (
    "INSERT INTO audit_log (seq, item_id, definition, definition_version, trigger, from_state, to_state, "
    "actor, on_behalf_of, role, at, comment, fields, details, content_hash, prev_hash, hash) "
    "VALUES (:seq, :item_id, :definition, :definition_version, :trigger, :from_state, :to_state, :actor, "
    ":on_behalf_of, :role, :at, :comment, :fields, :details, :content_hash, :prev_hash, :hash)"
)
UPDATE_HEAD_SQL = "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1"
COUNTER_SQL = (
    "INSERT INTO reference_counters (prefix, year, last) VALUES (?, ?, 1) "
    "ON CONFLICT (prefix, year) DO UPDATE SET last = last + 1 RETURNING last"
)
INSERT_ITEM_SQL = (
    "INSERT INTO items (reference, definition, definition_version, state, version, revision, title, category, "
    "body, fields, holders, acted, content_hash, created_by, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, 1, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
)
INSERT_REVISION_SQL = (
    "INSERT INTO item_revisions (item_id, revision, title, body, content_hash, updated_at) VALUES (?, 1, ?, ?, ?, ?)"
)

DEADLINES_SQL = "SELECT kind, clock, status, applies_now FROM deadlines WHERE item_id = ?"
INSERT_DEADLINE_SQL = (
    "INSERT INTO deadlines (item_id, kind, clock, status, applies_now, due_on, due_at, met_on, paused_days, "
    "extension_days, calendar_version, computed_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 0, 0, ?, ?)"
)
UPDATE_DEADLINE_SQL = (
    "UPDATE deadlines SET clock = ?, status = ?, applies_now = ?, due_on = ?, due_at = ?, met_on = ?, "
    "paused_days = 0, extension_days = 0, calendar_version = ?, computed_at = ? WHERE item_id = ? AND kind = ?"
)
# The deadline rows the engine writes for the proactive chain (definitions/proactive_disclosure.yaml):
# at creation all three; then per transition the ones whose clock moves: kind -> (status, working days).
HAND_DEADLINES_CREATE = {
    "publication": ("running", 20),
    "state:confidentiality_review": ("not_started", 0),
    "state:leadership_signoff": ("not_started", 0),
}
HAND_DEADLINE_STEPS = {
    "submit": {"state:confidentiality_review": ("running", 5)},
    "clear": {"state:confidentiality_review": ("met", 5), "state:leadership_signoff": ("running", 3)},
    "sign_off": {"publication": ("met", 20), "state:leadership_signoff": ("met", 3)},
}
# New-task notices the engine writes to the outbox in the same transaction: one person holds
# each role in this benchmark, and nobody acts in `published`.
HAND_NOTICES = {"submit": "reviewer_a", "clear": "leader_a"}
INSERT_OUTBOX_SQL = (
    "INSERT INTO outbox (message_id, dedupe_key, event, item_id, recipient, subject, body_text, body_html, "
    "status, attempts, next_attempt_at, created_at) VALUES (?, ?, 'new_task', ?, ?, ?, ?, ?, 'pending', 0, ?, ?) "
    "ON CONFLICT (dedupe_key) DO NOTHING"
)
NOTICE_TEXT = "请处理: {reference} {title}\n" * 12
HAND_CALENDAR = WorkingCalendar()
HAND_CALENDAR_VERSION = HAND_CALENDAR.data_version()
OFFICE_ZONE = ZoneInfo("Asia/Shanghai")


def hand_deadline_values(status: str, days: int, now: dt.datetime) -> tuple[Any, ...]:
    """clock, status, applies_now, due_on, due_at, met_on as the engine would store them."""
    today = now.astimezone(OFFICE_ZONE).date()
    if status == "not_started":
        return json.dumps({"start": None}), status, 0, None, None, None
    due = HAND_CALENDAR.add_working_days(today, days)
    end = dt.datetime.combine(due + dt.timedelta(days=1), dt.time(), tzinfo=OFFICE_ZONE)
    clock = json.dumps({"start": today.isoformat(), "met_on": today.isoformat() if status == "met" else None})
    met_on = today.isoformat() if status == "met" else None
    return clock, status, int(status == "running"), due.isoformat(), sqlite_time(end), met_on


class Refused(Exception):
    pass


def sqlite_time(value: dt.datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores (naive UTC, microseconds), so verify reads it back."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def hand_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=DEFAULT_BUSY_TIMEOUT_MS / 1000)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={DEFAULT_BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def hand_roles(conn: sqlite3.Connection, actor: str) -> set[str]:
    rows = conn.execute(ROLES_SQL, (actor,)).fetchall()
    if not rows or not rows[0][1]:
        raise Refused(f"no such user {actor}")
    return {row[2] for row in rows if row[2]}


def hand_append_audit(conn: sqlite3.Connection, key: bytes, entry: dict[str, Any]) -> None:
    seq, prev = conn.execute(HEAD_SQL).fetchone()
    entry["seq"] = seq + 1
    entry["prev_hash"] = prev
    entry["hash"] = audit.row_hash(key, entry)
    params = dict(entry)
    params["at"] = sqlite_time(entry["at"])
    conn.execute(INSERT_AUDIT_SQL, params)
    conn.execute(UPDATE_HEAD_SQL, (entry["seq"], entry["hash"]))


def hand_create(conn: sqlite3.Connection, key: bytes, version: str, number: int, actor: str) -> int:
    title = f"2026 年财政预算公开 {number}"
    now = dt.datetime.now(dt.UTC)
    stamp = sqlite_time(now)
    conn.execute("BEGIN IMMEDIATE")
    try:
        if "drafter" not in hand_roles(conn, actor):
            raise Refused("create needs the drafter role")
        year = now.year
        counter = conn.execute(COUNTER_SQL, ("GK", year)).fetchone()[0]
        reference = f"GK-{year}-{counter:04d}"
        digest = audit.content_hash(title, BODY, CATEGORY, {})
        holders = json.dumps({"drafter": [actor]})
        item_id = conn.execute(
            INSERT_ITEM_SQL,
            (reference, DEFINITION, version, "drafting", title, CATEGORY, BODY, "{}", holders, "{}", digest, actor,
             stamp, stamp),
        ).fetchone()[0]  # fmt: skip
        conn.execute(INSERT_REVISION_SQL, (item_id, title, BODY, digest, stamp))
        version_text = HAND_CALENDAR_VERSION
        conn.executemany(
            INSERT_DEADLINE_SQL,
            [
                (item_id, kind, *hand_deadline_values(status, days, now)[:5], version_text, stamp)
                for kind, (status, days) in HAND_DEADLINES_CREATE.items()
            ],
        )
        hand_append_audit(
            conn,
            key,
            {"item_id": item_id, "definition": DEFINITION, "definition_version": version, "trigger": "create",
             "from_state": None, "to_state": "drafting", "actor": actor, "on_behalf_of": None, "role": "drafter",
             "at": now, "comment": None, "fields": "{}",
             "details": audit.canonical_json({"reference": reference, "title": title}), "content_hash": digest},
        )  # fmt: skip
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return int(item_id)


def hand_fire(conn: sqlite3.Connection, key: bytes, item_id: int, trigger: str, actor: str) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        (_, definition, version, state, item_version, _revision, title, category, body, fields_text, holders_text,
         acted_text) = conn.execute(ITEM_SQL, (item_id,)).fetchone()  # fmt: skip
        move = HAND_CHAIN.get((state, trigger))
        if move is None:
            raise Refused(f"{trigger} not allowed from {state}")
        dest, role, separate_from = move
        if role not in hand_roles(conn, actor):
            raise Refused(f"{actor} lacks {role}")
        holders = json.loads(holders_text)
        acted = json.loads(acted_text)
        earlier = {name for t in separate_from for pair in acted.get(t, ()) for name in pair}
        if separate_from and (actor in holders.get("drafter", ()) or actor in earlier):
            raise Refused("separation of duties")
        acted[trigger] = [[actor, actor]]
        fields = json.loads(fields_text)
        digest = audit.content_hash(title, body, category, fields)
        now = dt.datetime.now(dt.UTC)
        changed = conn.execute(
            UPDATE_ITEM_SQL,
            (dest, json.dumps(acted), json.dumps(fields), digest, sqlite_time(now), item_id, item_version),
        ).rowcount
        if changed != 1:
            raise Refused("conflict")
        hand_append_audit(
            conn,
            key,
            {"item_id": item_id, "definition": definition, "definition_version": version, "trigger": trigger,
             "from_state": state, "to_state": dest, "actor": actor, "on_behalf_of": None, "role": role, "at": now,
             "comment": None, "fields": "{}", "details": "{}", "content_hash": digest},
        )  # fmt: skip
        conn.execute(DEADLINES_SQL, (item_id,)).fetchall()
        reader = HAND_NOTICES.get(trigger)
        if reader is not None:
            address = f"{reader}@town.example.gov.cn"
            dedupe = f"new_task:{item_id}:{item_version + 1}|{address}"
            text = NOTICE_TEXT.format(reference=item_id, title=title)
            stamp = sqlite_time(now)
            conn.execute(
                INSERT_OUTBOX_SQL,
                (f"<{dedupe}>", dedupe, item_id, address, f"[{item_id}] {title}", text, f"<p>{text}</p>", stamp, stamp),
            )
        for kind, (status, days) in HAND_DEADLINE_STEPS[trigger].items():
            values = hand_deadline_values(status, days, now)
            conn.execute(UPDATE_DEADLINE_SQL, (*values, HAND_CALENDAR_VERSION, sqlite_time(now), item_id, kind))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def run_hand(path: Path, items: int) -> SideRun:
    settings = fresh_database(path)
    key = settings.require_audit_key()
    conn = hand_connect(path)
    try:
        (version,) = conn.execute("SELECT version FROM definition_versions WHERE name = ?", (DEFINITION,)).fetchone()
        gc.collect()
        started = time.perf_counter()
        ids = [hand_create(conn, key, version, number, "drafter_a") for number in range(1, items + 1)]
        created, cpu = time.perf_counter(), time.process_time()
        for item_id in ids:
            for trigger, actor in CHAIN:
                hand_fire(conn, key, item_id, trigger, actor)
        done, cpu_done = time.perf_counter(), time.process_time()
    finally:
        conn.close()
    return SideRun(created - started, done - created, items, cpu_done - cpu)


# ---- checks -----------------------------------------------------------------------------------


def counts(db: Engine) -> dict[str, Any]:
    with db.connect() as conn:
        found: dict[str, Any] = {t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one() for t in TABLES}
        # The engine also numbers publications (索引号, its own counter row): the hand-written side does not publish.
        found["reference_counters"] = conn.exec_driver_sql(
            "SELECT count(*) FROM reference_counters WHERE prefix != ?", (INDEX_COUNTER,)
        ).scalar_one()
        found["states"] = dict(conn.exec_driver_sql("SELECT state, count(*) FROM items GROUP BY state").all())
        found["triggers"] = dict(conn.exec_driver_sql("SELECT trigger, count(*) FROM audit_log GROUP BY trigger").all())
    return found


def check(engine_path: Path, hand_path: Path, items: int) -> list[str]:
    """Both chains verify and both files hold the same rows; returns the problems found."""
    problems: list[str] = []
    key = AUDIT_KEY.encode()
    found = {}
    for side, path in (("engine", engine_path), ("handwritten", hand_path)):
        db = make_engine(settings_for(path).database_url)
        try:
            result = auditlog.verify(db, key)
            if result.fault is not None or result.count != 4 * items:
                problems.append(f"{side}: audit chain {result}")
            found[side] = counts(db)
        finally:
            db.dispose()
    if found["engine"] != found["handwritten"]:
        problems.append(f"row counts differ: engine {found['engine']} handwritten {found['handwritten']}")
    if found["engine"]["states"] != {"published": items}:
        problems.append(f"not every item published: {found['engine']['states']}")
    return problems


# ---- memory -----------------------------------------------------------------------------------


def rss_kib() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class BatchMemory:
    items_before: int
    peak: int
    """tracemalloc peak during the batch, above what was allocated when it started (bytes)."""
    retained: int
    """Allocated after the batch minus before it (bytes): what the batch left behind."""
    rss_before_kib: int
    rss_after_kib: int
    seconds: float


def memory_batches(path: Path, items: int, batches: int = 3) -> list[BatchMemory]:
    engine = open_engine(fresh_database(path), mail=MAIL)
    found: list[BatchMemory] = []
    try:
        # Warm up (imports, compiled machine, pinned definition, SQLAlchemy caches) outside the measure.
        engine_fire(engine, engine_create(engine, 1, 0))
        done = 1
        tracemalloc.start()
        for _ in range(batches):
            gc.collect()
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            rss_before = rss_kib()
            started = time.perf_counter()
            engine_fire(engine, engine_create(engine, items, done))
            seconds = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1]
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
            found.append(BatchMemory(done - 1, peak - before, after - before, rss_before, rss_kib(), seconds))
            done += items
        tracemalloc.stop()
    finally:
        engine.db.dispose()
    return found


# ---- profile ----------------------------------------------------------------------------------


def profile_engine(path: Path, items: int) -> None:
    engine = open_engine(fresh_database(path), mail=MAIL)
    try:
        engine_fire(engine, engine_create(engine, 1, 0))  # warm-up, not profiled
        create_profile = cProfile.Profile()
        ids = create_profile.runcall(engine_create, engine, items, 1)
        fire_profile = cProfile.Profile()
        fire_profile.runcall(engine_fire, engine, ids)
    finally:
        engine.db.dispose()
    for title, profile, root in (
        ("engine.fire (3 per item)", fire_profile, "fire"),
        ("engine.create", create_profile, "create"),
    ):
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            stats = pstats.Stats(profile, stream=out)
            stats.strip_dirs().sort_stats(order).print_stats(40)
            print(f"\n===== cProfile: {title}, {items} items, sorted by {order} =====")
            print(out.getvalue().rstrip())
        print_breakdown(pstats.Stats(profile), root, title)


def _label(key: tuple[str, int, str]) -> str:
    path, line, name = key
    return f"{Path(path).name}:{line}({name})" if line else name


def print_breakdown(stats: pstats.Stats, root: str, title: str, depth: int = 3, floor: float = 0.01) -> None:
    """Where the time of WorkflowEngine.<root> goes: its callees (time via that call edge), as a tree.

    The transaction (``with db.begin()``) runs inside a generator, reached through ``next``; its own
    tree follows, as shares of the same total. Below a function called from several places, its
    callees' time is shared out in proportion (marked ``~``).
    """
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    key = next(k for k in table if k[2] == root and k[0].endswith("engine.py"))
    calls, total = table[key][1], table[key][3]
    children: dict[Any, list[tuple[Any, float]]] = {}
    for callee, (_cc, _nc, _tt, _ct, callers) in table.items():
        for caller, edge in callers.items():
            children.setdefault(caller, []).append((callee, edge[3]))
    print(f"\n===== where {title} time goes: {calls} calls, {1e6 * total / calls:.0f} µs each under cProfile =====")
    print(f"{'share':>6} {'µs/call':>8}  function (time spent in it when called from the line above)")

    def line(seconds: float, level: int, text: str) -> None:
        print(f"{100 * seconds / total:5.1f}% {1e6 * seconds / calls:8.1f}  {'  ' * level}{text}")

    def walk(node: Any, level: int, seen: frozenset[Any], scale: float, depth: int = depth) -> None:
        for callee, edge in sorted(children.get(node, []), key=lambda c: -c[1]):
            seconds = edge * scale
            if seconds / total < floor or callee in seen:
                continue
            line(seconds, level, ("~ " if scale < 0.999 else "") + _label(callee))
            if level + 1 < depth and callee[2] != "<built-in method builtins.next>":
                walk(callee, level + 1, seen | {callee}, scale * edge / table[callee][3], depth)

    line(table[key][2], 0, f"{_label(key)} own time")
    walk(key, 0, frozenset({key}), 1.0)
    begins = [k for k in table if k[2] == "begin" and k[0].replace("\\", "/").endswith("sqlalchemy/engine/base.py")]
    if begins:
        begin = max(begins, key=lambda k: table[k][3])
        line(table[begin][3], 0, f"{_label(begin)}: Engine.begin(), the transaction, entered and left above")
        walk(begin, 1, frozenset({begin, key}), 1.0, depth + 2)


# ---- main -------------------------------------------------------------------------------------


def load() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def median(runs: list[SideRun], rate: Callable[[SideRun], float]) -> float:
    return statistics.median(rate(run) for run in runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, metavar="N", help="items moved through the whole chain per repeat")
    parser.add_argument("--db-dir", type=Path, help="where the SQLite files go (kept); default a temporary folder")
    parser.add_argument("--repeat", type=int, default=3, metavar="R", help="repeats; the median is reported")
    parser.add_argument("--profile", action="store_true", help="also profile the engine side (cProfile, top 40)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory batches")
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeat < 1:
        parser.error("N and R must be at least 1")

    folder = args.db_dir or Path(tempfile.mkdtemp(prefix="gongkai-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    n = args.n
    print(f"gongkai transitions benchmark: N={n} items x (create + 3 transitions), {args.repeat} repeat(s)")
    print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, files in {folder}")
    print("SQLite WAL, synchronous=NORMAL, BEGIN IMMEDIATE, one commit per step")
    print(f"load average at start: {load()} on {os.cpu_count()} CPUs (other work on the machine skews wall time)")

    engine_runs: list[SideRun] = []
    hand_runs: list[SideRun] = []
    problems: list[str] = []
    try:
        for repeat in range(1, args.repeat + 1):
            engine_path = folder / f"engine-{repeat}.db"
            hand_path = folder / f"handwritten-{repeat}.db"
            engine_runs.append(run_engine(engine_path, n))
            hand_runs.append(run_hand(hand_path, n))
            e, h = engine_runs[-1], hand_runs[-1]
            print(
                f"  repeat {repeat}: engine {e.fire_rate:8.0f} transitions/s ({e.create_rate:6.0f} creates/s)   "
                f"handwritten {h.fire_rate:8.0f} transitions/s ({h.create_rate:6.0f} creates/s)"
            )
            problems += [f"repeat {repeat}: {p}" for p in check(engine_path, hand_path, n)]

        engine_fire_rate = median(engine_runs, lambda r: r.fire_rate)
        hand_fire_rate = median(hand_runs, lambda r: r.fire_rate)
        engine_create_rate = median(engine_runs, lambda r: r.create_rate)
        hand_create_rate = median(hand_runs, lambda r: r.create_rate)
        engine_cpu_rate = median(engine_runs, lambda r: r.fire_cpu_rate)
        hand_cpu_rate = median(hand_runs, lambda r: r.fire_cpu_rate)
        engine_step_rate = median(engine_runs, lambda r: r.step_rate)
        hand_step_rate = median(hand_runs, lambda r: r.step_rate)
        print()
        print(f"{'median of ' + str(args.repeat):<30}{'engine':>12}{'handwritten':>14}{'ratio':>8}")
        for label, ours, theirs in (
            ("transitions/s (fire)", engine_fire_rate, hand_fire_rate),
            ("transitions/CPU-s (fire)", engine_cpu_rate, hand_cpu_rate),
            ("creates/s", engine_create_rate, hand_create_rate),
            ("all steps/s (create + fire)", engine_step_rate, hand_step_rate),
        ):
            print(f"{label:<30}{ours:>12.0f}{theirs:>14.0f}{ours / theirs:>8.2f}")
        print(
            f"per transition: engine {1e6 / engine_fire_rate:.0f} µs, handwritten {1e6 / hand_fire_rate:.0f} µs; "
            f"per create: engine {1e6 / engine_create_rate:.0f} µs, handwritten {1e6 / hand_create_rate:.0f} µs"
        )

        if not args.no_memory:
            print()
            print(f"engine memory (tracemalloc), batches of {n} items (create + 3 transitions each):")
            batches = memory_batches(folder / "engine-memory.db", n)
            for number, batch in enumerate(batches, 1):
                print(
                    f"  batch {number} over a database holding {batch.items_before:>6} items: "
                    f"peak {batch.peak / 1024:8.1f} KiB, retained {batch.retained / 1024:+8.1f} KiB, "
                    f"RSS {batch.rss_before_kib / 1024:6.1f} -> {batch.rss_after_kib / 1024:6.1f} MiB "
                    f"({4 * n / batch.seconds:.0f} steps/s under tracemalloc)"
                )
            grow = batches[-1].peak - batches[1].peak
            print(
                f"  peak growth from the batch over {batches[1].items_before} items to the batch over "
                f"{batches[-1].items_before} items: {grow / 1024:+.1f} KiB"
            )

        if args.profile:
            profile_engine(folder / "engine-profile.db", n)

        print()
        if problems:
            for problem in problems:
                print("CHECK FAILED:", problem)
        else:
            print(
                f"checks: both audit chains verify ({4 * n} entries each, every repeat), "
                f"row counts match ({', '.join(TABLES)}), all {n} items published"
            )
        print(f"load average at end: {load()}")
        print(f"ratio engine/handwritten: {engine_fire_rate / hand_fire_rate:.2f} (target >= 0.5)")
    finally:
        if args.db_dir is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

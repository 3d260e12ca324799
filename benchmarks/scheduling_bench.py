"""One worker pass over a large office: does raising reminders grow with the due deadlines or with all items?

Usage::

    python benchmarks/scheduling_bench.py N_OPEN N_DUE [--db-dir DIR] [--keep]

Two SQLite databases are built in the same run: one with N_OPEN/10 open items and one with
N_OPEN open items, each with N_DUE of them overdue at the pass time. Each database starts as a
fresh file made by ``workflow.wiring.initialise`` (the real Alembic migration and definition
registration), people added with ``workflow.store.people.add_user`` (drafter_a, reviewer_a, leader_a);
then the items are bulk-inserted with the standard library's ``sqlite3`` (``executemany`` in big
transactions), because creating a million items through the engine would take hours.

Each item is a ``proactive_disclosure`` item in ``confidentiality_review``, with the rows the engine
writes for such an item (copied from a real ``create`` + ``submit`` on SQLite): the item, its
revision, and three deadlines: ``publication`` (running, far in the future), ``state:confidentiality_review``
(running, applies now; due in the past for the N_DUE due items, far in the future for the others) and
``state:leadership_signoff`` (not started). Datetimes are stored as SQLAlchemy stores them on SQLite
('YYYY-MM-DD HH:MM:SS.ffffff', naive UTC), dates as 'YYYY-MM-DD', JSON as text, and
``calendar_version`` is the engine's own, so the pass has nothing to recompute.

Timed on each database, with a real ``Worker`` (``FolderTransport`` into a temporary folder), after a
warm-up on a 200-item database:

1. ``raise_reminders(now, report)``: the figure this benchmark is about; run R times (``--repeat``, default
   3; the reminders and outbox rows are deleted between runs so each run raises them all), median kept;
2. ``recompute_deadlines()`` (the first step of every ``run_pass``): it finds nothing to do here;
3. a whole second ``run_pass(now)``, in which every reminder has been raised already (steady state).

Printed: the EXPLAIN QUERY PLAN of the candidate query (and of the recompute query), the times,
reminders raised and messages written, and the ratio big/small of each time. A ratio close to 1
means the step does not grow with the open items; close to 10 means it reads all of them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, func, select  # noqa: E402
from sqlalchemy.dialects import sqlite as sqlite_dialect  # noqa: E402

from notifications.notices import Notifier  # noqa: E402
from notifications.settings import MailSettings  # noqa: E402
from notifications.transport import FolderTransport  # noqa: E402
from workflow.clock import utc_now  # noqa: E402
from workflow.core.deadlines import OPEN  # noqa: E402
from workflow.engine import WorkflowEngine, deadlines_table, items  # noqa: E402
from workflow.settings import Settings  # noqa: E402
from workflow.store.db import make_engine  # noqa: E402
from workflow.store.models import OutboxMessage  # noqa: E402
from workflow.store.people import add_user  # noqa: E402
from workflow.wiring import initialise, open_engine  # noqa: E402
from workflow.worker.passes import PassReport, Worker, reminders_table  # noqa: E402

DEFINITIONS = ROOT / "definitions"
AUDIT_KEY = "benchmark-audit-key-0123456789-abcdefghijklmnop"
DEFINITION = "proactive_disclosure"
PEOPLE = [("drafter_a", ["drafter"]), ("reviewer_a", ["confidentiality_reviewer"]), ("leader_a", ["leader"])]
SENDER = "gongkai@town.example.gov.cn"
CHUNK = 50_000

# The pass runs at 2026-03-10 01:00 UTC (09:00 in Shanghai, a Tuesday). Due items were due on
# Monday 2026-03-09 (overdue since its end, 16:00 UTC); the others are due at the end of 2027.
PASS_AT = dt.datetime(2026, 3, 10, 1, 0, tzinfo=dt.UTC)
CREATED_AT = "2026-03-02 01:00:00.000000"
START_ON = "2026-03-02"
DUE_ON, DUE_AT = "2026-03-09", "2026-03-09 16:00:00.000000"
FAR_ON, FAR_AT = "2027-12-31", "2027-12-31 16:00:00.000000"
PUBLICATION_ON, PUBLICATION_AT = "2027-12-30", "2027-12-30 16:00:00.000000"
RUNNING_CLOCK = json.dumps({"start": START_ON, "suspended": False, "extension": 0, "pauses": [], "met_on": None})
IDLE_CLOCK = json.dumps({"start": None, "suspended": False, "extension": 0, "pauses": [], "met_on": None})
HOLDERS = json.dumps({"drafter": ["drafter_a"]})
ACTED = json.dumps({"submit": [["drafter_a", "drafter_a"]]})
BODY = "2026 年镇级财政预算收入 1,250 万元, 支出 1,180 万元。\n三公经费预算 18.6 万元。\n"


@dataclass
class Measured:
    open_items: int
    due_items: int
    build_s: float
    raise_s: float
    raise_cpu_s: float
    reminders: int
    messages: int
    recompute_s: float
    recomputed: int
    steady_pass_s: float
    steady_sent: int
    outbox_rows: int


def settings_for(path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{path}", definitions_dir=DEFINITIONS, audit_key=AUDIT_KEY)


def fresh_database(path: Path) -> tuple[Settings, str]:
    """A migrated database with the definitions and the three people; also the engine's calendar version."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    settings = settings_for(path)
    db = make_engine(settings.database_url)
    try:
        initialise(settings, db)
        with db.begin() as conn:
            for name, roles in PEOPLE:
                add_user(conn, name, f"{name}@town.example.gov.cn", roles, utc_now())
        calendar_version = open_engine(settings, db, mail=mail_settings(path.parent)).calendar_version
    finally:
        db.dispose()
    return settings, calendar_version


def mail_settings(folder: Path) -> MailSettings:
    return MailSettings(smtp_url=None, mail_dir=folder / "mail", base_url="https://gk.town.example.gov.cn")


def bulk_insert(path: Path, n_open: int, n_due: int, calendar_version: str) -> None:
    """N_OPEN items in confidentiality_review, N_DUE of them (spread evenly) overdue at PASS_AT."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        (version,) = conn.execute(
            "SELECT version FROM definition_versions WHERE name = ? ORDER BY id DESC LIMIT 1", (DEFINITION,)
        ).fetchone()
        step = n_open // n_due if n_due else 0
        due_ids = set(range(1, n_open + 1, step)[:n_due]) if n_due else set()
        assert len(due_ids) == n_due
        content_hash = hashlib.sha256(BODY.encode()).hexdigest()
        for start in range(1, n_open + 1, CHUNK):
            ids = range(start, min(start + CHUNK, n_open + 1))
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO items (id, reference, definition, definition_version, state, version, revision, title,"
                " category, body, fields, holders, acted, content_hash, created_by, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'confidentiality_review', 2, 1, ?, '03', ?, '{}', ?, ?, ?, 'drafter_a', ?, ?)",
                [
                    (i, f"GK-2026-{i:07d}", DEFINITION, version, f"2026 年财政预算公开 {i}", BODY, HOLDERS, ACTED,
                     content_hash, CREATED_AT, CREATED_AT)
                    for i in ids
                ],
            )  # fmt: skip
            conn.executemany(
                "INSERT INTO item_revisions (item_id, revision, title, body, content_hash, updated_at)"
                " VALUES (?, 1, ?, ?, ?, ?)",
                [(i, f"2026 年财政预算公开 {i}", BODY, content_hash, CREATED_AT) for i in ids],
            )
            rows: list[tuple[object, ...]] = []
            for i in ids:
                due_on, due_at = (DUE_ON, DUE_AT) if i in due_ids else (FAR_ON, FAR_AT)
                rows.append((i, "publication", RUNNING_CLOCK, "running", 1, PUBLICATION_ON, PUBLICATION_AT))
                rows.append((i, "state:confidentiality_review", RUNNING_CLOCK, "running", 1, due_on, due_at))
                rows.append((i, "state:leadership_signoff", IDLE_CLOCK, "not_started", 0, None, None))
            conn.executemany(
                "INSERT INTO deadlines (item_id, kind, clock, status, applies_now, due_on, due_at, met_on,"
                " paused_days, extension_days, calendar_version, computed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 0, 0, ?, ?)",
                [(*row, calendar_version, CREATED_AT) for row in rows],
            )
            conn.execute("COMMIT")
        conn.execute("INSERT OR REPLACE INTO reference_counters (prefix, year, last) VALUES ('GK', 2026, ?)", (n_open,))
        conn.execute("ANALYZE")
    finally:
        conn.close()


def candidate_query(worker: Worker):  # type: ignore[no-untyped-def]
    """The query ``Worker.raise_reminders`` sends (rebuilt here with the same horizon)."""
    horizon = PASS_AT + dt.timedelta(days=worker._lookahead_days())
    return (
        select(
            deadlines_table.c.item_id,
            deadlines_table.c.kind,
            deadlines_table.c.due_on,
            items.c.definition,
            items.c.definition_version,
            items.c.state,
        )
        .join(items, items.c.id == deadlines_table.c.item_id)
        .where(
            deadlines_table.c.applies_now.is_(True),
            deadlines_table.c.status == "running",
            deadlines_table.c.due_at <= horizon,
        )
        .order_by(deadlines_table.c.due_at, deadlines_table.c.id)
    )


def recompute_query(engine: WorkflowEngine):  # type: ignore[no-untyped-def]
    """The query ``WorkflowEngine.recompute_deadlines`` sends at the start of every pass."""
    return (
        select(deadlines_table, items.c.definition, items.c.definition_version, items.c.state, items.c.reference)
        .join(items, items.c.id == deadlines_table.c.item_id)
        .where(deadlines_table.c.status.in_(OPEN), deadlines_table.c.calendar_version != engine.calendar_version)
        .order_by(deadlines_table.c.id)
        .limit(500)
    )


def explain(path: Path, statement, label: str) -> None:  # type: ignore[no-untyped-def]
    compiled = statement.compile(dialect=sqlite_dialect.dialect(), compile_kwargs={"literal_binds": True})
    sql = str(compiled)
    conn = sqlite3.connect(path)
    try:
        plan = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
    finally:
        conn.close()
    print(f"  EXPLAIN QUERY PLAN ({label}):")
    print("    " + " ".join(sql.split()))
    for _id, parent, _unused, detail in plan:
        print(f"    {'  ' * (1 if parent else 0)}{detail}")


def measure(folder: Path, n_open: int, n_due: int, show_plans: bool, quiet: bool = False, repeats: int = 3) -> Measured:
    path = folder / f"scheduling-{n_open}.db"
    started = time.perf_counter()
    settings, calendar_version = fresh_database(path)
    bulk_insert(path, n_open, n_due, calendar_version)
    build_s = time.perf_counter() - started
    size_mb = path.stat().st_size / 1e6
    if not quiet:
        print(f"built {n_open:,} open items ({n_due:,} due) in {build_s:.1f} s, file {size_mb:.0f} MB")

    mail = mail_settings(folder / f"run-{n_open}")
    db = make_engine(settings.database_url)
    engine = open_engine(settings, db, mail=mail)
    engine.clock = lambda: PASS_AT
    mail_dir = mail.mail_dir
    worker = Worker(engine, Notifier(mail), lambda: FolderTransport(mail_dir, sender=SENDER))
    try:
        if show_plans:
            explain(path, candidate_query(worker), "raise_reminders candidates")
            explain(path, recompute_query(engine), "recompute_deadlines")
        worker.acquire()
        # warm the registry's pinned-definition cache and the SQLite page cache equally on both sizes
        with db.connect() as conn:
            conn.execute(select(func.count()).select_from(reminders_table)).scalar_one()

        t0 = time.perf_counter()
        changes = engine.recompute_deadlines()
        recompute_s = time.perf_counter() - t0

        raise_times: list[float] = []
        raise_cpu: list[float] = []
        for repeat in range(repeats):
            if repeat:  # forget what the previous repeat raised and wrote, so it is raised again
                with db.begin() as conn:
                    conn.execute(delete(reminders_table))
                    conn.execute(delete(OutboxMessage))
            report = PassReport(at=PASS_AT.isoformat())
            t0, c0 = time.perf_counter(), time.process_time()
            worker.raise_reminders(PASS_AT, report)
            raise_times.append(time.perf_counter() - t0)
            raise_cpu.append(time.process_time() - c0)
        raise_s = statistics.median(raise_times)
        raise_cpu_s = statistics.median(raise_cpu)
        if not quiet:
            runs = ", ".join(f"{t * 1000:.0f} ms" for t in raise_times)
            print(f"  raise_reminders runs: {runs} (median {raise_s * 1000:.0f} ms, CPU {raise_cpu_s * 1000:.0f} ms)")

        t0 = time.perf_counter()
        steady = worker.run_pass(PASS_AT)  # everything raised already: recompute + candidates + one batch sent
        steady_s = time.perf_counter() - t0
        with db.connect() as conn:
            outbox_rows = conn.execute(select(func.count()).select_from(OutboxMessage.__table__)).scalar_one()
        assert steady.reminders == 0, steady
        worker.release()
    finally:
        db.dispose()
    return Measured(
        n_open, n_due, build_s, raise_s, raise_cpu_s, report.reminders, report.messages, recompute_s, len(changes),
        steady_s, steady.sent, outbox_rows,
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n_open", type=int)
    parser.add_argument("n_due", type=int)
    parser.add_argument("--db-dir", type=Path, help="where the databases go (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--repeat", type=int, default=3, help="raise_reminders runs per size (median; default 3)")
    args = parser.parse_args()
    small_open = max(args.n_open // 10, args.n_due)
    if args.n_due > small_open:
        parser.error("N_DUE must be at most N_OPEN/10")

    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"pass at {PASS_AT.isoformat()}; due items were due {DUE_ON}, the others {FAR_ON}")
    folder = args.db_dir or Path(tempfile.mkdtemp(prefix="gongkai-sched-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        measure(folder, 200, 10, show_plans=False, quiet=True, repeats=1)  # warm-up: imports, templates, caches
        Path(f"{folder}/scheduling-200.db").unlink(missing_ok=True)
        results = []
        for index, n_open in enumerate((small_open, args.n_open)):
            print()
            results.append(measure(folder, n_open, args.n_due, show_plans=index == 1, repeats=args.repeat))
        print()
        print(f"{'open items':>12} {'due':>6} {'raise_reminders':>16} {'reminders':>10} {'messages':>9}"
              f" {'recompute':>10} {'steady pass':>12}")  # fmt: skip
        for r in results:
            print(
                f"{r.open_items:>12,} {r.due_items:>6,} {r.raise_s * 1000:>13.0f} ms {r.reminders:>10,}"
                f" {r.messages:>9,} {r.recompute_s * 1000:>7.0f} ms {r.steady_pass_s * 1000:>9.0f} ms"
            )
        small, big = results
        for r in results:
            per = r.raise_s / r.reminders * 1e6 if r.reminders else float("nan")
            print(f"  {r.open_items:,} open: {per:.0f} µs per reminder raised, {r.recomputed} deadlines recomputed,"
                  f" outbox rows {r.outbox_rows:,}, steady pass sent {r.steady_sent}")  # fmt: skip
        items_ratio = big.open_items / small.open_items
        print(
            f"ratio raise_reminders {big.open_items:,}/{small.open_items:,} open: "
            f"{big.raise_s / small.raise_s:.2f} (open items x{items_ratio:.0f}; ~1 = grows with the due ones only)"
        )
        print(f"ratio raise_reminders CPU time: {big.raise_cpu_s / small.raise_cpu_s:.2f}")
        print(f"ratio recompute_deadlines: {big.recompute_s / small.recompute_s:.2f}")
        print(f"ratio whole steady pass: {big.steady_pass_s / small.steady_pass_s:.2f}")
        ok = all(r.reminders > 0 and r.messages > 0 for r in results) and small.reminders == big.reminders
        print("check: same reminders raised on both sizes:", "ok" if ok else "FAILED")
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return 0 if ok else 1
    finally:
        if args.keep:
            pass
        elif args.db_dir is None:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            for n in (small_open, args.n_open):
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{folder}/scheduling-{n}.db{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())

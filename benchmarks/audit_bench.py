"""Exporting (CSV) and verifying the audit log at 100,000 and 1,000,000 rows on SQLite: rows per second, peak memory.

Usage::

    python benchmarks/audit_bench.py [--rows 100000 1000000] [--page-size 5000] [--dir DIR]

For each size a SQLite database is initialised (the real migrations) and filled with a chain of that many
rows: item steps and people changes, some with Chinese comments and details, each hashed with the chain's
own ``row_hash`` and linked to the one before, inserted in bulk (not through ``fire``: the bench measures
reading, not writing), the head row set last. Then each operation runs in a fresh subprocess, so its peak
resident memory (``ru_maxrss``) is its own:

- ``export``: ``audit_query.stream`` + ``csv_lines`` (the code of ``gongkai audit log --format csv``) written to
  a file; the file is read back once to check its rows;
- ``verify``: ``audit_log.verify`` (the code of ``gongkai audit verify``), which must find no fault.

Printed per size and operation: seconds, rows per second, peak RSS in MB, and the ratios of the largest size
to the smallest. Memory must stay flat: exit status 1 when the peak RSS ratio exceeds 1.5.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

KEY = b"bench-audit-key-0123456789-abcdefghijklmnop"
ZONE = dt.timezone(dt.timedelta(hours=8))
BATCH = 10_000
COMMENTS = ["请补充依据", "同意发布", "涉及个人信息，请删除身份证号后再送审", "Please attach the signed scan."]
ACTORS = ["zhang_wei", "li_na", "wang_qiang", "chen_jing", "liu_yang", "system"]
STEPS = [
    ("create", None, "drafting", "drafter"),
    ("submit", "drafting", "confidentiality_review", "drafter"),
    ("send_back", "confidentiality_review", "drafting", "confidentiality_reviewer"),
    ("clear", "confidentiality_review", "leader_review", "confidentiality_reviewer"),
    ("sign_off", "leader_review", "published", "leader"),
]


def build(path: Path, rows: int) -> float:
    """A database at ``path`` holding a valid chain of ``rows`` entries; seconds taken."""
    from sqlalchemy import insert, update

    from workflow.core.chain import GENESIS_HASH, canonical_json, row_hash
    from workflow.settings import Settings
    from workflow.store.audit_log import audit_head, audit_log
    from workflow.store.db import make_engine
    from workflow.wiring import initialise

    started = time.perf_counter()
    url = f"sqlite:///{path}"
    db = make_engine(url)
    initialise(Settings(database_url=url, definitions_dir=ROOT / "definitions", audit_key=KEY.decode()), db)
    rng = random.Random(11)
    prev = GENESIS_HASH
    at = dt.datetime(2025, 1, 2, 1, 0, tzinfo=dt.UTC)
    batch: list[dict[str, Any]] = []
    for seq in range(1, rows + 1):
        at += dt.timedelta(seconds=rng.randint(1, 90))
        if seq % 50 == 0:  # a people change
            row: dict[str, Any] = {
                "item_id": None, "definition": None, "definition_version": None, "trigger": "person.roles",
                "from_state": None, "to_state": None, "role": "admin", "content_hash": None,
                "person": rng.choice(ACTORS[:-1]),
                "details": canonical_json({"granted": ["leader"], "removed": [], "roles": ["leader", "office"]}),
            }  # fmt: skip
        else:
            trigger, source, dest, role = STEPS[seq % len(STEPS)]
            row = {
                "item_id": seq // 5 + 1, "definition": "proactive_disclosure", "definition_version": "a" * 64,
                "trigger": trigger, "from_state": source, "to_state": dest, "role": role,
                "content_hash": f"{seq:064x}", "person": None,
                "details": canonical_json({"reference": f"GK-2025-{seq // 5 + 1:05d}", "title": "第三季度防汛工作安排"})
                if trigger == "create" else "{}",
            }  # fmt: skip
        row.update(
            seq=seq, actor=rng.choice(ACTORS), on_behalf_of=None, at=at, fields="{}", prev_hash=prev,
            comment=rng.choice(COMMENTS) if seq % 7 == 0 else None,
        )  # fmt: skip
        row["hash"] = prev = row_hash(KEY, row)
        batch.append(row)
        if len(batch) == BATCH or seq == rows:
            with db.begin() as conn:
                conn.execute(insert(audit_log), batch)
            batch = []
    with db.begin() as conn:
        conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=rows, hash=prev))
    db.dispose()
    return time.perf_counter() - started


def run_one(operation: str, path: Path, page_size: int, out: Path) -> dict[str, Any]:
    """One operation in this process (the child): its figures as a dict."""
    from workflow.core.names import Names
    from workflow.store import audit_log, audit_query
    from workflow.store.db import make_engine, reading
    from workflow.store.people import name_entries

    db = make_engine(f"sqlite:///{path}")
    started = time.perf_counter()
    if operation == "export":

        def load() -> list[Any]:
            with reading(db) as conn:
                return name_entries(conn)

        names = Names(load, "zh")
        rows = audit_query.stream(db, audit_query.AuditQuery(), ZONE, page_size=page_size)
        with open(out, "wb") as handle:
            for line in audit_query.csv_lines(rows, ZONE, names.display_name):
                handle.write(line.encode("utf-8"))
        seconds = time.perf_counter() - started
        with open(out, encoding="utf-8-sig", newline="") as handle:
            count = sum(1 for _ in handle) - 1  # no field holds a newline here: one line per row
        result: dict[str, Any] = {"rows": count, "bytes": out.stat().st_size}
    else:
        verified = audit_log.verify(db, KEY)
        seconds = time.perf_counter() - started
        if verified.fault is not None:
            raise SystemExit(f"verify found a fault: {verified.fault}")
        result = {"rows": verified.count}
    result.update(seconds=seconds, maxrss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--page-size", type=int, default=5_000)
    parser.add_argument("--dir", type=Path, default=None, help="where the databases go (default: a temporary folder)")
    parser.add_argument("--child", nargs=3, metavar=("OPERATION", "DB", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        operation, db_path, out = args.child
        print(json.dumps(run_one(operation, Path(db_path), args.page_size, Path(out))))
        return 0
    folder = args.dir or Path(tempfile.mkdtemp(prefix="gongkai-audit-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    figures: dict[tuple[int, str], dict[str, Any]] = {}
    for rows in sorted(args.rows):
        path = folder / f"audit-{rows}.db"
        path.unlink(missing_ok=True)
        print(f"{rows:>9,} rows: chain built in {build(path, rows):.1f} s ({path.stat().st_size / 2**20:.0f} MB)")
        for operation in ("export", "verify"):
            child = subprocess.run(
                [sys.executable, __file__, "--page-size", str(args.page_size), "--child", operation, str(path),
                 str(folder / f"audit-{rows}.csv")],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            got = json.loads(child.stdout)
            if got["rows"] != rows:
                print(f"{operation} gave {got['rows']} rows, not {rows}")
                return 1
            figures[(rows, operation)] = got
            extra = f", {got['bytes'] / 2**20:.0f} MB of CSV" if "bytes" in got else ""
            print(f"{'':>9}   {operation:<6} {got['seconds']:7.1f} s  {rows / got['seconds']:>9,.0f} rows/s  "
                  f"peak RSS {got['maxrss_mb']:6.1f} MB{extra}")  # fmt: skip
        (folder / f"audit-{rows}.csv").unlink(missing_ok=True)
    sizes = sorted(args.rows)
    flat = True
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        print(f"ratios {large:,} / {small:,} rows ({large / small:.0f}x the rows):")
        for operation in ("export", "verify"):
            a, b = figures[(small, operation)], figures[(large, operation)]
            memory = b["maxrss_mb"] / a["maxrss_mb"]
            speed = (large / b["seconds"]) / (small / a["seconds"])
            print(f"  {operation:<6} peak RSS x{memory:.2f}, rows/s x{speed:.2f}")
            flat = flat and memory <= 1.5
    print("memory flat" if flat else "memory NOT flat")
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())

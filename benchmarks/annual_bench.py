"""The annual report of a year with N items: reading the rows, counting them, rendering the report.

Usage::

    python benchmarks/annual_bench.py [N] [--repeat R] [--dir DIR]

A fresh SQLite file (``workflow.wiring.initialise``) gets N items of the year 2025 written in bulk with
SQLAlchemy Core, not through the engine (creating and moving 100,000 items one transaction at a time is
transitions_bench.py's subject): 60% proactive disclosures (a ``publications`` row and their channel jobs),
5% normative documents (published; some filed, some repealed: their audit rows), 30% disclosure applications
(requester types and outcomes drawn in turn; received in 2024 or 2025, answered in 2025, 2026 or not yet:
carried over and forward), 4% appeals and 1% consultations. The audit rows carry placeholder hashes: the
report reads moves from the log but never verifies it (``audit verify`` is audit_bench.py's).

Timed, R times (default 3), median: ``read_year`` (the four queries and the counting) and the Markdown and
HTML of the report; printed with the peak resident memory of the process and the report's totals (the check
一 + 二 = 三 + 四 must hold). Also at N/10, for the ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine  # noqa: E402

from workflow.reports.annual import OUTCOMES, REQUESTER_TYPES, RESULTS, read_year  # noqa: E402
from workflow.reports.annual_render import write_annual  # noqa: E402
from workflow.settings import Settings  # noqa: E402
from workflow.store.db import make_engine, reading  # noqa: E402
from workflow.store.models import AuditEntry, Item  # noqa: E402
from workflow.store.publications import publication_jobs, publications  # noqa: E402
from workflow.store.registry import DefinitionRegistry  # noqa: E402
from workflow.wiring import initialise  # noqa: E402

DEFINITIONS = ROOT / "definitions"
AUDIT_KEY = "benchmark-audit-key-0123456789-abcdefghijklmnop"
ZONE = ZoneInfo("Asia/Shanghai")
YEAR_START = dt.datetime(2025, 1, 1, 2, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
HASH = "0" * 64
items_table = Item.__table__
audit_table = AuditEntry.__table__


def kind_of(n: int) -> str:
    slot = n % 100
    if slot < 60:
        return "proactive_disclosure"
    if slot < 65:
        return "normative_document"
    if slot < 95:
        return "disclosure_request"
    if slot < 99:
        return "appeal"
    return "consultation"


def populate(db: Engine, count: int) -> None:
    """Write ``count`` items of 2025 with what the report reads of them (see the module's docstring)."""
    rows: list[dict[str, object]] = []
    public: list[dict[str, object]] = []
    jobs: list[dict[str, object]] = []
    moves: list[dict[str, object]] = []

    def move(item_id: int, definition: str, trigger: str, from_state: str, to_state: str, at: dt.datetime) -> None:
        moves.append({
            "seq": len(moves) + 1, "item_id": item_id, "definition": definition, "definition_version": "bench",
            "trigger": trigger, "from_state": from_state, "to_state": to_state, "actor": "bench", "on_behalf_of": None,
            "role": "office", "at": at, "comment": None, "fields": "{}", "details": "{}", "content_hash": HASH,
            "prev_hash": HASH, "hash": HASH, "person": None,
        })  # fmt: skip

    for n in range(1, count + 1):
        definition = kind_of(n)
        at = YEAR_START + n * dt.timedelta(seconds=300 * 100_000 / max(count, 1))  # spread over the year
        reference = f"B-{n:07d}"
        fields: dict[str, object] = {}
        state = "published"
        if definition in ("proactive_disclosure", "normative_document"):
            code = f"{(n % 12) + 1:02d}" if definition == "proactive_disclosure" else "04"
            public.append({
                "item_id": n, "reference": reference, "index_number": f"01526086-8-{code}/2025-{n:07d}",
                "category": code, "title": f"信息{n}", "body": "正文", "fields": {}, "meta": {"subjects": ["财政"]},
                "revision": 1, "content_hash": HASH, "first_published_at": at, "published_at": at,
                "expires_at": None, "status": "current", "status_at": at,
            })  # fmt: skip
            for channel in ("portal", "webhook"):
                jobs.append({
                    "key": f"bench-{n}-{channel}", "item_id": n, "channel": channel, "event": "publish",
                    "revision": 1, "status": "done", "attempts": 1, "next_attempt_at": at, "created_at": at,
                })  # fmt: skip
            if definition == "normative_document":
                move(n, definition, "sign_off", "collective_decision", "published", at)
                if n % 3 == 0:
                    state = "filed"
                    move(n, definition, "file_record", "published", "filed", at + MINUTE)
                if n % 7 == 0:
                    state = "repealed"
                    move(n, definition, "repeal", "published", "repealed", at + 2 * MINUTE)
        elif definition == "disclosure_request":
            received = (at - dt.timedelta(days=20 if n % 5 == 0 else 0)).astimezone(ZONE).date()
            fields = {
                "received_on": received.isoformat(), "requester_type": REQUESTER_TYPES[n % len(REQUESTER_TYPES)],
                "outcome": OUTCOMES[n % len(OUTCOMES)],
            }  # fmt: skip
            state = "registered"
            if n % 11:  # one in eleven still open at the year's end
                state = "answered"
                move(n, definition, "answer", "drafting_reply", "answered", at + dt.timedelta(days=3))
        elif definition == "appeal":
            route = "direct" if n % 2 else "after_reconsideration"
            fields = {
                "kind": "reconsideration" if n % 3 else "lawsuit", "route": route,
                "result": RESULTS[n % 3], "filed_on": at.astimezone(ZONE).date().isoformat(),
            }  # fmt: skip
            state = "registered"
            if n % 4:
                state = "decided"
                move(n, definition, "record_result", "registered", "decided", at + dt.timedelta(days=2))
        else:
            fields = {"received_on": at.astimezone(ZONE).date().isoformat()}
            state = "answered"
            move(n, definition, "answer", "received", "answered", at + MINUTE)
        rows.append({
            "id": n, "reference": reference, "definition": definition, "definition_version": "bench",
            "state": state, "version": 1, "revision": 1, "title": f"事项{n}", "category": None, "body": "",
            "fields": fields, "holders": {}, "acted": {}, "content_hash": HASH, "created_by": "bench",
            "created_at": at, "updated_at": at, "meta": None,
        })  # fmt: skip
    with db.begin() as conn:
        for table, values in (
            (items_table, rows),
            (publications, public),
            (publication_jobs, jobs),
            (audit_table, moves),
        ):
            for start in range(0, len(values), 5000):
                conn.execute(table.insert(), values[start : start + 5000])


def measure(folder: Path, count: int, repeat: int) -> tuple[float, float, dict[str, object]]:
    url = f"sqlite:///{folder / f'annual-{count}.db'}"
    settings = Settings(database_url=url, definitions_dir=DEFINITIONS, audit_key=AUDIT_KEY)
    db = make_engine(url)
    initialise(settings, db)
    populate(create_engine(url), count)
    registry = DefinitionRegistry(DEFINITIONS)
    categories = [c.code for c in registry.catalog().categories]
    counting, rendering = [], []
    figures_json: dict[str, object] = {}
    for _ in range(repeat):
        began = time.perf_counter()
        with reading(db) as conn:
            figures = read_year(conn, 2025, ZONE, categories)
        counted = time.perf_counter()
        figures_json = figures.to_json()
        for fmt in ("md", "html"):
            write_annual(
                figures_json, fmt, folder / f"annual-{count}.{fmt}", registry.office(), "zh",
                definitions_dir=DEFINITIONS, catalog=registry.catalog(),
            )  # fmt: skip
        rendering.append(time.perf_counter() - counted)
        counting.append(counted - began)
    return statistics.median(counting), statistics.median(rendering), figures_json


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("items", nargs="?", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        results = {}
        for count in (args.items // 10, args.items):
            counting, rendering, figures = measure(Path(folder), count, args.repeat)
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            applications = figures["applications"]
            assert isinstance(applications, dict)
            check = figures.get("check")
            print(
                f"{count:,} items: read and counted in {counting:.2f} s (median of {args.repeat}), Markdown and HTML "
                f"in {rendering:.2f} s; peak RSS so far {peak_mb:.0f} MB; proactive "
                f"{json.dumps(figures['proactive'], ensure_ascii=False)[:60]}...; applications received "
                f"{applications['received']['total']}, carried over {applications['carried_over']}, handled "
                f"{applications['outcomes']['total']}, carried forward {applications['carried_forward']}; "
                f"check {json.dumps(check)}"
            )
            results[count] = counting
        small, large = sorted(results)
        print(f"ratio {large:,}/{small:,} of the counting time: {results[large] / results[small]:.1f} (10x the items)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

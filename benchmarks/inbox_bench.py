"""The inbox page over HTTP: requests per second for a reviewer with many pending items, against /healthz.

Usage::

    python benchmarks/inbox_bench.py [--items N] [--seconds S] [--concurrency C] [--repeat R] [--profile]

A fresh SQLite file is made in a temporary folder by ``workflow.wiring.initialise`` (the real
migration and the bundled definitions), with a small office added by ``workflow.store.people.add_user``.
Through the engine (``create`` / ``fire``, one transaction each, with a clock moved item by item so
the due dates spread over two and a half weeks) it then makes:

- N ``proactive_disclosure`` items submitted for confidentiality review: the inbox of ``reviewer_a``;
- 200 items left in drafting and 100 cleared by ``reviewer_b`` (now in leadership sign-off): open items
  that are not for ``reviewer_a`` and that the inbox query has to leave out.

The web application (``workflow.web.app.create_app``, as ``gongkai web`` builds it, with the engine's
and the pages' clock fixed at PAGES_AT so that the same items are overdue whenever this runs) is served
by uvicorn on 127.0.0.1 in a child process (one worker, log level warning). From this process, C
threads each hold one keep-alive ``http.client.HTTPConnection`` and send GET requests for S seconds:

- ``/`` with the session cookie of ``reviewer_a``: the first page of the paged inbox (checked once first:
  status 200, 50 item links and the count of all N items);
- ``/healthz`` on the same server: the floor of uvicorn + Starlette + the security headers middleware.

Each of the R repeats (default 3) measures the inbox and then /healthz; the figures printed are the
median over the repeats of the requests/s, of the median latency and of the p95 latency, plus the
server's CPU time per request (read from /proc, which other work on the machine disturbs less) and the
ratio inbox/healthz of the requests/s. The client threads run on the same machine and use CPU too.

``--profile`` then stops the server and times, in this process (interleaved, median of 20), the
whole handler (``InboxPages.page``), the inbox query (``queries.inbox``: a count and one page), the
rendering (``WebApp.page``) and the page's SQL alone (caught as SQLAlchemy sends it, run with
``exec_driver_sql``; its EXPLAIN QUERY PLAN is printed), then prints a cProfile of 20 handler calls.

The machine is shared: the load average and a fixed pure-Python loop ("speed check") are printed at
the start and at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import http.client
import io
import os
import pstats
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from notifications.settings import MailSettings  # noqa: E402
from workflow.clock import utc_now  # noqa: E402
from workflow.engine import WorkflowEngine  # noqa: E402
from workflow.settings import Settings  # noqa: E402
from workflow.store.db import make_engine  # noqa: E402
from workflow.store.people import add_user  # noqa: E402
from workflow.tokens import Tokens  # noqa: E402
from workflow.web.app import SESSION_COOKIE  # noqa: E402
from workflow.web.queries import PAGE_SIZE  # noqa: E402
from workflow.wiring import initialise, open_engine  # noqa: E402

DEFINITIONS = ROOT / "definitions"
AUDIT_KEY = "benchmark-audit-key-0123456789-abcdefghijklmnop"
SECRET_ENV = "GONGKAI_BENCH_SECRET"
OFFICE = [
    ("drafter_a", ["drafter"]),
    ("drafter_b", ["drafter"]),
    ("reviewer_a", ["confidentiality_reviewer"]),
    ("reviewer_b", ["confidentiality_reviewer"]),
    ("leader_a", ["leader"]),
    ("leader_b", ["leader"]),
    ("office_a", ["office"]),
]
READER = "reviewer_a"
IN_DRAFTING = 200
IN_SIGNOFF = 100
BODY = "2026 年镇级财政预算收入 1,250 万元, 支出 1,180 万元。\n三公经费预算 18.6 万元。\n"
# Items are created from Monday 2026-03-02 09:00 (Shanghai) on, spread over 18 days; the pages are
# served at Friday 2026-03-20 10:00: items submitted before about 03-13 are overdue (5 working days).
FIRST_AT = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
SPREAD = dt.timedelta(days=18)
PAGES_AT = dt.datetime(2026, 3, 20, 2, 0, tzinfo=dt.UTC)
ITEM_LINK = 'href="/items/'


class MovingClock:
    """The engine's clock while the items are made: set before each item."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def settings_for(path: Path, secret: str) -> Settings:
    return Settings(
        database_url=f"sqlite:///{path}", definitions_dir=DEFINITIONS, audit_key=AUDIT_KEY, secret_key=secret
    )


def mail_for(folder: Path, port: int) -> MailSettings:
    return MailSettings(smtp_url=None, mail_dir=folder / "mail", base_url=f"http://127.0.0.1:{port}")


# ---- the database ------------------------------------------------------------------------------


def build(path: Path, secret: str, n_items: int) -> dict[str, int]:
    """A migrated file with the office and the items; returns how many items are in each state."""
    settings = settings_for(path, secret)
    db = make_engine(settings.database_url)
    try:
        initialise(settings, db)
        with db.begin() as conn:
            for name, roles in OFFICE:
                add_user(conn, name, f"{name}@town.example.gov.cn", roles, utc_now())
        engine = open_engine(settings, db, mail=mail_for(path.parent, 8000))
        clock = MovingClock(FIRST_AT)
        engine.clock = clock
        plan = ["review"] * n_items + ["drafting"] * IN_DRAFTING + ["signoff"] * IN_SIGNOFF
        # interleave the kinds so that every kind has early and late items (ids and due dates mixed)
        plan = [plan[i] for i in sorted(range(len(plan)), key=lambda i: (i * 7919) % len(plan))]
        counts: dict[str, int] = {}
        for index, kind in enumerate(plan):
            clock.now = FIRST_AT + SPREAD * index / len(plan)
            drafter = "drafter_a" if index % 2 else "drafter_b"
            item = engine.create(
                "proactive_disclosure", title=f"2026 年财政预算公开 第 {index + 1} 号", actor=drafter,
                category="03", body=BODY,
            )  # fmt: skip
            if kind in ("review", "signoff"):
                engine.fire(item.id, "submit", drafter)
            if kind == "signoff":
                engine.fire(item.id, "clear", "reviewer_b")
            counts[kind] = counts.get(kind, 0) + 1
        return counts
    finally:
        db.dispose()


# ---- the server (a child process) --------------------------------------------------------------


def serve(path: Path, port: int) -> None:
    """Run in the child: the web app over the benchmark's file, as ``gongkai web`` builds it."""
    import uvicorn

    from workflow.web.app import create_app

    settings = settings_for(path, os.environ[SECRET_ENV])
    mail = mail_for(path.parent, port)
    engine = open_engine(settings, make_engine(settings.database_url), mail=mail)
    engine.clock = lambda: PAGES_AT
    app = create_app(settings, engine, mail, clock=lambda: PAGES_AT)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False, workers=1)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(path: Path, secret: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, SECRET_ENV: secret}
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--serve", str(path), "--port", str(port)], env=env
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the server stopped at start (exit status {process.returncode})")
            try:
                status, _ = get_once(port, "/healthz", {})
                if status == 200:
                    return process, port
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the server did not answer /healthz within 30 s")
    except BaseException:
        stop_server(process)
        raise


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---- the clients -------------------------------------------------------------------------------


def get_once(port: int, path: str, headers: dict[str, str]) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


@dataclass
class Run:
    requests: int
    seconds: float
    latencies: list[float]
    errors: int
    server_cpu_s: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000

    @property
    def p95_ms(self) -> float:
        return statistics.quantiles(self.latencies, n=20, method="inclusive")[18] * 1000

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu_s / self.requests * 1000


def load(port: int, pid: int, path: str, headers: dict[str, str], seconds: float, concurrency: int) -> Run:
    """C keep-alive clients GET ``path`` as fast as answers come, for ``seconds``."""
    start = threading.Barrier(concurrency + 1)
    stop_at = [0.0]
    results: list[tuple[list[float], int]] = [([], 0)] * concurrency

    def client(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        latencies: list[float] = []
        errors = 0
        try:
            start.wait()
            while True:
                t0 = time.perf_counter()
                if t0 >= stop_at[0]:
                    break
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                latencies.append(time.perf_counter() - t0)
                if response.status != 200:
                    errors += 1
        finally:
            conn.close()
            results[slot] = (latencies, errors)

    threads = [threading.Thread(target=client, args=(slot,), daemon=True) for slot in range(concurrency)]
    for thread in threads:
        thread.start()
    cpu0 = cpu_seconds(pid)
    began = time.perf_counter()
    stop_at[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    cpu = cpu_seconds(pid) - cpu0
    latencies = [x for lat, _ in results for x in lat]
    return Run(len(latencies), elapsed, latencies, sum(e for _, e in results), cpu)


# ---- the profile (in this process) -------------------------------------------------------------


def profile(path: Path, secret: str, n_items: int) -> None:
    from sqlalchemy import event
    from starlette.requests import Request

    from workflow.store.people import load_person
    from workflow.web import queries
    from workflow.web.app import WebApp
    from workflow.web.inbox import InboxPages

    settings = settings_for(path, secret)
    mail = mail_for(path.parent, 8000)
    engine: WorkflowEngine = open_engine(settings, make_engine(settings.database_url), mail=mail)
    engine.clock = lambda: PAGES_AT
    tokens = Tokens(secret)
    web = WebApp(settings, engine, mail, tokens, clock=lambda: PAGES_AT)
    pages = InboxPages(web)
    cookie = f"{SESSION_COOKIE}={tokens.session(READER)}"

    def request() -> Request:
        scope = {
            "type": "http", "method": "GET", "path": "/", "raw_path": b"/", "query_string": b"",
            "headers": [(b"host", b"127.0.0.1"), (b"cookie", cookie.encode())], "scheme": "http",
            "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1), "root_path": "", "http_version": "1.1",
        }  # fmt: skip
        return Request(scope)

    today = engine.today()
    with engine.db.connect() as conn:
        person = load_person(conn, READER, today, with_substitutions=True)
        found = queries.inbox(engine, conn, person, today)
    assert found.total == n_items, found.total

    def query_only() -> None:
        with engine.db.connect() as conn:
            queries.inbox(engine, conn, person, today)

    def render_only() -> None:
        req = request()
        req.state.user = person
        choices = pages.choices(definitions, "zh")
        web.page(
            req, "inbox.html", found=found, wanted=queries.InboxQuery(), errors={}, choices=choices,
            states=choices.states[None], views=[], view_title="", page_link=lambda n: f"/?page={n}",
            page_numbers=[1, 2, 3, None, found.pages], clear_link="/", filtered=False,
            state_label=lambda r: r.definition.states[r.state].label.in_lang("zh"),
            definition_label=lambda r: r.definition.label.in_lang("zh"),
        )  # fmt: skip

    with engine.db.connect() as conn:
        definitions = engine.registry.stored(conn)

    def handler() -> None:
        result: object = pages.page(request())  # a plain function since it runs in the thread pool
        if asyncio.iscoroutine(result):
            asyncio.run(result)

    # the inbox query exactly as SQLAlchemy sends it, caught once, then timed without SQLAlchemy's row processing
    sent: list[tuple[str, object]] = []

    def catch(
        _conn: object, _cursor: object, statement: str, parameters: object, _context: object, _many: bool
    ) -> None:
        if "min(deadlines.due_on)" in statement and "LIMIT" in statement:
            sent.append((statement, parameters))

    event.listen(engine.db, "before_cursor_execute", catch)
    query_only()
    event.remove(engine.db, "before_cursor_execute", catch)
    statement, parameters = sent[0]
    with engine.db.connect() as conn:
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()  # type: ignore[arg-type]
    print("\nthe inbox page's query:", " ".join(statement.split()), parameters)
    print("  EXPLAIN QUERY PLAN:", "; ".join(str(row[3]) for row in plan))

    def sql_only() -> None:
        with engine.db.connect() as conn:
            conn.exec_driver_sql(statement, parameters).fetchall()  # type: ignore[arg-type]

    print(f"\nprofile, in this process ({n_items} pending items; median of 20 calls each):")
    parts = [
        ("whole handler (InboxPages.page)", handler),
        ("queries.inbox (count + one page)", query_only),
        ("render (WebApp.page)", render_only),
        ("the page's SQL alone (driver rows, no types)", sql_only),
    ]
    times: dict[str, list[float]] = {label: [] for label, _ in parts}
    for _ in range(21):  # interleaved, so that other work on the machine weighs on every part alike
        for label, fn in parts:
            t0 = time.perf_counter()
            fn()
            times[label].append(time.perf_counter() - t0)
    for label, _ in parts:
        print(f"  {label:<44} {statistics.median(times[label][1:]) * 1000:8.2f} ms")

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(20):
        handler()
    profiler.disable()
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(30)
        print(f"\ncProfile of 20 whole handler calls, top 30 by {order}:")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])
    engine.db.dispose()


# ---- main --------------------------------------------------------------------------------------


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def speed_check() -> str:
    """A fixed pure-Python loop (median of 5): how fast this shared machine runs Python right now."""
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        sum(i * i for i in range(300_000))
        times.append(time.perf_counter() - t0)
    return f"{statistics.median(times) * 1000:.1f} ms"


def summary(label: str, runs: list[Run]) -> tuple[float, float, float, float]:
    rps = statistics.median(r.rps for r in runs)
    med = statistics.median(r.median_ms for r in runs)
    p95 = statistics.median(r.p95_ms for r in runs)
    cpu = statistics.median(r.cpu_ms_per_request for r in runs)
    each = ", ".join(f"{r.rps:.0f}" for r in runs)
    print(
        f"  {label:<9} {rps:9.1f} req/s (runs {each})  median {med:7.2f} ms  p95 {p95:7.2f} ms"
        f"  server CPU {cpu:6.2f} ms/request"
    )
    return rps, med, p95, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--items", type=int, default=500, help="items pending for reviewer_a (default 500)")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each measurement (default 10)")
    parser.add_argument("--concurrency", type=int, default=4, help="keep-alive client threads (default 4)")
    parser.add_argument("--repeat", type=int, default=3, help="measurements of each page (median; default 3)")
    parser.add_argument("--profile", action="store_true", help="also profile one inbox request in this process")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.port)
        return 0

    print(f"load average at start: {loadavg()}; speed check (fixed Python loop): {speed_check()}")
    folder = Path(tempfile.mkdtemp(prefix="gongkai-inbox-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        path = folder / "inbox.db"
        secret = secrets.token_urlsafe(32)
        t0 = time.perf_counter()
        counts = build(path, secret, args.items)
        print(
            f"built in {time.perf_counter() - t0:.1f} s: {counts.get('review', 0)} items in confidentiality review"
            f" (for {READER}), {counts.get('drafting', 0)} in drafting, {counts.get('signoff', 0)} in leadership"
            f" sign-off; pages served at {PAGES_AT.isoformat()}"
        )
        process, port = start_server(path, secret)
        headers = {"Cookie": f"{SESSION_COOKIE}={Tokens(secret).session(READER)}"}
        status, html = get_once(port, "/", headers)
        links = html.count(ITEM_LINK)
        overdue = html.count('<tr class="overdue">')
        counted = f"共 {args.items} 项待办" in html
        print(
            f"check: GET / as {READER}: status {status}, {links} item links on the first page, {overdue} overdue,"
            f" count of all {args.items} shown: {counted}, {len(html):,} chars"
        )
        if status != 200 or links != min(PAGE_SIZE, args.items) or not counted:
            print(f"FAILED: expected status 200, {min(PAGE_SIZE, args.items)} item links and the count {args.items}")
            return 1
        # warm-up: the registry's cache, the page cache, the connections
        load(port, process.pid, "/", headers, min(2.0, args.seconds), args.concurrency)
        load(port, process.pid, "/healthz", {}, min(2.0, args.seconds), args.concurrency)

        inbox_runs: list[Run] = []
        health_runs: list[Run] = []
        for _ in range(args.repeat):
            inbox_runs.append(load(port, process.pid, "/", headers, args.seconds, args.concurrency))
            health_runs.append(load(port, process.pid, "/healthz", {}, args.seconds, args.concurrency))
        errors = sum(r.errors for r in inbox_runs + health_runs)
        print(
            f"\n{args.items} pending items; {args.concurrency} clients x {args.seconds:g} s,"
            f" median of {args.repeat} runs:"
        )
        inbox_rps = summary("inbox /", inbox_runs)[0]
        health_rps = summary("/healthz", health_runs)[0]
        ratios = ", ".join(f"{i.rps / h.rps:.3f}" for i, h in zip(inbox_runs, health_runs, strict=True))
        print(f"ratio inbox/healthz req/s: {inbox_rps / health_rps:.3f} (runs {ratios})")
        print(f"non-200 answers during the runs: {errors}")
        if args.profile:
            stop_server(process)
            process = None
            profile(path, secret, args.items)
        print(f"load average at end: {loadavg()}; speed check: {speed_check()}")
        return 0 if errors == 0 else 1
    finally:
        if process is not None:
            stop_server(process)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

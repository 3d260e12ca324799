"""Outbox delivery rate: ``deliver_pending`` against a real local SMTP server (aiosmtpd).

Usage::

    python benchmarks/delivery_bench.py N [--batch B ...] [--repeat R] [--in-process] [--db-dir DIR]

For each batch size (default 50 and 200) and each of R repeats (default 3): a fresh SQLite file
made by ``workflow.wiring.initialise``; N messages enqueued with ``notifications.outbox.enqueue``
(a ``RenderedMessage`` each, one transaction, not timed); then ``deliver_pending`` is called in a
loop, each call over a new ``SmtpTransport.from_url`` connection as the worker opens one per pass,
until a call sends nothing. Timed: the whole loop. The server is ``tests/smtp_server.py``'s
recording aiosmtpd server on 127.0.0.1, run in a child process so that its parsing of each message
(``email`` with ``policy.default``) does not share the sender's GIL (``--in-process``: as a thread of
this process, as the tests run it; on this machine both give about the same rate).

Printed: messages per second for each repeat, and the median per batch size. Checks (exit status 1
on failure): every row is ``sent``, and the server received exactly N distinct Message-IDs, the
ones the outbox holds.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from notifications.delivery import deliver_pending  # noqa: E402
from notifications.outbox import SENT, enqueue, new_owner  # noqa: E402
from notifications.render import RenderedMessage  # noqa: E402
from notifications.transport import SmtpTransport  # noqa: E402
from tests.smtp_server import RecordingHandler, smtp_server  # noqa: E402
from workflow.settings import Settings  # noqa: E402
from workflow.store.db import make_engine  # noqa: E402
from workflow.store.models import OutboxMessage  # noqa: E402
from workflow.wiring import initialise  # noqa: E402

DEFINITIONS = ROOT / "definitions"
AUDIT_KEY = "benchmark-audit-key-0123456789-abcdefghijklmnop"
SENDER = "gongkai@town.example.gov.cn"
outbox = OutboxMessage.__table__

TEXT = (
    "您好, reviewer_{n}:\n\n信息 GK-2026-{n:07d} 「2026 年财政预算公开 {n}」 待您保密审查, 截止 2026年3月9日。\n"
    "请登录 https://gk.town.example.gov.cn/items/GK-2026-{n:07d} 处理。\n"
) * 3
HTML = "<html><body>" + "".join(f"<p>{line}</p>" for line in TEXT.splitlines()) + "</body></html>"


def fresh_database(path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    db = make_engine(url)
    try:
        initialise(Settings(database_url=url, definitions_dir=DEFINITIONS, audit_key=AUDIT_KEY), db)
    finally:
        db.dispose()
    return url


def fill(url: str, n: int, now: dt.datetime) -> float:
    db = make_engine(url)
    started = time.perf_counter()
    try:
        with db.begin() as conn:
            for i in range(n):
                message = RenderedMessage(
                    subject=f"GK-2026-{i:07d} 保密审查: 2026 年财政预算公开 {i}",
                    text=TEXT.format(n=i),
                    html=HTML.format(n=i),
                )
                recipient = f"reviewer_{i % 97}@town.example.gov.cn"
                assert enqueue(conn, key=f"bench:{i}", event="new_task", recipient=recipient, message=message, now=now)
    finally:
        db.dispose()
    return time.perf_counter() - started


class ServerProcess:
    """``tests/smtp_server.py``'s server in a child process, so it does not share the sender's GIL."""

    def __init__(self) -> None:
        self.pipe, child = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("fork").Process(target=self._serve, args=(child,), daemon=True)
        self.process.start()
        self.port = self.pipe.recv()

    @staticmethod
    def _serve(pipe) -> None:  # type: ignore[no-untyped-def]
        with smtp_server() as (handler, port):
            pipe.send(port)
            while True:
                command = pipe.recv()
                if command == "stop":
                    return
                if command == "reset":
                    handler.reset()
                    pipe.send(None)
                elif command == "ids":
                    pipe.send(handler.message_ids())

    def reset(self) -> None:
        self.pipe.send("reset")
        self.pipe.recv()

    def message_ids(self) -> list[str]:
        self.pipe.send("ids")
        return list(self.pipe.recv())

    def stop(self) -> None:
        self.pipe.send("stop")
        self.process.join(10)


@contextlib.contextmanager
def server(in_process: bool):  # type: ignore[no-untyped-def]
    if in_process:
        with smtp_server() as (handler, port):
            yield handler, port
        return
    child = ServerProcess()
    try:
        yield child, child.port
    finally:
        child.stop()


def run_once(
    url: str, port: int, handler: RecordingHandler | ServerProcess, n: int, batch: int, now: dt.datetime
) -> tuple[float, int]:
    """Seconds to send everything, and the number of deliver_pending calls."""
    handler.reset()
    db = make_engine(url)
    owner = new_owner()
    smtp_url = f"smtp://127.0.0.1:{port}"
    calls = sent = 0
    try:
        started = time.perf_counter()
        while True:
            report = deliver_pending(db, SmtpTransport.from_url(smtp_url, sender=SENDER), owner, now, batch)
            calls += 1
            sent += report.sent
            if report.claimed == 0:
                break
            if report.retried or report.failed:
                raise SystemExit(f"unexpected delivery problems: {report}")
        elapsed = time.perf_counter() - started
        with db.connect() as conn:
            counts: dict[str, int] = dict(
                conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all()
            )
            stored_ids = set(conn.execute(select(outbox.c.message_id)).scalars())
    finally:
        db.dispose()
    received = handler.message_ids()
    problems = []
    if counts != {SENT: n}:
        problems.append(f"outbox statuses {counts}, expected all {n} sent")
    if sent != n:
        problems.append(f"deliver_pending reported {sent} sent, expected {n}")
    if len(received) != n or len(set(received)) != n:
        problems.append(f"server received {len(received)} messages, {len(set(received))} distinct Message-IDs")
    if set(received) != stored_ids:
        problems.append("the Message-IDs received are not the outbox's")
    if problems:
        raise SystemExit("check FAILED: " + "; ".join(problems))
    return elapsed, calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", type=int, help="messages per run")
    parser.add_argument("--batch", type=int, action="append", help="batch size (repeatable; default 50 and 200)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--in-process", action="store_true", help="run the SMTP server as a thread of this process")
    parser.add_argument("--db-dir", type=Path, help="where the databases go (default: a temporary folder)")
    args = parser.parse_args()
    batches = args.batch or [50, 200]
    now = dt.datetime.now(dt.UTC)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    folder = args.db_dir or Path(tempfile.mkdtemp(prefix="gongkai-delivery-"))
    folder.mkdir(parents=True, exist_ok=True)
    medians = {}
    try:
        with server(args.in_process) as (handler, port):
            where = "in this process (a thread)" if args.in_process else "in a child process"
            print(f"aiosmtpd on 127.0.0.1:{port} {where}; {args.n:,} messages per run, {args.repeat} runs per batch")
            for batch in batches:
                rates = []
                for repeat in range(args.repeat):
                    url = fresh_database(folder / f"delivery-{batch}-{repeat}.db")
                    fill_s = fill(url, args.n, now)
                    elapsed, calls = run_once(url, port, handler, args.n, batch, now)
                    rates.append(args.n / elapsed)
                    print(f"  batch {batch:>4} run {repeat + 1}: {args.n:,} sent in {elapsed:.2f} s over {calls} calls"
                          f" = {args.n / elapsed:,.0f} messages/s (enqueue took {fill_s:.2f} s);"
                          f" {args.n:,} distinct Message-IDs received: ok")  # fmt: skip
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{folder}/delivery-{batch}-{repeat}.db{suffix}").unlink(missing_ok=True)
                medians[batch] = statistics.median(rates)
        print()
        for batch, rate in medians.items():
            print(f"batch {batch:>4}: median {rate:,.0f} messages/s")
        if len(medians) > 1:
            first, *_, last = medians
            print(f"ratio batch {last}/{first}: {medians[last] / medians[first]:.2f}")
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return 0
    finally:
        if args.db_dir is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

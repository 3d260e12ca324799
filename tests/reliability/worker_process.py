"""One worker process for the drills, driven over its stdin one JSON command a line, so a test can make
several real processes pass over the same moment at once (a barrier the test holds) and read their reports.

    {"do": "tick", "at": ISO}    one pass as of that moment (the engine's clock reads it too)
    {"do": "drain", "at": ISO?}  passes until one sends nothing and no message is pending (wall clock without at)

With ``--no-channels`` the worker performs no publication channel (their jobs wait): a drill about
reminders is not held for minutes by the notice boards' PDFs of every item it published.

Each command is answered with one JSON line on stdout; the log goes to stderr. The worker is the one
``run_worker.py`` builds from the GONGKAI_* environment (workflow.worker.run.build_worker).
"""

from __future__ import annotations

import datetime as dt
import json
import sys

from notifications.settings import MailSettings
from workflow.clock import fixed, utc_now
from workflow.settings import Settings
from workflow.worker.passes import Worker, status
from workflow.worker.run import build_worker

DRAIN_IDLE_PASSES = 3
"""A drain gives up after this many passes in a row that sent nothing while messages stay pending."""


def tick(worker: Worker, at: dt.datetime) -> dict[str, object]:
    worker.engine.clock = fixed(at)
    report = worker.run_pass(at)
    return {"reminders": report.reminders, "messages": report.messages, "sent": report.sent, "passes": 1}


def drain(worker: Worker, at: dt.datetime | None) -> dict[str, object]:
    passes = sent = idle = 0
    while True:
        moment = at or utc_now()
        worker.engine.clock = fixed(moment)
        report = worker.run_pass(moment)
        passes += 1
        sent += report.sent
        pending = status(worker.engine)["pending"]
        if report.sent == 0 and pending == 0:
            return {"sent": sent, "passes": passes, "pending": 0}
        idle = idle + 1 if report.sent == 0 else 0
        if idle >= DRAIN_IDLE_PASSES and report.retried == 0:
            # The rest is claimed by the other workers, or due later: theirs to send, or a test failure.
            return {"sent": sent, "passes": passes, "pending": pending}


def main(argv: list[str]) -> int:
    worker = build_worker(Settings.from_env(), MailSettings.from_env())
    if "--no-channels" in argv:
        worker.channels = {}
    print(json.dumps({"ready": worker.owner}), flush=True)
    try:
        for line in sys.stdin:
            command = json.loads(line)
            at = dt.datetime.fromisoformat(command["at"]) if command.get("at") else None
            if command["do"] == "tick":
                assert at is not None, "a tick needs its moment"
                answer = tick(worker, at)
            elif command["do"] == "drain":
                answer = drain(worker, at)
            else:
                raise SystemExit(f"unknown command {command!r}")
            print(json.dumps({"owner": worker.owner, **answer}), flush=True)
    finally:
        worker.release()
        worker.engine.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

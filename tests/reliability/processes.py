"""Worker processes a drill starts and drives together (tests/reliability/worker_process.py)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import ROOT


class WorkerProcess:
    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.log = log
        self._log_file = log.open("w")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.worker_process", *args],
            env=env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log_file, text=True,
        )  # fmt: skip
        self.owner = ""

    def ready(self) -> None:
        self.owner = str(self.receive()["ready"])

    def send(self, do: str, at: dt.datetime | None = None) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(json.dumps({"do": do, "at": at.isoformat() if at else None}) + "\n")
        self.popen.stdin.flush()

    def receive(self) -> dict[str, Any]:
        assert self.popen.stdout is not None
        line = self.popen.stdout.readline()
        if not line:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise AssertionError(f"worker process ended (exit {self.popen.wait()}); its log ends:\n{tail}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def stop(self) -> None:
        if self.popen.stdin is not None and not self.popen.stdin.closed:
            self.popen.stdin.close()
        try:
            self.popen.wait(timeout=30)
        finally:
            if self.popen.poll() is None:
                self.popen.kill()
                self.popen.wait()
            self._log_file.close()


class Workers:
    """Several worker processes; each command goes to all at once and waits for every answer (a barrier)."""

    def __init__(self, processes: list[WorkerProcess]) -> None:
        self.processes = processes

    def all(self, do: str, at: dt.datetime | None = None) -> list[dict[str, Any]]:
        for process in self.processes:
            process.send(do, at)
        return [process.receive() for process in self.processes]


@contextmanager
def worker_processes(count: int, env: dict[str, str], folder: Path, *args: str) -> Iterator[Workers]:
    """``count`` worker processes on the environment ``env`` (``args``: worker_process.py's options), their logs
    in ``folder``; stopped at the end."""
    started: list[WorkerProcess] = []
    try:
        for n in range(count):
            started.append(WorkerProcess(env, folder / f"worker-{n}.log", *args))
        for process in started:  # started together, each importing the code at once
            process.ready()
        yield Workers(started)
    finally:
        for process in started:
            process.stop()

"""Helpers for the web tests: an app over the test engine, a client, forms with their CSRF token,
and the app served by a real uvicorn on a loopback port."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from notifications.settings import MailSettings
from tests.conftest import FrozenClock
from workflow.engine import WorkflowEngine, audit_log
from workflow.settings import Settings
from workflow.store.models import SecurityEvent, UsedToken
from workflow.tokens import Tokens
from workflow.web.app import SESSION_COOKIE, WebApp

SECRET = "test-web-secret-0123456789-abcdefghijklmnopq"
BASE_URL = "http://testserver"
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


@dataclass
class Web:
    engine: WorkflowEngine
    app: WebApp
    client: TestClient
    tokens: Tokens

    def sign_in(self, name: str) -> None:
        self.client.cookies.set(SESSION_COOKIE, self.tokens.session(name))

    def sign_out(self) -> None:
        self.client.cookies.delete(SESSION_COOKIE)

    def csrf(self, path: str = "/signin") -> str:
        """The form token of this browser (its CSRF cookie is set by the first page it opens)."""
        found = CSRF.search(self.client.get(path).text)
        assert found, f"no form on {path}"
        return found.group(1)

    def link(self, user: str, item_id: int, trigger: str, version: int | None = None) -> str:
        if version is None:
            version = self.engine.show(item_id).version
        return f"/act/{self.tokens.action(user, item_id, trigger, version)}"

    def audit_count(self) -> int:
        with self.engine.db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())

    def used_count(self) -> int:
        with self.engine.db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(UsedToken.__table__)).scalar_one())

    def security_events(self) -> list[str]:
        table = SecurityEvent.__table__
        with self.engine.db.connect() as conn:
            return list(conn.execute(select(table.c.event).order_by(table.c.id)).scalars())


def make_web(engine: WorkflowEngine, settings: Settings, mail_dir: Path, clock: FrozenClock) -> Web:
    mail = MailSettings(smtp_url=None, mail_dir=mail_dir, base_url=BASE_URL)
    tokens = Tokens(SECRET)
    app = WebApp(settings, engine, mail, tokens, clock=clock)
    client = TestClient(app.asgi(), base_url=BASE_URL, follow_redirects=False)
    return Web(engine, app, client, tokens)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(app: Starlette, port: int | None = None) -> Iterator[int]:
    """``app`` served by uvicorn in a thread on a loopback port (a free one unless given; yielded) until the
    block ends."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)

"""A write waiting on another's lock: the server keeps answering, and past the busy timeout the
writer gets a 503 "busy, try again" page that changed nothing; released, the same request works.

Served by a real uvicorn on a loopback port, over a SQLite file and PostgreSQL. The lock is held by
another connection: on SQLite ``BEGIN IMMEDIATE`` (the database's one write lock), on PostgreSQL every
table locked ``IN EXCLUSIVE MODE`` (reads go on, every write waits), so both wait the same way.
"""

from __future__ import annotations

import functools
import http.client
import inspect
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import Engine, text, update
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request
from starlette.routing import Route

from notifications.outbox import FAILED, enqueue, outbox
from notifications.render import RenderedMessage
from tests.conftest import AUDIT_KEY, DEFINITIONS, FrozenClock
from tests.locks import write_lock_held
from tests.web_support import Web, make_web, serving
from workflow.cli.shell import database_error
from workflow.core.errors import Busy, ConfigurationError, Conflict
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.store.db import make_engine
from workflow.store.faults import DRIVER_ERRORS
from workflow.web.app import CSRF_COOKIE, LANG_COOKIE, RETRY_AFTER_SECONDS, SESSION_COOKIE

BUSY_MS = 1000
"""The busy timeout of the server under test: long enough to probe /healthz many times meanwhile."""
HEALTHZ_LIMIT = 0.2
BUSY_ZH = "系统繁忙，请稍后再试"
BUSY_EN = "Busy, please try again"


@pytest.fixture
def db(settings: Settings) -> Iterator[Engine]:
    """The test database with a short busy timeout (overrides conftest's)."""
    engine = make_engine(settings.database_url, busy_timeout_ms=BUSY_MS)
    yield engine
    engine.dispose()


@pytest.fixture
def web(engine: WorkflowEngine, settings: Settings, tmp_path: Path, clock: FrozenClock) -> Web:
    return make_web(engine, settings, tmp_path / "mail", clock)


@pytest.fixture
def port(web: Web) -> Iterator[int]:
    with serving(web.app.asgi()) as port:
        yield port


@pytest.fixture
def in_review(engine: WorkflowEngine, make_item: Callable[..., int]) -> int:
    item_id = make_item(title="村道硬化工程", body="第一段。")
    engine.fire(item_id, "submit", "drafter_a")
    return item_id


# ---- talking to the server ----------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str
    seconds: float


class Browser:
    """One person's cookies (CSRF, session, language) and plain HTTP/1.1 requests to the server."""

    def __init__(self, web: Web, port: int, user: str | None = None, lang: str | None = None) -> None:
        self.port = port
        self.cookie = "browser-csrf-cookie-0123456789"
        self.csrf = web.tokens.csrf(self.cookie)
        self.cookies = {CSRF_COOKIE: self.cookie}
        if user is not None:
            self.cookies[SESSION_COOKIE] = web.tokens.session(user)
        if lang is not None:
            self.cookies[LANG_COOKIE] = lang

    def get(self, path: str) -> Reply:
        return self._send("GET", path, None)

    def post(self, path: str, **form: str) -> Reply:
        return self._send("POST", path, urlencode({"csrf": self.csrf, **form}))

    def _send(self, method: str, path: str, body: str | None) -> Reply:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        started = time.monotonic()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read().decode("utf-8")
        finally:
            connection.close()
        seconds = time.monotonic() - started
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, content, seconds)


def while_waiting(browser: Browser, send: Callable[[], Reply]) -> tuple[Reply, list[float]]:
    """``send`` in another thread; /healthz asked again and again until it has its answer.
    Returns that answer and how long each /healthz took."""
    replies: list[Reply] = []
    thread = threading.Thread(target=lambda: replies.append(send()))
    thread.start()
    probes = []
    while thread.is_alive():
        probe = browser.get("/healthz")
        assert probe.status == 200 and probe.text == "ok"
        probes.append(probe.seconds)
        time.sleep(0.05)
    thread.join()
    assert len(replies) == 1
    return replies[0], probes


def assert_waited_then_busy(reply: Reply, probes: list[float], busy_text: str = BUSY_ZH) -> None:
    assert reply.status == 503, reply.text
    assert reply.headers.get("retry-after") == str(RETRY_AFTER_SECONDS)
    assert busy_text in reply.text
    assert reply.seconds >= 0.9 * BUSY_MS / 1000, f"the POST answered after {reply.seconds:.3f} s: it did not wait"
    assert len(probes) >= 5, probes
    assert max(probes) < HEALTHZ_LIMIT, f"/healthz took up to {max(probes) * 1000:.0f} ms while the POST waited"


def counts(web: Web, item_id: int) -> tuple[int, str, int, int]:
    item = web.engine.show(item_id)
    return item.version, item.state, web.audit_count(), web.used_count()


# ---- the tests ----------------------------------------------------------------------------------


def test_an_action_link_waits_on_a_held_lock_while_the_server_answers_then_is_busy_and_changes_nothing(
    web: Web, port: int, in_review: int, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    browser = Browser(web, port)
    link = web.link("reviewer_a", in_review, "clear")
    before = counts(web, in_review)
    with write_lock_held(database_url), caplog.at_level(logging.WARNING, logger="gongkai.web"):
        reply, probes = while_waiting(browser, lambda: browser.post(link, comment="无涉密内容"))
    assert_waited_then_busy(reply, probes)
    logged = [r.getMessage() for r in caplog.records if r.name == "gongkai.web"]
    assert any(m.startswith("database busy: POST action_fire") for m in logged), logged
    assert not any(link.rsplit("/", 1)[1] in m for m in logged)  # the token stays out of the log
    assert counts(web, in_review) == before  # no move, no audit row, the link not marked used
    again = browser.post(link, comment="无涉密内容")  # the lock released, the same POST works
    assert again.status == 200, again.text
    assert web.engine.show(in_review).state == "leadership_signoff"
    assert web.used_count() == before[3] + 1


def test_an_item_page_decision_is_busy_in_english_while_pages_that_read_still_answer(
    web: Web, port: int, in_review: int, database_url: str
) -> None:
    browser = Browser(web, port, user="reviewer_a", lang="en")
    item = web.engine.show(in_review)
    page = f"/items/{item.reference}"
    before = counts(web, in_review)
    with write_lock_held(database_url):
        for path in (page, "/"):  # reading never waits on a writer
            read = browser.get(path)
            assert read.status == 200 and read.seconds < BUSY_MS / 1000, (path, read.seconds)
        reply, probes = while_waiting(
            browser, lambda: browser.post(f"{page}/fire", trigger="clear", version=str(item.version))
        )
    assert_waited_then_busy(reply, probes, BUSY_EN)
    assert counts(web, in_review) == before
    again = browser.post(f"{page}/fire", trigger="clear", version=str(item.version))
    assert again.status == 303, again.text
    assert web.engine.show(in_review).state == "leadership_signoff"


def test_every_form_that_writes_waits_off_the_event_loop_and_then_works(
    web: Web, port: int, engine: WorkflowEngine, clock: FrozenClock, database_url: str
) -> None:
    """Signing in (asking for a link, using it) and retrying an email each write: each waits in the
    thread pool, is busy past the timeout having changed nothing, and works once the lock is gone."""
    with engine.db.begin() as conn:
        message = RenderedMessage(subject="通知", text="正文", html="<p>正文</p>")
        enqueue(conn, key="failed:1", event="test", recipient="office_a@town.example.gov.cn", message=message,
                now=clock())  # fmt: skip
        conn.execute(update(outbox).values(status=FAILED, attempts=5))
        failed_id = int(conn.execute(text("SELECT id FROM outbox")).scalar_one())
    stranger = Browser(web, port)
    office = Browser(web, port, user="office_a")
    signin_link = f"/signin/{web.tokens.signin('reviewer_a')}"
    posts: list[tuple[Browser, str, dict[str, str], int]] = [
        (stranger, "/signin", {"email": "reviewer_a@town.example.gov.cn"}, 200),
        (stranger, signin_link, {}, 303),
        (office, f"/outbox/{failed_id}/retry", {}, 303),
    ]
    for browser, path, form, works in posts:
        before = (web.security_events(), web.used_count(), outbox_rows(engine))
        with write_lock_held(database_url):
            reply, probes = while_waiting(browser, functools.partial(browser.post, path, **form))
        assert_waited_then_busy(reply, probes)
        assert (web.security_events(), web.used_count(), outbox_rows(engine)) == before, path
        assert browser.post(path, **form).status == works, path
    rows = dict(outbox_rows(engine))
    assert rows.pop(failed_id) == "pending"  # the retry took
    assert list(rows.values()) == ["pending"]  # and the sign-in link was written


def outbox_rows(engine: WorkflowEngine) -> list[tuple[int, str]]:
    with engine.db.connect() as conn:
        return [(r.id, r.status) for r in conn.execute(text("SELECT id, status FROM outbox ORDER BY id"))]


def test_the_cli_says_busy_in_one_line_and_changes_nothing(
    web: Web, in_review: int, database_url: str, tmp_path: Path
) -> None:
    env = {
        "GONGKAI_DATABASE_URL": database_url, "GONGKAI_AUDIT_KEY": AUDIT_KEY,
        "GONGKAI_DEFINITIONS_DIR": str(DEFINITIONS), "GONGKAI_DB_BUSY_TIMEOUT_MS": "300",
        "PYTHONUTF8": "1", "PATH": "/usr/bin:/bin",
    }  # fmt: skip
    gongkai = Path(sys.executable).parent / "gongkai"
    before = counts(web, in_review)
    with write_lock_held(database_url):
        started = time.monotonic()
        result = subprocess.run(
            [str(gongkai), "item", "fire", str(in_review), "clear", "--as", "reviewer_a"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        waited = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1, result.stderr
    assert "系统繁忙" in result.stderr and "未做任何更改" in result.stderr
    assert waited >= 0.3
    assert counts(web, in_review) == before


# ---- one classification of driver errors --------------------------------------------------------


def real_driver_errors(url: str, tmp_path: Path) -> list[tuple[str, Exception]]:
    """Driver errors as the drivers raise them, through SQLAlchemy and on the raw cursor (as the hot
    path of ``fire`` runs its statements): (expected kind, error)."""
    found: list[tuple[str, Exception]] = []

    def caught(kind: str, action: Callable[[], object]) -> None:
        try:
            action()
        except DRIVER_ERRORS as error:
            found.append((kind, error))
            return
        raise AssertionError(f"no error for {kind}")

    quick = make_engine(url, busy_timeout_ms=100)
    try:
        with quick.begin() as conn:
            conn.execute(text("CREATE TABLE parity (id INTEGER PRIMARY KEY)"))
            conn.execute(text("INSERT INTO parity (id) VALUES (1)"))

        def write() -> None:
            with quick.begin() as conn:
                conn.execute(text("INSERT INTO parity (id) VALUES (2)"))

        def raw_insert(value: int) -> None:
            raw = quick.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute(f"INSERT INTO parity (id) VALUES ({value})")
                raw.commit()
            finally:
                raw.close()

        with write_lock_held(url):
            caught("busy", write)
            caught("busy", lambda: raw_insert(3))
        caught("race", lambda: raw_insert(1))

        def duplicate() -> None:
            with quick.begin() as conn:
                conn.execute(text("INSERT INTO parity (id) VALUES (1)"))

        caught("race", duplicate)

        def missing_table() -> None:
            with quick.connect() as conn:
                conn.execute(text("SELECT * FROM no_such_table"))

        caught("unusable", missing_table)
        if url.startswith("postgresql"):
            caught("busy", lambda: _statement_timeout(quick))
            caught("busy", lambda: _serialization_failure(quick))
            unreachable = make_engine(url.rsplit("/", 1)[0] + "/gk_no_such_database")
            caught("unusable", lambda: unreachable.connect().close())
            unreachable.dispose()
        else:
            not_a_database = tmp_path / "not-a-database.db"
            not_a_database.write_bytes(b"this is not a database file, not even close" * 100)
            broken = make_engine(f"sqlite:///{not_a_database}")
            caught("unusable", lambda: broken.connect().close())
            broken.dispose()
    finally:
        quick.dispose()
    return found


def _statement_timeout(db: Engine) -> None:
    with db.connect() as conn:
        conn.execute(text("SET statement_timeout = 50"))
        conn.execute(text("SELECT pg_sleep(2)"))


def _serialization_failure(db: Engine) -> None:
    """Two repeatable-read transactions change the same row: the later one must fail."""
    with db.connect() as first, db.connect() as second:
        first.execution_options(isolation_level="REPEATABLE READ")
        second.execution_options(isolation_level="REPEATABLE READ")
        first.execute(text("SELECT id FROM parity WHERE id = 1")).all()
        second.execute(text("UPDATE parity SET id = 10 WHERE id = 1"))
        second.commit()
        first.execute(text("UPDATE parity SET id = 11 WHERE id = 1"))


def test_the_cli_and_the_web_classify_the_same_driver_errors_the_same_way(
    web: Web, database_url: str, tmp_path: Path
) -> None:
    expected = {"busy": (Busy, 1, 503), "race": (Conflict, 1, 409), "unusable": (ConfigurationError, 2, 500)}
    errors = real_driver_errors(database_url, tmp_path)
    kinds = [kind for kind, _ in errors]
    assert kinds.count("busy") == (4 if database_url.startswith("postgresql") else 2)
    assert any(not isinstance(error, DBAPIError) for _, error in errors)  # the raw driver's, too
    scope = {"type": "http", "method": "POST", "path": "/items/1/fire", "headers": [], "query_string": b"",
             "scheme": "http", "server": ("testserver", 80)}  # fmt: skip
    for kind, error in errors:
        in_cli = database_error(error)
        in_web = web.app._database_fault(Request(scope), error)
        got = (type(in_cli), in_cli.exit_code, in_web.status_code)
        assert got == expected[kind], (kind, repr(error))
        assert "\n" not in in_cli.render("zh")  # one line
        assert ("retry-after" in in_web.headers) == (kind == "busy")


# ---- the shape that keeps it so ------------------------------------------------------------------


def test_no_endpoint_or_error_page_runs_blocking_work_on_the_event_loop(web: Web) -> None:
    """Every page is a plain function (run in the thread pool), or a form POST made by ``posted``
    (only the body is read on the loop). An ``async def`` page calling the engine would fail here."""
    app = web.app.asgi()
    checked = 0
    for route in app.routes:
        if not isinstance(route, Route):
            continue
        endpoint = route.endpoint
        if inspect.iscoroutinefunction(endpoint):
            assert endpoint.__code__.co_qualname in (
                "WebApp.posted.<locals>.endpoint",
                "UploadForms.posted.<locals>.endpoint",  # the same shape, with the size limit while reading
            ), route.path
            handler = getattr(endpoint, "__wrapped__", None)
            assert handler is not None and not inspect.iscoroutinefunction(handler), route.path
        checked += 1
    assert checked >= 15
    async_handlers = [h for h in app.exception_handlers.values() if inspect.iscoroutinefunction(h)]
    assert [h.__name__ for h in async_handlers] == ["_page_exception"]  # it returns a page made already


def test_the_busy_timeout_is_a_setting() -> None:
    base = {"GONGKAI_DATABASE_URL": "sqlite:///x.db"}
    assert Settings.from_env(base).db_busy_timeout_ms == 10_000
    assert Settings.from_env({**base, "GONGKAI_DB_BUSY_TIMEOUT_MS": "250"}).db_busy_timeout_ms == 250
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env({**base, "GONGKAI_DB_BUSY_TIMEOUT_MS": "soon"})
    assert "GONGKAI_DB_BUSY_TIMEOUT_MS" in refused.value.render("en")


def test_sqlite_waits_exactly_the_configured_busy_timeout(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'timing.db'}"
    for busy_ms in (200, 600):
        db = make_engine(url, busy_timeout_ms=busy_ms)
        try:
            db.connect().close()  # the file exists, in WAL mode
            with write_lock_held(url):
                started = time.monotonic()
                with pytest.raises(DBAPIError), db.begin():
                    pass
                waited = time.monotonic() - started
        finally:
            db.dispose()
        assert busy_ms / 1000 * 0.9 <= waited < busy_ms / 1000 + 0.5, (busy_ms, waited)

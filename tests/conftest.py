"""Shared fixtures: the same tests run on a SQLite file and on PostgreSQL.

PostgreSQL tests use a fresh database per test, copied from a template that has
the schema already migrated. Outside CI they skip when no server answers; in CI
(CI=true) an unreachable server is a failure, never a skip.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from workflow.clock import utc_now
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.store.db import make_engine
from workflow.store.files import FolderFileStore
from workflow.store.people import add_user
from workflow.store.registry import DefinitionRegistry
from workflow.wiring import initialise

pytest_plugins = ["tests.browser", "tests.smtp_server"]

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "definitions"
AUDIT_KEY = "test-audit-key-0123456789-abcdefghijklmnop"
PG_ADMIN = os.environ.get("GONGKAI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
TEMPLATE = "gongkai_test_template"
CHECKOUT = hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]
"""Template databases are named per checkout, so suites run from two clones at once never drop each other's."""

OFFICE = [
    ("drafter_a", ["drafter"]),
    ("drafter_b", ["drafter"]),
    ("reviewer_a", ["confidentiality_reviewer"]),
    ("reviewer_b", ["confidentiality_reviewer"]),
    ("leader_a", ["leader"]),
    ("leader_b", ["leader"]),
    ("leader_c", ["leader"]),
    ("office_a", ["office"]),
    ("office_b", ["office"]),
    ("legal_a", ["legal_reviewer"]),
    ("multi", ["drafter", "confidentiality_reviewer", "leader"]),
    ("auditor_a", ["auditor"]),
    ("admin_a", ["admin"]),
]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_available() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return str(error)


def _pg_url(database: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + database


@pytest.fixture(scope="session")
def pg_template() -> str:
    problem = _pg_available()
    if problem is not None:
        if in_ci():
            pytest.fail(f"PostgreSQL is required in CI and did not answer: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"{TEMPLATE}_{CHECKOUT}_{worker}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    settings = Settings(database_url=_pg_url(name), definitions_dir=DEFINITIONS, audit_key=AUDIT_KEY)
    engine = make_engine(settings.database_url)
    initialise(settings, engine)
    engine.dispose()
    return name


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database of each kind; the URL is yielded."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'gongkai.db'}"
        settings = Settings(database_url=url, definitions_dir=DEFINITIONS, audit_key=AUDIT_KEY)
        engine = make_engine(url)
        initialise(settings, engine)
        engine.dispose()
        yield url
        return
    template = request.getfixturevalue("pg_template")
    name = f"gk_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield _pg_url(name)
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def _public_output_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker or command a test starts writes the site and the channels' files under the test's own folder,
    never into the checkout (their defaults, ``site`` and ``channels``, are relative to the working directory)."""
    for name, folder in (("GONGKAI_SITE_DIR", "public/site"), ("GONGKAI_CHANNELS_DIR", "public/channels")):
        if name not in os.environ:
            monkeypatch.setenv(name, str(tmp_path / folder))


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, definitions_dir=DEFINITIONS, audit_key=AUDIT_KEY)


@pytest.fixture
def db(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    yield engine
    engine.dispose()


class FrozenClock:
    """A clock tests can set; the engine takes ``now`` from it."""

    def __init__(self, now: dt.datetime | None = None) -> None:
        self.now = now or utc_now()

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC))


@pytest.fixture
def engine(db: Engine, settings: Settings, clock: FrozenClock, tmp_path: Path) -> WorkflowEngine:
    """An engine over a database with the test office's people in it (attachments in ``tmp_path/files``)."""
    with db.begin() as conn:
        for name, roles in OFFICE:
            add_user(conn, name, f"{name}@town.example.gov.cn", roles, utc_now())
    return WorkflowEngine(
        db, DefinitionRegistry(settings.definitions_dir), settings.require_audit_key(), clock=clock,
        files=FolderFileStore(tmp_path / "files"),
    )  # fmt: skip


@pytest.fixture
def make_item(engine: WorkflowEngine) -> Callable[..., int]:
    def make(definition: str = "proactive_disclosure", **kwargs: object) -> int:
        defaults: dict[str, object] = {"title": "测试信息", "actor": "drafter_a", "body": "正文"}
        if definition in ("proactive_disclosure", "normative_document"):
            defaults["category"] = "03"
        if definition == "disclosure_request":
            defaults["actor"] = "office_a"
            defaults["fields"] = {
                "requester": "张三",
                "requester_type": "natural_person",
                "channel": "online",
                "received_on": "2026-03-02",
            }
        defaults.update(kwargs)
        return engine.create(definition, **defaults).id  # type: ignore[arg-type]

    return make


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI a skipped test is a failure: PostgreSQL (and later the browser) must really run."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run every test: {report.longrepr}"

"""gongkai against the alternatives, the same work in one run, on SQLite and PostgreSQL.

Usage::

    python benchmarks/compare.py [--n 2000] [--large] [--repeat 3] [--only sqlite|postgresql]
                                 [--writers 1,2,4] [--pg URL]

Install the alternatives first: ``pip install -e '.[bench]'``.

Each contender moves N items (created beforehand, not timed) through three transitions, submit, clear
and sign_off, each its own commit with its audit row (the creates are audited too: 4N chained rows):

* ``gongkai``: ``WorkflowEngine.fire`` (HMAC chain, working-day deadlines, outbox, people and stand-ins);
* ``handwritten``: standard library ``sqlite3`` / ``psycopg``, 9 statements per step (BEGIN, item,
  roles, conditional update, chain head (``FOR UPDATE`` on PostgreSQL), audit insert, head update, one
  deadline row upserted, COMMIT), a sha256 chain: the naive limit;
* ``spiff``: SpiffWorkflow 3 on ``benchmarks/proactive_disclosure.bpmn`` (3 user tasks, lanes as roles),
  the workflow JSON deserialized and serialized per step and stored in the item's row (SQLAlchemy ORM);
* ``transitions``: ``transitions.Machine`` built per loaded item, SQLAlchemy ORM;
* ``statemachine``: ``python-statemachine`` bound to the loaded item, SQLAlchemy ORM.

The alternatives share one schema (``bench_*`` tables, created by SQLAlchemy), the same sha256 chain
(the head row read ``FOR UPDATE`` in the transaction on PostgreSQL; SQLite's BEGIN IMMEDIATE serialises),
the same deadline upsert and an optimistic version check. Before timing, every contender must refuse a
wrong state and a wrong role (and write nothing); afterwards its rows are counted, every item must be
``published`` and its chain is recomputed (gongkai: ``workflow.store.audit_log.verify``).

Every contender run is its own subprocess over a fresh database (a new SQLite file, a new PostgreSQL
database), contenders alternating round-robin, the rotation shifted each repeat; the median of the
repeats is reported with the peak RSS of the subprocess (``getrusage``, ``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import Engine, ForeignKey, String, Text, create_engine, event, select  # noqa: E402
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column  # noqa: E402

from benchmarks.transitions_bench import (  # noqa: E402
    AUDIT_KEY,
    BODY,
    CATEGORY,
    CHAIN,
    DEFINITION,
    DEFINITIONS,
    MAIL,
    PEOPLE,
)
from workflow.clock import utc_now  # noqa: E402
from workflow.engine import WorkflowEngine  # noqa: E402
from workflow.settings import Settings  # noqa: E402
from workflow.store import audit_log as auditlog  # noqa: E402
from workflow.store.db import make_engine, normalise_url  # noqa: E402
from workflow.store.people import add_user  # noqa: E402
from workflow.wiring import initialise, open_engine  # noqa: E402

CONTENDERS = ("gongkai", "handwritten", "spiff", "transitions", "statemachine")
LABELS = {
    "gongkai": "**gongkai** (HMAC chain, working-day deadlines, outbox)",
    "handwritten": "hand-written SQL, 9 statements, sha256 chain, one deadline row (the naive limit)",
    "spiff": "SpiffWorkflow 3 (BPMN, serialized per step)",
    "transitions": "transitions + SQLAlchemy ORM",
    "statemachine": "python-statemachine + SQLAlchemy ORM",
}
PG_ADMIN = os.environ.get("GONGKAI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BPMN = Path(__file__).resolve().parent / "proactive_disclosure.bpmn"
STATES = ["drafting", "confidentiality_review", "leadership_signoff", "published"]
# trigger -> (from, to, role); the deadline row each step upserts: trigger -> (kind, days).
MOVES = {
    "submit": ("drafting", "confidentiality_review", "drafter"),
    "clear": ("confidentiality_review", "leadership_signoff", "confidentiality_reviewer"),
    "sign_off": ("leadership_signoff", "published", "leader"),
}
DEADLINE_OF = {"submit": ("state:confidentiality_review", 5), "clear": ("state:leadership_signoff", 3),
               "sign_off": ("publication", 20)}  # fmt: skip
WRONG_STATE = ("clear", "reviewer_a")
"""On a drafting item: the right role for `clear`, the wrong state."""
WRONG_ROLE = ("submit", "reviewer_a")
"""On a drafting item: the right state for `submit`, a person without the drafter role."""


class Refused(Exception):
    """An alternative refused a step (wrong state, wrong role, lost race)."""


# ---- databases --------------------------------------------------------------------------------


def pg_url(database: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + database


@contextmanager
def fresh_database(kind: str, folder: Path, name: str) -> Iterator[str]:
    """A new empty database of ``kind``, dropped afterwards (PostgreSQL) or left in ``folder`` (SQLite)."""
    if kind == "sqlite":
        path = folder / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        yield f"sqlite:///{path}"
        return
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url(name)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def alternative_engine(url: str) -> Engine:
    """SQLite as gongkai opens it (WAL, synchronous=NORMAL, BEGIN IMMEDIATE); PostgreSQL plain, no pre-ping."""
    if url.startswith("sqlite"):
        return make_engine(url)
    return create_engine(normalise_url(url))


# ---- the alternatives' schema and chain -------------------------------------------------------


class Base(DeclarativeBase):
    pass


class Role(Base):
    __tablename__ = "bench_roles"
    user_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)


class Item(Base):
    __tablename__ = "bench_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column()
    drafter: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(Text)
    workflow: Mapped[str | None] = mapped_column(Text, nullable=True)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it


class AuditEntry(Base):
    __tablename__ = "bench_audit"
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    item_id: Mapped[int] = mapped_column(ForeignKey("bench_items.id"))
    trigger: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(40), nullable=True)
    to_state: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(40))
    at: Mapped[str] = mapped_column(String(40))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Head(Base):
    __tablename__ = "bench_head"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column()
    hash: Mapped[str] = mapped_column(String(64))


class Deadline(Base):
    __tablename__ = "bench_deadlines"
    item_id: Mapped[int] = mapped_column(ForeignKey("bench_items.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    due_on: Mapped[str] = mapped_column(String(10))


GENESIS = "0" * 64
AUDIT_COLUMNS = ("seq", "item_id", "trigger", "from_state", "to_state", "actor", "role", "at")


def chain_hash(prev: str, values: tuple[Any, ...]) -> str:
    text = prev + "\x1f" + "\x1f".join("" if v is None else str(v) for v in values)
    return hashlib.sha256(text.encode()).hexdigest()


def due_on(trigger: str) -> tuple[str, str]:
    kind, days = DEADLINE_OF[trigger]
    return kind, (dt.date.today() + dt.timedelta(days=days)).isoformat()


def setup_alternative(url: str, n: int, spiff: bool) -> list[int]:
    """Schema, people and N drafting items with their audited creates (not timed)."""
    db = alternative_engine(url)
    Base.metadata.create_all(db)
    workflow_json = spiff_initial() if spiff else None
    now = utc_now().isoformat()
    with Session(db) as session, session.begin():
        for name, roles in PEOPLE:
            session.add_all(Role(user_name=name, role=role) for role in roles)
        items = [Item(id=i, state="drafting", version=1, drafter="drafter_a", title=f"2026 年财政预算公开 {i}",
                      workflow=workflow_json) for i in range(1, n + 1)]  # fmt: skip
        session.add_all(items)
        session.flush()
        prev = GENESIS
        for seq, item in enumerate(items, 1):
            values = (seq, item.id, "create", None, "drafting", "drafter_a", "drafter", now)
            prev_hash, prev = prev, chain_hash(prev, values)
            session.add(AuditEntry(**dict(zip(AUDIT_COLUMNS, values, strict=True)), prev_hash=prev_hash, hash=prev))
        session.add(Head(id=1, seq=n, hash=prev))
    db.dispose()
    return list(range(1, n + 1))


def check_alternative(url: str, n: int) -> list[str]:
    """Counts, final states and the sha256 chain recomputed from the rows."""
    problems = []
    db = alternative_engine(url)
    with db.connect() as conn:
        states: dict[str, int] = dict(
            conn.exec_driver_sql("SELECT state, count(*) FROM bench_items GROUP BY state").all()
        )
        if states != {"published": n}:
            problems.append(f"states {states}")
        versions = conn.exec_driver_sql("SELECT min(version), max(version) FROM bench_items").one()
        if tuple(versions) != (4, 4):
            problems.append(f"versions {tuple(versions)}")
        deadlines = conn.exec_driver_sql("SELECT count(*) FROM bench_deadlines").scalar_one()
        if deadlines != 3 * n:
            problems.append(f"{deadlines} deadline rows, expected {3 * n}")
        prev, count = GENESIS, 0
        cols = ", ".join(AUDIT_COLUMNS)
        for row in conn.exec_driver_sql(f"SELECT {cols}, prev_hash, hash FROM bench_audit ORDER BY seq"):
            count += 1
            values = tuple(row[: len(AUDIT_COLUMNS)])
            if row.seq != count or row.prev_hash != prev or row.hash != chain_hash(prev, values):
                problems.append(f"chain broken at seq {row.seq}")
                break
            prev = row.hash
        head = conn.exec_driver_sql("SELECT seq, hash FROM bench_head").one()
        if count != 4 * n or tuple(head) != (count, prev):
            problems.append(f"{count} audit rows (expected {4 * n}), head {tuple(head)}")
    db.dispose()
    return problems


def orm_append(session: Session, item_id: int, trigger: str, src: str, dest: str, actor: str, role: str) -> None:
    """The chain head locked, the audit row, the head moved, the deadline row upserted."""
    head = session.get(Head, 1, with_for_update=True)
    assert head is not None
    values = (head.seq + 1, item_id, trigger, src, dest, actor, role, utc_now().isoformat())
    digest = chain_hash(head.hash, values)
    session.add(AuditEntry(**dict(zip(AUDIT_COLUMNS, values, strict=True)), prev_hash=head.hash, hash=digest))
    head.seq, head.hash = values[0], digest
    kind, due = due_on(trigger)
    session.merge(Deadline(item_id=item_id, kind=kind, due_on=due))


def orm_roles(session: Session, actor: str) -> set[str]:
    return set(session.scalars(select(Role.role).where(Role.user_name == actor)))


# ---- contenders: one function per contender gives a fire(item_id, trigger, actor) --------------

Fire = Callable[[int, str, str], None]


def gongkai_side(url: str, n: int) -> tuple[list[int], Fire, Callable[[], list[str]], Callable[[], None]]:
    settings = Settings(database_url=url, definitions_dir=DEFINITIONS, audit_key=AUDIT_KEY)
    setup = make_engine(url)
    initialise(settings, setup)
    with setup.begin() as conn:
        for name, roles in PEOPLE:
            add_user(conn, name, f"{name}@town.example.gov.cn", roles, utc_now())
    setup.dispose()
    engine: WorkflowEngine = open_engine(settings, mail=MAIL)
    ids = [
        engine.create(DEFINITION, title=f"2026 年财政预算公开 {i}", actor="drafter_a", category=CATEGORY, body=BODY).id
        for i in range(1, n + 1)
    ]

    def fire(item_id: int, trigger: str, actor: str) -> None:
        engine.fire(item_id, trigger, actor)

    def check() -> list[str]:
        problems = []
        result = auditlog.verify(engine.db, AUDIT_KEY.encode())
        if result.fault is not None or result.count != 4 * n:
            problems.append(f"audit chain {result}")
        with engine.db.connect() as conn:
            states: dict[str, int] = dict(
                conn.exec_driver_sql("SELECT state, count(*) FROM items GROUP BY state").all()
            )
        if states != {"published": n}:
            problems.append(f"states {states}")
        return problems

    return ids, fire, check, engine.db.dispose


def handwritten_side(url: str, n: int) -> tuple[list[int], Fire, Callable[[], list[str]], Callable[[], None]]:
    ids = setup_alternative(url, n, spiff=False)
    sqlite = url.startswith("sqlite")
    if sqlite:
        import sqlite3

        conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, timeout=5)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        mark, lock = "?", ""
    else:
        conn = psycopg.connect(url)
        mark, lock = "%s", " FOR UPDATE"
    q = {
        "item": "SELECT state, version FROM bench_items WHERE id = ?",
        "roles": "SELECT role FROM bench_roles WHERE user_name = ?",
        "update": "UPDATE bench_items SET state = ?, version = version + 1 WHERE id = ? AND version = ?",
        "head": "SELECT seq, hash FROM bench_head WHERE id = 1" + lock,
        "audit": "INSERT INTO bench_audit (seq, item_id, trigger, from_state, to_state, actor, role, at, prev_hash, "
        "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "move_head": "UPDATE bench_head SET seq = ?, hash = ? WHERE id = 1",
        "deadline": "INSERT INTO bench_deadlines (item_id, kind, due_on) VALUES (?, ?, ?) "
        "ON CONFLICT (item_id, kind) DO UPDATE SET due_on = excluded.due_on",
    }
    q = {k: v.replace("?", mark) for k, v in q.items()}

    def fire(item_id: int, trigger: str, actor: str) -> None:
        # 9 statements: BEGIN (psycopg sends it before the first), 7 below, COMMIT.
        if sqlite:
            conn.execute("BEGIN IMMEDIATE")
        try:
            state, version = conn.execute(q["item"], (item_id,)).fetchone()
            src, dest, role = MOVES[trigger]
            if state != src:
                raise Refused(f"{trigger} not allowed from {state}")
            if role not in {r for (r,) in conn.execute(q["roles"], (actor,)).fetchall()}:
                raise Refused(f"{actor} lacks {role}")
            if conn.execute(q["update"], (dest, item_id, version)).rowcount != 1:
                raise Refused("conflict")
            seq, prev = conn.execute(q["head"]).fetchone()
            values = (seq + 1, item_id, trigger, src, dest, actor, role, utc_now().isoformat())
            digest = chain_hash(prev, values)
            conn.execute(q["audit"], (*values, prev, digest))
            conn.execute(q["move_head"], (seq + 1, digest))
            conn.execute(q["deadline"], (item_id, *due_on(trigger)))
            conn.execute("COMMIT") if sqlite else conn.commit()
        except BaseException:
            conn.execute("ROLLBACK") if sqlite else conn.rollback()
            raise

    return ids, fire, lambda: check_alternative(url, n), conn.close


def orm_side(
    url: str, n: int, step: Callable[[Session, Item, str, str, set[str]], tuple[str, str, str]], spiff: bool = False
) -> tuple[list[int], Fire, Callable[[], list[str]], Callable[[], None]]:
    """An ORM contender: ``step`` checks and moves the loaded item, returns (from, to, role)."""
    ids = setup_alternative(url, n, spiff=spiff)
    db = alternative_engine(url)

    def fire(item_id: int, trigger: str, actor: str) -> None:
        with Session(db) as session, session.begin():
            item = session.get(Item, item_id)
            assert item is not None
            src, dest, role = step(session, item, trigger, actor, orm_roles(session, actor))
            session.flush()  # UPDATE ... WHERE id AND version (version_id_col): one winner per race
            orm_append(session, item_id, trigger, src, dest, actor, role)

    return ids, fire, lambda: check_alternative(url, n), db.dispose


def transitions_step(session: Session, item: Item, trigger: str, actor: str, roles: set[str]) -> tuple[str, str, str]:
    from transitions import Machine, MachineError

    src = item.state
    machine = Machine(model=item, states=STATES, initial=item.state, auto_transitions=False,
                      transitions=[[t, a, b] for t, (a, b, _r) in MOVES.items()])  # fmt: skip
    role = MOVES[trigger][2]
    if not machine.get_triggers(src) or trigger not in machine.get_triggers(src):
        raise Refused(f"{trigger} not allowed from {src}")
    if role not in roles:
        raise Refused(f"{actor} lacks {role}")
    try:
        item.trigger(trigger)  # type: ignore[attr-defined]
    except MachineError as error:
        raise Refused(str(error)) from error
    return src, item.state, role


def statemachine_step(session: Session, item: Item, trigger: str, actor: str, roles: set[str]) -> tuple[str, str, str]:
    from statemachine.exceptions import TransitionNotAllowed

    src = item.state
    machine = ProposalMachine(model=item, state_field="state")
    role = MOVES[trigger][2]
    if trigger not in {e.id for e in machine.allowed_events}:
        raise Refused(f"{trigger} not allowed from {src}")
    if role not in roles:
        raise Refused(f"{actor} lacks {role}")
    try:
        machine.send(trigger)
    except TransitionNotAllowed as error:
        raise Refused(str(error)) from error
    return src, item.state, role


def _proposal_machine() -> Any:
    from statemachine import State, StateMachine

    class Proposal(StateMachine):
        drafting = State(initial=True)
        confidentiality_review = State()
        leadership_signoff = State()
        published = State(final=True)
        submit = drafting.to(confidentiality_review)
        clear = confidentiality_review.to(leadership_signoff)
        sign_off = leadership_signoff.to(published)

    return Proposal


ProposalMachine: Any = None
SPIFF: dict[str, Any] = {}


def spiff_tools() -> dict[str, Any]:
    if not SPIFF:
        from SpiffWorkflow.bpmn import BpmnWorkflow
        from SpiffWorkflow.bpmn.parser import BpmnParser
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
        from SpiffWorkflow.util.task import TaskState

        parser = BpmnParser()
        parser.add_bpmn_file(str(BPMN))
        SPIFF.update(spec=parser.get_spec("proactive_disclosure"), workflow=BpmnWorkflow,
                     serializer=BpmnWorkflowSerializer(), ready=TaskState.READY)  # fmt: skip
    return SPIFF


def spiff_initial() -> str:
    tools = spiff_tools()
    workflow = tools["workflow"](tools["spec"])
    workflow.do_engine_steps()
    return str(tools["serializer"].serialize_json(workflow))


def spiff_step(session: Session, item: Item, trigger: str, actor: str, roles: set[str]) -> tuple[str, str, str]:
    tools = spiff_tools()
    workflow = tools["serializer"].deserialize_json(item.workflow)
    ready = [task for task in workflow.get_tasks(state=tools["ready"]) if task.task_spec.manual]
    task = next((task for task in ready if task.task_spec.name == trigger), None)
    if task is None:
        raise Refused(f"{trigger} not ready in {[t.task_spec.name for t in ready]}")
    if task.task_spec.lane not in roles:
        raise Refused(f"{actor} lacks {task.task_spec.lane}")
    task.run()
    workflow.do_engine_steps()
    src = item.state
    after = [t.task_spec.name for t in workflow.get_tasks(state=tools["ready"]) if t.task_spec.manual]
    item.state = MOVES[after[0]][0] if after else ("published" if workflow.is_completed() else "stuck")
    item.workflow = tools["serializer"].serialize_json(workflow)
    return src, item.state, str(task.task_spec.lane)


def side(contender: str, url: str, n: int) -> tuple[list[int], Fire, Callable[[], list[str]], Callable[[], None]]:
    global ProposalMachine
    if contender == "gongkai":
        return gongkai_side(url, n)
    if contender == "handwritten":
        return handwritten_side(url, n)
    if contender == "spiff":
        return orm_side(url, n, spiff_step, spiff=True)
    if contender == "transitions":
        return orm_side(url, n, transitions_step)
    if contender == "statemachine":
        ProposalMachine = ProposalMachine or _proposal_machine()
        return orm_side(url, n, statemachine_step)
    raise SystemExit(f"unknown contender {contender}")


def refusals(contender: str, fire: Fire, item_id: int) -> None:
    """The contender must refuse a wrong state and a wrong role (checked before timing)."""
    for trigger, actor in (WRONG_STATE, WRONG_ROLE):
        try:
            fire(item_id, trigger, actor)
        except Exception:  # each library refuses with its own exception
            continue
        raise SystemExit(f"{contender} accepted {trigger} by {actor} on a drafting item")


# ---- child modes --------------------------------------------------------------------------------


def run_one(contender: str, kind: str, n: int, folder: Path) -> dict[str, Any]:
    name = f"cmp_{contender}_{uuid.uuid4().hex[:8]}"
    with fresh_database(kind, folder, name) as url:
        ids, fire, check, close = side(contender, url, n)
        try:
            refusals(contender, fire, ids[0])
            started, cpu = time.perf_counter(), time.process_time()
            for item_id in ids:
                for trigger, actor in CHAIN:
                    fire(item_id, trigger, actor)
            seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu
            problems = check()
        finally:
            close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"rate": 3 * n / seconds, "cpu_rate": 3 * n / cpu_s, "rss_kib": rss, "problems": problems}


def round_trips(n: int) -> dict[str, Any]:
    """Statements per gongkai fire on PostgreSQL, counted two ways (see the README)."""
    counts = {"sa": 0, "begin": 0, "commit": 0, "driver": 0, "driver_commit": 0}
    cursor = psycopg.Cursor
    original_execute, original_many = cursor.execute, cursor.executemany
    original_commit = psycopg.Connection.commit

    def execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts["driver"] += 1
        return original_execute(self, *args, **kwargs)

    def executemany(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts["driver"] += 1
        return original_many(self, *args, **kwargs)

    def commit(self: Any) -> Any:
        counts["driver_commit"] += 1
        return original_commit(self)

    name = f"cmp_rt_{uuid.uuid4().hex[:8]}"
    with fresh_database("postgresql", Path(tempfile.gettempdir()), name) as url:
        ids, fire, _check, close = gongkai_side(url, n)
        db: Engine = close.__self__  # type: ignore[attr-defined]
        fire(ids[0], *CHAIN[0])  # warm up
        event.listen(db, "before_cursor_execute", lambda *a: counts.__setitem__("sa", counts["sa"] + 1))
        event.listen(db, "begin", lambda *a: counts.__setitem__("begin", counts["begin"] + 1))
        event.listen(db, "commit", lambda *a: counts.__setitem__("commit", counts["commit"] + 1))
        cursor.execute, cursor.executemany = execute, executemany  # type: ignore[method-assign]
        psycopg.Connection.commit = commit  # type: ignore[method-assign]
        fires = 0
        try:
            for item_id in ids[1:]:
                for trigger, actor in CHAIN:
                    fire(item_id, trigger, actor)
                    fires += 1
        finally:
            cursor.execute, cursor.executemany = original_execute, original_many  # type: ignore[method-assign]
            psycopg.Connection.commit = original_commit  # type: ignore[method-assign]
            close()
    return {"fires": fires, **{k: v / fires for k, v in counts.items()}}


def _writer(url: str, ids: list[int], barrier: Any, out: Any) -> None:
    engine = open_engine(Settings(database_url=url, definitions_dir=DEFINITIONS, audit_key=AUDIT_KEY), mail=MAIL)
    barrier.wait()
    started = time.perf_counter()
    for item_id in ids:
        for trigger, actor in CHAIN:
            engine.fire(item_id, trigger, actor)
    out.put((started, time.perf_counter()))
    engine.db.dispose()


def writers(n: int, processes: int) -> dict[str, Any]:
    """gongkai with ``processes`` writer processes on PostgreSQL, each on its own items."""
    name = f"cmp_writers_{uuid.uuid4().hex[:8]}"
    with fresh_database("postgresql", Path(tempfile.gettempdir()), name) as url:
        ids, _fire, check, close = gongkai_side(url, n)
        context = multiprocessing.get_context("spawn")
        barrier, out = context.Barrier(processes), context.Queue()
        workers = [context.Process(target=_writer, args=(url, ids[k::processes], barrier, out))
                   for k in range(processes)]  # fmt: skip
        for worker in workers:
            worker.start()
        spans = [out.get() for _ in workers]
        for worker in workers:
            worker.join()
        problems = check()
        close()
    seconds = max(end for _, end in spans) - min(start for start, _ in spans)
    return {"rate": 3 * n / seconds, "problems": problems, "exit": [w.exitcode for w in workers]}


# ---- the parent ---------------------------------------------------------------------------------


def child(args: list[str]) -> dict[str, Any]:
    found = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if found.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{found.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(found.stdout.strip().splitlines()[-1])
    return result


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="items per contender run (default 2000)")
    parser.add_argument("--large", action="store_true", help="also N=20000 (long)")
    parser.add_argument("--repeat", type=int, default=3, help="repeats, the median reported (default 3)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="one database only")
    parser.add_argument("--contenders", default=",".join(CONTENDERS), help="comma-separated subset")
    parser.add_argument("--writers", default="1,2,4", help="writer processes for the PostgreSQL scaling run; '' skips")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "ARG", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, arg, n = args.child[0], args.child[1], int(args.child[2])
        if mode == "roundtrips":
            result = round_trips(n)
        elif mode == "writers":
            result = writers(n, int(arg))
        else:
            folder = Path(tempfile.mkdtemp(prefix="gongkai-compare-"))
            try:
                result = run_one(mode, arg, n, folder)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        print(json.dumps(result))
        return 0

    contenders = [c for c in args.contenders.split(",") if c]
    kinds = [args.only] if args.only else ["sqlite", "postgresql"]
    sizes = [args.n, 20000] if args.large else [args.n]
    print(f"gongkai against the alternatives: N={sizes} items x 3 transitions, medians of {args.repeat}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average at start {load()}")
    problems: list[str] = []
    for n in sizes:
        for kind in kinds:
            runs: dict[str, list[dict[str, Any]]] = {c: [] for c in contenders}
            for repeat in range(args.repeat):
                order = contenders[repeat % len(contenders) :] + contenders[: repeat % len(contenders)]
                for contender in order:
                    result = child(["--child", contender, kind, str(n)])
                    runs[contender].append(result)
                    problems += [f"{kind} N={n} {contender}: {p}" for p in result["problems"]]
                    print(f"  {kind} N={n} repeat {repeat + 1} {contender:<13} {result['rate']:8.0f} transitions/s "
                          f"RSS {result['rss_kib'] / 1024:6.1f} MiB  (load {load()})", flush=True)  # fmt: skip
            base = statistics.median(r["rate"] for r in runs.get("gongkai", [])) if "gongkai" in runs else None
            print(f"\n{kind}, N={n}, median of {args.repeat}:")
            print("| | transitions/s | per CPU-s | peak RSS MiB | gongkai ÷ this |\n|---|---|---|---|---|")
            for contender in contenders:
                rate = statistics.median(r["rate"] for r in runs[contender])
                cpu = statistics.median(r["cpu_rate"] for r in runs[contender])
                rss = max(r["rss_kib"] for r in runs[contender]) / 1024
                ratio = f"{base / rate:.2f}" if base else "-"
                print(f"| {LABELS[contender]} | {rate:,.0f} | {cpu:,.0f} | {rss:.0f} | {ratio} |")
            print()
    if "postgresql" in kinds:
        rt = child(["--child", "roundtrips", "-", "50"])
        print(f"gongkai on PostgreSQL, per fire over {rt['fires']} fires: {rt['sa']:.1f} statements seen by "
              f"SQLAlchemy's before_cursor_execute + {rt['begin']:.1f} BEGIN + {rt['commit']:.1f} COMMIT = "
              f"{rt['sa'] + rt['begin'] + rt['commit']:.1f}; at the driver (psycopg Cursor.execute/executemany, "
              f"including the hot path's own cursor and the pool's pre-ping): {rt['driver']:.1f} + BEGIN + "
              f"{rt['driver_commit']:.1f} COMMIT = {rt['driver'] + 1 + rt['driver_commit']:.1f} "
              "round trips")  # fmt: skip
        for processes in [int(p) for p in args.writers.split(",") if p]:
            found = child(["--child", "writers", str(processes), str(sizes[0])])
            problems += [f"writers {processes}: {p}" for p in found["problems"]]
            print(f"gongkai, {processes} writer process(es) on PostgreSQL, N={sizes[0]} distinct items: "
                  f"{found['rate']:,.0f} transitions/s (load {load()})", flush=True)  # fmt: skip
    print(f"\nload average at end: {load()}")
    for problem in problems:
        print("CHECK FAILED:", problem)
    if not problems:
        print("checks: every contender refused a wrong state and a wrong role; every run published all items, "
              "the row counts match and each chain recomputes")  # fmt: skip
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

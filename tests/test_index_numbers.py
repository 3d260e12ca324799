"""Index numbers (索引号): given in the transaction that publishes, gapless per year, kept for good."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from notifications.notices import Notifier
from notifications.settings import MailSettings
from notifications.transport import FolderTransport
from tests.conftest import FrozenClock
from workflow.core.errors import Conflict, NotPermitted
from workflow.engine import WorkflowEngine, audit_log
from workflow.settings import Settings
from workflow.store import audit_log as auditlog
from workflow.store.db import make_engine
from workflow.store.registry import DefinitionRegistry
from workflow.worker.passes import Worker

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
ORG = "01526086-8"


def to_signoff(engine: WorkflowEngine, item_id: int) -> int:
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "clear", "reviewer_a")
    return item_id


def published(engine: WorkflowEngine, make_item: Callable[..., int], **kwargs: object) -> int:
    item_id = to_signoff(engine, make_item(**kwargs))
    engine.fire(item_id, "sign_off", "leader_a")
    return item_id


def publication_rows(engine: WorkflowEngine, item_id: int) -> list[dict[str, object]]:
    with engine.db.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.details)
            .where(audit_log.c.item_id == item_id, audit_log.c.to_state == "published")
            .order_by(audit_log.c.seq)
        ).scalars()
        return [json.loads(d) if isinstance(d, str) else dict(d) for d in rows]


def test_numbers_follow_the_pattern_one_after_another(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock, settings: Settings
) -> None:
    first = published(engine, make_item)
    second = published(engine, make_item, category="07")
    assert engine.publication(first)[0] == f"{ORG}-03/2026-00001"
    assert engine.publication(second)[0] == f"{ORG}-07/2026-00002"
    number, at = engine.publication(first)
    assert at == clock.now and at is not None and at.utcoffset() == dt.timedelta(hours=8)
    details = publication_rows(engine, first)
    channels = ["portal", "webhook", "notice_board"]  # office.yaml: sub-directory 03
    assert details == [{"index_number": number, "published_at": at.isoformat(), "channels": channels}]
    assert auditlog.verify(engine.db, settings.require_audit_key()).fault is None


def test_an_item_not_yet_published_has_none(engine: WorkflowEngine, make_item: Callable[..., int]) -> None:
    item_id = to_signoff(engine, make_item())
    assert engine.publication(item_id) == (None, None)


def test_the_serial_starts_again_each_year_in_office_time(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock
) -> None:
    published(engine, make_item)
    clock.now = dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC)  # 2027-01-01 00:30 in the office
    item_id = published(engine, make_item)
    assert engine.publication(item_id)[0] == f"{ORG}-03/2027-00001"


def test_a_refused_or_lost_publication_consumes_no_number(
    engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    item_id = to_signoff(engine, make_item())
    with pytest.raises(NotPermitted):
        engine.fire(item_id, "sign_off", "reviewer_a")
    assert engine.publication(item_id) == (None, None)
    engine.fire(item_id, "sign_off", "leader_a")
    other = to_signoff(engine, make_item())
    version = engine.show(other).version
    engine.fire(other, "send_back", "leader_b", comment="再核实", expected_version=version)
    with pytest.raises(Conflict):
        engine.fire(other, "sign_off", "leader_a", expected_version=version)
    engine.fire(other, "submit", "drafter_a")
    engine.fire(other, "clear", "reviewer_a")
    engine.fire(other, "sign_off", "leader_a")
    assert [engine.publication(i)[0] for i in (item_id, other)] == [f"{ORG}-03/2026-00001", f"{ORG}-03/2026-00002"]


def test_a_revised_item_keeps_its_number_and_a_withdrawn_one_is_never_reused(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock
) -> None:
    item_id = published(engine, make_item)
    number, first_at = engine.publication(item_id)
    clock.advance(days=3)
    engine.fire(item_id, "revise", "drafter_a")
    assert engine.publication(item_id) == (number, first_at)
    engine.edit(item_id, "drafter_a", body="正文 (修订)")
    to_signoff(engine, item_id)
    engine.fire(item_id, "sign_off", "leader_b")
    again, at = engine.publication(item_id)
    assert again == number and at == clock.now
    assert [d["index_number"] for d in publication_rows(engine, item_id)] == [number, number]
    engine.fire(item_id, "withdraw", "leader_a", comment="内容已过时")
    assert engine.publication(item_id)[0] == number
    assert engine.publication(published(engine, make_item))[0] == f"{ORG}-03/2026-00002"


def test_the_worker_publication_gets_a_number(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock, tmp_path: Path
) -> None:
    item_id = to_signoff(engine, make_item())
    engine.fire(item_id, "schedule", "leader_a", fields={"publish_at": "2026-03-05T09:00"})
    assert engine.publication(item_id) == (None, None)
    clock.now = dt.datetime(2026, 3, 5, 9, 0, tzinfo=SHANGHAI)
    worker = Worker(engine, Notifier(MailSettings(smtp_url=None, mail_dir=tmp_path)), lambda: FolderTransport(tmp_path))
    assert worker.run_pass(clock.now).fired == 1
    number, at = engine.publication(item_id)
    assert number == f"{ORG}-03/2026-00001"
    assert at is not None and at.isoformat() == "2026-03-05T09:00:00+08:00"


@pytest.mark.parametrize("database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_two_workers_and_two_leaders_publishing_200_at_once_give_200_consecutive_numbers(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock, tmp_path: Path, settings: Settings
) -> None:
    scheduled: list[int] = []
    signing: list[int] = []
    for n in range(200):
        item_id = to_signoff(engine, make_item(category=f"{n % 12 + 1:02d}"))
        if n % 2:
            engine.fire(item_id, "schedule", "leader_a", fields={"publish_at": "2026-03-05T09:00"})
            scheduled.append(item_id)
        else:
            signing.append(item_id)
    clock.now = dt.datetime(2026, 3, 5, 10, 0, tzinfo=SHANGHAI)
    key = settings.require_audit_key()

    def fresh() -> WorkflowEngine:
        return WorkflowEngine(
            make_engine(settings.database_url), DefinitionRegistry(settings.definitions_dir), key, clock=clock
        )

    workers = [
        Worker(fresh(), Notifier(MailSettings(smtp_url=None, mail_dir=tmp_path / str(n))),
               lambda n=n: FolderTransport(tmp_path / str(n)), batch=10)  # type: ignore[misc]
        for n in range(2)
    ]  # fmt: skip
    leaders = [(fresh(), "leader_b", signing[0::2]), (fresh(), "leader_c", signing[1::2])]
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work(worker: Worker) -> None:
        barrier.wait()
        try:
            while worker.run_pass(clock.now).fired:
                pass
        except BaseException as error:
            errors.append(error)

    def sign(engine: WorkflowEngine, leader: str, ids: list[int]) -> None:
        barrier.wait()
        try:
            for item_id in ids:
                engine.fire(item_id, "sign_off", leader)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    threads += [threading.Thread(target=sign, args=leader) for leader in leaders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker in workers:
        worker.engine.db.dispose()
    for other, _, _ in leaders:
        other.db.dispose()
    assert errors == []
    numbers = [engine.publication(i)[0] for i in scheduled + signing]
    assert all(engine.show(i).state == "published" for i in scheduled + signing)
    serials = sorted(int(str(n).rsplit("-", 1)[1]) for n in numbers)
    assert serials == list(range(1, 201))
    assert len(set(numbers)) == 200
    assert auditlog.verify(engine.db, key).fault is None

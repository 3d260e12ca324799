"""The worker pass against a real SMTP server: new-task notices, reminders, escalation, once each."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest

from notifications.notices import Notifier
from notifications.settings import MailSettings
from notifications.transport import SmtpTransport
from tests.conftest import FrozenClock
from tests.smtp_server import RecordingHandler
from workflow.core.errors import ConfigurationError
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.store.db import make_engine
from workflow.store.registry import DefinitionRegistry
from workflow.worker.passes import Worker

D = dt.date


def at(day: dt.date, hour_utc: int = 1) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour_utc, 0, tzinfo=dt.UTC)


@pytest.fixture
def mail_settings(server: tuple[RecordingHandler, int]) -> MailSettings:
    return MailSettings(smtp_url=f"smtp://127.0.0.1:{server[1]}", base_url="https://gk.town.example.gov.cn")


@pytest.fixture
def office(engine: WorkflowEngine, mail_settings: MailSettings) -> WorkflowEngine:
    engine.notifier = Notifier(mail_settings)
    # The daily audit anchor mails the auditors (tests/test_audit_anchors.py); these tests count the rest.
    engine.set_active("auditor_a", False, by="admin_a")
    return engine


def make_worker(engine: WorkflowEngine, mail: MailSettings, **options: object) -> Worker:
    assert mail.smtp_url
    url = mail.smtp_url
    return Worker(
        engine, Notifier(mail), lambda: SmtpTransport.from_url(url, sender="gongkai@town.example.gov.cn"), **options
    )  # type: ignore[arg-type]


def to_whom(mailbox: RecordingHandler) -> list[tuple[str, str]]:
    return sorted((r.recipients[0], str(r.message["Subject"])) for r in mailbox.received)


def test_new_task_notice_goes_out_with_the_next_pass(
    office: WorkflowEngine,
    make_item: Callable[..., int],
    clock: FrozenClock,
    mail_settings: MailSettings,
    mailbox: RecordingHandler,
) -> None:
    clock.now = at(D(2026, 3, 2))
    item_id = make_item(title="<script>alert(1)</script> {{ 7*7 }}", body="机密正文")
    office.fire(item_id, "submit", "drafter_a")
    worker = make_worker(office, mail_settings)
    report = worker.run_pass(clock.now)
    assert report.sent == 3  # reviewer_a, reviewer_b, multi: everyone holding the reviewer role
    recipients = {r.recipients[0] for r in mailbox.received}
    assert recipients == {f"{n}@town.example.gov.cn" for n in ("reviewer_a", "reviewer_b", "multi")}
    message = mailbox.received[0].message
    assert office.show(item_id).reference in str(message["Subject"])
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>alert(1)</script> {{ 7*7 }}" in text and "49" not in text
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "机密正文" not in text and "机密正文" not in html  # still in confidentiality review
    assert worker.run_pass(clock.now).sent == 0  # nothing twice


def test_reminders_then_escalation_each_raised_once(
    office: WorkflowEngine,
    make_item: Callable[..., int],
    clock: FrozenClock,
    mail_settings: MailSettings,
    mailbox: RecordingHandler,
) -> None:
    clock.now = at(D(2026, 3, 2))
    item_id = make_item()
    office.fire(item_id, "submit", "drafter_a")  # review due 2026-03-09, reminder 1 working day before
    worker = make_worker(office, mail_settings)
    worker.run_pass(clock.now)
    mailbox.reset()
    for day in (D(2026, 3, 6), D(2026, 3, 6)):
        worker.run_pass(at(day))
    upcoming = to_whom(mailbox)
    assert len(upcoming) == 3 and all("2026-03-09" in subject or "3月9日" in subject for _, subject in upcoming)
    mailbox.reset()
    worker.run_pass(at(D(2026, 3, 9)))  # due today
    assert len(mailbox.received) == 3
    mailbox.reset()
    for _ in range(2):
        worker.run_pass(at(D(2026, 3, 10)))  # overdue: the reviewers once, the leaders escalated once today
    recipients = sorted(r.recipients[0].split("@")[0] for r in mailbox.received)
    assert recipients == sorted(["reviewer_a", "reviewer_b", "multi", "leader_a", "leader_b", "leader_c", "multi"])
    mailbox.reset()
    worker.run_pass(at(D(2026, 3, 11)))  # the next working day: escalated again, not reminded again
    assert sorted(r.recipients[0].split("@")[0] for r in mailbox.received) == [
        "leader_a",
        "leader_b",
        "leader_c",
        "multi",
    ]


def test_a_second_worker_on_sqlite_is_refused(
    office: WorkflowEngine, settings: Settings, mail_settings: MailSettings
) -> None:
    first = make_worker(office, mail_settings)
    first.acquire()
    second = make_worker(office, mail_settings)
    if office.db.dialect.name == "sqlite":
        with pytest.raises(ConfigurationError) as refused:
            second.acquire()
        assert refused.value.key == "worker.sqlite_second"
        first.release()
        second.acquire()
    else:
        second.acquire()  # several workers are the PostgreSQL set-up


def test_three_workers_raise_and_send_each_reminder_once(
    office: WorkflowEngine,
    make_item: Callable[..., int],
    clock: FrozenClock,
    mail_settings: MailSettings,
    mailbox: RecordingHandler,
    settings: Settings,
) -> None:
    """On PostgreSQL all three work; on SQLite one works and the other two are refused, clearly."""
    clock.now = at(D(2026, 3, 2))
    ids = [make_item() for _ in range(6)]
    for item_id in ids:
        office.fire(item_id, "submit", "drafter_a")
    workers = []
    for _ in range(3):
        engine = WorkflowEngine(
            make_engine(settings.database_url),
            DefinitionRegistry(settings.definitions_dir),
            settings.require_audit_key(),
            clock=clock,
            notifier=Notifier(mail_settings),
        )
        workers.append(make_worker(engine, mail_settings))
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def run(worker: Worker) -> None:
        for day in (D(2026, 3, 2), D(2026, 3, 6), D(2026, 3, 10)):
            barrier.wait()  # the workers share one clock, as real ones do
            try:
                worker.run_pass(at(day))
            except BaseException as error:
                errors.append(error)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if office.db.dialect.name == "sqlite":
        assert len(errors) == 6 and all(getattr(e, "key", "") == "worker.sqlite_second" for e in errors)
    else:
        assert errors == []
    ids_seen = mailbox.message_ids()
    assert len(ids_seen) == len(set(ids_seen))
    # per item: 3 new-task notices, 3 upcoming, 3 overdue, 4 escalations (3 leaders and multi)
    assert len(ids_seen) == len(ids) * 13
    for worker in workers:
        worker.engine.db.dispose()


def test_periodic_update_asks_the_drafter_once_per_cycle(
    office: WorkflowEngine,
    make_item: Callable[..., int],
    clock: FrozenClock,
    mail_settings: MailSettings,
    mailbox: RecordingHandler,
) -> None:
    clock.now = at(D(2026, 3, 2))
    item_id = make_item(category="06")  # 便民服务: re-checked every 90 days
    for trigger, actor in (("submit", "drafter_a"), ("clear", "reviewer_a"), ("sign_off", "leader_a")):
        office.fire(item_id, trigger, actor)
    worker = make_worker(office, mail_settings)
    worker.run_pass(at(D(2026, 3, 2)))
    mailbox.reset()
    worker.run_pass(at(D(2026, 5, 29)))  # 88 days: not yet
    assert mailbox.received == []
    for _ in range(2):
        worker.run_pass(at(D(2026, 6, 1)))  # 91 days: once
    assert [r.recipients[0] for r in mailbox.received] == ["drafter_a@town.example.gov.cn"]
    assert office.show(item_id).reference in str(mailbox.received[0].message["Subject"])
    mailbox.reset()
    worker.run_pass(at(D(2026, 8, 31)))  # the next cycle (182 days): again
    assert len(mailbox.received) == 1


def test_a_digest_reader_gets_one_daily_email_instead_of_single_ones(
    office: WorkflowEngine,
    make_item: Callable[..., int],
    clock: FrozenClock,
    mail_settings: MailSettings,
    mailbox: RecordingHandler,
) -> None:
    from workflow.store.people import set_digest

    with office.db.begin() as conn:
        set_digest(conn, "reviewer_b", True)
    clock.now = at(D(2026, 3, 2))
    first, second = make_item(title="第一条"), make_item(title="第二条")
    for item_id in (first, second):
        office.fire(item_id, "submit", "drafter_a")
    worker = make_worker(office, mail_settings)
    for _ in range(2):
        worker.run_pass(at(D(2026, 3, 2)))
    to_b = [r for r in mailbox.received if r.recipients[0] == "reviewer_b@town.example.gov.cn"]
    assert len(to_b) == 1  # one digest, no single new-task notices
    text = to_b[0].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "第一条" in text and "第二条" in text
    to_a = [r for r in mailbox.received if r.recipients[0] == "reviewer_a@town.example.gov.cn"]
    assert len(to_a) == 2  # single notices for those who did not choose the digest
    mailbox.reset()
    worker.run_pass(at(D(2026, 3, 7)))  # Saturday: no digest
    assert [r for r in mailbox.received if r.recipients[0].startswith("reviewer_b")] == []
    worker.run_pass(at(D(2026, 3, 9)))
    assert len([r for r in mailbox.received if r.recipients[0].startswith("reviewer_b")]) == 1


def test_escalation_names_everyone_who_was_late_in_this_round(
    office: WorkflowEngine,
    make_item: Callable[..., int],
    clock: FrozenClock,
    mail_settings: MailSettings,
    mailbox: RecordingHandler,
) -> None:
    clock.now = at(D(2026, 3, 2))
    item_id = make_item()
    office.fire(item_id, "submit", "drafter_a")  # review due 2026-03-09 (5 working days)
    clock.now = at(D(2026, 3, 12))
    office.fire(item_id, "clear", "reviewer_b")  # three working days late; sign-off due 2026-03-17
    worker = make_worker(office, mail_settings)
    worker.run_pass(at(D(2026, 3, 12)))
    mailbox.reset()
    worker.run_pass(at(D(2026, 3, 18)))  # sign-off overdue: escalated
    escalations = [r for r in mailbox.received if "督办" in str(r.message["Subject"])]
    assert escalations
    text = escalations[0].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    chain = text.split("逾期经过")[1]
    review_line = next(line for line in chain.splitlines() if "reviewer_b" in line)
    assert "保密审查" in review_line and "3月9日" in review_line and "3月12日" in review_line
    assert chain.index("reviewer_b") < chain.index("leader_a")  # earlier steps first, then who holds it now


def test_confirming_an_item_is_current_starts_its_next_cycle_from_then(
    office: WorkflowEngine,
    make_item: Callable[..., int],
    clock: FrozenClock,
    mail_settings: MailSettings,
    mailbox: RecordingHandler,
) -> None:
    clock.now = at(D(2026, 3, 2))
    item_id = make_item(category="06")
    for trigger, actor in (("submit", "drafter_a"), ("clear", "reviewer_a"), ("sign_off", "leader_a")):
        office.fire(item_id, trigger, actor)
    worker = make_worker(office, mail_settings)
    worker.run_pass(at(D(2026, 6, 1)))
    mailbox.reset()
    clock.now = at(D(2026, 6, 10))
    office.fire(item_id, "confirm_current", "drafter_a", comment="内容仍然有效")
    assert office.show(item_id).state == "published"  # logged, nothing else changes
    worker.run_pass(at(D(2026, 8, 31)))  # 182 days after publication, but 82 after the confirmation
    assert mailbox.received == []
    worker.run_pass(at(D(2026, 9, 8)))  # 90 days after the confirmation
    assert [r.recipients[0] for r in mailbox.received] == ["drafter_a@town.example.gov.cn"]


def test_status_rows_of_workers_gone_for_a_week_are_forgotten(
    office: WorkflowEngine, mail_settings: MailSettings, clock: FrozenClock
) -> None:
    from sqlalchemy import select, update

    from workflow.worker.passes import leases, status

    old, current = make_worker(office, mail_settings), make_worker(office, mail_settings)
    old.run_pass(clock.now)
    old.release()
    with office.db.begin() as conn:
        conn.execute(
            update(leases)
            .where(leases.c.name == f"status:{old.owner}"[:40])
            .values(last_pass_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=8))
        )
    current.run_pass(clock.now)
    with office.db.connect() as conn:
        names = set(conn.execute(select(leases.c.name)).scalars())
    assert f"status:{current.owner}"[:40] in names and f"status:{old.owner}"[:40] not in names
    assert [p["owner"] for p in status(office)["passes"]] == [current.owner]


def test_a_notice_whose_item_moved_on_before_it_went_out_is_not_sent(
    office: WorkflowEngine,
    make_item: Callable[..., int],
    clock: FrozenClock,
    mail_settings: MailSettings,
    mailbox: RecordingHandler,
) -> None:
    from sqlalchemy import select

    from notifications.outbox import outbox

    clock.now = at(D(2026, 3, 2))
    item_id = make_item()
    office.fire(item_id, "submit", "drafter_a")  # notices to reviewer_a, reviewer_b, multi
    office.fire(item_id, "clear", "reviewer_a")  # ...but reviewer_a decides before the worker's pass
    report = make_worker(office, mail_settings).run_pass(clock.now)
    assert report.skipped == 3
    recipients = sorted(r.recipients[0].split("@")[0] for r in mailbox.received)
    assert recipients == ["leader_a", "leader_b", "leader_c", "multi"]  # the notices that still ask something
    with office.db.connect() as conn:
        query = select(outbox.c.recipient, outbox.c.last_error).where(outbox.c.status == "skipped")
        skipped = conn.execute(query).all()
    assert len(skipped) == 3
    assert all("moved on" in (error or "") and "clear by reviewer_a" in (error or "") for _, error in skipped)


def test_the_web_records_are_kept_for_their_time_and_then_forgotten(
    office: WorkflowEngine, mail_settings: MailSettings, clock: FrozenClock
) -> None:
    from sqlalchemy import insert, select

    from workflow.worker.passes import security_log, used_tokens

    wall = dt.datetime.now(dt.UTC)
    with office.db.begin() as conn:
        for days in (400, 200):
            conn.execute(insert(security_log).values(at=wall - dt.timedelta(days=days), event=f"old_{days}"))
        for days in (9, 2):
            conn.execute(
                insert(used_tokens).values(
                    token_id=f"t{days}", kind="action", user_name="reviewer_a", used_at=wall - dt.timedelta(days=days)
                )
            )
    make_worker(office, mail_settings, security_log_days=365, link_days=7).run_pass(clock.now)
    with office.db.connect() as conn:
        assert list(conn.execute(select(security_log.c.event)).scalars()) == ["old_200"]  # six months at least
        assert list(conn.execute(select(used_tokens.c.token_id)).scalars()) == ["t2"]


def test_the_security_log_cannot_be_set_below_six_months() -> None:
    from workflow.core.errors import ConfigurationError

    assert Settings.from_env({"GONGKAI_SECURITY_LOG_DAYS": "180"}).security_log_days == 180
    with pytest.raises(ConfigurationError) as short:
        Settings.from_env({"GONGKAI_SECURITY_LOG_DAYS": "90"})
    assert "180" in short.value.render("en")

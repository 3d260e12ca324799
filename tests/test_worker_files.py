"""The worker's daily files check: an attachment altered on disk after clearing is emailed to the
administrators through the outbox and a real SMTP server, once per problem per day."""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Callable
from typing import Any

from notifications.notices import Notifier
from notifications.settings import MailSettings
from notifications.transport import SmtpTransport
from tests import sample_files as files
from tests.smtp_server import RecordingHandler
from workflow.core.attachments import Upload
from workflow.engine import WorkflowEngine
from workflow.store.files import FolderFileStore
from workflow.worker.passes import Worker


def at(day: int, hour_utc: int = 1) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour_utc, 0, tzinfo=dt.UTC)


def files_mail(mailbox: RecordingHandler) -> list[Any]:
    return [r for r in mailbox.received if str(r.message["Subject"]).startswith("[Files]")]


def test_an_altered_attachment_is_emailed_to_the_admins_once_a_day(
    engine: WorkflowEngine,
    make_item: Callable[..., int],
    server: tuple[RecordingHandler, int],
    mailbox: RecordingHandler,
) -> None:
    url = f"smtp://127.0.0.1:{server[1]}"
    mail = MailSettings(smtp_url=url, base_url="https://gk.town.example.gov.cn")
    worker = Worker(
        engine, Notifier(mail, "en"), lambda: SmtpTransport.from_url(url, sender="gongkai@town.example.gov.cn")
    )
    item_id = make_item()
    view = engine.attach(item_id, "drafter_a", [Upload("预算表.xlsx", io.BytesIO(files.xlsx()))])
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "clear", "reviewer_a")
    worker.run_pass(at(2))
    assert files_mail(mailbox) == []

    sha = view.meta["attachments"][0]["sha256"]
    assert isinstance(engine.files, FolderFileStore)
    path = engine.files.path_for(sha)
    os.chmod(path, 0o644)
    path.write_bytes(files.xlsx() + b"changed after clearing")
    mailbox.reset()
    worker.run_pass(at(2, 5))
    assert files_mail(mailbox) == [], "the day's check was done already"
    worker.run_pass(at(3))
    worker.run_pass(at(3, 5))
    told = [(r.recipients[0], str(r.message["Subject"])) for r in files_mail(mailbox)]
    assert told == [("admin_a@town.example.gov.cn", "[Files] 1 stored attachment is not what was attached")]
    text = files_mail(mailbox)[0].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = files_mail(mailbox)[0].message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert sha in text and "Changed on disk: its content now hashes to" in text
    assert f"{view.reference} https://gk.town.example.gov.cn/items/{view.reference}" in text
    assert f'<a href="https://gk.town.example.gov.cn/items/{view.reference}">{view.reference}</a>' in html
    mailbox.reset()
    path.unlink()
    worker.run_pass(at(4))
    (missing,) = files_mail(mailbox)
    assert "Missing from the file store." in missing.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]

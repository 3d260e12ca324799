"""Hostile titles, bodies and comments stay text in every output: the emails, the office's pages, the public
site, the audit CSV and the timeliness workbook (issue 12: hostile input).

One item carries markup (``<script>``, an ``onerror`` image), template syntax (``{{7*7}}``, ``{% ... %}``),
a spreadsheet formula (``=HYPERLINK(...)``), CR/LF where a header might take it and 10 KB of mixed scripts;
it goes through its real chain to publication, the worker sends its emails, the site is built, the audit
log is exported. Every output must show the text as the person wrote it: escaped in HTML, never evaluated as
a template, never a header line of its own, never a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
import io
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from notifications.notices import Notifier
from notifications.settings import MailSettings
from notifications.transport import FolderTransport
from tests.conftest import FrozenClock
from tests.site_support import builder_for
from tests.web_support import make_web
from workflow.core.publication import item_path
from workflow.core.spreadsheet import as_text_cell
from workflow.engine import WorkflowEngine
from workflow.reports.timeliness_formats import to_xlsx
from workflow.reports.timeliness_source import timeliness_report
from workflow.settings import Settings
from workflow.store.audit_query import AuditQuery, csv_lines, stream
from workflow.worker.passes import Worker

SCRIPT = "<script>window.pwned=1</script>"
IMAGE = '<img src=x onerror="window.pwned=2">'
TEMPLATE = "{{7*7}}{% if true %}模板{% endif %}"
FORMULA = '=HYPERLINK("http://evil.example/","点击")'
MIXED = ("公开 Ελληνικά العربية עברית हिन्दी русский 日本語 한국어 🙂 \u202eRTL\u202c " * 80)[:10_240]
TITLE = f"{SCRIPT}{IMAGE}{TEMPLATE}公告"
BODY = f"{SCRIPT}\n\n{IMAGE}\n\n{TEMPLATE}\n\n{MIXED}"
COMMENT = f"{FORMULA}\r\nBcc: victim@example.com"


@pytest.fixture
def hostile(engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock, tmp_path: Path) -> int:
    """The hostile item, published through its chain, with the worker's emails written to ``tmp_path/mail``."""
    mail = MailSettings(smtp_url=None, mail_dir=tmp_path / "mail", base_url="http://127.0.0.1:8000")
    engine.notifier = Notifier(mail)
    item_id = make_item(title=TITLE, body=BODY)
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "send_back", "reviewer_a", comment=COMMENT)
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "clear", "reviewer_a", comment=FORMULA)
    engine.fire(item_id, "sign_off", "leader_a")
    Worker(engine, engine.notifier, lambda: FolderTransport(tmp_path / "mail")).run_pass(clock.now)
    return item_id


def assert_escaped(html: str) -> None:
    assert SCRIPT not in html and "<img src=x" not in html and "pwned=1</script>" not in html
    assert "&lt;script&gt;" in html  # shown, as text
    assert "{{7*7}}" in html.replace("&#123;", "{").replace("&#125;", "}") and ">49" not in html


def test_emails_keep_hostile_text_as_text(hostile: int, tmp_path: Path) -> None:
    sent = [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in (tmp_path / "mail").glob("*.eml")
    ]
    assert sent, "the chain's moves wrote new-task emails"
    for message in sent:
        for name, value in message.items():
            assert "\r" not in value and "\n" not in value.replace("\n ", "").replace("\n\t", ""), (name, value)
        assert "victim@example.com" not in (message["Bcc"] or "") and message["Bcc"] is None
        html_part = message.get_body(preferencelist=("html",))
        if html_part is not None and "公告" in html_part.get_content():
            assert_escaped(html_part.get_content())
        text = message.get_body(preferencelist=("plain",))
        assert text is not None and "49公告" not in text.get_content()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_office_pages_and_public_site_keep_hostile_text_as_text(
    hostile: int, engine: WorkflowEngine, settings: Settings, clock: FrozenClock, tmp_path: Path
) -> None:
    web = make_web(engine, settings, tmp_path / "web-mail", clock)
    reference = engine.show(hostile).reference
    for who in ("drafter_a", "leader_a"):
        web.sign_in(who)
        page = web.client.get(f"/items/{reference}")
        assert page.status_code == 200
        assert_escaped(page.text)
        assert MIXED[:200] in page.text
    web.sign_in("auditor_a")
    audit = web.client.get("/audit").text
    assert SCRIPT not in audit and "<img src=x" not in audit

    site = tmp_path / "site"
    builder_for(engine, site).full()
    public = (site / item_path(reference)).read_text(encoding="utf-8")
    assert_escaped(public)
    assert MIXED[:200] in public
    for listing in ("index.html", "catalog/03/index.html", "feed.xml"):
        text = (site / listing).read_text(encoding="utf-8")
        assert SCRIPT not in text and "<img src=x" not in text, listing


def test_the_audit_csv_and_the_workbook_keep_formulas_as_text(
    hostile: int, engine: WorkflowEngine, clock: FrozenClock
) -> None:
    zone = ZoneInfo("Asia/Shanghai")
    exported = "".join(csv_lines(stream(engine.db, AuditQuery(), zone), zone, lambda name: None))
    rows = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
    header = rows[0]
    comments = [row[header.index("comment")] for row in rows[1:] if row[header.index("comment")]]
    assert comments and all(not c.startswith(("=", "+", "-", "@")) for c in comments)
    assert f"'{FORMULA}" in comments  # quoted, so a spreadsheet shows it and never runs it
    assert as_text_cell(-3) == -3 and as_text_cell("-3") == "'-3" and as_text_cell("公告") == "公告"

    today = clock.now.astimezone(zone).date()
    report = timeliness_report(engine, today - dt.timedelta(days=30), today)
    book = load_workbook(io.BytesIO(to_xlsx(report, "zh")))
    formulas = [c.value for sheet in book for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []

"""The audit log as auditors query it: every filter, keyset pages, the exports, the web page's filters.

On SQLite and PostgreSQL (the ``engine`` fixture); the command line's formats are in test_audit_cli.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from tests.conftest import FrozenClock
from tests.web_support import Web, make_web
from workflow.core.personnel import Account
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.store import audit_query
from workflow.store.audit_query import AuditQuery
from workflow.store.db import reading

ZONE = dt.timezone(dt.timedelta(hours=8))


def office_time(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, 0, tzinfo=ZONE)


@pytest.fixture
def history(engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock) -> dict[str, int]:
    """Three office days of steps: 2 March create+submit of 甲, 3 March 乙 sent back (late evening), 4 March
    甲 cleared and a role change; the day boundaries are office time (UTC+8), not UTC."""
    clock.now = office_time(2, 9)
    first = make_item(title="甲：防汛")
    engine.fire(first, "submit", "drafter_a")
    clock.now = office_time(3, 23)  # 15:00 UTC on the 3rd; still the 3rd in the office
    second = make_item(title="乙", actor="drafter_b")
    engine.fire(second, "submit", "drafter_b")
    engine.fire(second, "send_back", "reviewer_a", comment="请补充依据")
    clock.now = office_time(4, 0) + dt.timedelta(minutes=30)  # 16:30 UTC on the 3rd; the 4th in the office
    engine.fire(first, "clear", "reviewer_b")
    engine.change_roles("office_b", grant=["leader"], by="admin_a")
    return {"first": first, "second": second}


def listed(engine: WorkflowEngine, raw: dict[str, str | None], **options: Any) -> list[tuple[str, int | None]]:
    with reading(engine.db) as conn:
        wanted, problems = audit_query.parse_filters(conn, raw, audit_query.declared_names(engine.registry))
    assert problems == []
    return [(r.trigger, r.item_id) for r in audit_query.stream(engine.db, wanted, engine.zone, **options)]


def test_every_filter_selects_its_rows(engine: WorkflowEngine, history: dict[str, int]) -> None:
    first, second = history["first"], history["second"]
    reference = engine.show(second).reference
    assert listed(engine, {"item": str(first)}) == [("create", first), ("submit", first), ("clear", first)]
    assert listed(engine, {"item": reference.lower()}) == [("create", second), ("submit", second),
                                                           ("send_back", second)]  # fmt: skip
    assert listed(engine, {"person": "reviewer_a"}) == [("send_back", second)]
    assert listed(engine, {"person": "office_b"}) == [("person.roles", None)]  # a change about them
    assert listed(engine, {"role": "confidentiality_reviewer"}) == [("send_back", second), ("clear", first)]
    assert listed(engine, {"role": "admin"}) == [("person.roles", None)]
    assert listed(engine, {"trigger": "submit"}) == [("submit", first), ("submit", second)]
    assert listed(engine, {"state": "confidentiality_review"}) == [
        ("submit", first), ("submit", second), ("send_back", second), ("clear", first),
    ]  # fmt: skip
    assert listed(engine, {"from": "2026-03-03", "to": "2026-03-03"}) == [
        ("create", second), ("submit", second), ("send_back", second),
    ]  # fmt: skip
    assert [t for t, _ in listed(engine, {"from": "2026-03-04"})] == ["clear", "person.roles"]
    assert [t for t, _ in listed(engine, {"to": "2026-03-02"})] == ["create", "submit"]
    # Filters combine: every one must hold.
    assert listed(engine, {"person": "drafter_b", "trigger": "submit", "from": "2026-03-03"}) == [("submit", second)]
    assert listed(engine, {"person": "drafter_b", "to": "2026-03-02"}) == []
    assert len(listed(engine, {})) == 7  # the fixture's people were added outside the chain


@pytest.mark.parametrize(
    ("raw", "option", "key"),
    [
        ({"item": "GK-2099-0001"}, "item", "audit.filter_unknown_item"),
        ({"item": "9999"}, "item", "audit.filter_unknown_item"),
        ({"person": "nobody"}, "person", "audit.filter_unknown_person"),
        ({"role": "boss"}, "role", "audit.filter_unknown_role"),
        ({"trigger": "aprove"}, "trigger", "audit.filter_unknown_value"),
        ({"state": "reviewing"}, "state", "audit.filter_unknown_value"),
        ({"from": "2026-02-30"}, "from", "audit.filter_bad_date"),
        ({"to": "yesterday"}, "to", "audit.filter_bad_date"),
        ({"from": "2026-03-05", "to": "2026-03-04"}, "to", "audit.filter_dates_reversed"),
    ],
)
def test_a_bad_filter_value_is_named_by_its_option(
    engine: WorkflowEngine, history: dict[str, int], raw: dict[str, str], option: str, key: str
) -> None:
    with reading(engine.db) as conn:
        _, problems = audit_query.parse_filters(conn, raw, audit_query.declared_names(engine.registry))
    assert [(p.option, p.key) for p in problems] == [(option, key)]


def test_a_declared_trigger_never_fired_yet_is_no_error(engine: WorkflowEngine, history: dict[str, int]) -> None:
    assert listed(engine, {"trigger": "withhold"}) == []


@contextmanager
def counted_fetches(db: Engine) -> Iterator[list[str]]:
    """Every statement sent to the database while the block runs."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(db, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db, "before_cursor_execute", record)


def test_pages_give_every_row_once_in_order_with_bounded_fetches(
    engine: WorkflowEngine, history: dict[str, int], clock: FrozenClock
) -> None:
    everything = [r.seq for r in audit_query.stream(engine.db, AuditQuery(), engine.zone, page_size=1000)]
    assert everything == list(range(1, 8))
    for size in (1, 2, 3, 7, 8):
        with counted_fetches(engine.db) as statements:
            rows = iter(audit_query.stream(engine.db, AuditQuery(), engine.zone, page_size=size))
            first = next(rows)
            # Lazy: one head read and one page so far, whatever the size of the log.
            assert len([s for s in statements if "audit_log" in s]) == 2
            seqs = [first.seq, *(r.seq for r in rows)]
        assert seqs == everything, size
        pages = [s for s in statements if "LIMIT" in s.upper() and "audit_log" in s]
        assert len(pages) == len(everything) // size + 1, size  # the last page is short (or empty)
        newest = [r.seq for r in audit_query.stream(engine.db, AuditQuery(), engine.zone, page_size=size,
                                                    newest_first=True)]  # fmt: skip
        assert newest == everything[::-1]
    # Rows appended during an export are left for the next one: it stops at the head it started from.
    rows = iter(audit_query.stream(engine.db, AuditQuery(), engine.zone, page_size=2))
    taken = [next(rows).seq]
    engine.change_roles("office_a", grant=["leader"], by="admin_a")
    taken += [r.seq for r in rows]
    assert taken == everything


def test_the_csv_has_a_bom_one_header_the_columns_and_chinese_intact(
    engine: WorkflowEngine, history: dict[str, int]
) -> None:
    rows = audit_query.stream(engine.db, AuditQuery(item_id=history["second"]), engine.zone, page_size=2)
    text = "".join(audit_query.csv_lines(rows, engine.zone, {"drafter_b": "王芳"}.get))
    assert text.startswith("\ufeff") and text.count("\ufeff") == 1
    read = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert list(read[0]) == list(audit_query.CSV_COLUMNS)
    assert [r["trigger"] for r in read] == ["create", "submit", "send_back"]
    assert read[2]["comment"] == "请补充依据" and read[0]["actor_display_name"] == "王芳"
    assert json.loads(read[0]["details"])["title"] == "乙"
    assert read[2]["at"].endswith("+08:00") and read[2]["at"].startswith("2026-03-03T23:00")
    lines = [json.loads(line) for line in audit_query.jsonl_lines(
        audit_query.stream(engine.db, AuditQuery(item_id=history["second"]), engine.zone))]  # fmt: skip
    assert [(e["trigger"], e["comment"]) for e in lines][-1] == ("send_back", "请补充依据")


# ---- the web page ----------------------------------------------------------------------------------


@pytest.fixture
def web(engine: WorkflowEngine, settings: Settings, tmp_path: Path, clock: FrozenClock) -> Web:
    return make_web(engine, settings, tmp_path / "mail", clock)


def test_the_web_page_has_the_same_filters_and_its_csv_follows_them(
    web: Web, engine: WorkflowEngine, history: dict[str, int]
) -> None:
    engine.add_person("clerk", email="clerk@town.example.gov.cn", roles=["office"], by=Account("root"))
    web.sign_in("auditor_a")
    page = web.client.get("/audit", params={"role": "confidentiality_reviewer", "state": "confidentiality_review"})
    assert page.status_code == 200 and "请补充依据" in page.text and "显示最近 2 条" in page.text
    assert '<option value="confidentiality_reviewer" selected>' in page.text
    download = web.client.get("/audit.csv", params={"role": "confidentiality_reviewer", "since": "2026-03-04"})
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert download.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert [(r["trigger"], r["actor"]) for r in rows] == [("clear", "reviewer_b")]
    by_trigger = web.client.get("/audit.csv", params={"trigger": "send_back", "until": "2026-03-03"})
    assert [r["comment"] for r in csv.DictReader(io.StringIO(by_trigger.content.decode("utf-8-sig")))] == ["请补充依据"]


def test_a_bad_filter_on_the_web_is_named_beside_its_field_and_lists_nothing(web: Web, history: dict[str, int]) -> None:
    web.sign_in("auditor_a")
    page = web.client.get("/audit", params={"state": "reviewing", "since": "2026-03-05", "until": "2026-03-01"})
    assert page.status_code == 400
    assert 'id="f-state" name="state" value="reviewing" aria-invalid="true"' in page.text
    assert 'id="f-state-error"' in page.text and 'id="f-until-error"' in page.text
    assert "<table" not in page.text and "/audit.csv" not in page.text
    refused = web.client.get("/audit.csv", params={"role": "boss"})
    assert refused.status_code == 400 and "boss" in refused.text and "hash" not in refused.text
    web.sign_in("reviewer_a")
    assert web.client.get("/audit.csv", params={"role": "boss"}).status_code == 403

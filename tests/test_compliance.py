"""The compliance check (``gongkai audit check``): each rule caught on rows written around the engine with
plain SQL, a clean chain that gives no finding, on SQLite and PostgreSQL.

The office's people are added through the engine here (not the shared fixture's direct inserts), so their
roles are rows of the chain, as in a real office.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, text

from tests.conftest import AUDIT_KEY, DEFINITIONS, OFFICE, FrozenClock
from tests.env import outside_env
from workflow.core.personnel import Account
from workflow.engine import WorkflowEngine
from workflow.reports.compliance import Finding, check_database
from workflow.settings import Settings
from workflow.store.compliance_rows import stored_definitions
from workflow.store.files import FolderFileStore
from workflow.store.models import UTCDateTime
from workflow.store.registry import DefinitionRegistry

ROOT = Account("root")
GONGKAI = str(Path(sys.executable).with_name("gongkai"))


@pytest.fixture
def office(db: Engine, settings: Settings, clock: FrozenClock, tmp_path: Path) -> WorkflowEngine:
    engine = WorkflowEngine(
        db, DefinitionRegistry(settings.definitions_dir), settings.require_audit_key(), clock=clock,
        files=FolderFileStore(tmp_path / "files"),
    )  # fmt: skip
    for name, roles in OFFICE:
        engine.add_person(name, email=f"{name}@town.example.gov.cn", roles=roles, by=ROOT)
    return engine


def findings(engine: WorkflowEngine, start: dt.date | None = None, end: dt.date | None = None) -> list[Finding]:
    definitions = stored_definitions(engine.db, engine.registry)
    today = end or engine.today()
    return list(check_database(engine.db, definitions, engine.calendar, engine.zone, today, start, end))


def codes(found: list[Finding]) -> set[tuple[str, str]]:
    return {(f.subject, f.code) for f in found}


def sql_step(engine: WorkflowEngine, item_id: int, trigger: str, from_state: str, to_state: str, actor: str,
             role: str, *, at: dt.datetime | None = None, comment: str | None = None, fields: str = "{}",
             content_hash: str | None = None, on_behalf_of: str | None = None) -> int:  # fmt: skip
    """An audit row appended with plain SQL, as someone writing around the engine would (no valid HMAC)."""
    with engine.db.begin() as conn:
        item = conn.execute(
            text("SELECT definition, definition_version, content_hash FROM items WHERE id = :id"), {"id": item_id}
        ).one()
        seq = conn.execute(text("SELECT max(seq) FROM audit_log")).scalar_one() + 1
        statement = text(
            "INSERT INTO audit_log (seq, item_id, definition, definition_version, trigger, from_state, to_state,"
            " actor, on_behalf_of, role, at, comment, fields, details, content_hash, prev_hash, hash) VALUES"
            " (:seq, :item_id, :definition, :version, :trigger, :from_state, :to_state, :actor, :on_behalf_of,"
            " :role, :at, :comment, :fields, '{}', :content_hash, :prev, :hash)"
        ).bindparams(bindparam("at", type_=UTCDateTime()))
        conn.execute(statement, {
            "seq": seq, "item_id": item_id, "definition": item.definition, "version": item.definition_version,
            "trigger": trigger, "from_state": from_state, "to_state": to_state, "actor": actor,
            "on_behalf_of": on_behalf_of, "role": role, "at": at or engine.clock(), "comment": comment,
            "fields": fields, "content_hash": content_hash or item.content_hash, "prev": "0" * 64, "hash": "f" * 64,
        })  # fmt: skip
        # Whoever writes around the engine moves the head too, or the engine's next row would collide.
        conn.execute(
            text("UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1"), {"seq": seq, "hash": "f" * 64}
        )
    return int(seq)


def sql(engine: WorkflowEngine, statement: str, **params: Any) -> None:
    with engine.db.begin() as conn:
        conn.execute(text(statement), params)


def reviewed(engine: WorkflowEngine, drafter: str = "drafter_a", reviewer: str = "reviewer_a") -> int:
    item = engine.create("proactive_disclosure", title="防汛安排", actor=drafter, body="正文", category="03").id
    engine.fire(item, "submit", drafter)
    engine.fire(item, "clear", reviewer)
    return item


def application(requester: str, requester_type: str, channel: str) -> dict[str, str]:
    return {"requester": requester, "requester_type": requester_type, "channel": channel, "received_on": "2026-03-02"}


def reference(engine: WorkflowEngine, item_id: int) -> str:
    return engine.show(item_id).reference


def test_a_clean_chain_gives_no_finding(office: WorkflowEngine, clock: FrozenClock) -> None:
    engine = office
    published = reviewed(engine)
    engine.fire(published, "sign_off", "leader_a", fields={"unpublish_at": "2027-03-01T09:00"})
    sent_back = engine.create("proactive_disclosure", title="通知", actor="drafter_b", body="一", category="03").id
    engine.fire(sent_back, "submit", "drafter_b")
    engine.fire(sent_back, "send_back", "reviewer_b", comment="请补充")
    engine.edit(sent_back, "drafter_b", body="二")
    engine.fire(sent_back, "submit", "drafter_b")
    # A substitute within the delegation's days, for the principal's role.
    engine.delegate("reviewer_a", "leader_c", dt.date(2026, 3, 2), dt.date(2026, 3, 6), by="reviewer_a")
    engine.fire(sent_back, "clear", "leader_c")
    engine.fire(sent_back, "schedule", "leader_a", fields={"publish_at": "2026-03-03T09:00"})
    clock.advance(days=1, hours=2)
    engine.fire_timed(sent_back, "publish", expected_version=engine.show(sent_back).version)
    withheld = engine.create("proactive_disclosure", title="内部", actor="drafter_a", body="三", category="03").id
    engine.fire(withheld, "submit", "drafter_a")
    engine.fire(withheld, "withhold", "reviewer_b", comment="涉及国家秘密")
    request = engine.create(
        "disclosure_request", title="申请", actor="office_a", fields=application("张三", "natural_person", "online")
    ).id
    engine.fire(request, "register", "office_a")
    engine.fire(request, "draft_reply", "office_a", fields={"outcome": "refused_third_party"},
                comment="涉及第三方商业秘密，第三方不同意公开（条例第三十二条）")  # fmt: skip
    engine.fire(request, "clear", "reviewer_a")
    engine.fire(request, "sign_off", "leader_b")

    assert findings(engine) == []
    assert engine.show(sent_back).state == "published"


def test_an_item_changed_by_hand(office: WorkflowEngine) -> None:
    engine = office
    moved = reviewed(engine)
    texted = reviewed(engine, "drafter_b", "reviewer_b")
    sql(engine, "UPDATE items SET state = 'published' WHERE id = :id", id=moved)
    sql(engine, "UPDATE items SET body = '改过的正文' WHERE id = :id", id=texted)

    found = findings(engine)
    by_variant = {(f.subject, f.variant): f for f in found}
    state = by_variant[(reference(engine, moved), "state")]
    assert state.code == "state_unexplained"
    assert state.params["stored"] == "published" and state.params["logged"] == "leadership_signoff"
    assert "published" in state.message("en") and "已" not in state.message("en")
    assert (reference(engine, texted), "text") in by_variant
    assert {f.code for f in found} == {"state_unexplained"}


def test_a_row_deleted_from_items_is_missing(office: WorkflowEngine) -> None:
    engine = office
    item = reviewed(engine)
    ref = reference(engine, item)
    for table in ("deadlines", "item_revisions"):
        sql(engine, f"DELETE FROM {table} WHERE item_id = :id", id=item)
    sql(engine, "DELETE FROM items WHERE id = :id", id=item)
    found = findings(engine)
    assert [(f.subject, f.code, f.variant) for f in found] == [(ref, "state_unexplained", "missing")]


def test_publication_without_clearing_that_content(office: WorkflowEngine) -> None:
    engine = office
    item = reviewed(engine)
    clear_seq = _last_seq(engine, item, "clear")
    published = sql_step(engine, item, "sign_off", "leadership_signoff", "published", "leader_a", "leader",
                         content_hash="a" * 64)  # fmt: skip
    sql(engine, "UPDATE items SET state = 'published', version = version + 1, content_hash = :h WHERE id = :id",
        h="a" * 64, id=item)  # fmt: skip

    found = [f for f in findings(engine) if f.code == "publication_not_cleared"]
    assert [(f.subject, f.seqs) for f in found] == [(reference(engine, item), (clear_seq, published))]


def _last_seq(engine: WorkflowEngine, item: int, trigger: str) -> int:
    with engine.db.connect() as conn:
        return int(conn.execute(text("SELECT max(seq) FROM audit_log WHERE item_id = :i AND trigger = :t"),
                                {"i": item, "t": trigger}).scalar_one())  # fmt: skip


def test_the_same_person_clears_and_signs_off(office: WorkflowEngine) -> None:
    engine = office
    item = reviewed(engine, reviewer="multi")
    signed = sql_step(engine, item, "sign_off", "leadership_signoff", "published", "multi", "leader")
    found = [f for f in findings(engine) if f.code == "cleared_and_signed_by_same_person"]
    assert [(f.subject, f.seqs, f.params["person"]) for f in found] == [
        (reference(engine, item), (_last_seq(engine, item, "clear"), signed), "multi")
    ]


def test_a_drafter_clears_their_own_item(office: WorkflowEngine) -> None:
    engine = office
    item = engine.create("proactive_disclosure", title="草稿", actor="multi", body="正文", category="03").id
    engine.fire(item, "submit", "multi")
    cleared = sql_step(engine, item, "clear", "confidentiality_review", "leadership_signoff", "multi",
                       "confidentiality_reviewer")  # fmt: skip
    found = [f for f in findings(engine) if f.code == "drafter_cleared_own"]
    assert [(f.seqs[-1], f.params["person"]) for f in found] == [(cleared, "multi")]


def test_a_step_by_someone_without_the_role_then(office: WorkflowEngine, clock: FrozenClock) -> None:
    engine = office
    first = engine.create("proactive_disclosure", title="一", actor="drafter_a", body="正文", category="03").id
    engine.fire(first, "submit", "drafter_a")
    wrong = sql_step(engine, first, "clear", "confidentiality_review", "leadership_signoff", "leader_a",
                     "confidentiality_reviewer")  # fmt: skip
    # reviewer_b held the role when the item was submitted, lost it, then "cleared".
    second = engine.create("proactive_disclosure", title="二", actor="drafter_a", body="正文", category="03").id
    engine.fire(second, "submit", "drafter_a")
    engine.change_roles("reviewer_b", grant=["leader"], remove=["confidentiality_reviewer"], by="admin_a")
    removed = sql_step(engine, second, "clear", "confidentiality_review", "leadership_signoff", "reviewer_b",
                       "confidentiality_reviewer")  # fmt: skip
    # A substitute outside the delegation's days.
    engine.delegate("reviewer_a", "leader_c", dt.date(2026, 3, 2), dt.date(2026, 3, 3), by="reviewer_a")
    third = engine.create("proactive_disclosure", title="三", actor="drafter_a", body="正文", category="03").id
    engine.fire(third, "submit", "drafter_a")
    late = sql_step(engine, third, "clear", "confidentiality_review", "leadership_signoff", "leader_c",
                    "confidentiality_reviewer", on_behalf_of="reviewer_a",
                    at=dt.datetime(2026, 3, 5, 2, tzinfo=dt.UTC))  # fmt: skip

    found = {f.seqs[-1]: f for f in findings(engine) if f.code == "role_not_held"}
    assert sorted(found) == [wrong, removed, late]
    assert found[wrong].variant == "role_not_held" and found[wrong].params["person"] == "leader_a"
    assert found[removed].params["person"] == "reviewer_b"
    assert found[late].variant == "not_delegated" and found[late].params["day"] == "2026-03-05"


def test_a_step_the_pinned_version_does_not_allow(office: WorkflowEngine) -> None:
    engine = office
    item = engine.create("proactive_disclosure", title="跳过", actor="drafter_a", body="正文", category="03").id
    engine.fire(item, "submit", "drafter_a")
    skipped = sql_step(engine, item, "sign_off", "confidentiality_review", "published", "leader_a", "leader")
    found = [f for f in findings(engine) if f.code == "step_not_allowed"]
    assert [(f.seqs, f.params["from_state"], f.params["to_state"]) for f in found] == [
        ((skipped,), "confidentiality_review", "published")
    ]


def test_a_missed_deadline_with_working_days_late(office: WorkflowEngine) -> None:
    engine = office
    item = engine.create("proactive_disclosure", title="迟", actor="drafter_a", body="正文", category="03").id
    engine.fire(item, "submit", "drafter_a")  # Monday 2 March 2026: 5 working days, due Monday 9 March
    cleared = sql_step(engine, item, "clear", "confidentiality_review", "leadership_signoff", "reviewer_a",
                       "confidentiality_reviewer", at=dt.datetime(2026, 3, 20, 2, tzinfo=dt.UTC))  # fmt: skip
    late = [f for f in findings(engine, end=dt.date(2026, 3, 20)) if f.code == "deadline_missed"]
    assert [(f.seqs[-1], f.params["due"], f.params["num"]) for f in late] == [(cleared, "2026-03-09", 9)]
    assert "9 working days late" in late[0].message("en")
    assert "2026-03-09" in late[0].message("zh")


def test_an_open_deadline_past_due(office: WorkflowEngine) -> None:
    engine = office
    request = engine.create(
        "disclosure_request", title="申请", actor="office_a", fields=application("张三", "business", "post")
    ).id
    engine.fire(request, "register", "office_a")
    # 20 working days from 2 March: due 30 March; as of 31 March it is one working day late.
    late = [f for f in findings(engine, end=dt.date(2026, 3, 31)) if f.code == "deadline_missed"]
    assert [(f.variant, f.params["kind"], f.params["due"], f.params["num"]) for f in late] == [
        ("overdue", "statutory_reply", "2026-03-30", 1)
    ]
    assert findings(engine, end=dt.date(2026, 3, 30)) == []


def test_a_refusal_without_its_reason(office: WorkflowEngine) -> None:
    engine = office
    item = engine.create("proactive_disclosure", title="内部", actor="drafter_a", body="正文", category="03").id
    engine.fire(item, "submit", "drafter_a")
    withheld = sql_step(engine, item, "withhold", "confidentiality_review", "withheld", "reviewer_a",
                        "confidentiality_reviewer")  # fmt: skip
    request = engine.create(
        "disclosure_request", title="申请", actor="office_a", fields=application("李四", "natural_person", "online")
    ).id
    engine.fire(request, "register", "office_a")
    drafted = sql_step(engine, request, "draft_reply", "processing", "reply_review", "office_a", "office",
                       fields='{"outcome":"refused_process_info"}')  # fmt: skip
    sql_step(engine, request, "clear", "reply_review", "reply_signoff", "reviewer_a", "confidentiality_reviewer")
    answered = sql_step(engine, request, "sign_off", "reply_signoff", "answered", "leader_a", "leader")

    found = [f for f in findings(engine) if f.code == "refusal_without_reason"]
    assert [(f.subject, f.seqs) for f in found] == [
        (reference(engine, item), (withheld,)),
        (reference(engine, request), (drafted, answered)),
    ]
    assert "refused_process_info" in found[1].message("en")


def test_a_person_given_a_role_by_hand(office: WorkflowEngine) -> None:
    engine = office
    sql(engine, "INSERT INTO user_roles (user_id, role) SELECT id, 'leader' FROM users WHERE name = 'drafter_a'")
    found = findings(engine)
    assert [(f.subject, f.code, f.params["stored"]) for f in found] == [
        ("person drafter_a", "person_unexplained", "drafter, leader")
    ]


def test_from_and_to_select_findings_by_day(office: WorkflowEngine) -> None:
    engine = office
    item = engine.create("proactive_disclosure", title="一", actor="drafter_a", body="正文", category="03").id
    engine.fire(item, "submit", "drafter_a")
    march = sql_step(engine, item, "clear", "confidentiality_review", "leadership_signoff", "leader_a",
                     "confidentiality_reviewer", at=dt.datetime(2026, 3, 3, 2, tzinfo=dt.UTC))  # fmt: skip
    april = sql_step(engine, item, "sign_off", "leadership_signoff", "published", "leader_a", "reviewer",
                     at=dt.datetime(2026, 4, 1, 2, tzinfo=dt.UTC))  # fmt: skip
    sql(engine, "UPDATE items SET state = 'published', version = version + 2 WHERE id = :id", id=item)
    end = dt.date(2026, 4, 30)
    early = findings(engine, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31))
    late = findings(engine, start=dt.date(2026, 4, 1), end=end)
    assert early and all(f.on <= dt.date(2026, 3, 31) for f in early)
    assert late and all(f.on >= dt.date(2026, 4, 1) for f in late)
    assert march in {f.seqs[-1] for f in early} and april in {f.seqs[-1] for f in late}
    assert march not in {f.seqs[-1] for f in late}
    whole = findings(engine, end=end)
    assert {f.key for f in whole} == {f.key for f in early} | {f.key for f in late}


# ---- the command ----------------------------------------------------------------------------------


def gongkai(settings: Settings, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = outside_env() | {
        "GONGKAI_DATABASE_URL": settings.database_url, "GONGKAI_AUDIT_KEY": AUDIT_KEY,
        "GONGKAI_DEFINITIONS_DIR": str(DEFINITIONS), "GONGKAI_FILES_DIR": str(tmp_path / "files"),
    }  # fmt: skip
    return subprocess.run([GONGKAI, *args], env=env, capture_output=True, text=True, encoding="utf-8", timeout=120,
                          check=False, cwd=tmp_path)  # fmt: skip


def test_the_command_exits_0_when_clean_and_1_with_findings(
    office: WorkflowEngine, settings: Settings, tmp_path: Path
) -> None:
    engine = office
    item = reviewed(engine)
    engine.fire(item, "sign_off", "leader_a")
    clean = gongkai(settings, tmp_path, "audit", "check")
    assert (clean.returncode, clean.stdout) == (0, ""), clean.stderr
    assert clean.stderr.strip() in ("0 findings", "0 项问题", "0 个问题") or clean.stderr.strip().startswith("0")

    sql(engine, "UPDATE items SET state = 'withdrawn' WHERE id = :id", id=item)
    found = gongkai(settings, tmp_path, "audit", "check")
    assert found.returncode == 1, found.stderr
    [line] = found.stdout.splitlines()
    ref = reference(engine, item)
    assert line.startswith(f"{ref}  state_unexplained  #")

    as_json = gongkai(settings, tmp_path, "audit", "check", "--json", "--from", "2026-01-01", "--to", "2026-12-31")
    assert as_json.returncode == 1
    document = json.loads(as_json.stdout)
    assert document["from"] == "2026-01-01" and document["to"] == "2026-12-31" and document["count"] == 1
    [entry] = document["findings"]
    assert (
        entry["item"] == ref
        and entry["rule"] == "state_unexplained"
        and entry["entries"] == [_last_seq(engine, item, "sign_off")]
    )
    assert set(entry) >= {"item_id", "rule_text", "message", "on", "key", "details"}
    assert set(entry["message"]) == {"zh", "en"} and "withdrawn" in entry["message"]["en"]

    outside = gongkai(settings, tmp_path, "audit", "check", "--json", "--from", "2027-01-01")
    assert (outside.returncode, json.loads(outside.stdout)["count"]) == (0, 0)


def test_the_command_refuses_a_bad_date(office: WorkflowEngine, settings: Settings, tmp_path: Path) -> None:
    bad = gongkai(settings, tmp_path, "audit", "check", "--from", "2026-13-01")
    assert bad.returncode == 2 and bad.stdout == "" and "2026-13-01" in bad.stderr
    backwards = gongkai(settings, tmp_path, "audit", "check", "--from", "2026-05-01", "--to", "2026-04-01")
    assert backwards.returncode == 2 and "2026-04-01" in backwards.stderr

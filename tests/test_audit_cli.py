"""``gongkai audit log`` formats and filters and ``gongkai audit verify --anchors``, through the installed script."""

from __future__ import annotations

import csv
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.test_cli import Office, base_env
from workflow.core.chain import GENESIS_HASH, row_hash
from workflow.core.messages import message
from workflow.settings import Settings
from workflow.store import audit_log as auditlog
from workflow.store.db import make_engine

ANOTHER_KEY = "someone-elses-key-0123456789-abcdefghijklmn"


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Office:
    """Two people, an item sent back with a Chinese comment; an anchor kept after each step."""
    folder = tmp_path_factory.mktemp("audit-cli")
    office = Office(folder, base_env(f"sqlite:///{folder / 'gongkai.db'}"))
    office.ok("init")
    office.ok("users", "add", "zhang", "--email", "z@town.example.gov.cn", "--role", "drafter",
              "--display-name", "张伟")  # fmt: skip
    office.ok("users", "add", "li", "--email", "l@town.example.gov.cn", "--role", "confidentiality_reviewer")
    body = folder / "body.txt"
    body.write_text("正文\n", encoding="utf-8")
    item_id, _ = office.create("proactive_disclosure", "防汛安排", "zhang", "--category", "03", "--body-file",
                               str(body))  # fmt: skip
    anchors = []
    for trigger, actor, extra in (("submit", "zhang", ()), ("send_back", "li", ("--comment", "请补充，谢谢")),
                                  ("submit", "zhang", ())):  # fmt: skip
        office.ok("item", "fire", str(item_id), trigger, "--as", actor, *extra)
        anchors.append(office.ok("audit", "anchor").strip())
    (folder / "anchors.jsonl").write_text("\n".join(anchors) + "\n", encoding="utf-8")
    office.ids["item"] = str(item_id)
    return office


def test_csv_has_a_bom_and_chinese_intact_and_pages_change_nothing(office: Office) -> None:
    result = office.run("audit", "log", "--format", "csv")
    assert result.returncode == 0 and result.stderr == ""
    raw = office.folder / "out.csv"
    raw.write_text(result.stdout, encoding="utf-8")
    data = raw.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\xef\xbb\xbf") == 1
    with open(raw, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["seq"] for r in rows] == [str(n) for n in range(1, 7)]
    assert rows[4]["comment"] == "请补充，谢谢" and rows[0]["person_display_name"] == "张伟"
    assert rows[2]["actor_display_name"] == "张伟" and json.loads(rows[2]["details"])["title"] == "防汛安排"
    # A page of two rows: the same bytes.
    assert office.ok("audit", "log", "--format", "csv", "--page-size", "2") == result.stdout


def test_jsonl_and_table_and_the_filters(office: Office) -> None:
    lines = office.ok("audit", "log", "--format", "jsonl", "--person", "li").splitlines()
    entries = [json.loads(line) for line in lines]
    assert [(e["trigger"], e["comment"]) for e in entries] == [("person.add", None), ("send_back", "请补充，谢谢")]
    assert office.ok("audit", "log", "--format", "jsonl", "--page-size", "1").count("\n") == 6
    table = office.ok("audit", "log", "--trigger", "submit", "--role", "drafter", "--state", "drafting").splitlines()
    assert len(table) == 2 and all(" submit " in line for line in table)
    today = office.sql("SELECT date(max(at), '+8 hours') FROM audit_log")[0][0]
    assert len(office.ok("audit", "log", "--from", today, "--to", today, "--format", "jsonl").splitlines()) == 6
    assert office.ok("audit", "log", "--to", "2020-01-01", "--format", "csv").count("\n") == 1  # the header only
    assert len(json.loads(office.ok("audit", "log", "--json", "--item", office.ids["item"]))) == 4


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--item", "GK-2099-0001"), "--item"),
        (("--person", "wang"), "--person"),
        (("--role", "boss"), "--role"),
        (("--trigger", "aprove"), "--trigger"),
        (("--state", "reviewing"), "--state"),
        (("--from", "2026-02-30"), "--from"),
        (("--from", "2026-03-05", "--to", "2026-03-01"), "--to"),
    ],
)
def test_a_bad_filter_exits_2_naming_the_option_and_prints_nothing(
    office: Office, args: tuple[str, ...], named: str
) -> None:
    for output in ("csv", "jsonl", "table"):
        result = office.run("audit", "log", "--format", output, *args)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.startswith(f"{named}: ") and len(result.stderr.splitlines()) == 1


def test_verify_anchors_passes_then_names_the_first_anchor_a_rewrite_or_a_cut_breaks(
    office: Office, tmp_path: Path
) -> None:
    anchors = office.folder / "anchors.jsonl"
    ok = office.ok("audit", "verify", "--anchors", str(anchors)).splitlines()
    assert ok == ["6 entries verified (已校验 6 条记录)", f"{anchors}: 3 个锚点仍被日志延续"]

    # A whole-chain rewrite with another key (a comment softened): it verifies with that key, not with the anchors.
    rewritten = office.copy_to(tmp_path / "rewritten")
    url = f"sqlite:///{rewritten.db_file}"
    with closing(sqlite3.connect(rewritten.db_file)) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.commit()
    db = make_engine(url)
    try:
        prev = GENESIS_HASH
        with db.begin() as conn:
            for row in list(conn.execute(auditlog.audit_log.select().order_by(auditlog.audit_log.c.seq))):
                data = dict(row._mapping)
                data["comment"] = "同意" if data["comment"] else None
                data["prev_hash"] = prev
                data["hash"] = row_hash(ANOTHER_KEY.encode(), data)
                conn.execute(auditlog.audit_log.update().where(auditlog.audit_log.c.seq == row.seq).values(
                    comment=data["comment"], prev_hash=prev, hash=data["hash"]))  # fmt: skip
                prev = data["hash"]
            conn.execute(auditlog.audit_head.update().values(hash=prev))
    finally:
        db.dispose()
    with_their_key = rewritten.run("audit", "verify", "--anchors", str(anchors), env={"GONGKAI_AUDIT_KEY": ANOTHER_KEY})
    assert with_their_key.returncode == 1
    assert with_their_key.stdout == "6 entries verified (已校验 6 条记录)\n"  # the chain alone holds together
    refusal = with_their_key.stderr.splitlines()
    assert len(refusal) == 1 and refusal[0].startswith(f"{anchors} 的第 1 个锚点（第 1 行，")
    assert refusal[0].endswith("记录 #4）: " + message("audit.fault_anchor_mismatch", "zh", seq=4))
    en = rewritten.run("audit", "verify", "--anchors", str(anchors), env={"GONGKAI_LANG": "en"})
    assert en.returncode == 1 and en.stdout == ""
    assert en.stderr.splitlines()[0].startswith("audit entry #1 was changed")
    assert en.stderr.splitlines()[1].startswith(f"anchor 1 of {anchors} (line 1, ")
    assert "entry #4): audit entry #4 does not match the anchor" in en.stderr

    # A cut tail with the head moved back: the walk passes, the anchors name the first entry gone (#5).
    cut = office.copy_to(tmp_path / "cut")
    with closing(sqlite3.connect(cut.db_file)) as conn:
        conn.execute("DROP TRIGGER audit_log_no_delete")
        conn.execute("DELETE FROM audit_log WHERE seq > 4")
        conn.execute("UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit_log WHERE seq = 4)")
        conn.commit()
    result = cut.run("audit", "verify", "--anchors", str(anchors), env={"GONGKAI_LANG": "en"})
    assert result.returncode == 1 and result.stdout == "4 entries verified\n"
    assert result.stderr.startswith(f"anchor 2 of {anchors} (line 2, ")
    assert result.stderr.rstrip().endswith("entry #5): audit entry #5 is missing")
    last = tmp_path / "last.json"
    last.write_text(anchors.read_text(encoding="utf-8").splitlines()[-1], encoding="utf-8")
    single = cut.run("audit", "verify", "--anchor", str(last), env={"GONGKAI_LANG": "en"})
    assert single.returncode == 1 and single.stderr.startswith("audit entry #5 is missing")  # not #6, the anchor's


def test_a_bad_anchor_file_exits_2_naming_the_line(office: Office, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"seq": 1, "hash": "' + "a" * 64 + '"}\n{"seq": "two"}\n', encoding="utf-8")
    result = office.run("audit", "verify", "--anchors", str(bad), env={"GONGKAI_LANG": "en"})
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"anchor file {bad}, line 2 is not an anchor: seq must be")


def test_the_anchor_file_setting(tmp_path: Path) -> None:
    env = {"GONGKAI_DATABASE_URL": "sqlite:///x.db", "GONGKAI_ANCHOR_FILE": f" {tmp_path}/anchors.jsonl "}
    assert Settings.from_env(env).anchor_file == tmp_path / "anchors.jsonl"
    assert Settings.from_env({"GONGKAI_ANCHOR_FILE": "  "}).anchor_file is None

"""The ``gongkai`` console script, driven the way another script would drive it.

Every test runs the installed entry point in a subprocess with its configuration in
the environment, and checks exit codes, stdout and stderr against the contract:
0 done; 1 refused by a rule, lost a race, validation or verification failed;
2 bad usage or unknown id; every refusal on stderr, one line a problem.

Each start of the script costs a few tenths of a second (its imports), so one database
is initialised per module (``template``) and copied with SQLite's backup API for the
tests that need a pristine chain; the refusal tests share one office whose two items
never move.
"""

from __future__ import annotations

import getpass
import itertools
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.env import outside_env

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "definitions"
AUDIT_KEY = "cli-test-audit-key-0123456789-abcdefghijklmnop"
PG_SERVER = os.environ.get("GONGKAI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _script() -> str:
    """The console script installed beside this interpreter (the project's virtualenv)."""
    beside = Path(sys.executable).with_name("gongkai")
    if beside.exists():
        return str(beside)
    return shutil.which("gongkai") or str(ROOT / ".venv" / "bin" / "gongkai")


GONGKAI = _script()

PEOPLE = [
    ("drafter", "drafter"),
    ("reviewer", "confidentiality_reviewer"),
    ("leader", "leader"),
    ("office", "office"),
    ("leader2", "leader"),
]
PEOPLE_ROWS = len(PEOPLE)
"""``users add`` writes one audit row per person: the chain of a fresh office starts with them."""

REQUEST_FIELDS = {
    "requester": "张三",
    "requester_type": "natural_person",
    "channel": "online",
    "received_on": "2026-03-02",
}

ITEM_KEYS = {
    "id",
    "reference",
    "definition",
    "definition_version",
    "state",
    "title",
    "category",
    "fields",
    "revision",
    "content_hash",
    "available_triggers",
}
AUDIT_KEYS = {
    "seq",
    "item_id",
    "definition",
    "definition_version",
    "trigger",
    "from_state",
    "to_state",
    "actor",
    "on_behalf_of",
    "role",
    "at",
    "comment",
    "fields",
    "details",
    "content_hash",
    "prev_hash",
    "hash",
}
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def base_env(database_url: str) -> dict[str, str]:
    """The caller's environment without any GONGKAI_* setting, plus ours."""
    env = outside_env()
    env.update(
        PYTHONUTF8="1",
        PYTHONIOENCODING="utf-8",
        GONGKAI_DATABASE_URL=database_url,
        GONGKAI_AUDIT_KEY=AUDIT_KEY,
        GONGKAI_DEFINITIONS_DIR=str(DEFINITIONS),
    )
    return env


def run(folder: Path, env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GONGKAI, *args],
        cwd=folder,
        env=dict(env),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """A refusal: nothing on stdout, exactly one line on stderr."""
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@dataclass
class Office:
    """One working folder with its database and environment."""

    folder: Path
    env: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def db_file(self) -> Path:
        return self.folder / "gongkai.db"

    def run(self, *args: str, env: Mapping[str, str | None] | None = None) -> subprocess.CompletedProcess[str]:
        merged = dict(self.env)
        for key, value in (env or {}).items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return run(self.folder, merged, *args)

    def ok(self, *args: str, env: Mapping[str, str | None] | None = None) -> str:
        result = self.run(*args, env=env)
        assert result.returncode == 0, f"{args}: exit {result.returncode}\n{result.stderr}"
        assert result.stderr == "", result.stderr
        return result.stdout

    def create(self, definition: str, title: str, actor: str, *extra: str) -> tuple[int, str]:
        """Create an item; (id from the last line, reference from the first)."""
        out = self.ok("item", "create", definition, "--title", title, "--as", actor, *extra)
        lines = out.splitlines()
        return int(lines[-1]), lines[0].split()[0]

    def show(self, ref: int | str) -> dict[str, Any]:
        data = json.loads(self.ok("item", "show", str(ref), "--json"))
        assert isinstance(data, dict)
        return data

    def audit(self, *extra: str) -> list[dict[str, Any]]:
        data = json.loads(self.ok("audit", "log", "--json", *extra))
        assert isinstance(data, list)
        return data

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        """Read the database file directly (cheap; no subprocess)."""
        with closing(sqlite3.connect(self.db_file)) as conn:
            return conn.execute(query).fetchall()

    def copy_to(self, folder: Path) -> Office:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "gongkai.db"
        source = sqlite3.connect(self.db_file)
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)
        finally:
            dest.close()
            source.close()
        return Office(folder, base_env(f"sqlite:///{target}"))


@dataclass
class Template:
    office: Office
    init: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """An initialised database with the five people and no items."""
    folder = tmp_path_factory.mktemp("cli-template")
    office = Office(folder, base_env(f"sqlite:///{folder / 'gongkai.db'}"))
    init = office.run("init")
    assert init.returncode == 0, init.stderr
    for name, role in PEOPLE:
        out = office.ok("users", "add", name, "--email", f"{name}@town.example.gov.cn", "--role", role)
        assert out.startswith(f"{name} <{name}@town.example.gov.cn> ")
    return Template(office, init)


@pytest.fixture(scope="module")
def office(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Office:
    """The shared office: item A waits in confidentiality review, request R is being processed.

    Tests on it only refuse on A and R, or make their own items, so they do not interfere.
    """
    shared = template.office.copy_to(tmp_path_factory.mktemp("cli-office"))
    body = shared.folder / "body.txt"
    body.write_text("新的正文\n", encoding="utf-8")
    a_id, a_ref = shared.create("proactive_disclosure", "共享事项", "drafter", "--category", "03")
    shared.ok("item", "fire", str(a_id), "submit", "--as", "drafter")
    fields = [arg for key, value in REQUEST_FIELDS.items() for arg in ("--field", f"{key}={value}")]
    r_id, r_ref = shared.create("disclosure_request", "申请公开预算", "office", *fields)
    shared.ok("item", "fire", r_ref, "register", "--as", "office")
    shared.ids.update(A=str(a_id), A_ref=a_ref, R=str(r_id), R_ref=r_ref, body=str(body))
    return shared


@pytest.fixture
def fresh(template: Template, tmp_path: Path) -> Office:
    """A pristine copy of the template: no items; the chain holds the five people added."""
    return template.office.copy_to(tmp_path / "office")


# ---- init and users -------------------------------------------------------------------------


def test_init_loads_the_definitions_and_can_run_again(template: Template, fresh: Office) -> None:
    lines = template.init.stdout.splitlines()
    for name in ("disclosure_request", "normative_document", "proactive_disclosure"):
        assert any(re.fullmatch(rf"{name} [0-9a-f]{{12}} \(new\)", line) for line in lines), lines
    assert lines[-1] == f"数据库已就绪: sqlite:///{template.office.db_file}"
    assert template.init.stderr == ""

    again = fresh.ok("init", env={"GONGKAI_LANG": "en"})
    assert "(new)" not in again
    assert again.splitlines()[-1].startswith("database ready: sqlite:///")


def test_default_database_is_gongkai_db_in_the_working_folder(tmp_path: Path) -> None:
    env = base_env("unused")
    del env["GONGKAI_DATABASE_URL"]
    done = run(tmp_path, env, "init")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "数据库已就绪: sqlite:///gongkai.db"
    assert (tmp_path / "gongkai.db").is_file()
    listed = run(tmp_path, env, "item", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []


def test_users_list_json_and_delegate(office: Office) -> None:
    out = office.ok("users", "delegate", "leader", "--to", "leader2", "--from", "2025-01-06", "--until", "2025-01-10")
    assert out.strip() == "leader -> leader2 2025-01-06..2025-01-10"

    people = json.loads(office.ok("users", "list", "--json"))
    by_name = {p["name"]: p for p in people}
    assert set(by_name) >= {name for name, _ in PEOPLE}
    for name, role in PEOPLE:
        person = by_name[name]
        assert set(person) >= {"name", "email", "roles", "active", "substitutes"}
        assert person["email"] == f"{name}@town.example.gov.cn"
        assert person["roles"] == [role]
        assert person["active"] is True
    assert by_name["leader"]["substitutes"] == [{"to": "leader2", "from": "2025-01-06", "until": "2025-01-10"}]
    assert by_name["drafter"]["substitutes"] == []


def test_people_changes_are_in_the_audit_log_and_verify(fresh: Office) -> None:
    account = f"cli:{getpass.getuser()}"
    fresh.ok("users", "add", "boss", "--email", "boss@town.example.gov.cn", "--role", "admin")
    out = fresh.ok(
        "users", "roles", "drafter", "--add", "leader", "--remove", "drafter", "--add", "office", "--as", "boss"
    )
    assert out.strip() == "drafter: 领导, 公开办"
    fresh.ok("users", "delegate", "leader", "--to", "leader2", "--from", "2026-03-02", "--until", "2026-03-06")
    fresh.ok("users", "digest", "reviewer", "--on", "--as", "reviewer")  # a person chooses for themself
    fresh.ok("users", "deactivate", "office", "--as", "boss")
    refused = fresh.run("users", "roles", "boss", "--add", "leader", "--as", "boss", env={"GONGKAI_LANG": "en"})
    assert refused.returncode == 1
    assert one_line(refused) == "boss may not grant themself a role (leader): another administrator must"

    entries = fresh.audit()[PEOPLE_ROWS:]
    assert [(e["trigger"], e["person"], e["actor"], e["role"]) for e in entries] == [
        ("person.add", "boss", account, "os_account"),
        ("person.roles", "drafter", "boss", "admin"),
        ("person.delegate", "leader", account, "os_account"),
        ("person.digest", "reviewer", "reviewer", "self"),
        ("person.deactivate", "office", "boss", "admin"),
    ]
    assert all(e["item_id"] is None and e["definition"] is None and e["to_state"] is None for e in entries)
    assert [e["details"] for e in entries] == [
        {"email": "boss@town.example.gov.cn", "roles": ["admin"]},
        {"granted": ["leader", "office"], "removed": ["drafter"], "roles": ["leader", "office"]},
        {"substitute": "leader2", "from": "2026-03-02", "until": "2026-03-06"},
        {"digest": True},
        {"active": False},
    ]
    assert [e["trigger"] for e in fresh.audit("--person", "drafter")] == ["person.add", "person.roles"]
    text = fresh.ok("audit", "log", "--person", "office").splitlines()
    assert len(text) == 2 and "person office" in text[1] and "person.deactivate" in text[1] and "[admin]" in text[1]
    assert fresh.sql("SELECT active FROM users WHERE name = 'office'") == [(0,)]

    total = PEOPLE_ROWS + 5
    assert re.match(rf"^{total} entries verified\b", fresh.ok("audit", "verify"))
    conn = sqlite3.connect(fresh.db_file)
    try:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET details = '{\"active\":true}' WHERE trigger = 'person.deactivate'")
        conn.commit()
    finally:
        conn.close()
    broken = fresh.run("audit", "verify")
    assert broken.returncode == 1
    assert one_line(broken).startswith(f"审计记录 #{total} 被篡改")


# ---- the whole chain -------------------------------------------------------------------------


def test_proactive_item_walks_the_chain_to_published(fresh: Office) -> None:
    body = fresh.folder / "summary.txt"
    body.write_text("一、第一季度工作总结\n二、第二季度工作计划\n", encoding="utf-8")
    first, ref = fresh.create(
        "proactive_disclosure", "2026年第一季度工作总结", "drafter", "--category", "03", "--body-file", str(body)
    )
    assert re.fullmatch(r"GK-\d{4}-0001", ref)
    second, ref2 = fresh.create("proactive_disclosure", "工作计划", "drafter", "--category", "总结计划")
    assert second != first and ref2.endswith("-0002")

    new_body = fresh.folder / "summary2.txt"
    new_body.write_text("一、第一季度工作总结 (修订)\n", encoding="utf-8")
    edited = fresh.ok("item", "edit", str(first), "--as", "drafter", "--body-file", str(new_body))
    assert edited.split()[0] == ref
    assigned = fresh.ok("item", "assign", ref, "leader", "leader2", "--as", "office")
    assert assigned.strip() == f"{ref}: leader -> leader2"

    out = fresh.ok("item", "fire", str(first), "submit", "--as", "drafter")
    assert out.strip() == f"{ref}: submit 起草 -> 保密审查 (#{PEOPLE_ROWS + 5})"
    out = fresh.ok("item", "fire", ref.lower(), "clear", "--as", "reviewer")
    assert out.strip() == f"{ref}: clear 保密审查 -> 领导签发 (#{PEOPLE_ROWS + 6})"

    # The leader role on this item was handed to leader2: leader may no longer sign it off.
    refused = fresh.run("item", "fire", ref, "sign_off", "--as", "leader")
    assert refused.returncode == 1
    assert "'leader'" in one_line(refused) and "sign_off" in refused.stderr

    out = fresh.ok("item", "fire", ref, "sign_off", "--as", "leader2")
    assert out.strip() == f"{ref}: sign_off 领导签发 -> 已公开 (#{PEOPLE_ROWS + 7})"

    data = fresh.show(ref)
    assert set(data) >= ITEM_KEYS
    assert data["id"] == first
    assert data["reference"] == ref
    assert data["definition"] == "proactive_disclosure"
    assert HEX64.match(data["definition_version"])
    assert data["state"] == "published"
    assert data["state_label"] == "已公开"
    assert data["title"] == "2026年第一季度工作总结"
    assert data["category"] == "03"
    assert data["body"] == "一、第一季度工作总结 (修订)\n"
    assert data["fields"] == {}
    assert data["revision"] == 1
    assert HEX64.match(data["content_hash"])
    assert data["content_hash"].startswith(edited.split()[1])
    assert data["holders"]["leader"] == ["leader2"]
    assert data["available_triggers"] == ["withdraw", "revise", "confirm_current", "expire", "set_expiry"]
    year = data["published_at"][:4]
    assert data["index_number"] == f"01526086-8-03/{year}-00001"
    assert data["published_at"].endswith("+08:00")  # office time
    assert fresh.show(ref2)["index_number"] is None and fresh.show(ref2)["published_at"] is None

    published = json.loads(fresh.ok("item", "list", "--state", "published", "--json"))
    assert [i["reference"] for i in published] == [ref]
    assert set(published[0]) >= ITEM_KEYS
    text = fresh.ok("item", "list", "--state", "published")
    assert ref in text and "已公开" in text and ref2 not in text
    everything = json.loads(fresh.ok("item", "list", "--definition", "proactive_disclosure", "--json"))
    assert [(i["id"], i["state"], i["category"]) for i in everything] == [
        (first, "published", "03"),
        (second, "drafting", "03"),
    ]

    everyone = fresh.audit()
    assert [e["seq"] for e in everyone] == list(range(1, PEOPLE_ROWS + 8))
    assert [(e["trigger"], e["person"], e["item_id"]) for e in everyone[:PEOPLE_ROWS]] == [
        ("person.add", name, None) for name, _role in PEOPLE
    ]
    entries = everyone[PEOPLE_ROWS:]
    assert [e["trigger"] for e in entries] == ["create", "create", "edit", "assign", "submit", "clear", "sign_off"]
    for entry in everyone:
        assert set(entry) >= AUDIT_KEYS
        assert HEX64.match(entry["hash"]) and HEX64.match(entry["prev_hash"])
    assert everyone[0]["prev_hash"] == "0" * 64
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in itertools.pairwise(everyone))
    assert entries[-1]["actor"] == "leader2" and entries[-1]["to_state"] == "published"
    assert entries[-1]["details"] == {
        "index_number": data["index_number"],
        "published_at": data["published_at"],
        "channels": ["portal", "webhook", "notice_board"],
    }

    own = fresh.audit("--item", ref)
    assert [e["trigger"] for e in own] == ["create", "edit", "assign", "submit", "clear", "sign_off"]
    assert {e["item_id"] for e in own} == {first}

    verified = fresh.run("audit", "verify")
    assert verified.returncode == 0 and verified.stderr == ""
    assert re.match(rf"^{PEOPLE_ROWS + 7} entries verified\b", verified.stdout), verified.stdout


def test_disclosure_request_with_fields_and_an_outcome(office: Office) -> None:
    fields = [arg for key, value in REQUEST_FIELDS.items() for arg in ("--field", f"{key}={value}")]
    item_id, ref = office.create("disclosure_request", "申请公开村道改造预算", "office", *fields)
    assert re.fullmatch(r"SQ-\d{4}-\d{4}", ref)
    office.ok("item", "fire", ref, "register", "--as", "office")
    out = office.ok("item", "fire", str(item_id), "draft_reply", "--as", "office", "--field", "outcome=disclosed")
    assert out.strip().startswith(f"{ref}: draft_reply 办理中 -> 答复审查 (#")
    data = office.show(ref)
    assert set(data) >= ITEM_KEYS
    assert data["definition"] == "disclosure_request"
    assert data["category"] is None
    assert data["state"] == "reply_review"
    assert data["fields"] == {**REQUEST_FIELDS, "outcome": "disclosed"}
    entries = office.audit("--item", ref)
    assert [e["trigger"] for e in entries] == ["create", "register", "draft_reply"]
    assert entries[0]["fields"] == REQUEST_FIELDS
    assert entries[-1]["fields"] == {"outcome": "disclosed"}


# ---- refusals --------------------------------------------------------------------------------

# (id, arguments with {A} {A_ref} {R} {R_ref} {body} placeholders, exit code, what stderr must say)
REFUSALS: list[tuple[str, list[str], int, list[str]]] = [
    (
        "wrong_role_nothing_to_fire",
        ["item", "fire", "{A}", "clear", "--as", "leader"],
        1,
        ["leader 在此事项上不担任 'confidentiality_reviewer' 角色, 不能执行 'clear'", "你现在没有可执行的操作"],
    ),
    (
        "wrong_state_says_who_acted_last",
        ["item", "fire", "{A_ref}", "sign_off", "--as", "leader"],
        1,
        ["当前状态 'confidentiality_review' 不能执行 'sign_off'", "最近一次: drafter 于", "执行 'submit'"],
    ),
    (
        "unknown_trigger",
        ["item", "fire", "{A}", "publish_now", "--as", "reviewer"],
        1,
        ["'publish_now'", "confidentiality_review", "clear, send_back, withhold"],
    ),
    (
        "draft_reply_without_outcome",
        ["item", "fire", "{R}", "draft_reply", "--as", "office"],
        1,
        ["'draft_reply'", "'outcome'", "--field outcome=", "draft_reply"],
    ),
    (
        "draft_reply_with_invalid_outcome",
        ["item", "fire", "{R_ref}", "draft_reply", "--as", "office", "--field", "outcome=granted"],
        1,
        ["'outcome'", "'granted'", "disclosed, partly_disclosed"],
    ),
    (
        "edit_outside_editable_state",
        ["item", "edit", "{A}", "--as", "drafter", "--body-file", "{body}"],
        1,
        ["confidentiality_review", "drafting"],
    ),
    (
        "create_without_creator_role",
        ["item", "create", "proactive_disclosure", "--title", "x", "--as", "office", "--category", "03"],
        1,
        ["office", "'drafter'", "proactive_disclosure"],
    ),
    (
        "create_request_without_required_fields",
        ["item", "create", "disclosure_request", "--title", "x", "--as", "office"],
        1,
        ["requester, requester_type, channel, received_on"],
    ),
    ("unknown_item_id", ["item", "fire", "999999", "submit", "--as", "drafter"], 2, ["'999999'"]),
    ("show_unknown_reference", ["item", "show", "GK-1999-9999", "--json"], 2, ["找不到事项 'GK-1999-9999'"]),
    (
        "bad_field_syntax",
        ["item", "fire", "{R}", "draft_reply", "--as", "office", "--field", "outcome"],
        2,
        ["KEY=VALUE", "'outcome'"],
    ),
    (
        "undeclared_field",
        ["item", "fire", "{R}", "draft_reply", "--as", "office", "--field", "colour=red"],
        2,
        ["'colour'", "outcome"],
    ),
    ("unknown_user", ["item", "fire", "{A}", "clear", "--as", "nobody"], 2, ["'nobody'"]),
    (
        "missing_category",
        ["item", "create", "proactive_disclosure", "--title", "x", "--as", "drafter"],
        2,
        ["--category", "03 总结计划"],
    ),
    (
        "unknown_role",
        ["users", "add", "clerk", "--email", "c@town.example.gov.cn", "--role", "clerk"],
        2,
        ["'clerk'", "confidentiality_reviewer"],
    ),
    ("roles_unknown_role", ["users", "roles", "drafter", "--add", "chief"], 2, ["'chief'", "leader"]),
    ("roles_unknown_person", ["users", "roles", "nobody", "--add", "leader"], 2, ["找不到用户 'nobody'"]),
    ("roles_nothing_changes", ["users", "roles", "drafter", "--add", "drafter"], 2, ["drafter", "没有变化"]),
    ("roles_not_an_admin", ["users", "roles", "drafter", "--add", "leader", "--as", "office"], 1, ["office", "admin"]),
    ("deactivate_unknown_person", ["users", "deactivate", "nobody"], 2, ["'nobody'"]),
    ("activate_active_person", ["users", "activate", "drafter"], 2, ["drafter", "已是启用状态"]),
    (
        "delegate_period_backwards",
        ["users", "delegate", "leader", "--to", "leader2", "--from", "2026-03-10", "--until", "2026-03-02"],
        2,
        ["2026-03-10", "2026-03-02"],
    ),
    (
        "delegate_by_someone_else",
        [
            "users",
            "delegate",
            "leader",
            "--to",
            "leader2",
            "--from",
            "2026-03-02",
            "--until",
            "2026-03-06",
            "--as",
            "drafter",
        ],
        1,
        ["drafter", "leader", "admin"],
    ),
    ("digest_for_someone_else", ["users", "digest", "leader", "--on", "--as", "drafter"], 1, ["drafter", "admin"]),
]


def _fill(office: Office, args: list[str]) -> list[str]:
    return [arg.format(**office.ids) for arg in args]


@pytest.mark.parametrize(("args", "code", "needles"), [case[1:] for case in REFUSALS], ids=[c[0] for c in REFUSALS])
def test_refusal(office: Office, args: list[str], code: int, needles: list[str]) -> None:
    before = _written(office)
    result = office.run(*_fill(office, args))
    assert result.returncode == code, result.stderr
    line = one_line(result)
    for needle in needles:
        assert needle in line, f"{needle!r} not in {line!r}"
    assert _written(office) == before


def _written(office: Office) -> list[list[tuple[Any, ...]]]:
    """What a refused command must leave as it was: the chain, the items, the people."""
    return [
        office.sql(query)
        for query in (
            "SELECT count(*), max(seq) FROM audit_log",
            "SELECT id, version FROM items ORDER BY id",
            "SELECT name, email, active, digest FROM users ORDER BY name",
            "SELECT user_id, role FROM user_roles ORDER BY user_id, role",
            "SELECT principal_id, substitute_id, starts_on, ends_on FROM delegations ORDER BY id",
        )
    ]


USAGE_ERRORS: list[tuple[str, list[str]]] = [
    ("missing_trigger", ["item", "fire", "{A}"]),
    ("missing_actor", ["item", "fire", "{A}", "clear"]),
    ("unknown_command", ["item", "frobnicate"]),
    ("role_not_a_choice", ["item", "assign", "{A}", "chief", "leader2", "--as", "office"]),
]


@pytest.mark.parametrize("args", [c[1] for c in USAGE_ERRORS], ids=[c[0] for c in USAGE_ERRORS])
def test_usage_error(office: Office, args: list[str]) -> None:
    result = office.run(*_fill(office, args))
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Usage:" in result.stderr and "Error:" in result.stderr


def test_refused_commands_leave_the_audit_log_unchanged(office: Office) -> None:
    before = office.run("audit", "log", "--json")
    assert before.returncode == 0
    items = office.sql("SELECT * FROM items ORDER BY id")
    refusals = [
        ("item", "fire", office.ids["R"], "draft_reply", "--as", "office", "--field", "outcome=granted"),
        ("item", "create", "disclosure_request", "--title", "x", "--as", "office"),
    ]
    for args in refusals:
        assert office.run(*args).returncode == 1, args
    after = office.run("audit", "log", "--json")
    assert after.stdout == before.stdout
    assert json.loads(after.stdout)  # the log is not empty: the comparison means something
    assert office.sql("SELECT * FROM items ORDER BY id") == items


# ---- language --------------------------------------------------------------------------------

LANGUAGE_CASES = [
    (
        ["item", "fire", "{R}", "extend", "--as", "office", "--comment", "需要延期"],
        "office 在此事项上不担任 'leader' 角色, 不能执行 'extend'; "
        "你现在可以执行: request_correction, consult_third_party, draft_reply",
        "office does not hold the role 'leader' on this item, required for 'extend'; "
        "you may fire now: request_correction, consult_third_party, draft_reply",
    ),
    (
        ["item", "fire", "{A}", "send_back", "--as", "reviewer"],
        "'send_back' 需要填写意见 (--comment); 你现在可以执行: clear, send_back, withhold",
        "'send_back' requires a comment (--comment); you may fire now: clear, send_back, withhold",
    ),
    (["item", "show", "123456"], "找不到事项 '123456'", "no item '123456'"),
]


@pytest.mark.parametrize(("args", "zh", "en"), LANGUAGE_CASES, ids=["wrong_role", "comment", "not_found"])
def test_messages_are_chinese_by_default_and_english_on_request(
    office: Office, args: list[str], zh: str, en: str
) -> None:
    chinese = office.run(*_fill(office, args))
    english = office.run(*_fill(office, args), env={"GONGKAI_LANG": "en"})
    assert chinese.returncode == english.returncode != 0
    assert one_line(chinese) == zh
    assert one_line(english) == en


def test_labels_follow_the_language(office: Office) -> None:
    en = json.loads(office.ok("item", "show", office.ids["A"], "--json", env={"GONGKAI_LANG": "EN"}))
    assert en["state_label"] == "Confidentiality review"  # the Chinese labels: see the chain test


# ---- configuration ---------------------------------------------------------------------------


def test_missing_or_short_audit_key_is_refused_for_writes(office: Office) -> None:
    a = office.ids["A"]
    missing = office.run("item", "fire", a, "clear", "--as", "reviewer", env={"GONGKAI_AUDIT_KEY": None})
    assert missing.returncode == 2
    assert "GONGKAI_AUDIT_KEY" in one_line(missing) and "32" in missing.stderr

    short = office.run(
        "item", "create", "proactive_disclosure", "--title", "x", "--as", "drafter", "--category", "03",
        env={"GONGKAI_AUDIT_KEY": "too-short"},
    )  # fmt: skip
    assert short.returncode == 2
    assert "GONGKAI_AUDIT_KEY" in one_line(short) and "9" in short.stderr

    english = office.run(
        "users", "add", "clerk", "--email", "c@town.example.gov.cn", "--role", "office",
        env={"GONGKAI_AUDIT_KEY": None, "GONGKAI_LANG": "en"},
    )  # fmt: skip
    assert english.returncode == 2
    assert one_line(english).startswith("GONGKAI_AUDIT_KEY is not set")
    assert office.sql(f"SELECT state FROM items WHERE id = {a}") == [("confidentiality_review",)]
    assert office.sql("SELECT count(*) FROM users WHERE name = 'clerk'") == [(0,)]


def test_audit_key_from_a_file_and_a_wrong_key(office: Office, tmp_path: Path) -> None:
    key_file = tmp_path / "audit.key"
    key_file.write_text(AUDIT_KEY + "\n", encoding="utf-8")
    verified = office.run("audit", "verify", env={"GONGKAI_AUDIT_KEY": None, "GONGKAI_AUDIT_KEY_FILE": str(key_file)})
    assert verified.returncode == 0, verified.stderr
    assert re.match(r"^\d+ entries verified\b", verified.stdout)

    wrong = office.run("audit", "verify", env={"GONGKAI_AUDIT_KEY": "another-key-" + "x" * 40, "GONGKAI_LANG": "en"})
    assert wrong.returncode == 1
    assert one_line(wrong).startswith("audit entry #1 was changed")


def test_bad_configuration_is_one_line_exit_2(office: Office, tmp_path: Path) -> None:
    cases: list[tuple[dict[str, str | None], str]] = [
        ({"GONGKAI_LANG": "fr"}, "GONGKAI_LANG"),
        ({"GONGKAI_DATABASE_URL": f"sqlite:///{tmp_path / 'absent' / 'g.db'}"}, "absent"),
        ({"GONGKAI_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"}, "gongkai init"),
        (
            {"GONGKAI_LANG": "en", "GONGKAI_AUDIT_KEY": None, "GONGKAI_AUDIT_KEY_FILE": str(tmp_path / "no.key")},
            "cannot read GONGKAI_AUDIT_KEY_FILE",
        ),
    ]
    for env, needle in cases:
        result = office.run("item", "list", env=env)
        assert result.returncode == 2, (env, result.stderr)
        assert needle in one_line(result), result.stderr


# ---- tampering -------------------------------------------------------------------------------


def test_verify_names_the_entry_changed_behind_its_back(fresh: Office) -> None:
    item_id, _ref = fresh.create("proactive_disclosure", "待审事项", "drafter", "--category", "03")
    fresh.ok("item", "fire", str(item_id), "submit", "--as", "drafter")
    fresh.ok("item", "fire", str(item_id), "send_back", "--as", "reviewer", "--comment", "请补充数据来源")
    assert re.match(rf"^{PEOPLE_ROWS + 3} entries verified\b", fresh.ok("audit", "verify"))
    [(seq,)] = fresh.sql("SELECT seq FROM audit_log WHERE comment = '请补充数据来源'")
    assert seq == PEOPLE_ROWS + 3

    conn = sqlite3.connect(fresh.db_file)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE audit_log SET comment = '同意' WHERE seq = ?", (seq,))
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET comment = '同意' WHERE seq = ?", (seq,))
        conn.commit()
    finally:
        conn.close()

    broken = fresh.run("audit", "verify")
    assert broken.returncode == 1
    assert one_line(broken) == f"审计记录 #{seq} 被篡改: 其内容与签名不符 (此前 {seq - 1} 条记录校验通过)"
    english = fresh.run("audit", "verify", env={"GONGKAI_LANG": "en"})
    assert english.returncode == 1
    assert one_line(english) == (
        f"audit entry #{seq} was changed: its content does not match its signature"
        f" ({seq - 1} entries before it verified)"
    )


# ---- PostgreSQL ------------------------------------------------------------------------------


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty database on the local server; dropped afterwards."""
    try:
        admin = psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=3)
    except psycopg.Error as error:
        if _in_ci():
            pytest.fail(f"PostgreSQL is required in CI and did not answer: {error}")
        pytest.skip(f"PostgreSQL not reachable: {error}")
    name = f"gk_cli_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_SERVER.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_postgresql_init_and_a_short_chain(pg_url: str, tmp_path: Path) -> None:
    pg = Office(tmp_path, base_env(pg_url))
    init = pg.ok("init")
    assert "proactive_disclosure" in init and init.splitlines()[-1].startswith("数据库已就绪: postgresql")
    for name, role in PEOPLE[:3]:
        pg.ok("users", "add", name, "--email", f"{name}@town.example.gov.cn", "--role", role)
    item_id, ref = pg.create("proactive_disclosure", "政务公开工作要点", "drafter", "--category", "总结计划")
    pg.ok("item", "fire", ref, "submit", "--as", "drafter")

    refused = pg.run("item", "fire", ref, "sign_off", "--as", "leader")
    assert refused.returncode == 1
    assert "'sign_off'" in one_line(refused)

    pg.ok("item", "fire", str(item_id), "clear", "--as", "reviewer")
    pg.ok("item", "fire", str(item_id), "sign_off", "--as", "leader")
    data = pg.show(ref)
    assert data["state"] == "published" and data["category"] == "03"
    assert data["id"] == item_id
    assert re.match(r"^7 entries verified\b", pg.ok("audit", "verify"))  # three people, an item, three moves

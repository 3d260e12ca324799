"""``gongkai item attach|detach`` and ``gongkai files verify``, run as a person would run them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests import sample_files as files
from tests.test_cli import Office, base_env, one_line


@pytest.fixture
def office(tmp_path: Path) -> Office:
    folder = tmp_path / "office"
    folder.mkdir()
    office = Office(folder, {**base_env(f"sqlite:///{folder / 'gongkai.db'}"), "GONGKAI_LANG": "en"})
    office.ok("init")
    for name, role in [("drafter", "drafter"), ("reviewer", "confidentiality_reviewer"), ("leader", "leader")]:
        office.ok("users", "add", name, "--email", f"{name}@town.example.gov.cn", "--role", role)
    return office


def test_attach_show_detach_and_verify(office: Office) -> None:
    item_id, reference = office.create("proactive_disclosure", "预算公开", "drafter", "--category", "03")
    table = office.folder / "2026年预算表.xlsx"
    table.write_bytes(files.xlsx())
    scan = office.folder / "扫描件.pdf"
    scan.write_bytes(files.pdf())
    out = office.ok("item", "attach", reference, str(table), str(scan), "--as", "drafter").splitlines()
    assert out[0].startswith(f"{reference}: + 2026年预算表.xlsx (")
    assert out[1].startswith(f"{reference}: + 扫描件.pdf (")
    shown = office.show(item_id)
    assert [a["name"] for a in shown["attachments"]] == ["2026年预算表.xlsx", "扫描件.pdf"]
    assert set(shown["attachments"][0]) == {"name", "sha256", "size", "media_type"}
    assert (office.folder / "files").is_dir(), "beside the SQLite database by default"
    audit = office.audit("--item", str(item_id))
    assert [a["name"] for a in audit[-1]["details"]["attached"]] == ["2026年预算表.xlsx", "扫描件.pdf"]

    sha = shown["attachments"][1]["sha256"]
    assert office.ok("item", "detach", str(item_id), sha, "--as", "drafter").splitlines()[0] == (
        f"{reference}: - 扫描件.pdf {sha}"
    )
    assert [a["name"] for a in office.show(item_id)["attachments"]] == ["2026年预算表.xlsx"]
    assert office.ok("files", "verify").strip() == "2 stored files verified"

    office.ok("item", "fire", str(item_id), "submit", "--as", "drafter")
    office.ok("item", "fire", str(item_id), "clear", "--as", "reviewer")
    stored = next((office.folder / "files").glob(f"??/??/{shown['attachments'][0]['sha256']}"))
    os.chmod(stored, 0o644)
    stored.write_bytes(files.xlsx() + b"altered")
    refused = office.run("files", "verify")
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert refused.stderr.startswith(f"{shown['attachments'][0]['sha256']} changed on disk: its content now hashes to ")
    assert refused.stderr.rstrip().endswith(f"(attached to {reference})")


def test_a_refused_file_is_one_line_and_changes_nothing(office: Office) -> None:
    item_id, _ = office.create("proactive_disclosure", "预算公开", "drafter", "--category", "03")
    before = office.show(item_id)
    program = office.folder / "年度报告.pdf"
    program.write_bytes(files.windows_exe())
    line = one_line(office.run("item", "attach", str(item_id), str(program), "--as", "drafter"))
    assert line == (
        "年度报告.pdf is a program (Windows PE/DOS), not a document: programs are never attached, whatever their name"
    )
    missing = one_line(office.run("item", "attach", str(item_id), "nothere.pdf", "--as", "drafter"))
    assert missing == "cannot read nothere.pdf: No such file or directory"
    after = office.show(item_id)
    assert (after["version"], after["content_hash"], after["attachments"]) == (
        before["version"],
        before["content_hash"],
        [],
    )
    assert office.ok("files", "verify").strip() == "0 stored files verified"
    assert json.loads(office.ok("audit", "log", "--json", "--item", str(item_id)))[-1]["trigger"] == "create"

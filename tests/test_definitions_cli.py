"""``gongkai definitions check|show|diagram``: the real console script, run as a user would run it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.env import outside_env
from workflow.core.loader import check_definition_text

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "definitions"
SCRIPT = Path(sys.executable).with_name("gongkai")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "workflow.cli"]
BUNDLED_NAMES = "appeal, consultation, disclosure_request, normative_document, proactive_disclosure"

BROKEN = """\
name: broken
label: {zh: 坏的, en: Broken}
reference_prefix: BR
creator_role: author
initial: drafting
states:
  drafting:
    label: {zh: 起草, en: Drafting}
    role: drafter
  done:
    label: {zh: 完成}
    terminal: true
transitions:
  - trigger: finish
    source: drafting
    dest: done
    role: drafter
    guards: [requires_coment]
triggers:
  finish:
    label: {zh: 完成, en: Finish}
"""


def gongkai(
    *args: str, cwd: Path, definitions: Path = DEFINITIONS, lang: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = outside_env()
    env["GONGKAI_DEFINITIONS_DIR"] = str(definitions)
    env["GONGKAI_DATABASE_URL"] = f"sqlite:///{cwd / 'unused.db'}"
    if lang is not None:
        env["GONGKAI_LANG"] = lang
    return subprocess.run(
        [*COMMAND, "definitions", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=30
    )


def raw(name: str) -> dict[str, Any]:
    data = yaml.safe_load((DEFINITIONS / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def expected_stderr(paths: list[Path], lang: str) -> list[str]:
    """What check must print: every problem of every file, computed in-process."""
    return [
        problem.render(lang)
        for path in paths
        for problem in check_definition_text(path.read_text(encoding="utf-8"), str(path))
    ]


def office_with_broken_files(tmp_path: Path) -> tuple[Path, list[Path]]:
    """A definitions folder: the real catalogue, one good chain and two broken ones."""
    folder = tmp_path / "definitions"
    folder.mkdir()
    shutil.copy(DEFINITIONS / "catalog.yaml", folder / "catalog.yaml")
    shutil.copy(DEFINITIONS / "office.yaml", folder / "office.yaml")
    shutil.copy(DEFINITIONS / "proactive_disclosure.yaml", folder / "proactive_disclosure.yaml")
    broken = folder / "broken.yaml"
    broken.write_text(BROKEN, encoding="utf-8")
    bad_yaml = folder / "bad_yaml.yaml"
    bad_yaml.write_text("name: bad_yaml\nlabel: zh: 坏\n", encoding="utf-8")
    return folder, [bad_yaml, broken]  # sorted by name, as check reads them


# ---- check ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "summary"), [(None, "5 个流程定义检查通过"), ("en", "5 definitions OK")], ids=["zh", "en"]
)
def test_check_bundled_folder_passes(tmp_path: Path, lang: str | None, summary: str) -> None:
    result = gongkai("check", cwd=tmp_path, lang=lang)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.strip() == summary


def test_check_default_folder_is_definitions_in_the_working_directory(tmp_path: Path) -> None:
    env = outside_env()
    result = subprocess.run(
        [*COMMAND, "definitions", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "5 个流程定义检查通过"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_check_folder_with_problems_prints_one_line_per_problem(tmp_path: Path, lang: str) -> None:
    folder, broken = office_with_broken_files(tmp_path)
    result = gongkai("check", cwd=tmp_path, definitions=folder, lang=lang)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines == expected_stderr(broken, lang)
    # bad YAML stops its file at one problem; the other file has all three of its problems
    assert [line.split(": ", 1)[0] for line in lines] == [
        f"{broken[0]}:2",
        f"{broken[1]}:4",
        f"{broken[1]}:11",
        f"{broken[1]}:18",
    ]
    if lang == "en":
        assert lines[1] == f"{broken[1]}:4: unknown role 'author'"
        assert lines[2] == f"{broken[1]}:11: label must have both zh and en, non-empty"
        assert lines[3].startswith(f"{broken[1]}:18: unknown guard 'requires_coment' (allowed: ")
    else:
        assert lines[1] == f"{broken[1]}:4: 未知的角色 'author'"
        assert lines[0].startswith(f"{broken[0]}:2: YAML 格式错误: ")


def test_check_explicit_files_reports_only_those(tmp_path: Path) -> None:
    folder, broken = office_with_broken_files(tmp_path)
    good = folder / "proactive_disclosure.yaml"
    result = gongkai("check", str(good), str(broken[1]), cwd=tmp_path, lang="en")
    assert result.returncode == 1
    assert result.stderr.splitlines() == expected_stderr([broken[1]], "en")
    assert all(line.startswith(f"{broken[1]}:") for line in result.stderr.splitlines())


def test_check_explicit_good_file_passes_without_a_catalog(tmp_path: Path) -> None:
    good = tmp_path / "chain.yaml"
    shutil.copy(DEFINITIONS / "disclosure_request.yaml", good)
    result = gongkai("check", str(good), cwd=tmp_path, definitions=tmp_path / "nowhere", lang="en")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1 definition OK"


def test_check_missing_file_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    result = gongkai("check", str(missing), cwd=tmp_path, lang="en")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{missing}:1: cannot read the file: ")


def test_check_folder_without_catalog_reports_the_catalog(tmp_path: Path) -> None:
    shutil.copy(DEFINITIONS / "normative_document.yaml", tmp_path / "normative_document.yaml")
    result = gongkai("check", cwd=tmp_path, definitions=tmp_path, lang="en")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{tmp_path / 'catalog.yaml'}:1: cannot read the file: ")


def test_check_folder_reports_a_broken_office_file_with_its_line(tmp_path: Path) -> None:
    for name in ("catalog.yaml", "proactive_disclosure.yaml"):
        shutil.copy(DEFINITIONS / name, tmp_path / name)
    office = (DEFINITIONS / "office.yaml").read_text(encoding="utf-8")
    office = office.replace('"06": [portal, webhook, notice_board, broadcast]', '"06": [portal, loudspeaker]')
    (tmp_path / "office.yaml").write_text(office, encoding="utf-8")
    line = next(n for n, text in enumerate(office.splitlines(), 1) if "loudspeaker" in text)
    result = gongkai("check", cwd=tmp_path, definitions=tmp_path, lang="en")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{tmp_path / 'office.yaml'}:{line}: unknown channel 'loudspeaker' "
        "(allowed: portal, notice_board, broadcast, webhook)"
    ]


# ---- show ----------------------------------------------------------------------------------


def test_show_lists_every_state_and_transition(tmp_path: Path) -> None:
    result = gongkai("show", "proactive_disclosure", cwd=tmp_path, lang="en")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("proactive_disclosure — Proactive disclosure (")
    data = raw("proactive_disclosure")
    states_at, transitions_at = lines.index("states:"), lines.index("transitions:")
    state_rows = [line.split() for line in lines[states_at + 1 : transitions_at]]
    assert [row[0] for row in state_rows] == list(data["states"])
    assert state_rows[0][-2:] == ["initial", "editable"]
    assert [row[0] for row in state_rows if row[-1] == "terminal"] == ["withheld", "withdrawn"]
    moves = [line.split()[:4] for line in lines[transitions_at + 1 :]]
    assert moves == [
        ["submit", "drafting", "->", "confidentiality_review"],
        ["clear", "confidentiality_review", "->", "leadership_signoff"],
        ["send_back", "confidentiality_review", "->", "drafting"],
        ["withhold", "confidentiality_review", "->", "withheld"],
        ["sign_off", "leadership_signoff", "->", "published"],
        ["send_back", "leadership_signoff", "->", "drafting"],
        ["withdraw", "published|expired", "->", "withdrawn"],
        ["revise", "published", "->", "drafting"],
        ["schedule", "leadership_signoff", "->", "scheduled"],
        ["publish", "scheduled", "->", "published"],
        ["unschedule", "scheduled", "->", "leadership_signoff"],
        ["confirm_current", "published", "->", "(no"],
        ["expire", "published", "->", "expired"],
        ["set_expiry", "published", "->", "(no"],
    ]
    assert "requires_comment, not_same_actor_as" in lines[transitions_at + 4]


def test_show_in_chinese_and_an_internal_transition(tmp_path: Path) -> None:
    result = gongkai("show", "disclosure_request", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "状态:" in result.stdout.splitlines()
    extend = next(line for line in result.stdout.splitlines() if line.split()[:1] == ["extend"])
    assert "processing -> (状态不变)" in extend
    assert "[领导]" in extend
    assert "draft_reply          processing|awaiting_correction -> reply_review" in result.stdout


# ---- diagram -------------------------------------------------------------------------------


def test_diagram_is_a_mermaid_state_diagram_with_a_line_per_transition(tmp_path: Path) -> None:
    result = gongkai("diagram", "disclosure_request", cwd=tmp_path, lang="en")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert "    [*] --> received" in lines
    assert '    state "Received" as received' in lines
    assert "    answered --> [*]" in lines
    data = raw("disclosure_request")
    expected = []
    for spec in data["transitions"]:
        sources = spec["source"] if isinstance(spec["source"], list) else [spec["source"]]
        expected += [f"    {source} --> {spec['dest'] or source}: {spec['trigger']}" for source in sources]
    assert len(expected) == 12
    assert [line for line in lines if re.match(r"^    \w+ --> \w+: \w+$", line)] == expected
    assert "    processing --> processing: extend" in lines


def test_diagram_labels_follow_the_language(tmp_path: Path) -> None:
    result = gongkai("diagram", "disclosure_request", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert '    state "已收到" as received' in result.stdout.splitlines()


# ---- unknown names and broken definitions --------------------------------------------------


@pytest.mark.parametrize(
    ("command", "lang", "message"),
    [
        ("show", None, f"找不到流程定义 'nope' (可用: {BUNDLED_NAMES})"),
        ("diagram", "en", f"no definition 'nope' (available: {BUNDLED_NAMES})"),
    ],
    ids=["show-zh", "diagram-en"],
)
def test_unknown_definition_name_exits_2_with_one_line(
    tmp_path: Path, command: str, lang: str | None, message: str
) -> None:
    result = gongkai(command, "nope", cwd=tmp_path, lang=lang)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [message]


def test_catalog_is_not_a_definition_name(tmp_path: Path) -> None:
    result = gongkai("show", "catalog", cwd=tmp_path, lang="en")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"no definition 'catalog' (available: {BUNDLED_NAMES})"]


def test_show_of_a_broken_definition_prints_its_problems(tmp_path: Path) -> None:
    folder, broken = office_with_broken_files(tmp_path)
    result = gongkai("show", "broken", cwd=tmp_path, definitions=folder, lang="en")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == expected_stderr([broken[1]], "en")

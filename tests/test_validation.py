"""Definition validation: every kind of problem names its FILE and LINE; bundled definitions are valid.

Each broken definition is the small valid ``BASE`` with one edit, written to a real file,
so every test isolates one problem and checks the exact list of problems reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from workflow.core.definition import Definition
from workflow.core.errors import DefinitionError
from workflow.core.loader import (
    check_definition_text,
    definition_files,
    load_catalog,
    load_definition_file,
    load_definition_text,
    load_definitions,
)
from workflow.core.machine import compiled
from workflow.core.messages import message
from workflow.core.validation import Problem

DEFINITIONS = Path(__file__).resolve().parent.parent / "definitions"

BASE = """\
name: sample
label: {zh: 样例, en: Sample}
reference_prefix: SP
creator_role: drafter
initial: drafting
fields:
  received_on:
    type: date
    label: {zh: 收到日期, en: Received on}
  note:
    type: text
    label: {zh: 备注, en: Note}
triggers:
  submit:
    label: {zh: 送审, en: Submit}
  approve:
    label: {zh: 通过, en: Approve}
  send_back:
    label: {zh: 退回, en: Send back}
states:
  drafting:
    label: {zh: 起草, en: Drafting}
    role: drafter
    editable: true
  review:
    label: {zh: 审查, en: Review}
    role: confidentiality_reviewer
  done:
    label: {zh: 完成, en: Done}
    terminal: true
transitions:
  - trigger: submit
    source: drafting
    dest: review
    role: drafter
  - trigger: approve
    source: review
    dest: done
    role: confidentiality_reviewer
  - trigger: send_back
    source: review
    dest: drafting
    role: confidentiality_reviewer
    guards: [requires_comment]
"""


def edited(old: str, new: str, text: str = BASE) -> str:
    """``text`` with its one occurrence of ``old`` replaced (fails loudly if the edit misses)."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def appended(extra: str, base: str = BASE) -> str:
    """``base`` with more transitions at the end of its list, each new trigger declared with a label."""
    text = base + extra
    for trigger in dict.fromkeys(re.findall(r"trigger: ([a-z_]+)$", extra, flags=re.MULTILINE)):
        if f"\n  {trigger}:\n" not in text:
            text = text.replace(
                "triggers:\n", f"triggers:\n  {trigger}:\n    label: {{zh: {trigger}, en: {trigger}}}\n", 1
            )
    return text


def with_state(state: str) -> str:
    """BASE with one more state declared after ``done``."""
    return edited("transitions:\n", state + "transitions:\n")


def line_of(text: str, snippet: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line containing ``snippet``: computed from the text itself."""
    found = [number for number, line in enumerate(text.splitlines(), start=1) if snippet in line]
    assert len(found) >= occurrence, f"{snippet!r} found {len(found)} times"
    return found[occurrence - 1]


def write(tmp_path: Path, text: str, name: str = "sample.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[Problem]:
    return check_definition_text(path.read_text(encoding="utf-8"), str(path))


def found(problems: list[Problem]) -> list[tuple[int, str]]:
    return [(problem.line, problem.key) for problem in problems]


def only_problem(path: Path, line: int, key: str) -> Problem:
    """Assert ``path`` has exactly one problem, ``key`` at ``line``, rendered ``FILE:LINE: ...``."""
    problems = problems_of(path)
    assert found(problems) == [(line, key)]
    problem = problems[0]
    assert problem.file == str(path)
    assert problem.render("en").startswith(f"{path}:{line}: ")
    return problem


def english(problem: Problem) -> str:
    return message(problem.key, "en", **problem.params)


# ---- the base ------------------------------------------------------------------------------


def test_base_sample_is_valid_so_each_edit_isolates_one_problem(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    assert problems_of(path) == []
    definition = load_definition_file(path)
    assert definition.name == "sample"
    assert definition.source_path == str(path)
    assert list(definition.states) == ["drafting", "review", "done"]
    assert definition.triggers == ["submit", "approve", "send_back"]


# ---- YAML itself ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "bad_line_snippet", "gist"),
    [
        # a mapping value inside a plain scalar: the error is on that very line
        ("label: {zh: 样例, en: Sample}", "label: zh: 样例", "label: zh: 样例", "mapping values are not allowed"),
        # a key indented one space less than its siblings
        ("    role: drafter\n    editable", "   role: drafter\n    editable", "   role: drafter", "block mapping"),
        # a tab where YAML needs spaces
        ("    editable: true\n", "\teditable: true\n", "\teditable: true", "'\\t'"),
    ],
    ids=["mapping-in-scalar", "bad-indent", "tab"],
)
def test_bad_yaml_syntax_reports_the_line_of_the_error(
    tmp_path: Path, old: str, new: str, bad_line_snippet: str, gist: str
) -> None:
    text = edited(old, new)
    path = write(tmp_path, text)
    problem = only_problem(path, line_of(text, bad_line_snippet), "definition.bad_yaml")
    assert english(problem).startswith("bad YAML: ")
    assert gist in english(problem)


def test_bad_yaml_makes_load_raise_definition_error_not_a_yaml_error(tmp_path: Path) -> None:
    text = edited("label: {zh: 样例, en: Sample}", "label: zh: 样例")
    path = write(tmp_path, text)
    with pytest.raises(DefinitionError) as caught:
        load_definition_file(path)
    assert found(caught.value.problems) == [(2, "definition.bad_yaml")]
    assert str(caught.value).startswith(f"{path}:2: bad YAML: ")


def test_a_character_yaml_refuses_is_one_line_at_its_own_line(tmp_path: Path) -> None:
    """PyYAML's reader error spans two lines ("... in <unicode string>, position N"); found by the loader fuzz
    drill (tests/reliability): each problem must stay one ``FILE:LINE: message`` line."""
    text = edited("initial: drafting\n", "initial: draft\x00ing\n")
    path = write(tmp_path, text)
    with pytest.raises(DefinitionError) as caught:
        load_definition_file(path)
    rendered = str(caught.value)
    detail = "unacceptable character #x0000: special characters are not allowed"
    assert rendered == f"{path}:{line_of(text, 'initial: draft')}: bad YAML: {detail}"


def test_a_name_with_a_line_break_is_shown_escaped_on_one_line(tmp_path: Path) -> None:
    """Found by the loader fuzz drill: a quoted name holding CR or LF split a problem over two lines."""
    text = edited("initial: drafting\n", 'initial: "draft\\r\\ning"\n')
    path = write(tmp_path, text)
    with pytest.raises(DefinitionError) as caught:
        load_definition_file(path)
    lines = str(caught.value).splitlines()
    assert lines and all(line.startswith(f"{path}:") for line in lines), lines
    assert any("draft\\r\\ning" in line for line in lines), lines


def test_duplicate_key_is_reported_at_its_second_occurrence(tmp_path: Path) -> None:
    text = edited("initial: drafting\n", "initial: drafting\ninitial: review\n")
    path = write(tmp_path, text)
    problem = only_problem(path, line_of(text, "initial: review"), "definition.duplicate_key")
    assert english(problem) == "key 'initial' appears twice"


def test_duplicate_state_name_is_a_duplicate_key(tmp_path: Path) -> None:
    text = with_state("  review:\n    label: {zh: 复审, en: Second review}\n    role: leader\n")
    problem = only_problem(write(tmp_path, text), line_of(text, "  review:", 2), "definition.duplicate_key")
    assert english(problem) == "key 'review' appears twice"


@pytest.mark.parametrize("text", ["", "# only a comment\n", "- a list\n- of things\n", "just words\n"])
def test_a_document_that_is_not_a_mapping(tmp_path: Path, text: str) -> None:
    problem = only_problem(write(tmp_path, text), 1, "definition.not_mapping")
    assert english(problem) == "a definition must be a mapping (key: value)"


# ---- keys ----------------------------------------------------------------------------------


def test_unknown_top_level_key_typo_names_the_key_and_the_allowed_ones(tmp_path: Path) -> None:
    text = edited("transitions:\n", "transition:\n")
    path = write(tmp_path, text)
    problems = problems_of(path)
    # the typo, and the key it was meant to be is then missing (reported at the document's first line)
    assert found(problems) == [
        (line_of(text, "transition:"), "definition.unknown_key"),
        (1, "definition.missing_key"),
    ]
    typo, missing = problems
    assert english(typo).startswith("unknown key 'transition' (allowed: ")
    assert "transitions" in typo.params["allowed"].split(", ")
    assert english(missing) == "missing required key 'transitions'"


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("label: {zh: 样例, en: Sample}\n", "label"),
        ("reference_prefix: SP\n", "reference_prefix"),
        ("creator_role: drafter\n", "creator_role"),
        ("initial: drafting\n", "initial"),
    ],
)
def test_missing_required_top_level_key(tmp_path: Path, line: str, key: str) -> None:
    problem = only_problem(write(tmp_path, edited(line, "")), 1, "definition.missing_key")
    assert english(problem) == f"missing required key '{key}'"


def test_missing_key_is_reported_at_the_first_key_when_comments_come_first(tmp_path: Path) -> None:
    text = "# a header comment\n\n" + edited("reference_prefix: SP\n", "")
    only_problem(write(tmp_path, text), 3, "definition.missing_key")


def test_missing_key_of_a_transition_is_reported_at_its_first_line(tmp_path: Path) -> None:
    text = edited("    dest: done\n", "")
    path = write(tmp_path, text)
    problems = problems_of(path)
    # without a dest, approve leads nowhere: done can no longer be reached
    assert found(problems) == [
        (line_of(text, "trigger: approve"), "definition.missing_key"),
        (line_of(text, "  done:"), "definition.unreachable"),
    ]
    assert english(problems[0]) == "missing required key 'dest'"


def test_unknown_key_in_a_state_and_a_transition(tmp_path: Path) -> None:
    text = edited("    terminal: true\n", "    terminal: true\n    colour: red\n")
    text = edited("    dest: review\n", "    dest: review\n    roles: [drafter]\n", text)
    path = write(tmp_path, text)
    problems = problems_of(path)
    assert found(problems) == [
        (line_of(text, "colour: red"), "definition.unknown_key"),
        (line_of(text, "roles: [drafter]"), "definition.unknown_key"),
    ]
    assert english(problems[0]) == "unknown key 'colour' (allowed: deadline, editable, label, role, terminal)"
    assert english(problems[1]).startswith(
        "unknown key 'roles' (allowed: dest, fires_at, guards, late_after, optional_fields, role, "
    )


# ---- states --------------------------------------------------------------------------------


def test_unknown_state_in_source(tmp_path: Path) -> None:
    text = edited("  - trigger: send_back\n    source: review\n", "  - trigger: send_back\n    source: reviw\n")
    path = write(tmp_path, text)
    problem = only_problem(path, line_of(text, "source: reviw"), "definition.unknown_state")
    assert english(problem) == "unknown state 'reviw'"


def test_unknown_state_in_one_of_several_sources(tmp_path: Path) -> None:
    text = edited("    source: review\n    dest: drafting\n", "    source: [review, revue]\n    dest: drafting\n")
    path = write(tmp_path, text)
    problem = only_problem(path, line_of(text, "source: [review, revue]"), "definition.unknown_state")
    assert problem.params == {"state": "revue"}


def test_unknown_state_in_dest(tmp_path: Path) -> None:
    text = edited("    dest: drafting\n", "    dest: drafing\n")
    path = write(tmp_path, text)
    problem = only_problem(path, line_of(text, "dest: drafing"), "definition.unknown_state")
    assert english(problem) == "unknown state 'drafing'"


def test_unknown_initial_state(tmp_path: Path) -> None:
    text = edited("initial: drafting\n", "initial: draft\n")
    problem = only_problem(write(tmp_path, text), line_of(text, "initial: draft"), "definition.unknown_state")
    assert english(problem) == "unknown state 'draft'"


def test_terminal_initial_state(tmp_path: Path) -> None:
    text = edited("initial: drafting\n", "initial: done\n")
    problems = problems_of(write(tmp_path, text))
    # nothing leads from done, so drafting and review are unreachable as well
    assert found(problems) == [
        (line_of(text, "  drafting:"), "definition.unreachable"),
        (line_of(text, "  review:"), "definition.unreachable"),
        (line_of(text, "initial: done"), "definition.initial_terminal"),
    ]
    assert english(problems[-1]) == "initial state 'done' cannot be terminal"


def test_unreachable_state(tmp_path: Path) -> None:
    text = with_state("  archived:\n    label: {zh: 归档, en: Archived}\n    terminal: true\n")
    path = write(tmp_path, text)
    problem = only_problem(path, line_of(text, "  archived:"), "definition.unreachable")
    assert english(problem) == "state 'archived' cannot be reached from the initial state"


def test_state_reached_only_through_an_unreachable_state_is_unreachable_too(tmp_path: Path) -> None:
    text = appended(
        "  - trigger: purge\n    source: archived\n    dest: purged\n    role: office\n",
        with_state(
            "  archived:\n    label: {zh: 归档, en: Archived}\n    role: office\n"
            "  purged:\n    label: {zh: 销毁, en: Purged}\n    terminal: true\n"
        ),
    )
    path = write(tmp_path, text)
    assert found(problems_of(path)) == [
        (line_of(text, "  archived:"), "definition.unreachable"),
        (line_of(text, "  purged:"), "definition.unreachable"),
    ]


def test_non_terminal_dead_end(tmp_path: Path) -> None:
    text = appended(
        "  - trigger: park\n    source: review\n    dest: parked\n    role: confidentiality_reviewer\n",
        with_state("  parked:\n    label: {zh: 搁置, en: Parked}\n    role: leader\n"),
    )
    path = write(tmp_path, text)
    problem = only_problem(path, line_of(text, "  parked:"), "definition.dead_end")
    assert english(problem) == "state 'parked' is not terminal but has no transition to another state"


def test_a_state_with_only_internal_transitions_is_still_a_dead_end(tmp_path: Path) -> None:
    text = appended(
        "  - trigger: park\n    source: review\n    dest: parked\n    role: confidentiality_reviewer\n"
        "  - trigger: remind\n    source: parked\n    dest: null\n    role: leader\n",
        with_state("  parked:\n    label: {zh: 搁置, en: Parked}\n    role: leader\n"),
    )
    only_problem(write(tmp_path, text), line_of(text, "  parked:"), "definition.dead_end")


def test_terminal_state_with_exits(tmp_path: Path) -> None:
    text = appended("  - trigger: reopen\n    source: done\n    dest: drafting\n    role: leader\n")
    path = write(tmp_path, text)
    problem = only_problem(path, line_of(text, "  done:"), "definition.terminal_has_exit")
    assert english(problem) == "terminal state 'done' cannot have transitions out"


def test_terminal_state_with_an_internal_transition_has_an_exit_too(tmp_path: Path) -> None:
    text = appended("  - trigger: annotate\n    source: done\n    dest: null\n    role: leader\n")
    only_problem(write(tmp_path, text), line_of(text, "  done:"), "definition.terminal_has_exit")


# ---- transitions ---------------------------------------------------------------------------


def test_duplicate_trigger_from_one_source_names_the_first_line(tmp_path: Path) -> None:
    text = appended("  - trigger: approve\n    source: review\n    dest: drafting\n    role: leader\n")
    path = write(tmp_path, text)
    first, second = line_of(text, "trigger: approve", 1), line_of(text, "trigger: approve", 2)
    problem = only_problem(path, second, "definition.duplicate_trigger")
    assert problem.params["other"] == first
    assert english(problem) == f"trigger 'approve' is already declared from state 'review' (line {first})"
    assert f"第 {first} 行" in problem.render("zh")


def test_duplicate_trigger_through_a_list_of_sources(tmp_path: Path) -> None:
    text = appended("  - trigger: submit\n    source: [review, drafting]\n    dest: done\n    role: drafter\n")
    path = write(tmp_path, text)
    problem = only_problem(path, line_of(text, "trigger: submit", 2), "definition.duplicate_trigger")
    assert problem.params == {"trigger": "submit", "state": "drafting", "other": line_of(text, "trigger: submit")}


def test_same_trigger_from_different_sources_is_fine(tmp_path: Path) -> None:
    # send_back from two states is how the bundled chains are written
    text = appended("  - trigger: approve\n    source: drafting\n    dest: review\n    role: drafter\n")
    assert problems_of(write(tmp_path, text)) == []


def test_bad_trigger_name(tmp_path: Path) -> None:
    text = edited("trigger: approve", "trigger: Approve")
    problem = only_problem(write(tmp_path, text), line_of(text, "trigger: Approve"), "definition.bad_name")
    assert english(problem).startswith("invalid name 'Approve': ")


# ---- roles ---------------------------------------------------------------------------------


def test_unknown_role_in_state(tmp_path: Path) -> None:
    text = edited("    role: drafter\n    editable", "    role: author\n    editable")
    problem = only_problem(write(tmp_path, text), line_of(text, "role: author"), "definition.unknown_role")
    assert english(problem) == "unknown role 'author'"


def test_unknown_role_in_a_state_role_list(tmp_path: Path) -> None:
    text = edited(
        "    role: confidentiality_reviewer\n  done:", "    role: [confidentiality_reviewer, censor]\n  done:"
    )
    problem = only_problem(write(tmp_path, text), line_of(text, "censor"), "definition.unknown_role")
    assert problem.params == {"role": "censor"}


def test_unknown_role_in_transition(tmp_path: Path) -> None:
    text = edited("    dest: review\n    role: drafter\n", "    dest: review\n    role: writer\n")
    problem = only_problem(write(tmp_path, text), line_of(text, "role: writer"), "definition.unknown_role")
    assert english(problem) == "unknown role 'writer'"


def test_unknown_creator_role(tmp_path: Path) -> None:
    text = edited("creator_role: drafter", "creator_role: clerk")
    only_problem(write(tmp_path, text), line_of(text, "creator_role: clerk"), "definition.unknown_role")


# ---- guards --------------------------------------------------------------------------------


def test_unknown_guard_names_it_and_the_known_ones(tmp_path: Path) -> None:
    text = edited("guards: [requires_comment]", "guards: [requires_coment]")
    problem = only_problem(write(tmp_path, text), line_of(text, "requires_coment"), "definition.unknown_guard")
    assert english(problem) == (
        "unknown guard 'requires_coment' "
        "(allowed: not_same_actor_as, once_per_item, quorum, requires_comment, requires_field)"
    )


def guarded(guard_yaml: str) -> str:
    """BASE with ``approve`` carrying one guard, written in block style on its own line."""
    return edited(
        "    dest: done\n    role: confidentiality_reviewer\n",
        f"    dest: done\n    role: confidentiality_reviewer\n    guards:\n      - {guard_yaml}\n",
    )


@pytest.mark.parametrize(
    ("guard_yaml", "key", "message"),
    [
        ("quorum: {count: 1}", "guard.quorum_count", "guard 'quorum' needs count: an integer of at least 2"),
        ("quorum: {count: true}", "guard.quorum_count", "guard 'quorum' needs count: an integer of at least 2"),
        ("quorum", "guard.quorum_count", "guard 'quorum' needs count: an integer of at least 2"),
        (
            "not_same_actor_as: {roles: [drafter, boss]}",
            "definition.unknown_role",
            "unknown role 'boss'",
        ),
        (
            "not_same_actor_as: {triggers: [sumbit]}",
            "definition.unknown_trigger",
            "unknown trigger 'sumbit'",
        ),
        (
            "not_same_actor_as: {roles: drafter}",
            "guard.not_same_actor_as_shape",
            "guard 'not_same_actor_as' needs lists of names under roles and/or triggers",
        ),
        (
            "not_same_actor_as: {people: [drafter]}",
            "guard.not_same_actor_as_shape",
            "guard 'not_same_actor_as' needs lists of names under roles and/or triggers",
        ),
        (
            "requires_field: outcome",
            "guard.unknown_field",
            "guard 'requires_field' names undeclared field 'outcome'",
        ),
        (
            "requires_field: [note, outcome]",
            "guard.unknown_field",
            "guard 'requires_field' names undeclared field 'outcome'",
        ),
        (
            "requires_field: {name: note}",
            "guard.field_names",
            "guard 'requires_field' needs a field name or a list of field names",
        ),
        ("requires_comment: please", "guard.takes_no_params", "guard 'requires_comment' takes no parameters"),
        ("once_per_item: 2", "guard.takes_no_params", "guard 'once_per_item' takes no parameters"),
        (
            "{quorum: {count: 2}, requires_comment: null}",
            "definition.bad_guard_shape",
            "a guard is a name, or a one-key mapping 'name: parameters'",
        ),
    ],
)
def test_bad_guard_params_are_reported_at_the_guard(tmp_path: Path, guard_yaml: str, key: str, message: str) -> None:
    text = guarded(guard_yaml)
    problem = only_problem(write(tmp_path, text), line_of(text, f"- {guard_yaml}"), key)
    assert english(problem) == message


@pytest.mark.parametrize(
    "guard_yaml",
    [
        "quorum: {count: 2}",
        "not_same_actor_as: {roles: [drafter], triggers: [submit]}",
        "requires_field: note",
        "requires_field: [note, received_on]",
        "requires_comment",
        "once_per_item",
    ],
)
def test_good_guard_params_pass(tmp_path: Path, guard_yaml: str) -> None:
    assert problems_of(write(tmp_path, guarded(guard_yaml))) == []


# ---- types ---------------------------------------------------------------------------------


def test_terminal_as_a_string_is_not_a_bool(tmp_path: Path) -> None:
    text = edited("    terminal: true\n", '    terminal: "yes"\n')
    problems = problems_of(write(tmp_path, text))
    # not terminal then, and so a dead end as well
    assert found(problems) == [
        (line_of(text, 'terminal: "yes"'), "definition.not_bool"),
        (line_of(text, "  done:"), "definition.dead_end"),
    ]
    assert english(problems[0]) == "'terminal' must be true or false"


def test_state_label_missing_en(tmp_path: Path) -> None:
    text = edited("label: {zh: 审查, en: Review}", "label: {zh: 审查}")
    problem = only_problem(write(tmp_path, text), line_of(text, "label: {zh: 审查}"), "definition.bad_label")
    assert english(problem) == "label must have both zh and en, non-empty"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("label: {zh: 样例, en: Sample}", "label: {zh: 样例, en: ''}"),
        ("label: {zh: 样例, en: Sample}", "label: 样例"),
        ("label: {zh: 样例, en: Sample}", "label: {zh: 样例, en: Sample, fr: Exemple}"),
        ("label: {zh: 备注, en: Note}", "label: {en: Note}"),
    ],
    ids=["empty-en", "plain-string", "extra-language", "field-missing-zh"],
)
def test_other_bad_labels(tmp_path: Path, old: str, new: str) -> None:
    text = edited(old, new)
    only_problem(write(tmp_path, text), line_of(text, new), "definition.bad_label")


def test_choices_on_a_text_field(tmp_path: Path) -> None:
    text = edited("    type: text\n", "    type: text\n    choices: [a, b]\n")
    problem = only_problem(write(tmp_path, text), line_of(text, "choices: [a, b]"), "definition.choices_not_choice")
    assert english(problem) == "field 'note' is not a choice: it cannot have choices"


def test_choice_field_without_choices(tmp_path: Path) -> None:
    text = edited("    type: text\n", "    type: choice\n")
    path = write(tmp_path, text)
    # the field has no choices key, so the problem points at the field's nearest line
    problem = only_problem(path, line_of(text, "  note:"), "definition.bad_choices")
    assert english(problem) == "field 'note' is a choice: it needs its choices, each as value: {zh: ..., en: ...}"


def test_unknown_field_type(tmp_path: Path) -> None:
    text = edited("    type: text\n", "    type: string\n")
    problem = only_problem(write(tmp_path, text), line_of(text, "type: string"), "definition.bad_field_type")
    assert english(problem) == "field 'note' has an invalid type (allowed: text, date, datetime, choice)"


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("reference_prefix: SP", "reference_prefix: sp-1", "definition.bad_prefix"),
        ("name: sample", "name: Sample Chain", "definition.bad_name"),
        ("    editable: true", "    editable: 1", "definition.not_bool"),
        ("creator_role: drafter", "creator_role: drafter\nrequires_category: maybe", "definition.not_bool"),
    ],
)
def test_other_wrong_scalar_types(tmp_path: Path, old: str, new: str, key: str) -> None:
    text = edited(old, new)
    only_problem(write(tmp_path, text), line_of(text, new.splitlines()[-1]), key)


@pytest.mark.parametrize(
    ("old", "new", "key", "snippet"),
    [
        # a name where a list or mapping is expected, or the reverse: reported, never a crash
        (
            "    role: drafter\n  - trigger: approve",
            "    role: [drafter, office]\n  - trigger: approve",
            "definition.unknown_role",
            "role: [drafter, office]",
        ),
        ("creator_role: drafter", "creator_role: [drafter]", "definition.unknown_role", "creator_role: [drafter]"),
        (
            "    role: drafter\n    editable",
            "    role: {drafter: 1}\n    editable",
            "definition.unknown_role",
            "role: {drafter: 1}",
        ),
        ("initial: drafting", "initial: [drafting]", "definition.unknown_state", "initial: [drafting]"),
        ("    dest: drafting\n", "    dest: [drafting]\n", "definition.unknown_state", "dest: [drafting]"),
        ("trigger: send_back", "trigger: [send_back]", "definition.bad_name", "trigger: [send_back]"),
    ],
    ids=[
        "transition-role-list",
        "creator-role-list",
        "state-role-mapping",
        "initial-list",
        "dest-list",
        "trigger-list",
    ],
)
def test_unhashable_values_are_problems_not_crashes(tmp_path: Path, old: str, new: str, key: str, snippet: str) -> None:
    text = edited(old, new)
    problem = only_problem(write(tmp_path, text), line_of(text, snippet), key)
    assert english(problem)


def test_nested_list_of_sources_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    text = edited("    source: review\n    dest: drafting\n", "    source: [[review]]\n    dest: drafting\n")
    only_problem(write(tmp_path, text), line_of(text, "source: [[review]]"), "definition.unknown_state")


STATES_BLOCK = BASE[BASE.index("states:\n") : BASE.index("transitions:\n")]
NO_STATES = BASE.replace(STATES_BLOCK, "states:\n")
NO_TRANSITIONS = BASE[: BASE.index("transitions:\n")] + "transitions:\n"


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        (
            NO_STATES,
            line_of(NO_STATES, "states:"),
            "definition.not_mapping_key",
            "'states' must be a mapping (key: value)",
        ),
        (
            NO_TRANSITIONS,
            line_of(NO_TRANSITIONS, "transitions:"),
            "definition.not_list",
            "'transitions' must be a non-empty list",
        ),
    ],
    ids=["states", "transitions"],
)
def test_states_or_transitions_left_empty(tmp_path: Path, text: str, line: int, key: str, message: str) -> None:
    # an empty key is null in YAML: present, so not "missing", and not a mapping or list either
    path = write(tmp_path, text)
    problem = only_problem(path, line, key)
    assert english(problem) == message
    with pytest.raises(DefinitionError):
        load_definition_file(path)


# ---- late_after ----------------------------------------------------------------------------


def late(from_field: Any, working_days: Any = 7) -> str:
    return edited(
        "    dest: review\n    role: drafter\n",
        "    dest: review\n    role: drafter\n"
        f"    late_after: {{from_field: {from_field}, working_days: {working_days}}}\n",
    )


def test_late_after_on_a_date_field_is_fine(tmp_path: Path) -> None:
    definition = load_definition_file(write(tmp_path, late("received_on")))
    mark = definition.transitions[0].late_after
    assert mark is not None and (mark.from_field, mark.working_days) == ("received_on", 7)


@pytest.mark.parametrize("field", ["note", "nowhere"], ids=["text-field", "undeclared"])
def test_late_after_naming_a_non_date_field(tmp_path: Path, field: str) -> None:
    text = late(field)
    problem = only_problem(write(tmp_path, text), line_of(text, "late_after:"), "definition.late_after_field")
    assert english(problem) == f"late_after's from_field '{field}' must be a declared date field"


@pytest.mark.parametrize(
    ("field", "days"), [("received_on", 0), ("received_on", "seven"), ("received_on", "true"), ("[received_on]", 7)]
)
def test_late_after_with_a_bad_shape(tmp_path: Path, field: str, days: Any) -> None:
    text = late(field, days)
    only_problem(write(tmp_path, text), line_of(text, "late_after:"), "definition.bad_late_after")


# ---- all problems at once ------------------------------------------------------------------

BROKEN_MANY = (
    edited("reference_prefix: SP\n", "reference_prefix: SP\ntransition: oops\n")
    .replace("    role: drafter\n    editable", "    role: author\n    editable")
    .replace("label: {zh: 审查, en: Review}", "label: {zh: 审查}")
    .replace("    dest: drafting\n", "    dest: drafing\n")
    .replace("guards: [requires_comment]", "guards: [requires_comment, {quorum: {count: 1}}]")
)


def expected_many() -> list[tuple[int, str]]:
    text = BROKEN_MANY
    return [
        (line_of(text, "transition: oops"), "definition.unknown_key"),
        (line_of(text, "role: author"), "definition.unknown_role"),
        (line_of(text, "label: {zh: 审查}"), "definition.bad_label"),
        (line_of(text, "dest: drafing"), "definition.unknown_state"),
        (line_of(text, "{quorum: {count: 1}}"), "guard.quorum_count"),
    ]


def test_all_problems_of_a_file_are_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN_MANY)
    assert found(problems_of(path)) == expected_many()
    assert all(problem.file == str(path) for problem in problems_of(path))


def test_load_raises_definition_error_listing_every_problem(tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN_MANY)
    with pytest.raises(DefinitionError) as caught:
        load_definition_text(BROKEN_MANY, str(path))
    error = caught.value
    assert found(error.problems) == expected_many()
    assert error.params == {"count": 5}
    lines = str(error).splitlines()
    assert lines == [problem.render("en") for problem in error.problems]
    assert [line.split(": ", 1)[0] for line in lines] == [f"{path}:{line}" for line, _ in expected_many()]
    assert "未知的角色 'author'" in error.render("zh")


def test_load_definitions_reports_the_problems_of_every_file_together(tmp_path: Path) -> None:
    broken = write(tmp_path, BROKEN_MANY, "broken.yaml")
    other = write(tmp_path, edited("dest: drafting", "dest: nowhere"), "other.yaml")
    write(tmp_path, "categories: not-a-definition\n", "catalog.yaml")
    with pytest.raises(DefinitionError) as caught:
        load_definitions(tmp_path)
    files = [problem.file for problem in caught.value.problems]
    assert files == [str(broken)] * 5 + [str(other)]


def test_load_definitions_refuses_two_files_with_one_name(tmp_path: Path) -> None:
    write(tmp_path, BASE, "a.yaml")
    second = write(tmp_path, BASE, "b.yaml")
    with pytest.raises(DefinitionError) as caught:
        load_definitions(tmp_path)
    assert [(p.file, p.line, p.key) for p in caught.value.problems] == [(str(second), 1, "definition.duplicate_name")]


def test_unreadable_file_is_a_definition_error(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(DefinitionError) as caught:
        load_definition_file(path)
    assert found(caught.value.problems) == [(1, "definition.unreadable")]
    assert str(caught.value).startswith(f"{path}:1: cannot read the file: ")


# ---- the bundled definitions ---------------------------------------------------------------

BUNDLED = definition_files(DEFINITIONS)


def test_definition_files_are_the_five_chains_without_the_catalog() -> None:
    assert [path.name for path in BUNDLED] == [
        "appeal.yaml",
        "consultation.yaml",
        "disclosure_request.yaml",
        "normative_document.yaml",
        "proactive_disclosure.yaml",
    ]


def raw(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def raw_moves(data: dict[str, Any]) -> set[tuple[str, str, str | None]]:
    """(trigger, source, dest) of every transition, read straight from the YAML."""
    moves = set()
    for spec in data["transitions"]:
        sources = spec["source"] if isinstance(spec["source"], list) else [spec["source"]]
        moves |= {(spec["trigger"], source, spec["dest"]) for source in sources}
    return moves


@pytest.fixture(params=BUNDLED, ids=[path.name for path in BUNDLED])
def bundled(request: pytest.FixtureRequest) -> Iterator[Path]:
    yield request.param


def test_bundled_definition_has_no_problems(bundled: Path) -> None:
    assert problems_of(bundled) == []


def test_bundled_definition_loads_as_its_yaml_says(bundled: Path) -> None:
    data = raw(bundled)
    definition = load_definition_file(bundled)
    assert definition.name == data["name"] == bundled.stem
    assert definition.initial == data["initial"]
    assert list(definition.states) == list(data["states"])
    assert {(t.trigger, s, t.dest) for t in definition.transitions for s in t.sources} == raw_moves(data)
    assert [name for name, state in definition.states.items() if state.terminal] == [
        name for name, spec in data["states"].items() if spec.get("terminal")
    ]


def test_bundled_definition_compiles_to_a_machine_with_its_states_and_triggers(bundled: Path) -> None:
    data = raw(bundled)
    machine = compiled(load_definition_file(bundled))
    assert set(machine.machine.states) == set(data["states"])
    assert set(machine.machine.events) == {spec["trigger"] for spec in data["transitions"]}
    for trigger, source, dest in raw_moves(data):
        assert machine.next_state(source, trigger) == (dest or source), (trigger, source)
    for state in data["states"]:
        assert set(machine.triggers_from(state)) == {t for t, s, _ in raw_moves(data) if s == state}


def load(name: str) -> Definition:
    return load_definition_file(DEFINITIONS / f"{name}.yaml")


def moves(definition: Definition) -> set[tuple[str, str, str | None]]:
    return {(t.trigger, source, t.dest) for t in definition.transitions for source in t.sources}


def test_proactive_disclosure_triggers() -> None:
    definition = load("proactive_disclosure")
    assert definition.initial == "drafting"
    assert definition.triggers == [
        "submit",
        "clear",
        "send_back",
        "withhold",
        "sign_off",
        "withdraw",
        "revise",
        "schedule",
        "publish",
        "unschedule",
        "confirm_current",
        "expire",
        "set_expiry",
    ]
    assert moves(definition) == {
        ("submit", "drafting", "confidentiality_review"),
        ("clear", "confidentiality_review", "leadership_signoff"),
        ("send_back", "confidentiality_review", "drafting"),
        ("withhold", "confidentiality_review", "withheld"),
        ("sign_off", "leadership_signoff", "published"),
        ("send_back", "leadership_signoff", "drafting"),
        ("withdraw", "published", "withdrawn"),
        ("withdraw", "expired", "withdrawn"),
        ("revise", "published", "drafting"),
        ("schedule", "leadership_signoff", "scheduled"),
        ("publish", "scheduled", "published"),
        ("unschedule", "scheduled", "leadership_signoff"),
        ("confirm_current", "published", None),
        ("expire", "published", "expired"),
        ("set_expiry", "published", None),
    }
    publish = definition.transitions_for("publish", "scheduled")
    expire = definition.transitions_for("expire", "published")
    assert publish is not None and publish.fires_at == "publish_at"
    assert expire is not None and expire.fires_at == "unpublish_at"
    assert definition.timed_transitions == (publish, expire)
    assert definition.states["withheld"].terminal
    assert definition.states["withdrawn"].terminal
    assert not definition.states["published"].terminal
    revise = definition.transitions_for("revise", "published")
    assert revise is not None and revise.starts_revision


OUTCOMES = (
    "disclosed",
    "partly_disclosed",
    "refused_state_secret",
    "refused_other_law",
    "refused_security_stability",
    "refused_third_party",
    "refused_internal_affairs",
    "refused_process_info",
    "refused_enforcement_file",
    "refused_inquiry",
    "unavailable_not_held",
    "unavailable_needs_creation",
    "unavailable_still_unclear",
    "not_processed_petition",
    "not_processed_repeated",
    "not_processed_publication",
    "not_processed_excessive",
    "not_processed_confirmation",
    "other_no_correction",
    "other_fee_unpaid",
    "other",
)


def test_disclosure_request_triggers() -> None:
    definition = load("disclosure_request")
    assert definition.initial == "received"
    assert definition.triggers == [
        "register",
        "request_correction",
        "correction_received",
        "consult_third_party",
        "third_party_replied",
        "draft_reply",
        "clear",
        "send_back",
        "sign_off",
        "extend",
    ]
    assert ("register", "received", "processing") in moves(definition)
    assert ("sign_off", "reply_signoff", "answered") in moves(definition)


def test_disclosure_request_draft_reply_requires_an_outcome_of_21_codes() -> None:
    definition = load("disclosure_request")
    draft_reply = definition.transitions_for("draft_reply", "processing")
    assert draft_reply is not None
    assert draft_reply.sources == ("processing", "awaiting_correction")
    assert draft_reply.dest == "reply_review"
    guard = draft_reply.guard("requires_field")
    assert guard is not None and guard.params == "outcome"
    outcome = definition.fields["outcome"]
    assert outcome.type == "choice"
    assert len(outcome.choices) == 21
    assert outcome.choices == OUTCOMES


def test_disclosure_request_extend_is_internal_once_per_item_and_for_leaders() -> None:
    definition = load("disclosure_request")
    extend = definition.transitions_for("extend", "processing")
    assert extend is not None
    assert extend.sources == ("processing",)
    assert extend.dest is None
    assert extend.role == "leader"
    assert extend.guard("once_per_item") is not None
    assert compiled(definition).next_state("processing", "extend") == "processing"


def test_normative_document_quorum_and_filing() -> None:
    definition = load("normative_document")
    out_of_decision = [t for t in definition.transitions if "collective_decision" in t.sources and t.dest != "drafting"]
    assert [(t.trigger, t.dest) for t in out_of_decision] == [("sign_off", "published")]
    quorum = out_of_decision[0].guard("quorum")
    assert quorum is not None and quorum.params["count"] == 2
    file_record = definition.transitions_for("file_record", "published")
    assert file_record is not None and file_record.dest == "filed"
    assert definition.requires_category


# ---- the catalogue -------------------------------------------------------------------------


def test_catalog_has_twelve_categories_in_order() -> None:
    catalog = load_catalog(DEFINITIONS)
    assert [c.code for c in catalog.categories] == [f"{n:02d}" for n in range(1, 13)]
    assert catalog.categories[0].label.zh == "镇情概况"
    assert catalog.categories[-2].label.zh == "公众监督"
    assert catalog.categories[-1].label.zh == "政府信息公开年度报告"


@pytest.mark.parametrize("wanted", ["07", "应急管理", "Emergency management", " 07 "])
def test_catalog_find_accepts_code_or_name(wanted: str) -> None:
    category = load_catalog(DEFINITIONS).find(wanted)
    assert category is not None
    assert (category.code, category.label.zh) == ("07", "应急管理")


def test_catalog_find_unknown_is_none() -> None:
    catalog = load_catalog(DEFINITIONS)
    assert catalog.find("13") is None
    assert catalog.find("7") is None


def test_catalog_problems_name_the_line(tmp_path: Path) -> None:
    write(
        tmp_path,
        'categories:\n  - {code: "01", name: {zh: 甲, en: A}}\n  - {code: 2, name: {zh: 乙, en: B}}\n'
        '  - {code: "01", name: {zh: 丙, en: C}}\n',
        "catalog.yaml",
    )
    with pytest.raises(DefinitionError) as caught:
        load_catalog(tmp_path)
    assert found(caught.value.problems) == [(3, "catalog.bad_entry"), (4, "catalog.duplicate_code")]


def test_a_trigger_without_a_label(tmp_path: Path) -> None:
    text = edited("  approve:\n    label: {zh: 通过, en: Approve}\n", "")
    problem = only_problem(write(tmp_path, text), line_of(text, "trigger: approve"), "definition.trigger_label_missing")
    assert english(problem).startswith("trigger 'approve' has no label: declare it under triggers:")


def test_a_trigger_used_twice_is_reported_once(tmp_path: Path) -> None:
    text = appended("  - trigger: park\n    source: review\n    dest: null\n    role: confidentiality_reviewer\n")
    text = edited("  park:\n    label: {zh: park, en: park}\n", "", text)
    text += "  - trigger: park\n    source: drafting\n    dest: null\n    role: drafter\n"
    only_problem(write(tmp_path, text), line_of(text, "trigger: park"), "definition.trigger_label_missing")


@pytest.mark.parametrize(
    "label",
    ["{zh: 通过}", "{zh: 通过, en: ''}", "通过", "{zh: 通过, en: Approve, fr: Approuver}"],
)
def test_a_malformed_trigger_label(tmp_path: Path, label: str) -> None:
    text = edited("    label: {zh: 通过, en: Approve}\n", f"    label: {label}\n")
    problem = only_problem(write(tmp_path, text), line_of(text, f"label: {label}"), "definition.bad_label")
    assert english(problem) == "label must have both zh and en, non-empty"


def test_an_unknown_key_under_a_trigger(tmp_path: Path) -> None:
    text = edited("  approve:\n", "  approve:\n    colour: green\n")
    only_problem(write(tmp_path, text), line_of(text, "colour: green"), "definition.unknown_key")


def test_triggers_must_be_a_mapping(tmp_path: Path) -> None:
    text = BASE[: BASE.index("triggers:\n")] + "triggers: [submit]\n" + BASE[BASE.index("states:\n") :]
    problems = problems_of(write(tmp_path, text))
    assert (line_of(text, "triggers: [submit]"), "definition.not_mapping_key") in found(problems)


@pytest.mark.parametrize("label", ["{zh: 甲}", "甲", "{zh: '', en: A}"])
def test_a_malformed_choice_label(tmp_path: Path, label: str) -> None:
    text = edited("    type: text\n", f"    type: choice\n    choices:\n      a: {label}\n      b: {{zh: 乙, en: B}}\n")
    problem = only_problem(write(tmp_path, text), line_of(text, f"a: {label}"), "definition.bad_choice_label")
    assert english(problem) == "choice 'a' of field 'note' needs a label with both zh and en, non-empty"


def test_choices_as_a_bare_list_are_refused_in_a_new_definition(tmp_path: Path) -> None:
    text = edited("    type: text\n", "    type: choice\n    choices: [a, b]\n")
    only_problem(write(tmp_path, text), line_of(text, "choices: [a, b]"), "definition.bad_choices")


def test_the_bundled_definitions_label_every_trigger_and_choice() -> None:
    for definition in load_definitions(DEFINITIONS).values():
        assert set(definition.trigger_labels) == set(definition.triggers), definition.name
        for spec in definition.fields.values():
            assert set(spec.choice_labels) == set(spec.choices), (definition.name, spec.name)

"""The definition loader fuzzed: malformed YAML and malformed structures give ``FILE:LINE: message`` (a
DefinitionError rendering that), never a traceback."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import DEFINITIONS
from tests.reliability.conftest import figure, sizes
from workflow.core.errors import DefinitionError
from workflow.core.loader import load_definition_text

FILE = "fuzzed.yaml"
LINE = re.compile(rf"^{re.escape(FILE)}:\d+: \S")
SOURCE = (DEFINITIONS / "proactive_disclosure.yaml").read_text(encoding="utf-8")
DATA = yaml.safe_load(SOURCE)
SHORT, FULL = 200, 5_000
seen: dict[str, int] = {}


def check(text: str, kind: str) -> None:
    """Loaded, or refused with every line ``FILE:LINE: message``: any other exception fails the drill."""
    try:
        load_definition_text(text, FILE)
        seen[f"{kind}_loaded"] = seen.get(f"{kind}_loaded", 0) + 1
    except DefinitionError as error:
        lines = error.render("en").splitlines()
        assert lines and all(LINE.match(line) for line in lines), lines
        assert all(LINE.match(line) for line in error.render("zh").splitlines())
        seen[f"{kind}_refused"] = seen.get(f"{kind}_refused", 0) + 1


garbage = st.text(alphabet=st.sampled_from(list(":-[]{}#&*!|>'\"%@`,? \t\n\r\\ab1中\x00\ufeff")), max_size=200)


@st.composite
def broken_text(draw: st.DrawFn) -> str:
    """The real file with lines dropped, doubled, cut or spliced with YAML's special characters."""
    lines = SOURCE.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "double", "cut", "splice", "indent"]))
        if action == "drop":
            del lines[at]
        elif action == "double":
            lines.insert(at, lines[at])
        elif action == "cut":
            lines = [*lines[:at], lines[at][: draw(st.integers(0, len(lines[at])))]]
        elif action == "splice":
            lines[at] = draw(garbage) + lines[at]
        else:
            lines[at] = " " * draw(st.integers(1, 5)) + lines[at]
        if not lines:
            break
    return "".join(lines)


values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**20) | st.text(max_size=12) | st.floats(allow_nan=True),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def broken_structure(draw: st.DrawFn) -> str:
    """The real definition as data with one node somewhere replaced by another kind of value."""
    data: Any = yaml.safe_load(SOURCE)
    node = data
    for _ in range(draw(st.integers(0, 5))):
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node, key=str)))
            if not isinstance(node[key], (dict, list)) or draw(st.booleans()):
                node[key] = draw(values)
                break
            node = node[key]
        elif isinstance(node, list) and node:
            index = draw(st.integers(0, len(node) - 1))
            if not isinstance(node[index], (dict, list)) or draw(st.booleans()):
                node[index] = draw(values)
                break
            node = node[index]
        else:
            break
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def drill(examples: int) -> Any:
    return settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@pytest.mark.slow
@pytest.mark.parametrize("examples", sizes(SHORT, FULL))
def test_malformed_definitions_are_named_by_file_and_line(examples: int) -> None:
    seen.clear()

    @drill(examples)
    @given(garbage)
    def raw(text: str) -> None:
        check(text, "garbage")

    @drill(examples)
    @given(broken_text())
    def text(source: str) -> None:
        check(source, "text")

    @drill(examples)
    @given(broken_structure())
    def structure(source: str) -> None:
        check(source, "structure")

    raw()
    text()
    structure()
    figure("definition fuzz", examples_each=examples, **dict(sorted(seen.items())))
    assert sum(seen.values()) >= 3 * examples * 0.9

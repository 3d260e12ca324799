"""The chain picture and its text list, over the bundled definitions and a few built ones."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from types import MappingProxyType

import pytest

from tests.conftest import DEFINITIONS
from workflow.core.definition import Definition, Label, State, Transition
from workflow.core.loader import definition_files, load_definition_file
from workflow.web.chain import MAX_WIDTH, chain_steps, chain_svg

SVG = "{http://www.w3.org/2000/svg}"


def bundled(name: str) -> Definition:
    return load_definition_file(DEFINITIONS / f"{name}.yaml")


def all_definitions() -> list[Definition]:
    return [load_definition_file(path) for path in definition_files(DEFINITIONS)]


def built(
    states: list[str], edges: list[tuple[str, str | None]], initial: str, terminal: tuple[str, ...] = ()
) -> Definition:
    """A definition put together in code, for shapes the bundled files do not have."""
    return Definition(
        name="built",
        version="0",
        label=Label("测试", "Test"),
        reference_prefix="T",
        initial=initial,
        creator_role="drafter",
        states=MappingProxyType(
            {name: State(name, Label(f"状态{name}", f"State {name}"), terminal=name in terminal) for name in states}
        ),
        transitions=tuple(Transition(f"t{i}", (source,), dest, "drafter") for i, (source, dest) in enumerate(edges)),
        fields=MappingProxyType({}),
        requires_category=False,
        source_text="",
        source_path="<built>",
    )


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def state_groups(root: ET.Element) -> dict[str, ET.Element]:
    return {g.attrib["data-state"]: g for g in root.iter(f"{SVG}g") if "data-state" in g.attrib}


def texts(group: ET.Element) -> list[str]:
    return [t.text or "" for t in group.iter(f"{SVG}text")]


EXPECTED = {
    # The main path runs along the top lane; a detour (scheduled) and a side exit (withheld) hang below it,
    # so column by column the list reads: ... sign-off, (withheld), (scheduled), published, withdrawn.
    "proactive_disclosure": (
        [
            "drafting",
            "confidentiality_review",
            "leadership_signoff",
            "withheld",
            "scheduled",
            "published",
            "expired",
            "withdrawn",
        ],
        ["drafting", "confidentiality_review", "leadership_signoff", "published", "expired", "withdrawn"],
    ),
    "disclosure_request": (
        [
            "received",
            "processing",
            "awaiting_correction",
            "third_party_consultation",
            "reply_review",
            "reply_signoff",
            "answered",
        ],
        ["received", "processing", "reply_review", "reply_signoff", "answered"],
    ),
    "normative_document": (
        [
            "drafting",
            "legality_review",
            "confidentiality_review",
            "collective_decision",
            "published",
            "filed",
            "repealed",
            "expired",
        ],
        [
            "drafting",
            "legality_review",
            "confidentiality_review",
            "collective_decision",
            "published",
            "filed",
            "repealed",
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_order_follows_the_main_path(name: str) -> None:
    definition = bundled(name)
    order, main = EXPECTED[name]
    steps = chain_steps(definition, definition.initial)
    assert [step.name for step in steps] == order
    assert [step.name for step in steps if step.main_path] == main
    root = parse(chain_svg(definition, definition.initial))
    assert list(state_groups(root)) == order


def test_proactive_disclosure_main_path_in_the_picture_description() -> None:
    svg = chain_svg(bundled("proactive_disclosure"), "drafting")
    description = (
        "主动公开流程: 起草 → 保密审查 → 领导签发 → 已公开 → 已失效 → 已撤回；"
        "其他状态: 不予公开、待定时发布 (当前: 起草)"
    )
    assert f'aria-label="{description}"' in svg
    assert f"<title>{description}</title>" in svg


@pytest.mark.parametrize("definition", all_definitions(), ids=lambda d: d.name)
def test_every_definition_starts_with_its_initial_state_and_shows_each_state_once(definition: Definition) -> None:
    steps = chain_steps(definition, definition.initial)
    assert steps[0].name == definition.initial
    assert steps[0].main_path
    assert sorted(step.name for step in steps) == sorted(definition.states)
    assert [step.terminal for step in steps] == [definition.states[step.name].terminal for step in steps]


@pytest.mark.parametrize("definition", all_definitions(), ids=lambda d: d.name)
def test_current_state_is_marked_in_steps_and_svg(definition: Definition) -> None:
    for current, state in definition.states.items():
        steps = chain_steps(definition, current)
        assert [step.name for step in steps if step.is_current] == [current]

        svg = chain_svg(definition, current)
        root = parse(svg)
        groups = state_groups(root)
        marked = [name for name, group in groups.items() if "gk-current" in group.attrib["class"].split()]
        assert marked == [current]
        assert "▶ 当前" in texts(groups[current])
        assert all("▶ 当前" not in texts(group) for name, group in groups.items() if name != current)
        borders = {name: float(group.find(f"{SVG}rect").attrib["stroke-width"]) for name, group in groups.items()}  # type: ignore[union-attr]
        assert all(borders[current] >= 2 * width for name, width in borders.items() if name != current)

        description = f"(当前: {state.label.zh})"
        assert root.attrib["role"] == "img"
        assert root.attrib["aria-label"].endswith(description)
        assert root.find(f"{SVG}title") is not None
        assert root.find(f"{SVG}title").text == root.attrib["aria-label"]  # type: ignore[union-attr]


def test_english_labels_and_marker() -> None:
    definition = bundled("disclosure_request")
    steps = chain_steps(definition, "processing", lang="en")
    assert [step.label for step in steps][:2] == ["Received", "Processing"]
    root = parse(chain_svg(definition, "processing", lang="en"))
    assert "▶ current" in texts(state_groups(root)["processing"])
    assert root.attrib["aria-label"].startswith("Disclosure request workflow: Received → Processing → Reply review")
    assert root.attrib["aria-label"].endswith("(current: Processing)")


def test_visited_states_get_a_lighter_fill_and_a_tick() -> None:
    definition = bundled("proactive_disclosure")
    visited = ["drafting", "confidentiality_review"]
    steps = chain_steps(definition, "leadership_signoff", visited=visited)
    assert [step.name for step in steps if step.visited] == visited
    groups = state_groups(parse(chain_svg(definition, "leadership_signoff", visited=visited)))
    fills = {name: group.find(f"{SVG}rect").attrib["fill"] for name, group in groups.items()}  # type: ignore[union-attr]
    assert fills["drafting"] == fills["confidentiality_review"]
    assert len({fills["drafting"], fills["leadership_signoff"], fills["published"]}) == 3
    assert "✓ 已经过" in texts(groups["drafting"])
    assert "gk-visited" in groups["drafting"].attrib["class"]
    assert "✓ 已经过" not in texts(groups["published"])


def test_transitions_are_arrows_internal_ones_are_not_and_ways_back_are_dashed() -> None:
    definition = bundled("disclosure_request")
    root = parse(chain_svg(definition, "processing"))
    edges = {(g.attrib["data-from"], g.attrib["data-to"]): g for g in root.iter(f"{SVG}g") if "data-from" in g.attrib}
    declared = {
        (source, t.dest)
        for t in definition.transitions
        if t.dest is not None
        for source in t.sources
        if source != t.dest
    }
    assert set(edges) == declared
    assert ("processing", "processing") not in edges  # extend: internal, dest None
    back = edges[("reply_signoff", "processing")]
    assert "gk-back" in back.attrib["class"]
    assert back.find(f"{SVG}path").attrib["stroke-dasharray"]  # type: ignore[union-attr]
    forward = edges[("processing", "reply_review")]
    assert "gk-forward" in forward.attrib["class"]
    assert "stroke-dasharray" not in forward.find(f"{SVG}path").attrib  # type: ignore[union-attr]


def test_labels_are_escaped(tmp_path: Path) -> None:
    text = (DEFINITIONS / "proactive_disclosure.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "label: {zh: 保密审查, en: Confidentiality review}",
        'label: {zh: "<script>alert(1)</script>审查", en: "Review & <b>check</b>"}',
    )
    text = text.replace("label: {zh: 主动公开, en: Proactive disclosure}", 'label: {zh: "公开\\"<img>", en: x}')
    path = tmp_path / "proactive_disclosure.yaml"
    path.write_text(text, encoding="utf-8")
    definition = load_definition_file(path)
    assert definition.states["confidentiality_review"].label.zh == "<script>alert(1)</script>审查"

    for lang, label in (("zh", "<script>alert(1)</script>审查"), ("en", "Review & <b>check</b>")):
        svg = str(chain_svg(definition, "confidentiality_review", lang=lang))
        assert "<script" not in svg
        assert "<b>" not in svg
        assert "<img" not in svg
        root = parse(svg)
        group = state_groups(root)["confidentiality_review"]
        assert group.find(f"{SVG}title").text == label  # type: ignore[union-attr]
        assert label in root.attrib["aria-label"]
        assert [step.label for step in chain_steps(definition, "drafting", lang)][1] == label
    assert "&lt;script&gt;" in chain_svg(definition, "drafting")


@pytest.mark.parametrize("definition", all_definitions(), ids=lambda d: d.name)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_svg_is_self_contained_well_formed_and_fits(definition: Definition, lang: str) -> None:
    svg = str(chain_svg(definition, definition.initial, lang))
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    for forbidden in ("<script", "href", "url(", "<foreignObject", "<image", "@import"):
        assert forbidden not in svg
    assert not re.search(r"\son[a-z]+=", svg)  # no event handler attributes
    width, height = float(root.attrib["width"]), float(root.attrib["height"])
    assert width <= MAX_WIDTH
    assert root.attrib["viewBox"] == f"0 0 {root.attrib['width']} {root.attrib['height']}"
    assert_boxes_inside_and_apart(root, width, height)


def assert_boxes_inside_and_apart(root: ET.Element, width: float, height: float) -> None:
    boxes = []
    for group in state_groups(root).values():
        rect = group.find(f"{SVG}rect")
        assert rect is not None
        x, y = float(rect.attrib["x"]), float(rect.attrib["y"])
        w, h = float(rect.attrib["width"]), float(rect.attrib["height"])
        assert x >= 0 and x + w <= width and y >= 0 and y + h <= height
        boxes.append((x, y, w, h))
    for index, (x, y, w, h) in enumerate(boxes):
        for ox, oy, ow, oh in boxes[index + 1 :]:
            assert x + w <= ox or ox + ow <= x or y + h <= oy or oy + oh <= y


def test_output_is_deterministic() -> None:
    definition = bundled("disclosure_request")
    first = chain_svg(definition, "reply_review", "zh", visited={"received", "processing", "awaiting_correction"})
    again = chain_svg(
        bundled("disclosure_request"), "reply_review", "zh", visited=["awaiting_correction", "processing", "received"]
    )
    assert first == again


def luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(first: str, second: str) -> float:
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_text_contrast_is_at_least_4_5_to_1() -> None:
    definition = bundled("proactive_disclosure")
    root = parse(chain_svg(definition, "scheduled", visited=["drafting"]))
    kinds = set()
    for group in state_groups(root).values():
        fill = group.find(f"{SVG}rect").attrib["fill"]  # type: ignore[union-attr]
        kinds.add(fill)
        for text in group.iter(f"{SVG}text"):
            assert contrast(fill, text.attrib["fill"]) >= 4.5
    assert len(kinds) == 3  # plain, visited, current all checked


def test_cycles_long_chains_wrap_into_bands() -> None:
    names = [f"s{i:02}" for i in range(16)]
    edges: list[tuple[str, str | None]] = list(itertools.pairwise(names))
    edges += [(name, "s00") for name in names[2::3]]  # ways back, some across bands
    edges += [("s05", "s03"), ("s15", "s08"), ("s03", None), ("s01", "s01")]
    edges += [("s02", "x_exit"), ("s12", "y_exit"), ("s04", "s10")]  # side exits and a long jump forward
    definition = built([*names, "x_exit", "y_exit"], edges, "s00", terminal=("x_exit", "y_exit", "s15"))
    steps = chain_steps(definition, "s07")
    # The main path takes the jump; the stretch it skips runs beside it as a parallel track.
    assert [step.name for step in steps if step.main_path] == names[:5] + names[10:]
    assert [step.name for step in steps if not step.main_path] == ["x_exit", *names[5:10], "y_exit"]
    assert [step.name for step in steps] == [*names[:4], "x_exit", *names[4:14], "y_exit", *names[14:]]
    for lang in ("zh", "en"):
        root = parse(chain_svg(definition, "s07", lang))
        width, height = float(root.attrib["width"]), float(root.attrib["height"])
        assert width <= MAX_WIDTH
        assert_boxes_inside_and_apart(root, width, height)
        tops = {float(g.find(f"{SVG}rect").attrib["y"]) for g in state_groups(root).values()}  # type: ignore[union-attr]
        assert len(tops) >= 3  # at least two bands, one with a side lane


def test_a_pure_cycle_and_an_unreachable_state_do_not_break_the_layout() -> None:
    definition = built(["a", "b", "c", "lost"], [("a", "b"), ("b", "c"), ("c", "a"), ("lost", "b")], "a")
    steps = chain_steps(definition, "lost")
    assert [step.name for step in steps] == ["a", "lost", "b", "c"]  # "lost" beside the initial state
    assert [step.name for step in steps if step.main_path] == ["a", "b", "c"]
    root = parse(chain_svg(definition, "lost"))
    assert "gk-current" in state_groups(root)["lost"].attrib["class"]


def test_an_unknown_current_state_marks_nothing() -> None:
    definition = bundled("normative_document")
    assert not any(step.is_current for step in chain_steps(definition, "gone"))
    root = parse(chain_svg(definition, "gone"))
    assert root.attrib["aria-label"].endswith("(当前: gone)")
    assert not any("gk-current" in g.attrib["class"] for g in state_groups(root).values())

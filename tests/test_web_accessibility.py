"""The pages' colours meet WCAG AA contrast (4.5:1 for text), in the stylesheet the pages use."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import FrozenClock
from tests.web_support import Web, make_web
from workflow.engine import WorkflowEngine
from workflow.settings import Settings

CSS = Path(__file__).resolve().parent.parent / "workflow" / "web" / "static" / "gongkai.css"


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def variables() -> dict[str, str]:
    return dict(re.findall(r"--([a-z]+):\s*(#[0-9a-fA-F]{6})", CSS.read_text(encoding="utf-8")))


def rule(selector: str) -> str:
    found = re.search(re.escape(selector) + r"\s*\{([^}]*)\}", CSS.read_text(encoding="utf-8"))
    assert found, selector
    return found.group(1)


def colour(declarations: str, name: str, palette: dict[str, str]) -> str:
    found = re.search(rf"(?<![-\w]){name}:\s*(#[0-9a-fA-F]{{6}}|var\(--[a-z]+\))", declarations)
    assert found, (name, declarations)
    value = found.group(1)
    return palette[value[6:-1]] if value.startswith("var(") else value


@pytest.mark.parametrize(
    ("foreground", "background"),
    [("fg", "bg"), ("muted", "bg"), ("accent", "bg"), ("late", "bg")],
)
def test_text_colours_on_the_page(foreground: str, background: str) -> None:
    palette = variables()
    assert contrast(palette[foreground], palette[background]) >= 4.5


@pytest.mark.parametrize(
    ("selector", "text_from"),
    [
        (".diff ins", "self"),
        (".diff del", "self"),
        ("button.primary", "self"),
        (".error", "late"),
        (".message", "fg"),
        ("table.list th", "fg"),
        ('nav.pages a[aria-current="page"]', "self"),
    ],
)
def test_text_on_coloured_backgrounds(selector: str, text_from: str) -> None:
    palette = variables()
    declarations = rule(selector)
    background = colour(declarations, "background", palette)
    foreground = colour(declarations, "color", palette) if text_from == "self" else palette[text_from]
    assert contrast(foreground, background) >= 4.5, (selector, foreground, background)


def test_large_text_mode_enlarges_everything() -> None:
    base = float(re.search(r":root\s*\{[^}]*font-size:\s*(\d+)px", CSS.read_text(encoding="utf-8")).group(1))  # type: ignore[union-attr]
    large = float(re.search(r"html\.large\s*\{\s*font-size:\s*(\d+)px", CSS.read_text(encoding="utf-8")).group(1))  # type: ignore[union-attr]
    assert large / base >= 1.3


# ---- the inbox's filters and pages, the item page's assignment choices (issue 9) ----------------------


class Controls(HTMLParser):
    """The form controls of a page with their attributes, the labels' targets, and the elements by id."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.ids: set[str] = set()
        self.tabindex: list[str] = []
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if found.get("tabindex") not in (None, "-1", "0"):
            self.tabindex.append(str(found["tabindex"]))
        if tag == "label" and found.get("for"):
            self.label_for.add(str(found["for"]))
        if tag in ("input", "select", "textarea") and found.get("type") != "hidden":
            self.controls.append(found)
        if tag == "a":
            self.links.append(found)


def controls_of(html: str) -> Controls:
    parsed = Controls()
    parsed.feed(html)
    return parsed


def check_labelled_and_described(html: str) -> Controls:
    """Every visible control has a label; every aria-describedby names an element of the page; no
    positive tabindex (the keyboard follows the page's order)."""
    parsed = controls_of(html)
    for control in parsed.controls:
        assert control.get("id") in parsed.label_for, control
        for described in (control.get("aria-describedby") or "").split():
            assert described in parsed.ids, (control, described)
    assert parsed.tabindex == []
    return parsed


@pytest.fixture
def web(engine: WorkflowEngine, settings: Settings, tmp_path: Path, clock: FrozenClock) -> Web:
    return make_web(engine, settings, tmp_path / "mail", clock)


def test_the_inbox_filters_are_labelled_and_its_pages_named(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    for _ in range(51):
        engine.fire(make_item(), "submit", "drafter_a")
    web.sign_in("reviewer_a")
    html = web.client.get("/").text
    parsed = check_labelled_and_described(html)
    assert {c.get("name") for c in parsed.controls} == {"definition", "state", "q", "overdue"}
    assert 'role="search"' in html and 'aria-describedby="f-q-hint"' in html
    assert '<nav class="pages" aria-label="分页">' in html
    current = [link for link in parsed.links if link.get("aria-current") == "page" and link.get("aria-label")]
    assert [link.get("aria-label") for link in current] == ["第 1 页"]
    numbered = [link for link in parsed.links if (link.get("href") or "").startswith("/?page=") and not link.get("rel")]
    assert numbered and all(link.get("aria-label") for link in numbered)
    bad = web.client.get("/", params={"definition": "x", "state": "y", "q": "字" * 101})
    parsed = check_labelled_and_described(bad.text)
    described = {c.get("name"): c.get("aria-describedby") for c in parsed.controls}
    assert described["definition"] == "f-definition-error" and described["state"] == "f-state-error"
    assert described["q"] == "f-q-hint f-q-error"
    assert all(c.get("aria-invalid") == "true" for c in parsed.controls if c.get("name") in ("definition", "q"))


def test_the_assignment_choices_are_labelled_and_a_refusal_is_tied_to_its_choice(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    item_id = make_item(actor="multi")
    engine.fire(item_id, "submit", "multi")
    reference = engine.show(item_id).reference
    web.sign_in("leader_a")
    page = web.client.get(f"/items/{reference}").text
    parsed = check_labelled_and_described(page)
    assert "assign-confidentiality_reviewer" in {c.get("id") for c in parsed.controls}
    refused = web.client.post(
        f"/items/{reference}/assign",
        data={"csrf": web.csrf(f"/items/{reference}"), "role": "confidentiality_reviewer", "assignee": "multi"},
    )
    parsed = check_labelled_and_described(refused.text)
    select = next(c for c in parsed.controls if c.get("id") == "assign-confidentiality_reviewer")
    assert select.get("aria-describedby") == "assign-confidentiality_reviewer-error"
    assert select.get("aria-invalid") == "true"

"""The pages' colours meet WCAG AA contrast (4.5:1 for text), in the stylesheet the pages use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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

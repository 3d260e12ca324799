"""The office settings (definitions/office.yaml): loaded, and every bad part named with FILE:LINE."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow.core.errors import DefinitionError
from workflow.core.loader import load_catalog
from workflow.core.messages import message
from workflow.core.office import CHANNELS, DEFAULT_INDEX_PATTERN, load_office, load_office_text

DEFINITIONS = Path(__file__).resolve().parent.parent / "definitions"
CATALOG = load_catalog(DEFINITIONS)
GOOD = (DEFINITIONS / "office.yaml").read_text(encoding="utf-8")
FILE = "defs/office.yaml"


def edited(old: str, new: str, text: str = GOOD) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def problems(text: str) -> list[tuple[int, str]]:
    with pytest.raises(DefinitionError) as caught:
        load_office_text(text, FILE, CATALOG)
    for problem in caught.value.problems:
        assert problem.render("en").startswith(f"{FILE}:{problem.line}: ")
    return [(p.line, p.key) for p in caught.value.problems]


def test_the_bundled_office_of_hehua() -> None:
    office = load_office(DEFINITIONS, CATALOG)
    assert office.organ.zh == "腾冲市荷花镇人民政府"
    assert office.code == "01526086-8"
    assert office.index_pattern == DEFAULT_INDEX_PATTERN
    assert office.index_number("03", 2026, 7) == "01526086-8-03/2026-00007"
    assert office.base_url.startswith("https://") and not office.base_url.endswith("/")
    assert "荷花村" in office.villages and len(set(office.villages)) == len(office.villages)
    assert office.channels_of("06") == ("portal", "webhook", "notice_board", "broadcast")
    assert office.channels_of("01") == office.default_channels == ("portal", "webhook")
    assert set(office.channels) <= {c.code for c in CATALOG.categories}
    assert all(set(listed) <= set(CHANNELS) for listed in office.channels.values())


def test_the_pattern_defaults_when_left_out() -> None:
    text = "\n".join(line for line in GOOD.splitlines() if not line.startswith("index_number:"))
    assert load_office_text(text, FILE, CATALOG).index_pattern == DEFAULT_INDEX_PATTERN


def test_a_custom_pattern_is_used() -> None:
    office = load_office_text(edited(DEFAULT_INDEX_PATTERN, "{org}/{year}/{catalog}-{serial}"), FILE, CATALOG)
    assert office.index_number("12", 2027, 31) == "01526086-8/2027/12-31"


@pytest.mark.parametrize(
    ("pattern", "key"),
    [
        ("{org}-{catalog}/{year}", "office.serial_required"),
        ("{org}-{month}-{serial}", "office.unknown_placeholder"),
        ("{org}-{serial!r}", "office.unknown_placeholder"),
        ("{org}-{0}-{serial}", "office.unknown_placeholder"),
        ("{org}-{serial:05d", "office.bad_pattern"),
        ("{org}-{serial:x>>5q}", "office.bad_pattern"),
        ("", "office.bad_pattern"),
    ],
)
def test_a_bad_pattern_is_refused_on_its_line(pattern: str, key: str) -> None:
    text = edited(f'"{DEFAULT_INDEX_PATTERN}"', f'"{pattern}"')
    assert problems(text) == [(line_of(text, "index_number:"), key)]


def test_the_serial_message_says_what_to_write() -> None:
    assert "{serial}" in message("office.serial_required", "en")


def test_an_unknown_channel_is_refused_on_its_item_line() -> None:
    text = edited('"07": [portal, webhook, notice_board, broadcast]', '"07": [portal,\n    telegram]')
    assert problems(text) == [(line_of(text, "telegram"), "office.unknown_channel")]


def test_a_channel_list_for_a_code_outside_the_catalogue_is_refused() -> None:
    text = edited('"12": [portal, webhook]', '"12": [portal, webhook]\n  "99": [portal]')
    assert problems(text) == [(line_of(text, '"99"'), "office.unknown_category")]


def test_channels_must_be_lists() -> None:
    text = edited('"12": [portal, webhook]', '"12": portal')
    assert problems(text) == [(line_of(text, '"12"'), "office.bad_channel_list")]


def test_organ_without_code_and_name() -> None:
    text = edited('  code: "01526086-8"\n', "")
    text = edited(
        '  name: {zh: 腾冲市荷花镇人民政府, en: "Hehua Town People\'s Government, Tengchong"}', "  name: 荷花镇", text
    )
    assert problems(text) == [
        (line_of(text, "name: 荷花镇"), "office.bad_organ_name"),
        (line_of(text, "organ:"), "office.bad_organ_code"),
    ]


@pytest.mark.parametrize("url", ["www.example.cn", "ftp://example.cn/x", "https://example.cn/?a=1", "https://"])
def test_a_bad_base_url(url: str) -> None:
    text = edited("base_url: https://www.tengchong.gov.cn/hehua", f'base_url: "{url}"')
    assert problems(text) == [(line_of(text, "base_url:"), "office.bad_base_url")]


def test_site_title_needs_both_languages() -> None:
    text = edited(
        "title: {zh: 腾冲市荷花镇政府信息公开, en: Hehua Town government information disclosure}", "title: {zh: 公开}"
    )
    assert problems(text) == [(line_of(text, "title:"), "office.bad_site_title")]


def test_villages_named_twice_or_not_text() -> None:
    text = edited(
        "villages: [荷花村, 甘蔗寨村,", "villages:\n  - 荷花村\n  - 荷花村\n  - 3\n  - 甘蔗寨村\nold_villages: ["
    )
    assert problems(text) == [
        (line_of(text, "old_villages"), "definition.unknown_key"),
        (line_of(text, "- 荷花村") + 1, "office.duplicate_village"),
        (line_of(text, "- 3"), "office.bad_villages"),
    ]


def test_an_unknown_key_and_a_duplicate_key() -> None:
    text = GOOD + "villages: [荷花村]\ncolour: red\n"
    found = problems(text)
    assert (line_of(text, "colour"), "definition.unknown_key") in found
    assert any(key == "definition.duplicate_key" for _, key in found)


def test_not_a_mapping_and_bad_yaml() -> None:
    assert problems("- just a list\n") == [(1, "office.not_mapping")]
    assert problems("organ: {name: [\n") == [(2, "definition.bad_yaml")]


def test_a_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_office(tmp_path, CATALOG)
    assert caught.value.problems[0].render("en").startswith(f"{tmp_path / 'office.yaml'}:1: cannot read the file: ")


def test_every_problem_is_reported_together() -> None:
    text = edited('"12": [portal, webhook]', '"12": [fax]')
    text = edited("base_url: https://www.tengchong.gov.cn/hehua", "base_url: nowhere", text)
    assert [key for _, key in problems(text)] == ["office.bad_base_url", "office.unknown_channel"]

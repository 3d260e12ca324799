"""Body diffs between revisions: lines, characters inside a changed Chinese paragraph, collapsed context."""

from __future__ import annotations

import pytest

from workflow.web.bodydiff import DiffLine, body_diff, collapse, diff_summary

BUDGET_2025 = "本镇2025年预算为100万元，主要用于道路维修。"
BUDGET_2026 = "本镇2026年预算为120万元，主要用于道路和桥梁维修。"


def kinds(lines: list[DiffLine]) -> list[str]:
    return [line.kind for line in lines]


def joined(line: DiffLine) -> str:
    return "".join(text for _, text in line.segments)


def test_first_revision_everything_added() -> None:
    lines = body_diff("", "第一段。\n第二段。\n")
    assert lines == [DiffLine("added", "第一段。"), DiffLine("added", "第二段。")]
    assert diff_summary(lines) == (2, 0)


def test_no_change_is_all_same_and_line_endings_do_not_count() -> None:
    lines = body_diff("第一段。\r\n第二段。", "第一段。\n第二段。")
    assert kinds(lines) == ["same", "same"]
    assert diff_summary(lines) == (0, 0)
    assert body_diff("", "") == []


def test_emptied_body_everything_removed() -> None:
    assert kinds(body_diff("甲\n乙", "")) == ["removed", "removed"]


def test_one_chinese_paragraph_edited_shows_character_segments() -> None:
    removed, added = body_diff(BUDGET_2025, BUDGET_2026)
    assert (removed.kind, removed.text) == ("removed", BUDGET_2025)
    assert (added.kind, added.text) == ("added", BUDGET_2026)
    assert joined(removed) == BUDGET_2025
    assert joined(added) == BUDGET_2026
    assert {kind for kind, _ in removed.segments} == {"same", "removed"}
    assert {kind for kind, _ in added.segments} == {"same", "added"}
    assert ("removed", "5") in removed.segments
    assert ("added", "6") in added.segments
    assert ("added", "和桥梁") in added.segments
    assert ("same", "年预算为1") in added.segments


def test_the_alike_paragraph_is_paired_and_a_new_one_is_shown_whole() -> None:
    old = "一、总体要求\n关于做好2025年防汛工作的通知，各村委会要加强巡查。\n三、工作要求"
    new = (
        "一、总体要求\n"
        "新增：请各村于六月底前上报物资清单。\n"
        "关于做好2026年防汛工作的通知，各村委会要加强值守巡查。\n"
        "三、工作要求"
    )
    lines = body_diff(old, new)
    assert kinds(lines) == ["same", "added", "removed", "added", "same"]
    assert lines[1] == DiffLine("added", "新增：请各村于六月底前上报物资清单。")
    assert ("removed", "5") in lines[2].segments
    assert ("added", "值守") in lines[3].segments
    assert diff_summary(lines) == (2, 1)


def test_unrelated_replacement_has_no_segments() -> None:
    lines = body_diff("完全无关的文字", "另外一些句子，内容不同。")
    assert kinds(lines) == ["removed", "added"]
    assert all(line.segments == () for line in lines)


def test_a_single_unchanged_character_between_changes_is_folded_into_them() -> None:
    removed, added = body_diff("通知：东村西村道路维修", "通知：南村北村道路维修")
    assert removed.segments == (("same", "通知："), ("removed", "东村西"), ("same", "村道路维修"))
    assert added.segments == (("same", "通知："), ("added", "南村北"), ("same", "村道路维修"))


def test_a_long_body_without_line_breaks_still_gets_small_segments() -> None:
    sentence = "各村（社区）要落实防汛责任人，加强对河道、山塘、水库的巡查，发现险情及时上报。"
    old = sentence * 80 + BUDGET_2025 + sentence * 80
    new = sentence * 80 + BUDGET_2026 + sentence * 80 + "本通知自印发之日起施行。"
    removed, added = body_diff(old, new)
    assert joined(removed) == old
    assert joined(added) == new
    changes = [text for kind, text in added.segments if kind == "added"]
    assert changes == ["6", "2", "和桥梁", "本通知自印发之日起施行。"]


def test_every_sentence_of_a_long_body_edited() -> None:
    old, new = BUDGET_2025 * 150, BUDGET_2026 * 150
    removed, added = body_diff(old, new)
    assert joined(removed) == old
    assert joined(added) == new
    assert [text for kind, text in added.segments if kind == "added"][:3] == ["6", "2", "和桥梁"]


def numbered(count: int, start: int = 0) -> list[str]:
    return [f"第{i}段。" for i in range(start, start + count)]


def test_collapse_hides_long_unchanged_runs_keeping_context() -> None:
    old = "\n".join([*numbered(10), "旧的一段。", *numbered(10, 10)])
    new = "\n".join([*numbered(10), "新的一段。", *numbered(10, 10)])
    lines = collapse(body_diff(old, new), context=2)
    assert [(line.kind, line.text) for line in lines] == [
        ("gap", "8"),
        ("same", "第8段。"),
        ("same", "第9段。"),
        ("removed", "旧的一段。"),
        ("added", "新的一段。"),
        ("same", "第10段。"),
        ("same", "第11段。"),
        ("gap", "8"),
    ]
    assert lines[0].hidden == 8
    assert diff_summary(lines) == diff_summary(body_diff(old, new)) == (1, 1)


def test_collapse_between_two_changes_keeps_context_on_both_sides() -> None:
    old = "\n".join(["甲", *numbered(7), "乙"])
    new = "\n".join(["甲改", *numbered(7), "乙改"])
    lines = collapse(body_diff(old, new), context=2)
    assert kinds(lines) == ["removed", "added", "same", "same", "gap", "same", "same", "removed", "added"]
    assert lines[4].text == "3"


def test_collapse_leaves_short_runs_alone() -> None:
    old = "\n".join([*numbered(3), "甲", *numbered(5, 3)])
    new = "\n".join([*numbered(3), "乙", *numbered(5, 3)])
    lines = collapse(body_diff(old, new), context=2)
    # Hiding a single line behind a gap line saves nothing: the three before stay, five after become 2 + gap.
    assert kinds(lines) == ["same", "same", "same", "removed", "added", "same", "same", "gap"]
    assert lines[-1].text == "3"


def test_collapse_with_no_context_and_with_no_change() -> None:
    old = "\n".join([*numbered(4), "甲", *numbered(4, 4)])
    new = "\n".join([*numbered(4), "乙", *numbered(4, 4)])
    assert kinds(collapse(body_diff(old, new), context=0)) == ["gap", "removed", "added", "gap"]
    unchanged = collapse(body_diff(old, old))
    assert unchanged == [DiffLine("gap", "9")]
    assert diff_summary(unchanged) == (0, 0)
    assert collapse([]) == []
    with pytest.raises(ValueError):
        collapse(body_diff(old, new), context=-1)

"""What changed in an item's body between two revisions: a line diff, with a character diff inside changed lines.

Chinese bodies are often one long paragraph per line, or a single line with no break at all, so a line diff
alone would only say "this whole paragraph changed". When a removed line and an added line are a pair (one
replaces the other and they are alike), both carry ``segments``: the line cut into runs that are the same in
both and runs that only the old line (removed) or the new line (added) has, for ``<del>`` and ``<ins>``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

SegmentKind = Literal["same", "added", "removed"]
LineKind = Literal["same", "added", "removed", "gap"]
Segment = tuple[SegmentKind, str]
Opcode = tuple[str, int, int, int, int]

PAIR_MIN_RATIO = 0.5
"""A removed and an added line this alike (difflib ratio) are shown as one line edited."""
INTRALINE_MIN_RATIO = 0.3
"""Below this share of common characters a character diff is noise; the lines are shown whole."""
SENTENCE_FIRST_CHARS = 2_000
"""Line pairs longer than this (together) are first matched sentence by sentence, then changed sentences
character by character: a character diff costs about the product of the lengths."""
MAX_INTRALINE_CHARS = 4_000
"""A changed run of sentences longer than this (old and new together) is compared sentence against sentence."""
SENTENCE = re.compile(r"[^。！？；!?;]*[。！？；!?;]+|[^。！？；!?;]+")
"""A sentence with its closing punctuation, or a trailing piece without any."""
MAX_PAIRING_CANDIDATES = 2_500
"""Above this many (removed x added) line candidates in one change, lines are paired by position."""
MAX_PAIRING_CHARS = 20_000
"""So are the lines of a change longer than this together: finding the most alike pair compares them all."""


@dataclass(frozen=True)
class DiffLine:
    """One line of the diff.

    ``kind`` is ``gap`` only in :func:`collapse` output: ``text`` then holds the number of hidden unchanged
    lines. ``segments`` is empty unless the line is one of a replaced pair; joined, the segments' texts give
    ``text``: a removed line has only same and removed segments, an added line only same and added ones.
    """

    kind: LineKind
    text: str
    segments: tuple[Segment, ...] = ()

    @property
    def hidden(self) -> int:
        """For a gap: how many unchanged lines it stands for."""
        return int(self.text) if self.kind == "gap" else 0


def body_diff(old: str, new: str) -> list[DiffLine]:
    """The lines of ``new`` against those of ``old``; an empty ``old`` (first revision) makes every line added."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    lines: list[DiffLine] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            lines.extend(DiffLine("same", text) for text in old_lines[i1:i2])
        elif tag == "delete":
            lines.extend(DiffLine("removed", text) for text in old_lines[i1:i2])
        elif tag == "insert":
            lines.extend(DiffLine("added", text) for text in new_lines[j1:j2])
        else:
            lines.extend(_replace(old_lines[i1:i2], new_lines[j1:j2]))
    return lines


def collapse(lines: Sequence[DiffLine], context: int = 2) -> list[DiffLine]:
    """Unchanged runs cut down to ``context`` lines next to each change, the rest replaced by one gap line.

    A run is only cut when that hides at least two lines (a gap line in place of one line saves nothing).
    A diff with no change at all becomes a single gap.
    """
    if context < 0:
        raise ValueError("context must not be negative")
    out: list[DiffLine] = []
    index = 0
    while index < len(lines):
        if lines[index].kind != "same":
            out.append(lines[index])
            index += 1
            continue
        end = index
        while end < len(lines) and lines[end].kind == "same":
            end += 1
        run = lines[index:end]
        keep_head = context if index > 0 else 0
        keep_tail = context if end < len(lines) else 0
        hidden = len(run) - keep_head - keep_tail
        if hidden >= 2 or (hidden > 0 and len(run) == len(lines)):
            out.extend(run[:keep_head])
            out.append(DiffLine("gap", str(hidden)))
            out.extend(run[len(run) - keep_tail :])
        else:
            out.extend(run)
        index = end
    return out


def diff_summary(lines: Iterable[DiffLine]) -> tuple[int, int]:
    """How many lines were (added, removed)."""
    added = removed = 0
    for line in lines:
        if line.kind == "added":
            added += 1
        elif line.kind == "removed":
            removed += 1
    return added, removed


def _replace(old: Sequence[str], new: Sequence[str]) -> list[DiffLine]:
    """A block of old lines replaced by new ones: alike lines paired (removed, then added), the rest whole."""
    if len(old) * len(new) > MAX_PAIRING_CANDIDATES or sum(map(len, old)) + sum(map(len, new)) > MAX_PAIRING_CHARS:
        pairs = list(zip(range(len(old)), range(len(new)), strict=False))
    else:
        pairs = _pair(old, new, 0, len(old), 0, len(new))
    out: list[DiffLine] = []
    i = j = 0
    for pi, pj in [*pairs, (len(old), len(new))]:
        out.extend(DiffLine("removed", text) for text in old[i:pi])
        out.extend(DiffLine("added", text) for text in new[j:pj])
        if pi < len(old) and pj < len(new):
            out.extend(_edited(old[pi], new[pj]))
        i, j = pi + 1, pj + 1
    return out


def _pair(old: Sequence[str], new: Sequence[str], i1: int, i2: int, j1: int, j2: int) -> list[tuple[int, int]]:
    """Pairs of alike lines in order: the most alike pair, then recursively the lines before and after it."""
    if i1 >= i2 or j1 >= j2:
        return []
    if i2 - i1 == 1 and j2 - j1 == 1:
        return [(i1, j1)]  # one line replaced by one line: always shown as an edit
    best, best_ratio = None, PAIR_MIN_RATIO
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    for j in range(j1, j2):
        matcher.set_seq2(new[j])
        for i in range(i1, i2):
            matcher.set_seq1(old[i])
            if matcher.real_quick_ratio() > best_ratio and matcher.quick_ratio() > best_ratio:
                ratio = matcher.ratio()
                if ratio > best_ratio:
                    best, best_ratio = (i, j), ratio
    if best is None:
        return []
    i, j = best
    return [*_pair(old, new, i1, i, j1, j), best, *_pair(old, new, i + 1, i2, j + 1, j2)]


def _edited(old: str, new: str) -> list[DiffLine]:
    opcodes = _merge_small_equals(_char_opcodes(old, new))
    common = sum(i2 - i1 for tag, i1, i2, _, _ in opcodes if tag == "equal")
    if not old or not new or 2 * common / (len(old) + len(new)) < INTRALINE_MIN_RATIO:
        return [DiffLine("removed", old), DiffLine("added", new)]
    removed: list[Segment] = []
    added: list[Segment] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            _push(removed, "same", old[i1:i2])
            _push(added, "same", new[j1:j2])
        else:
            _push(removed, "removed", old[i1:i2])
            _push(added, "added", new[j1:j2])
    return [DiffLine("removed", old, tuple(removed)), DiffLine("added", new, tuple(added))]


def _char_opcodes(old: str, new: str) -> list[Opcode]:
    """Character opcodes; long texts are matched sentence by sentence first, then changed sentences by character."""
    if len(old) + len(new) <= SENTENCE_FIRST_CHARS:
        return _plain_opcodes(old, new, 0, 0)
    old_parts, new_parts = SENTENCE.findall(old), SENTENCE.findall(new)
    old_starts, new_starts = _starts(old_parts), _starts(new_parts)
    matcher = difflib.SequenceMatcher(None, old_parts, new_parts, autojunk=False)
    out: list[Opcode] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        a1, a2, b1, b2 = old_starts[i1], old_starts[i2], new_starts[j1], new_starts[j2]
        if tag != "replace":
            out.append((tag, a1, a2, b1, b2))
        elif (a2 - a1) + (b2 - b1) <= MAX_INTRALINE_CHARS:
            out.extend(_plain_opcodes(old[a1:a2], new[b1:b2], a1, b1))
        else:  # a long run of changed sentences: the first old one against the first new one, and so on
            for k in range(max(i2 - i1, j2 - j1)):
                i, j = min(i1 + k, i2), min(j1 + k, j2)
                a, b = old_starts[i], new_starts[j]
                a_end, b_end = old_starts[min(i + 1, i2)], new_starts[min(j + 1, j2)]
                out.extend(_plain_opcodes(old[a:a_end], new[b:b_end], a, b))
    return out


def _plain_opcodes(old: str, new: str, old_at: int, new_at: int) -> list[Opcode]:
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return [(tag, i1 + old_at, i2 + old_at, j1 + new_at, j2 + new_at) for tag, i1, i2, j1, j2 in matcher.get_opcodes()]


def _starts(parts: Sequence[str]) -> list[int]:
    starts = [0]
    for part in parts:
        starts.append(starts[-1] + len(part))
    return starts


def _merge_small_equals(opcodes: Sequence[Opcode]) -> list[Opcode]:
    """Fold a single unchanged character between two changes into them: "甲乙丙"→"丁乙戊" reads as one change."""
    out: list[Opcode] = []
    for opcode in opcodes:
        out.append(opcode)
        while len(out) >= 3 and out[-1][0] != "equal" and out[-3][0] != "equal" and out[-2][0] == "equal":
            if out[-2][2] - out[-2][1] > 1:
                break
            last, _, first = out.pop(), out.pop(), out.pop()
            out.append(("replace", first[1], last[2], first[3], last[4]))
    return out


def _push(segments: list[Segment], kind: SegmentKind, text: str) -> None:
    if not text:
        return
    if segments and segments[-1][0] == kind:
        segments[-1] = (kind, segments[-1][1] + text)
    else:
        segments.append((kind, text))

"""A definition's declared states drawn as an inline SVG chain, with the item's current state marked.

The layout is layered, left to right. Transitions that lead back to a state already on the way (send back,
revise, unschedule) are drawn dashed and do not shape the layout. Every other state sits in the column of its
longest forward path from the initial state. The main path runs along the top lane: from each state it goes on
to the forward successor furthest along, preferring states that are not terminal, so that optional detours
(scheduled publication, awaiting correction) and side exits (withheld) hang in the lanes below. Columns that
do not fit into :data:`MAX_WIDTH` wrap into further bands. Edges run in the gaps between boxes, never through
them.

Everything here is pure: the same definition, state and language give the same markup, byte for byte.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from workflow.core.definition import Definition, State
from workflow.core.i18n import translator

MAX_WIDTH = 1000
"""The picture is never wider than this (pixels); more columns wrap into bands."""

BOX_W = 112
BOX_PAD = 6
COL_GAP = 28
LANE_GAP = 32
BAND_GAP = 28
MARGIN = 22
"""Left and right margin; wide enough for an edge to run down beside the first and last column."""
TOP = 8
BOTTOM = 10
FONT_SIZE = 12
LINE_H = 15
MAX_LABEL_LINES = 3
ARC_STEP = 8
"""Vertical distance between the nested arcs above the main lane."""
FONT_FAMILY = (
    "system-ui, -apple-system, 'Segoe UI', 'PingFang SC', 'Hiragino Sans GB', 'Microsoft YaHei', "
    "'Noto Sans CJK SC', sans-serif"
)

# Text colour on each fill has a contrast ratio of at least 4.5:1 (WCAG AA); tests check it.
INK = "#1f2328"
PLAIN_FILL = "#ffffff"
PLAIN_STROKE = "#57606a"
VISITED_FILL = "#dcebf9"
VISITED_STROKE = "#3b6ea5"
CURRENT_FILL = "#0b4f8a"
CURRENT_STROKE = "#001f3f"
CURRENT_INK = "#ffffff"
EDGE = "#57606a"

Point = tuple[float, float]


@dataclass(frozen=True)
class ChainStep:
    """One declared state, in the order the picture shows them: for a text list beside (or instead of) it."""

    name: str
    label: str
    is_current: bool
    visited: bool
    terminal: bool
    main_path: bool
    """On the main path (the top lane); False for detours and side exits."""


@dataclass(frozen=True)
class _Placed:
    state: State
    column: int
    lane: int
    main: bool


@dataclass(frozen=True)
class _Edge:
    source: str
    dest: str
    back: bool
    """Leads back to a state earlier on the way (a cycle); drawn dashed, right to left."""


@dataclass(frozen=True)
class _Layout:
    placed: tuple[_Placed, ...]
    """Reading order: column by column, the main lane first."""
    edges: tuple[_Edge, ...]


def chain_steps(
    definition: Definition, current: str, lang: str = "zh", visited: Collection[str] = ()
) -> list[ChainStep]:
    """The definition's states in the order :func:`chain_svg` lays them out, the current one flagged."""
    return _steps(_layout(definition), current, lang, visited)


def chain_svg(definition: Definition, current: str, lang: str = "zh", visited: Collection[str] = ()) -> Markup:
    """An inline SVG of the definition's states and transitions with ``current`` marked.

    The current state has a thick border, a dark fill and a text marker; states in ``visited`` a light fill and
    a tick. Internal transitions (no destination) are not drawn. The markup has no script and loads nothing.
    """
    layout = _layout(definition)
    steps = _steps(layout, current, lang, visited)
    tr = translator(lang)
    labels = {step.name: _wrap(step.label, BOX_W - 2 * BOX_PAD, MAX_LABEL_LINES) for step in steps}
    lines = max((len(wrapped) for wrapped in labels.values()), default=1)
    grid = _Grid(layout, box_h=2 * BOX_PAD + (lines + 1) * LINE_H)
    description = _describe(definition, steps, current, lang)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gk-chain" role="img" aria-label="{escape(description)}"'
        f' width="{_n(grid.width)}" height="{_n(grid.height)}" viewBox="0 0 {_n(grid.width)} {_n(grid.height)}"'
        f' style="max-width:100%;height:auto" font-family="{escape(FONT_FAMILY)}" font-size="{FONT_SIZE}">',
        f"<title>{escape(description)}</title>",
        '<g class="gk-edges">',
    ]
    for edge in layout.edges:
        out.append(_edge_markup(edge, grid.route(edge)))
    out.append("</g>")
    out.append('<g class="gk-states">')
    for step in steps:
        marker = tr._("▶ current") if step.is_current else tr._("✓ visited") if step.visited else None
        out.append(_state_markup(step, grid.box(step.name), grid.box_h, labels[step.name], marker))
    out.append("</g>")
    out.append("</svg>")
    return Markup("\n".join(out))


def _steps(layout: _Layout, current: str, lang: str, visited: Collection[str]) -> list[ChainStep]:
    seen = set(visited)
    return [
        ChainStep(
            name=placed.state.name,
            label=placed.state.label.in_lang(lang),
            is_current=placed.state.name == current,
            visited=placed.state.name in seen,
            terminal=placed.state.terminal,
            main_path=placed.main,
        )
        for placed in layout.placed
    ]


def _describe(definition: Definition, steps: Sequence[ChainStep], current: str, lang: str) -> str:
    tr = translator(lang)
    text = tr._(
        "%(label)s workflow: %(path)s",
        label=definition.label.in_lang(lang), path=" → ".join(step.label for step in steps if step.main_path),
    )  # fmt: skip
    others = [step.label for step in steps if not step.main_path]
    if others:
        # The separator of a list of names: "、" in Chinese.
        text += tr._("; other states: %(states)s", states=tr._(", ").join(others))
    state = definition.states.get(current)
    return text + " " + tr._("(current: %(state)s)", state=state.label.in_lang(lang) if state is not None else current)


# --- layout -------------------------------------------------------------------------------------------------


def _layout(definition: Definition) -> _Layout:
    names = list(definition.states)
    successors: dict[str, list[str]] = {name: [] for name in names}
    for transition in definition.transitions:
        dest = transition.dest
        if dest is None or dest not in successors:
            continue
        for source in transition.sources:
            if source in successors and source != dest and dest not in successors[source]:
                successors[source].append(dest)

    roots = [definition.initial] if definition.initial in successors else []
    roots += [name for name in names if name not in roots]
    depth = _bfs_depth(successors, roots[0]) if roots else {}
    unreached = len(names)

    def forward_first(source: str) -> list[str]:
        here = depth.get(source, unreached)
        return sorted(successors[source], key=lambda dest: depth.get(dest, unreached) <= here)

    # Depth-first search: an edge to a state still on the stack closes a cycle and is drawn as a way back.
    colour = dict.fromkeys(names, 0)
    discovered: dict[str, int] = {}
    finished: list[str] = []
    back: set[tuple[str, str]] = set()
    for root in roots:
        if colour[root]:
            continue
        colour[root] = 1
        discovered[root] = len(discovered)
        stack = [(root, iter(forward_first(root)))]
        while stack:
            node, pending = stack[-1]
            for dest in pending:
                if colour[dest] == 1:
                    back.add((node, dest))
                elif colour[dest] == 0:
                    colour[dest] = 1
                    discovered[dest] = len(discovered)
                    stack.append((dest, iter(forward_first(dest))))
                    break
            else:
                colour[node] = 2
                finished.append(node)
                stack.pop()

    forward = {name: [dest for dest in successors[name] if (name, dest) not in back] for name in names}
    column = dict.fromkeys(names, 0)
    for name in reversed(finished):  # a topological order of the forward edges
        for dest in forward[name]:
            column[dest] = max(column[dest], column[name] + 1)

    main: list[str] = roots[:1]
    while main and forward[main[-1]]:
        main.append(
            min(
                forward[main[-1]],
                key=lambda dest: (definition.states[dest].terminal, -column[dest], discovered[dest]),
            )
        )
    on_main = set(main)
    lane = dict.fromkeys(main, 0)
    used: dict[int, int] = {}
    for name in sorted(names, key=lambda name: (column[name], discovered[name])):
        if name not in on_main:
            used[column[name]] = used.get(column[name], 0) + 1
            lane[name] = used[column[name]]

    placed = tuple(
        _Placed(definition.states[name], column[name], lane[name], name in on_main)
        for name in sorted(names, key=lambda name: (column[name], lane[name]))
    )
    edges = tuple(_Edge(source, dest, (source, dest) in back) for source in names for dest in successors[source])
    return _Layout(placed, edges)


def _bfs_depth(successors: dict[str, list[str]], start: str) -> dict[str, int]:
    depth = {start: 0}
    queue = [start]
    for node in queue:
        for dest in successors[node]:
            if dest not in depth:
                depth[dest] = depth[node] + 1
                queue.append(dest)
    return depth


# --- geometry -----------------------------------------------------------------------------------------------


class _Grid:
    """Where each box sits, and how an edge runs between boxes along the gaps."""

    def __init__(self, layout: _Layout, box_h: int) -> None:
        self.box_h = box_h
        self.cell = {placed.state.name: (placed.column, placed.lane) for placed in layout.placed}
        self.occupied = set(self.cell.values())
        columns = 1 + max((column for column, _ in self.cell.values()), default=0)
        fit = max(1, (MAX_WIDTH - 2 * MARGIN + COL_GAP) // (BOX_W + COL_GAP))
        bands = -(-columns // fit)
        self.per_band = -(-columns // bands)
        self.width = 2 * MARGIN + self.per_band * BOX_W + (self.per_band - 1) * COL_GAP

        lanes = [1] * bands
        for column, lane in self.cell.values():
            lanes[self.band(column)] = max(lanes[self.band(column)], lane + 1)

        # Ways back along the main lane of a band (and forward edges there that cannot go straight) arc above it.
        arcs: list[list[tuple[_Edge, float, float]]] = [[] for _ in range(bands)]
        for edge in layout.edges:
            if self._arcs_above(edge):
                start, end = self._arc_ends(edge)
                arcs[self.band(self.cell[edge.source][0])].append((edge, start, end))
        self.arc_level: dict[tuple[str, str], int] = {}
        tops: list[int] = []
        for band_arcs in arcs:
            levels = _nest(band_arcs)
            self.arc_level.update(levels)
            tops.append(12 + ARC_STEP * max(levels.values(), default=0))

        self.lane0_top: list[float] = []
        self.band_bottom: list[float] = []
        y: float = TOP
        for band in range(bands):
            self.lane0_top.append(y + tops[band])
            bottom = y + tops[band] + lanes[band] * box_h + (lanes[band] - 1) * LANE_GAP
            self.band_bottom.append(bottom)
            y = bottom + BAND_GAP
        self.height = self.band_bottom[-1] + BOTTOM

    def band(self, column: int) -> int:
        return column // self.per_band

    def left(self, column: int) -> float:
        return MARGIN + (column % self.per_band) * (BOX_W + COL_GAP)

    def top(self, column: int, lane: int) -> float:
        return self.lane0_top[self.band(column)] + lane * (self.box_h + LANE_GAP)

    def box(self, name: str) -> tuple[float, float]:
        column, lane = self.cell[name]
        return self.left(column), self.top(column, lane)

    def route(self, edge: _Edge) -> list[Point]:
        (cs, ls), (ct, lt) = self.cell[edge.source], self.cell[edge.dest]
        same_band = self.band(cs) == self.band(ct)
        if self._arcs_above(edge):
            out_x, in_x = self._arc_ends(edge)
            base = self.lane0_top[self.band(cs)]
            level = base - 6 - ARC_STEP * self.arc_level[(edge.source, edge.dest)]
            return [(out_x, base), (out_x, level), (in_x, level), (in_x, base)]
        if not edge.back:
            # Out of the right side, into the left side, a little above the middle.
            start = (self.left(cs) + BOX_W, self.top(cs, ls) + self.box_h / 2 - 5)
            end = (self.left(ct), self.top(ct, lt) + self.box_h / 2 - 5)
            if same_band and ls == lt and self._free_between(cs, ct, ls):
                return [start, end]
            out_x = self.left(cs) + BOX_W + COL_GAP / 2 - 5
            in_x = self.left(ct) - COL_GAP / 2 - 5
            if same_band and ct == cs + 1:
                return [start, (out_x, start[1]), (out_x, end[1]), end]
            y = self._gutter(cs, max(ls, lt)) - 4 if same_band else self.band_bottom[self.band(cs)] + BAND_GAP / 2 - 4
            return [start, (out_x, start[1]), (out_x, y), (in_x, y), (in_x, end[1]), end]
        # A way back: out of the left side, into the right side, a little below the middle.
        start = (self.left(cs), self.top(cs, ls) + self.box_h / 2 + 9)
        end = (self.left(ct) + BOX_W, self.top(ct, lt) + self.box_h / 2 + 9)
        out_x = self.left(cs) - COL_GAP / 2 + 5
        in_x = self.left(ct) + BOX_W + COL_GAP / 2 + 5
        if same_band and ct == cs - 1:
            return [start, (out_x, start[1]), (out_x, end[1]), end]
        y = self._gutter(cs, max(ls, lt)) + 4 if same_band else self.band_bottom[self.band(cs) - 1] + BAND_GAP / 2 + 4
        return [start, (out_x, start[1]), (out_x, y), (in_x, y), (in_x, end[1]), end]

    def _arcs_above(self, edge: _Edge) -> bool:
        (cs, ls), (ct, lt) = self.cell[edge.source], self.cell[edge.dest]
        if ls or lt or self.band(cs) != self.band(ct):
            return False
        return edge.back or not self._free_between(cs, ct, 0)

    def _arc_ends(self, edge: _Edge) -> tuple[float, float]:
        """Arcs leave a box right of its centre and arrive left of it."""
        return (
            self.left(self.cell[edge.source][0]) + BOX_W / 2 + 10,
            self.left(self.cell[edge.dest][0]) + BOX_W / 2 - 10,
        )

    def _free_between(self, first: int, last: int, lane: int) -> bool:
        low, high = sorted((first, last))
        return all((column, lane) not in self.occupied for column in range(low + 1, high))

    def _gutter(self, column: int, lane: int) -> float:
        """The middle of the gap above ``lane`` (lane > 0) in the band of ``column``."""
        return self.top(column, lane) - LANE_GAP / 2


def _nest(arcs: list[tuple[_Edge, float, float]]) -> dict[tuple[str, str], int]:
    """Levels for arcs above a lane: an arc spanning another one runs above it."""
    placed: list[tuple[float, float, int]] = []
    levels: dict[tuple[str, str], int] = {}
    for edge, start, end in sorted(arcs, key=lambda arc: abs(arc[2] - arc[1])):
        low, high = sorted((start, end))
        level = 1 + max((lvl for a, b, lvl in placed if a <= high and low <= b), default=0)
        placed.append((low, high, level))
        levels[(edge.source, edge.dest)] = level
    return levels


# --- markup -------------------------------------------------------------------------------------------------


def _state_markup(step: ChainStep, corner: Point, box_h: float, label: Sequence[str], marker: str | None) -> str:
    x, y = corner
    classes = ["gk-state"]
    if step.is_current:
        classes.append("gk-current")
        fill, stroke, border, ink = CURRENT_FILL, CURRENT_STROKE, 3.5, CURRENT_INK
    elif step.visited:
        classes.append("gk-visited")
        fill, stroke, border, ink = VISITED_FILL, VISITED_STROKE, 1.5, INK
    else:
        fill, stroke, border, ink = PLAIN_FILL, PLAIN_STROKE, 1.5, INK
    if step.terminal:
        classes.append("gk-terminal")
    if not step.main_path:
        classes.append("gk-side")
    out = [
        f'<g class="{" ".join(classes)}" data-state="{escape(step.name)}">',
        f"<title>{escape(step.label)}</title>",
        f'<rect x="{_n(x)}" y="{_n(y)}" width="{BOX_W}" height="{_n(box_h)}" rx="6"'
        f' fill="{fill}" stroke="{stroke}" stroke-width="{border}"/>',
    ]
    if step.terminal:  # a final state: a second border inside the first
        out.append(
            f'<rect x="{_n(x + 4)}" y="{_n(y + 4)}" width="{BOX_W - 8}" height="{_n(box_h - 8)}" rx="4"'
            f' fill="none" stroke="{stroke}" stroke-width="1"/>'
        )
    rows = [(line, False) for line in label] + ([(marker, True)] if marker else [])
    first = y + (box_h - len(rows) * LINE_H) / 2 + LINE_H - 4
    centre = x + BOX_W / 2
    for index, (text, bold) in enumerate(rows):
        weight = ' font-weight="bold"' if bold else ""
        out.append(
            f'<text x="{_n(centre)}" y="{_n(first + index * LINE_H)}" text-anchor="middle" fill="{ink}"{weight}>'
            f"{escape(text)}</text>"
        )
    out.append("</g>")
    return "".join(out)


def _edge_markup(edge: _Edge, points: list[Point]) -> str:
    points = _simplify(points)
    dash = ' stroke-dasharray="5 3"' if edge.back else ""
    kind = "gk-back" if edge.back else "gk-forward"
    (x1, y1), (x2, y2) = points[-2], points[-1]
    length = max(abs(x2 - x1), abs(y2 - y1)) or 1.0
    dx, dy = (x2 - x1) / length, (y2 - y1) / length
    head = [
        (x2, y2),
        (x2 - 7 * dx - 3.5 * dy, y2 - 7 * dy + 3.5 * dx),
        (x2 - 7 * dx + 3.5 * dy, y2 - 7 * dy - 3.5 * dx),
    ]
    return (
        f'<g class="gk-edge {kind}" data-from="{escape(edge.source)}" data-to="{escape(edge.dest)}">'
        f'<path d="{_path(points)}" fill="none" stroke="{EDGE}" stroke-width="1.4"{dash}/>'
        f'<polygon points="{" ".join(f"{_n(px)},{_n(py)}" for px, py in head)}" fill="{EDGE}"/></g>'
    )


def _simplify(points: list[Point]) -> list[Point]:
    """Drop repeated points and points in the middle of a straight run."""
    out: list[Point] = []
    for point in points:
        if out and out[-1] == point:
            continue
        if len(out) >= 2 and _collinear(out[-2], out[-1], point):
            out[-1] = point
            continue
        out.append(point)
    return out if len(out) >= 2 else [points[0], points[-1]]


def _collinear(a: Point, b: Point, c: Point) -> bool:
    return (a[0] == b[0] == c[0]) or (a[1] == b[1] == c[1])


def _path(points: Sequence[Point], radius: float = 4) -> str:
    """An orthogonal polyline with slightly rounded corners."""
    d = [f"M{_n(points[0][0])} {_n(points[0][1])}"]
    for before, corner, after in zip(points, points[1:], points[2:], strict=False):
        r = min(radius, _distance(before, corner) / 2, _distance(corner, after) / 2)
        a = _towards(corner, before, r)
        b = _towards(corner, after, r)
        d.append(f"L{_n(a[0])} {_n(a[1])}Q{_n(corner[0])} {_n(corner[1])} {_n(b[0])} {_n(b[1])}")
    d.append(f"L{_n(points[-1][0])} {_n(points[-1][1])}")
    return "".join(d)


def _distance(a: Point, b: Point) -> float:
    return float(((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5)


def _towards(origin: Point, target: Point, distance: float) -> Point:
    length = _distance(origin, target) or 1.0
    return (
        origin[0] + (target[0] - origin[0]) * distance / length,
        origin[1] + (target[1] - origin[1]) * distance / length,
    )


def _n(value: float) -> str:
    """A coordinate as short, stable text."""
    return f"{round(value, 1):g}"


# --- text ---------------------------------------------------------------------------------------------------


def _char_width(char: str) -> float:
    """Rough advance width: full for CJK, narrower for Latin, so labels wrap before they overflow."""
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return FONT_SIZE
    if char.isspace():
        return FONT_SIZE * 0.3
    if char in "fijlrt.,:;'!|()[]-":
        return FONT_SIZE * 0.34
    if char.isupper() or char.isdigit() or char in "mwMW":
        return FONT_SIZE * 0.7
    return FONT_SIZE * 0.56


def _text_width(text: str) -> float:
    return sum(_char_width(char) for char in text)


def _tokens(text: str) -> list[str]:
    """Words of Latin text, single characters of CJK text, and the spaces between."""
    tokens: list[str] = []
    word = ""
    for char in text:
        if char.isspace() or unicodedata.east_asian_width(char) in ("W", "F"):
            if word:
                tokens.append(word)
                word = ""
            tokens.append(" " if char.isspace() else char)
        else:
            word += char
    if word:
        tokens.append(word)
    return tokens


def _wrap(text: str, width: float, max_lines: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for token in _tokens(text):
        if token == " ":
            line += " " if line else ""
            continue
        if _text_width(line + token) <= width:
            line += token
            continue
        if line.strip():
            lines.append(line.rstrip())
        while _text_width(token) > width and len(token) > 1:
            cut = 1
            while cut < len(token) and _text_width(token[: cut + 1]) <= width:
                cut += 1
            lines.append(token[:cut])
            token = token[cut:]
        line = token
    if line.strip():
        lines.append(line.rstrip())
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and _text_width(last + "…") > width:
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last + "…"]
    return lines or [""]

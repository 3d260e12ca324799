"""Charts a township head reads at a glance, drawn by matplotlib as SVG to inline in a page.

The object API only (no ``pyplot``, whose global figure manager is not thread-safe: the web pages
render in a thread pool), the Agg backend. Text is kept as SVG ``<text>`` (``svg.fonttype: none``):
it stays selectable and searchable, and a reader whose browser lacks the font used for layout
still sees Chinese, drawn by the browser's own fonts. Layout uses Noto Sans CJK (Debian's
``fonts-noto-cjk``) when it is installed; without it the charts are laid out with DejaVu Sans
metrics (Chinese labels may be spaced a little too tight) and :data:`CJK_FONT` is None.
"""

from __future__ import annotations

import io
import re
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
from matplotlib import font_manager
from matplotlib.figure import Figure

CJK_FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto-cjk/NotoSansCJK-Regular.ttc",
)
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC")
ON_TIME = "#2e7d32"
LATE = "#c62828"
MEDIAN = "#1565c0"
P90 = "#90caf9"
LIMIT = "#212121"

_configured: list[str | None] = []
_lock = threading.Lock()


def cjk_font() -> str | None:
    """The CJK font family the charts are laid out with (configured once per process), or None."""
    with _lock:
        if not _configured:
            _configured.append(_configure())
        return _configured[0]


def _configure() -> str | None:
    matplotlib.use("Agg")
    family: str | None = None
    known = {f.name for f in font_manager.fontManager.ttflist}
    for path in CJK_FONT_FILES:
        if Path(path).exists():
            font_manager.fontManager.addfont(path)
            known = {f.name for f in font_manager.fontManager.ttflist}
            break
    family = next((name for name in CJK_FAMILIES if name in known), None)
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [*([family] if family else []), "DejaVu Sans"]
    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["svg.hashsalt"] = "gongkai"  # the same report draws the same bytes
    matplotlib.rcParams["axes.unicode_minus"] = False
    return family


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    second: float | None = None
    """A second value drawn behind the first (the 90th percentile behind the median)."""
    mark: float | None = None
    """A limit drawn as a vertical tick on the bar's row."""
    late: bool = False


def svg(figure: Figure, prefix: str) -> str:
    """The figure as an ``<svg>`` element whose ids are unique to ``prefix`` (several share a page)."""
    out = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Glyph missing" without a CJK font: the browser draws it
        figure.savefig(out, format="svg", bbox_inches="tight")
    text = out.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r'id="([^"]+)"', rf'id="{prefix}-\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", text)
    return re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', text)


def bars(
    bars: Sequence[Bar],
    *,
    xlabel: str,
    legend: Sequence[str] = (),
    percent: bool = False,
    prefix: str,
) -> str:
    """Horizontal bars, one row per label, the first at the top; an SVG element."""
    cjk_font()
    height = 0.9 + 0.42 * max(1, len(bars))
    figure = Figure(figsize=(7.5, height), dpi=96)
    axes = figure.add_subplot()
    rows = list(range(len(bars)))[::-1]
    if any(b.second is not None for b in bars):
        axes.barh(
            rows, [b.second or 0 for b in bars], height=0.7, color=P90, label=legend[1] if len(legend) > 1 else None
        )
    colours = [LATE if b.late else (ON_TIME if percent else MEDIAN) for b in bars]
    axes.barh(rows, [b.value for b in bars], height=0.45 if not percent else 0.6, color=colours,
              label=legend[0] if legend else None)  # fmt: skip
    marks = [(row, b.mark) for row, b in zip(rows, bars, strict=True) if b.mark is not None]
    if marks:
        axes.scatter([m for _, m in marks], [r for r, _ in marks], marker="|", s=500, linewidths=2.5, color=LIMIT,
                     zorder=3, label=legend[2] if len(legend) > 2 else None)  # fmt: skip
    for row, b in zip(rows, bars, strict=True):
        shown = f"{b.value:.0%}" if percent else f"{b.value:g}"
        axes.text(b.value, row, f" {shown}", va="center", fontsize=9)
    axes.set_yticks(rows, [b.label for b in bars], fontsize=9)
    axes.set_xlabel(xlabel, fontsize=9)
    if percent:
        axes.set_xlim(0, 1.12)
        axes.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    else:
        top = max([b.value for b in bars] + [b.second or 0 for b in bars] + [b.mark or 0 for b in bars] + [1])
        axes.set_xlim(0, top * 1.15)
        axes.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))  # whole days
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="x", color="#e0e0e0", linewidth=0.6)
    axes.set_axisbelow(True)
    if legend:
        axes.legend(fontsize=8, loc="lower right", frameon=False)
    return svg(figure, prefix)

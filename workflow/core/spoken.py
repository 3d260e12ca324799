"""An item's Markdown body as plain text for reading aloud (the village broadcast). Pure.

Parsed by the same markdown-it-py as :mod:`workflow.core.markup`, so what is read out is what is
published: no markup is left (``#``, ``*``, ``|``, backticks); a link is read as its text, an image as
its description; each heading, paragraph and list item is a line of its own; a table is read a row
a line, its cells joined with "，" (the header row first).
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.token import Token

_parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
CELL_JOINER = "，"


def _inline_text(token: Token) -> str:
    parts: list[str] = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)  # its alt text
    return "".join(parts).strip()


def spoken_text(source: str) -> str:
    """The body as lines of plain text, blank lines between blocks; an empty string for an empty body."""
    blocks: list[str] = []
    row: list[str] | None = None
    for token in _parser.parse(source or ""):
        if token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            blocks.append(CELL_JOINER.join(cell for cell in row if cell))
            row = None
        elif token.type == "inline":
            text = _inline_text(token)
            if row is not None:
                row.append(text)
            elif text:
                blocks.append(text)
        elif token.type in ("fence", "code_block"):
            blocks.extend(line.strip() for line in token.content.splitlines() if line.strip())
    return "\n\n".join(blocks)

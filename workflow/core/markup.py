"""An item's body, written in Markdown, as the HTML every reader is shown: one function, one home.

The body is Markdown (CommonMark with tables; raw HTML is not Markdown here, so ``<script>`` typed in
a body stays text). It is parsed by markdown-it-py and the HTML it makes is then cleaned by nh3
(Ammonia) against a short allow-list of tags: paragraphs, lists, tables, emphasis, headings h2-h4,
quotes, code, and links to http, https and mailto only, each given ``rel="noopener noreferrer"``.
Every shell that shows a body (the item page, the confirm page of an action link, the HTML emails,
later the published site) calls :func:`render_body`, so what a reviewer clears is what is published.
Pure: text in, text out.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "strong", "em",
        "h2", "h3", "h4", "blockquote", "code", "pre", "a",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
LINK_SCHEMES = ("http://", "https://", "mailto:")
LINK_REL = "noopener noreferrer"

_parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def _only_safe_links(tag: str, attribute: str, value: str) -> str | None:
    """Keep an ``href`` only with an allowed scheme (relative links, ``javascript:`` and the rest go)."""
    if tag == "a" and attribute == "href":
        return value if value.strip().lower().startswith(LINK_SCHEMES) else None
    return value


@lru_cache(maxsize=512)
def render_body(source: str) -> str:
    """The body's Markdown as sanitised HTML (an empty string for an empty body)."""
    if not source.strip():
        return ""
    html = _parser.render(source)
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_only_safe_links,
        url_schemes={"http", "https", "mailto"},
        link_rel=LINK_REL,
        strip_comments=True,
    ).strip()

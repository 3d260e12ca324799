"""The email that tells the administrators a stored attachment changed on disk or went missing.

Rendered like every other email (one template tree, ``files_mismatch_subject.txt``, ``.txt`` and
``.html``, in the office's language), but about files rather than one item, so it is not one of
:data:`notifications.render.EVENTS`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from notifications.render import HTML_LANG, RenderedMessage, check_web_url, default_renderer, item_url
from workflow.store.file_check import FileProblem

EVENT = "files_mismatch"


def render_files_mismatch(
    problems: Sequence[FileProblem], *, recipient_name: str, base_url: str, today: dt.date, lang: str = "zh"
) -> RenderedMessage:
    """One email to one administrator listing ``problems`` (each file with the items that attach it)."""
    check_web_url(base_url)
    context = {
        "lang": lang,
        "html_lang": HTML_LANG[lang],
        "recipient_name": recipient_name,
        "today": today,
        "problems": [
            {
                "sha256": p.sha256, "missing": p.kind == "missing", "actual": p.actual or "",
                "attached_to": [{"reference": ref, "url": item_url(base_url, ref)} for ref in p.items],
            }
            for p in problems
        ],
    }  # fmt: skip
    return default_renderer().render_event(lang, EVENT, context)

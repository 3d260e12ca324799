"""The daily email that gives the auditors the audit chain's anchor to keep outside the database.

Rendered like every other email (one template tree: ``audit_anchor_subject.txt``, ``.txt``, ``.html``,
in the office's language); about the chain, not an item, so it is not one of
:data:`notifications.render.EVENTS`.
"""

from __future__ import annotations

import datetime as dt

from notifications.render import HTML_LANG, RenderedMessage, default_renderer, header_safe

EVENT = "audit_anchor"


def render_anchor(
    *, seq: int, digest: str, line: str, recipient_name: str, today: dt.date, lang: str = "zh"
) -> RenderedMessage:
    """One auditor's copy of the day's anchor: the entry, its hash, and the JSON line to keep."""
    environment = default_renderer().environments[lang]
    context = {"lang": lang, "html_lang": HTML_LANG[lang], "recipient_name": recipient_name, "today": today,
               "seq": seq, "hash": digest, "line": line}  # fmt: skip
    return RenderedMessage(
        subject=header_safe(environment.get_template(f"{EVENT}_subject.txt").render(context)),
        text=environment.get_template(f"{EVENT}.txt").render(context),
        html=environment.get_template(f"{EVENT}.html").render(context),
    )

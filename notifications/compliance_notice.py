"""The email that tells the auditors what the daily compliance check found that was not reported before.

Rendered like every other email (``compliance_findings_subject.txt``, ``.txt`` and ``.html``, in the
office's language). It takes the findings as plain lines (the check itself lives in a layer above this
one, :mod:`workflow.reports.compliance`): subject, rule code, entries, day and sentence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from notifications.render import HTML_LANG, RenderedMessage, check_web_url, default_renderer, item_url

EVENT = "compliance_findings"


def render_compliance_findings(
    findings: Sequence[Mapping[str, Any]], *, recipient_name: str, base_url: str, today: dt.date, lang: str = "zh"
) -> RenderedMessage:
    """One email to one auditor; each finding a mapping of ``subject``, ``item_id``, ``rule``, ``entries``
    (audit seqs), ``on`` (a date) and ``message`` (in ``lang``)."""
    check_web_url(base_url)
    context = {
        "lang": lang,
        "html_lang": HTML_LANG[lang],
        "recipient_name": recipient_name,
        "today": today,
        "findings": [
            {**finding, "entries": ", ".join(f"#{seq}" for seq in finding["entries"]) or "-",
             "url": item_url(base_url, finding["subject"]) if finding.get("item_id") is not None else None}
            for finding in findings
        ],
    }  # fmt: skip
    return default_renderer().render_event(lang, EVENT, context)

"""The public side of an item as the office sees it in the item's header: 有效性 and its dates.

The office must see what the public sees (issue 10): whether the item is current (有效), expired
(已失效), withdrawn (已撤回) or repealed (已废止), since when, until when (有效期至), and whether a
revision was republished (修订). Read from ``publications``, so a revision in progress does not change it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from workflow.core.i18n import N_
from workflow.core.publication import CURRENT, EXPIRED, REPEALED, WITHDRAWN, PublicItem

STATUS_LABELS = {
    CURRENT: N_("Current"),
    EXPIRED: N_("Expired"),
    WITHDRAWN: N_("Withdrawn"),
    REPEALED: N_("Repealed"),
}
"""Each public status as the item page names it (English source text, translated by the template)."""


@dataclass(frozen=True)
class PublicStatus:
    status: str
    label: str
    """English source text: the template translates it."""
    index_number: str
    first_published_at: dt.datetime
    published_at: dt.datetime
    revised_at: dt.datetime | None
    expires_at: dt.datetime | None
    status_at: dt.datetime

    @property
    def current(self) -> bool:
        return self.status == CURRENT


def public_status(item: PublicItem | None) -> PublicStatus | None:
    """What the header shows of an item's publication; None before it is first published."""
    if item is None:
        return None
    return PublicStatus(
        status=item.status, label=STATUS_LABELS[item.status], index_number=item.index_number,
        first_published_at=item.first_published_at, published_at=item.published_at, revised_at=item.revised_at,
        expires_at=item.expires_at, status_at=item.status_at,
    )  # fmt: skip

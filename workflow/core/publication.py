"""What the public sees of an item, and which public events a move causes. Pure.

An item is public from its first publication: the site, the notice boards, the broadcast and the
county platform show the content it was last *published* with (a revision in progress shows
only once republished, marked 修订). A withdrawal (撤回) takes it off the listings at once, an
expiry (有效期至 passed) or a repeal (废止) moves it to the archive; its index number stays its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workflow.core.attachments import Attachment, attachments_of
from workflow.core.decisions import UNPUBLISH_AT as UNPUBLISH_AT  # 有效期至: its rule lives with the fire's
from workflow.core.decisions import field_moment
from workflow.core.errors import NotPermitted
from workflow.core.office import publishes

CURRENT = "current"
EXPIRED = "expired"
REPEALED = "repealed"
WITHDRAWN = "withdrawn"
STATUSES = (CURRENT, EXPIRED, REPEALED, WITHDRAWN)

PUBLISH = "publish"
"""The public events: a (re)publication, and the three ways an item stops being current."""
ENDING_EVENTS: Mapping[str, tuple[str, str]] = {
    # the state an item moves into -> (event, status)
    "withdrawn": ("withdraw", WITHDRAWN),
    "expired": ("expire", EXPIRED),
    "repealed": ("repeal", REPEALED),
}
ONLINE_CHANNELS = ("portal", "webhook")
"""The channels told when an item stops being current (boards and the broadcast have moved on)."""
ENDS_FROM: Mapping[str, tuple[str, ...]] = {
    # a status -> the public statuses it may follow: a withdrawal also takes an archived item off the site
    WITHDRAWN: (CURRENT, EXPIRED, REPEALED),
    EXPIRED: (CURRENT,),
    REPEALED: (CURRENT,),
}


def public_event(from_state: str, to_state: str) -> tuple[str, str] | None:
    """The public event of a move, with the item's public status after it; None for a move the public never sees.

    An ending event applies only to an item that is public in a status it may follow (:data:`ENDS_FROM`: the
    engine's update of the publication is conditional on that), so a draft moved to ``withdrawn`` causes nothing.
    """
    if publishes(from_state, to_state):
        return PUBLISH, CURRENT
    if from_state != to_state and to_state in ENDING_EVENTS:
        return ENDING_EVENTS[to_state]
    return None


def channels_for(event: str, channels: tuple[str, ...]) -> tuple[str, ...]:
    """The channels that do work for ``event``: all of the item's for a publication, the online ones otherwise."""
    if event == PUBLISH:
        return channels
    return tuple(c for c in channels if c in ONLINE_CHANNELS)


def job_key(item_id: int, channel: str, event: str, version: int) -> str:
    """The idempotency key of one channel's work for one event: the item's version after the move makes it unique."""
    return f"gongkai-{item_id}-v{version}-{event}-{channel}"


@dataclass(frozen=True)
class PublicItem:
    """One item as the public sees it (a row of ``publications``), times in UTC."""

    item_id: int
    reference: str
    index_number: str
    category: str | None
    title: str
    body: str
    fields: Mapping[str, Any]
    meta: Mapping[str, Any]
    revision: int
    content_hash: str
    first_published_at: dt.datetime
    published_at: dt.datetime
    expires_at: dt.datetime | None
    status: str
    status_at: dt.datetime
    attachments: tuple[Attachment, ...] = field(default=())

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> PublicItem:
        meta = dict(values.get("meta") or {})
        return cls(
            item_id=int(values["item_id"]), reference=str(values["reference"]),
            index_number=str(values["index_number"]), category=values.get("category"), title=str(values["title"]),
            body=str(values["body"]), fields=dict(values.get("fields") or {}), meta=meta,
            revision=int(values["revision"]), content_hash=str(values["content_hash"]),
            first_published_at=values["first_published_at"], published_at=values["published_at"],
            expires_at=values.get("expires_at"), status=str(values["status"]), status_at=values["status_at"],
            attachments=tuple(attachments_of(meta)),
        )  # fmt: skip

    @property
    def doc_number(self) -> str | None:
        """文号."""
        value = self.meta.get("doc_number")
        return str(value) if value else None

    @property
    def subjects(self) -> tuple[str, ...]:
        """主题词."""
        return tuple(str(s) for s in self.meta.get("subjects") or ())

    @property
    def revised_at(self) -> dt.datetime | None:
        """When a revision was republished (修订), or None for an item published once."""
        return self.published_at if self.published_at != self.first_published_at else None

    @property
    def current(self) -> bool:
        return self.status == CURRENT

    @property
    def listed(self) -> bool:
        """Shown in listings, the feed and the search: current items, and the archive (expired, repealed)."""
        return self.status != WITHDRAWN


def expiry_of(fields: Mapping[str, Any], zone: dt.tzinfo) -> dt.datetime | None:
    """The 有效期至 moment of an item's fields (a value without an offset is office time), or None."""
    return field_moment(fields.get(UNPUBLISH_AT), zone)


def item_path(reference: str) -> str:
    """Where an item's page lives in the site, relative to its root (the webhook and the feed link to it)."""
    return f"items/{reference}.html"


def item_url(base_url: str, reference: str) -> str:
    """The public address of an item's page under the site's base URL (office.yaml ``site.base_url``)."""
    return f"{base_url.rstrip('/')}/{item_path(reference)}"


CHANNEL_TRIGGER = "channel"
"""The audit trigger of one attempt of a channel's job (details: channel, event, key, attempt, outcome)."""
CHANNEL_RETRY_TRIGGER = "channel.retry"
"""The audit trigger of failed channel jobs put back in the queue by a person."""
DELIVERED, RETRY, FAILED_OUTCOME = "delivered", "retry", "failed"
"""The outcome of one attempt, as its audit row records it."""
RETRY_ROLES = ("office", "admin")
"""Who may put an item's failed channel jobs back in the queue (the operating-system account may too)."""


def channel_retry_role(name: str, roles: frozenset[str]) -> str:
    """The role in which ``name`` retries failed channel jobs; refused without one of :data:`RETRY_ROLES`."""
    for role in RETRY_ROLES:
        if role in roles:
            return role
    raise NotPermitted("publication.retry_role", person=name, roles=", ".join(RETRY_ROLES))

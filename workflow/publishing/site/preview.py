"""An item as the public would see it if it were published now (公开预览), before anyone signs it off.

Built from the item as it is (``engine.show``): its index number when it has one (a revision of a
published item keeps it), else the page says 发布时生成; the first publication's date when it was
published before (the page then shows 修订). Rendered by the site's own item renderer.
"""

from __future__ import annotations

from workflow.core.attachments import attachments_of
from workflow.core.definition import Definition
from workflow.core.office import PUBLISHED_STATE
from workflow.core.publication import CURRENT, PublicItem, expiry_of
from workflow.engine import WorkflowEngine
from workflow.publishing.site import layout
from workflow.publishing.site.render import SiteRenderer, Spot
from workflow.store.db import reading
from workflow.store.publications import public_item

SCHEDULED_STATE = "scheduled"


def previewable(definition: Definition, state: str) -> bool:
    """True for an item of a chain that publishes, in a state before publication (or in a revision)."""
    if PUBLISHED_STATE not in definition.states or state == PUBLISHED_STATE or state not in definition.states:
        return False
    return not definition.states[state].terminal


def leads_to_publication(dest: str | None) -> bool:
    """A decision whose confirmation page shows the preview: one that publishes, now or at a set time."""
    return dest in (PUBLISHED_STATE, SCHEDULED_STATE)


def would_be(engine: WorkflowEngine, item_ref: str | int) -> PublicItem:
    """The public item the item would become if it were published now."""
    view = engine.show(item_ref)
    number, _ = engine.publication(view.id)
    with reading(engine.db) as conn:
        public = public_item(conn, view.id)
    now = engine.clock()
    return PublicItem(
        item_id=view.id, reference=view.reference, index_number=number or "", category=view.category,
        title=view.title, body=view.body, fields=dict(view.fields), meta=dict(view.meta), revision=view.revision,
        content_hash=view.content_hash, first_published_at=public.first_published_at if public else now,
        published_at=now, expires_at=expiry_of(view.fields, engine.zone), status=CURRENT, status_at=now,
        attachments=tuple(attachments_of(view.meta)),
    )  # fmt: skip


def preview_page(renderer: SiteRenderer, item: PublicItem, *, stylesheet: str | None = None) -> str:
    """The whole public page, marked as a preview: standalone (its CSS inlined) unless ``stylesheet`` names
    where the page finds it."""
    spot = Spot(layout.item_page(item.reference))
    return renderer.item_page(item, spot, preview=True, inline_css=stylesheet is None, stylesheet=stylesheet)

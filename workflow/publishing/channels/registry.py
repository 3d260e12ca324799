"""The channels this office can perform, by name: adding one is one line here."""

from __future__ import annotations

from workflow.engine import WorkflowEngine
from workflow.publishing.channels.base import Channel
from workflow.publishing.channels.broadcast import BroadcastChannel
from workflow.publishing.channels.notice_board import NoticeBoardChannel
from workflow.publishing.channels.portal import PortalChannel
from workflow.publishing.channels.webhook import WebhookChannel
from workflow.publishing.site import site_builder
from workflow.settings import Settings


def channels(engine: WorkflowEngine, settings: Settings) -> dict[str, Channel]:
    """Every channel performer, configured from ``settings``; a job whose channel is missing here waits, pending."""
    office, catalog, zone = engine.registry.office(), engine.registry.catalog(), engine.zone
    return {
        "portal": PortalChannel(site_builder(settings, engine)),
        "webhook": WebhookChannel(settings.webhook_url, settings.webhook_secret, office, catalog, zone),
        "notice_board": NoticeBoardChannel(settings.channels_dir, office, catalog, zone, settings.lang),
        "broadcast": BroadcastChannel(settings.channels_dir, office, zone, settings.lang),
    }

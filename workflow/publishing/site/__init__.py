"""The public catalogue site (政府信息公开目录): static HTML and CSS built from ``publications``.

``layout`` (where pages live, which listing shows an item), ``manifest`` (what a build holds, beside
it), ``render`` (the pages as text; the one renderer of an item's public page), ``build`` (full builds
swapped in atomically, incremental updates in place), ``searching`` (the one door to the search index),
``preview`` (an item as the public would see it, before it is published).
"""

from __future__ import annotations

from workflow.engine import WorkflowEngine
from workflow.publishing.site.build import BuildReport, Progress, SiteBuilder, SiteBusy
from workflow.publishing.site.render import SiteConfig, SiteRenderer
from workflow.settings import Settings

__all__ = ["BuildReport", "SiteBuilder", "SiteBusy", "SiteConfig", "SiteRenderer", "site_builder", "site_config"]


def site_config(settings: Settings, engine: WorkflowEngine) -> SiteConfig:
    registry = engine.registry
    return SiteConfig(
        site_dir=settings.site_dir, office=registry.office(), catalog=registry.catalog(), lang=settings.lang,
        zone=engine.zone, definitions_dir=settings.definitions_dir,
    )  # fmt: skip


def site_builder(settings: Settings, engine: WorkflowEngine, *, progress: Progress | None = None) -> SiteBuilder:
    """The builder of the office's site (``GONGKAI_SITE_DIR``), reading the engine's database and file store."""
    return SiteBuilder(engine.db, site_config(settings, engine), engine.files, clock=engine.clock, progress=progress)

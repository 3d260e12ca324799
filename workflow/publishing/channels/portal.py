"""The ``portal`` channel: the item's part of the public catalogue site, brought up to date.

Every event (publish, withdraw, expire, repeal) is the same job: an incremental update of the site for
this item, which reads what the public sees now from ``publications``; so a job performed twice, or
late after a newer event, still leaves the site as the table says.
"""

from __future__ import annotations

from workflow.core.errors import GongkaiError
from workflow.core.publication import PublicItem, item_path
from workflow.publishing.channels.base import ChannelError, ChannelJob
from workflow.publishing.site.build import SiteBuilder, SiteBusy

LOCK_WAIT_SECONDS = 30.0
"""How long a job waits for a full build of the site to finish before it is retried later."""


class PortalChannel:
    name = "portal"

    def __init__(self, builder: SiteBuilder, *, wait: float = LOCK_WAIT_SECONDS) -> None:
        self.builder = builder
        self.wait = wait

    def perform(self, job: ChannelJob, item: PublicItem) -> str:
        try:
            report = self.builder.update([job.item_id], wait=self.wait)
        except SiteBusy as busy:
            raise ChannelError(str(busy)) from None
        except GongkaiError as error:
            raise ChannelError(error.render("en")) from None
        except OSError as error:
            raise ChannelError(f"the site could not be written: {error}") from None
        return (
            f"{item_path(item.reference)} ({item.status}): {report.kind} build, {len(report.written)} files written, "
            f"{len(report.removed)} removed"
        )

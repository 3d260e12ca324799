"""The village broadcast (广播): a plain-text script for reading aloud, one per publication.

Written from ``templates/channels/broadcast.txt`` into ``GONGKAI_CHANNELS_DIR/broadcast/<year>/<reference>.txt``
(UTF-8, atomically): an opening, the title, the body as spoken text (:mod:`workflow.core.spoken`: no
Markdown left), the index number, the organ and the date, a closing. Only publications are read out.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from workflow.core.office import Office
from workflow.core.publication import PublicItem
from workflow.core.spoken import spoken_text
from workflow.publishing.channels.base import ChannelJob
from workflow.publishing.channels.files import environment, not_to_print, office_day, safe_part, write_atomically


class BroadcastChannel:
    """The script the village radio reads out."""

    name = "broadcast"

    def __init__(self, folder: Path, office: Office, zone: dt.tzinfo, lang: str = "zh") -> None:
        self.folder = folder / "broadcast"
        self.office = office
        self.zone = zone
        self.lang = lang

    def path(self, item: PublicItem) -> Path:
        year = office_day(item.published_at, self.zone).year
        return self.folder / str(year) / f"{safe_part(item.reference)}.txt"

    def perform(self, job: ChannelJob, item: PublicItem) -> str:
        if (reason := not_to_print(job.event, item)) is not None:
            return reason
        text = environment(self.lang).get_template("broadcast.txt").render(
            item=item, organ=self.office.organ.in_lang(self.lang), body=spoken_text(item.body),
            published_on=office_day(item.published_at, self.zone),
            revised=item.revised_at is not None, lang=self.lang,
        )  # fmt: skip
        path = self.path(item)
        write_atomically(path, text.encode("utf-8"))
        return f"script {path}"

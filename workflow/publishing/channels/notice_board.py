"""The village notice boards (公示栏): one printable A4 PDF per village, Chinese fonts embedded.

Written with WeasyPrint from ``templates/channels/notice_board.html`` into
``GONGKAI_CHANNELS_DIR/notice_board/<year>/<reference>/<village>.pdf`` (the year of publication, office
time), each atomically, so a retry overwrites and a reader never sees half a file. The Chinese font is
Noto Sans CJK (Debian ``fonts-noto-cjk``) found through fontconfig; without a CJK font the job fails
with a message naming the package, never a PDF of empty boxes. Only publications are posted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from markupsafe import Markup

from workflow import fonts
from workflow.clock import utc_now
from workflow.core.definition import Catalog
from workflow.core.markup import render_body
from workflow.core.office import Office
from workflow.core.publication import PublicItem
from workflow.publishing.channels.base import ChannelError, ChannelJob
from workflow.publishing.channels.files import environment, not_to_print, office_day, safe_part, write_atomically


def cjk_font_family() -> str:
    """The family to set Chinese text in; a ChannelError naming the package when there is none."""
    try:
        return fonts.cjk_font_family()
    except fonts.NoCJKFont as missing:
        raise ChannelError(
            f"{missing} (make browser does), or the notice would print as empty boxes", retry=False
        ) from None


class NoticeBoardChannel:
    """One A4 PDF per village of office.yaml for each publication."""

    name = "notice_board"

    def __init__(
        self,
        folder: Path,
        office: Office,
        catalog: Catalog,
        zone: dt.tzinfo,
        lang: str = "zh",
        *,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.folder = folder / "notice_board"
        self.office = office
        self.catalog = catalog
        self.zone = zone
        self.lang = lang
        self.clock = clock

    def item_folder(self, item: PublicItem) -> Path:
        year = office_day(item.published_at, self.zone).year
        return self.folder / str(year) / safe_part(item.reference)

    def perform(self, job: ChannelJob, item: PublicItem) -> str:
        if (reason := not_to_print(job.event, item)) is not None:
            return reason
        if not self.office.villages:
            return "no villages in office.yaml: no notice printed"
        family = cjk_font_family()
        from weasyprint import HTML  # heavy: loaded only when a notice is printed

        template = environment(self.lang).get_template("notice_board.html")
        category = self.catalog.find(item.category) if item.category else None
        folder = self.item_folder(item)
        written = []
        for village in self.office.villages:
            html = template.render(
                item=item, organ=self.office.organ.in_lang(self.lang), village=village, font_family=family,
                category=category.label.in_lang(self.lang) if category else None,
                body=Markup(render_body(item.body)), published_on=office_day(item.published_at, self.zone),
                revised_on=office_day(item.revised_at, self.zone) if item.revised_at else None,
                expires_on=office_day(item.expires_at, self.zone) if item.expires_at else None,
                posted_on=office_day(self.clock(), self.zone), lang=self.lang,
            )  # fmt: skip
            try:
                pdf = HTML(string=html).write_pdf()
            except Exception as error:  # WeasyPrint raises many kinds; a failed render is worth a retry
                raise ChannelError(f"the notice for {village} could not be rendered: {error}") from None
            assert pdf is not None
            path = folder / f"{safe_part(village)}.pdf"
            write_atomically(path, pdf)
            written.append(path.name)
        return f"{len(written)} PDFs in {folder}"

"""The site's pages as text: one Jinja2 tree (``workflow/publishing/templates/site``) in the office's language.

Every page is written twice: once at its path and once under ``elder/`` (适老化模式), whose ``<html>`` has
the class ``elder``. Links between pages are relative, so a reader who switched the mode on stays in it,
and the site works under any base path; only the stylesheet, the attachments, the feed and the search
index are shared by both copies. :meth:`SiteRenderer.item_page` is the one renderer of an item's public
page: the site, the office's preview pages and ``gongkai item preview`` all call it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from notifications.render import translated_environment
from workflow.core.definition import Catalog
from workflow.core.errors import ConfigurationError
from workflow.core.i18n import N_, translator
from workflow.core.markup import render_body
from workflow.core.office import Office
from workflow.core.publication import CURRENT, EXPIRED, REPEALED, WITHDRAWN, PublicItem, item_url
from workflow.publishing.site import layout
from workflow.publishing.site.manifest import Entry

HERE = Path(__file__).resolve().parent.parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
GUIDE_FOLDER = "site"
"""The office's own templates under the definitions folder: ``site/guide.md.j2`` (and ``guide.en.md.j2``)."""
HTML_LANG = {"zh": "zh-CN", "en": "en"}
"""The ``lang`` of the pages (and ``xml:lang`` of the feed) for each language gongkai speaks."""
PREVIEW_NUMBER = N_("Assigned on publication")
"""What the index number shows in a preview, before publication gives one."""


@dataclass(frozen=True)
class Spot:
    """Where a page is written: its path from the site's root, and which copy (standard or elderly-friendly)."""

    path: str
    elder: bool = False

    @property
    def out(self) -> str:
        return f"{layout.ELDER}/{self.path}" if self.elder else self.path

    @property
    def root(self) -> str:
        """Prefix of links to other pages of the same copy."""
        return layout.up(layout.depth(self.path))

    @property
    def assets(self) -> str:
        """Prefix of links to what both copies share (stylesheet, files, feed, search index)."""
        return layout.up(layout.depth(self.path) + (1 if self.elder else 0))

    @property
    def toggle(self) -> str:
        """The same page in the other copy."""
        if self.elder:
            return layout.up(layout.depth(self.path) + 1) + self.path
        return self.root + f"{layout.ELDER}/{self.path}"


@dataclass(frozen=True)
class SiteConfig:
    """What the site is built from besides the publications."""

    site_dir: Path
    office: Office
    catalog: Catalog
    lang: str
    zone: ZoneInfo
    definitions_dir: Path


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


class SiteRenderer:
    def __init__(self, config: SiteConfig) -> None:
        self.config = config
        self.lang = config.lang
        self.tr = translator(config.lang)
        self.env = self._environment()
        self.names = {c.code: c.label.in_lang(config.lang) for c in config.catalog.categories}
        self.names[layout.UNCATEGORISED] = self.tr._("Other information")
        self.names[layout.ARCHIVE] = self.tr._("Archive (no longer in force)")
        self.css = (STATIC / "site.css").read_text(encoding="utf-8")

    def _environment(self) -> Environment:
        zone = self.config.zone
        environment = translated_environment(
            FileSystemLoader(TEMPLATES), self.lang, trim_blocks=True, lstrip_blocks=True
        )
        environment.filters["day"] = lambda v: v.astimezone(zone).strftime("%Y-%m-%d") if v else ""
        environment.filters["moment"] = lambda v: v.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if v else ""
        environment.filters["iso"] = lambda v: v.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if v else ""
        environment.filters["size"] = human_size
        environment.filters["href"] = lambda v: quote(v, safe="/")
        return environment

    # ---- shared facts ------------------------------------------------------------------------------

    def category_name(self, code: str | None) -> str:
        return self.names.get(code or layout.UNCATEGORISED, code or "")

    def validity(self, status: str, expires_at: dt.datetime | None) -> str:
        """有效性 as the header shows it."""
        if status == EXPIRED:
            return self.tr._("No longer in force")
        if status == REPEALED:
            return self.tr._("Repealed")
        if status == WITHDRAWN:
            return self.tr._("Withdrawn")
        if expires_at is not None:
            day = expires_at.astimezone(self.config.zone).strftime("%Y-%m-%d")
            return self.tr._("In force until %(day)s", day=day)
        return self.tr._("In force")

    def categories(self) -> list[tuple[str, str]]:
        return [(c.code, c.label.in_lang(self.lang)) for c in self.config.catalog.categories]

    def _render(self, template: str, spot: Spot, **context: Any) -> str:
        office = self.config.office
        context.setdefault("root", spot.root)
        context.setdefault("assets", spot.assets)
        context.setdefault("toggle", spot.toggle)
        return self.env.get_template(f"site/{template}").render(
            spot=spot, lang=self.lang, html_lang=HTML_LANG.get(self.lang, self.lang),
            site_title=office.site_title.in_lang(self.lang), organ=office.organ.in_lang(self.lang),
            category_name=self.category_name, validity=self.validity, layout=layout, **context,
        )  # fmt: skip

    def both(self, template: str, path: str, **context: Any) -> list[tuple[str, str]]:
        """The page at ``path`` in both copies: (file path, text) pairs."""
        return [(spot.out, self._render(template, spot, **context)) for spot in (Spot(path), Spot(path, True))]

    # ---- pages -------------------------------------------------------------------------------------

    def _item_context(self, item: PublicItem, preview: bool, level: int) -> dict[str, Any]:
        return {
            "item": item, "index_number": item.index_number or self.tr._(PREVIEW_NUMBER), "preview": preview,
            "body": Markup(render_body(item.body)) if item.status != WITHDRAWN else Markup(""),
            "formed_on": item.fields.get("formed_on") or None, "withdrawn": item.status == WITHDRAWN,
            "attachment_path": layout.attachment_path, "level": level,
        }  # fmt: skip

    def item_page(
        self, item: PublicItem, spot: Spot, *, preview: bool = False, inline_css: bool = False,
        stylesheet: str | None = None,
    ) -> str:  # fmt: skip
        """An item's public page: the header metadata, the body and the attachments; a withdrawn item's
        page says so with the date and shows nothing else. ``preview`` marks it as not yet public (the
        index number reads 发布时生成 until one is given); ``inline_css`` makes a standalone file;
        ``stylesheet`` is where the office's preview route serves the site's stylesheet."""
        return self._render(
            "item.html", spot, **self._item_context(item, preview, 1),
            inline_css=Markup(self.css) if inline_css else None, stylesheet=stylesheet,
        )  # fmt: skip

    def item_article(self, item: PublicItem, *, level: int = 1) -> Markup:
        """The part of :meth:`item_page` between the header and the footer, as a preview embeds it in the
        office's pages (its headings start at ``level``)."""
        spot = Spot(layout.item_page(item.reference))
        return Markup(self._render("_article.html", spot, **self._item_context(item, True, level)))

    def item_pages(self, item: PublicItem) -> list[tuple[str, str]]:
        path = layout.item_page(item.reference)
        return [(spot.out, self.item_page(item, spot)) for spot in (Spot(path), Spot(path, True))]

    def listing_pages(
        self, listing: str, page: int | None, entries: Sequence[tuple[int, Entry]], pages: int, older: int | None
    ) -> list[tuple[str, str]]:
        """A listing's index (``page`` None: its newest items) or one of its fixed pages, newest first."""
        path = layout.listing_index(listing) if page is None else layout.listing_page(listing, page)
        return self.both(
            "listing.html", path, listing=listing, name=self.category_name(listing), page=page, pages=pages,
            entries=[e for _, e in entries], older=older, archive=listing == layout.ARCHIVE,
        )  # fmt: skip

    def home(
        self, sections: Iterable[tuple[str, int, Sequence[Entry]]], newest: Sequence[Entry], archived: int
    ) -> list[tuple[str, str]]:
        return self.both("home.html", layout.HOME, sections=list(sections), newest=newest, archived=archived)

    def guide(self) -> list[tuple[str, str]]:
        return self.both("guide.html", layout.GUIDE, guide=Markup(render_body(self.guide_markdown())))

    def guide_markdown(self) -> str:
        """The office's 公开指南 template (Jinja2 producing Markdown) filled with the office's facts."""
        folder = self.config.definitions_dir / GUIDE_FOLDER
        names = ["guide.en.md.j2", "guide.md.j2"] if self.lang == "en" else ["guide.md.j2"]
        found = next((folder / n for n in names if (folder / n).is_file()), None)
        if found is None:
            raise ConfigurationError("config.site_guide_missing", path=str(folder / "guide.md.j2"))
        office = self.config.office
        environment = Environment(loader=FileSystemLoader(folder), autoescape=False, keep_trailing_newline=True)
        return environment.get_template(found.name).render(
            organ=office.organ.in_lang(self.lang), code=office.code, site_title=office.site_title.in_lang(self.lang),
            base_url=office.base_url, villages=office.villages, categories=self.categories(), lang=self.lang,
        )  # fmt: skip

    def search(self) -> list[tuple[str, str]]:
        return self.both("search.html", layout.SEARCH)

    def not_found(self) -> str:
        """Served at any depth: its links start from the site's base path, its style is inline."""
        base = urlsplit(self.config.office.base_url).path.rstrip("/") + "/"
        return self._render(
            "404.html", Spot(layout.NOT_FOUND), root=base, assets=base, toggle=f"{base}{layout.ELDER}/{layout.HOME}",
            inline_css=Markup(self.css),
        )  # fmt: skip

    def feed(self, entries: Sequence[Entry], updated: dt.datetime) -> str:
        base = self.config.office.base_url
        return self._render(
            "feed.xml", Spot(layout.FEED), entries=entries, updated=updated, base=base,
            url=lambda ref: item_url(base, ref),
        )  # fmt: skip

    def sitemap_chunk(self, entries: Sequence[Entry]) -> str:
        base = self.config.office.base_url
        urls = [(item_url(base, e.reference), e.published_at) for e in entries]
        return self._render("sitemap.xml", Spot(layout.SITEMAP_PAGES), urls=urls)

    def sitemap_pages(self, listings: Sequence[str], updated: dt.datetime) -> str:
        base = self.config.office.base_url.rstrip("/")
        paths = [layout.HOME, layout.GUIDE, layout.SEARCH, *(layout.listing_index(x) for x in listings)]
        return self._render("sitemap.xml", Spot(layout.SITEMAP_PAGES), urls=[(f"{base}/{p}", updated) for p in paths])

    def sitemap_index(self, chunks: int, updated: dt.datetime) -> str:
        base = self.config.office.base_url.rstrip("/")
        files = [layout.SITEMAP_PAGES, *(layout.sitemap_chunk(n) for n in range(1, chunks + 1))]
        return self._render("sitemap_index.xml", Spot(layout.SITEMAP_INDEX), files=[f"{base}/{f}" for f in files],
                            updated=updated)  # fmt: skip


def is_current(status: str) -> bool:
    return status == CURRENT

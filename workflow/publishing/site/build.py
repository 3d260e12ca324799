"""Building the catalogue site: a full build swapped in atomically, or an incremental update in place.

``settings.site_dir`` is a symlink to the live build, ``<site_dir>.builds/<stamp>/``. A **full build**
renders everything into a fresh folder and then replaces the symlink (a temporary symlink renamed
over it: atomic on POSIX), keeps the build it replaced and removes older ones; a build killed half-way
leaves its folder unlinked, and the next build removes it. An **incremental update** for some items
rewrites in the live build only what shows them (their pages in both copies, the listing pages and
indexes that hold them, the home page, the feed, their sitemap chunk, their search entries), each file
written aside and renamed over, in an order that never leaves a link to a missing page: on publication
the item's page before the listings, on withdrawal the listings before the page. What it needs to
know of the rest of the site it reads from the build's manifest (:mod:`.manifest`) by key, so its cost
does not grow with the number of items. One builder at a time per site (an ``flock`` beside it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from workflow.core.errors import ConfigurationError
from workflow.core.publication import PublicItem
from workflow.publishing.site import layout, searching
from workflow.publishing.site.manifest import Entry, Manifest
from workflow.publishing.site.render import STATIC, SiteConfig, SiteRenderer
from workflow.store.db import reading
from workflow.store.files import FileStore, FolderFileStore
from workflow.store.publications import public_item, public_items

log = logging.getLogger("gongkai.site")

KEEP_BUILDS = 2
"""The live build and the one before it."""

Progress = Callable[[str], None]
"""Told the path of every file a build writes (the CLI counts them; a test stops a build half-way)."""


class SiteBusy(Exception):
    """Another build of the same site held the lock for longer than the caller would wait."""


@dataclass
class BuildReport:
    kind: str
    """``full``, ``incremental`` or ``none`` (nothing was out of date)."""
    build: Path | None
    items: int = 0
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    searched: bool = False
    """False when the search index is not installed (``workflow.publishing.search``)."""


class Writer:
    """Writes files under one build folder, each aside then renamed over (``atomic``), and lists them."""

    def __init__(self, root: Path, *, atomic: bool, progress: Progress | None = None) -> None:
        self.root = root
        self.atomic = atomic
        self.progress = progress
        self.written: list[str] = []
        self.removed: list[str] = []

    def text(self, path: str, content: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.atomic:
            aside = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            aside.write_text(content, encoding="utf-8")
            os.replace(aside, target)
        else:
            target.write_text(content, encoding="utf-8")
        self._done(path)

    def pages(self, pages: Iterable[tuple[str, str]]) -> None:
        for path, content in pages:
            self.text(path, content)

    def copy(self, path: str, source: Path) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        aside = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.copyfile(source, aside)
        os.replace(aside, target)
        self._done(path)

    def attachment(self, path: str, files: FileStore, sha256: str) -> None:
        """The stored file under ``path``: hard-linked from a folder store when it can be, else copied."""
        target = self.root / path
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        aside = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        if aside.exists():
            aside.unlink()
        linked = False
        if isinstance(files, FolderFileStore):
            try:
                os.link(files.path_for(sha256), aside)
                linked = True
            except OSError:
                linked = False
        if not linked:
            with files.open(sha256) as source, aside.open("wb") as out:
                shutil.copyfileobj(source, out)
        os.replace(aside, target)
        self._done(path)

    def remove(self, path: str) -> None:
        target = self.root / path
        if target.exists():
            target.unlink()
            self.removed.append(path)
            with contextlib.suppress(OSError):
                target.parent.rmdir()  # files/<sha256>/ once empty

    def _done(self, path: str) -> None:
        self.written.append(path)
        if self.progress is not None:
            self.progress(path)


class SiteBuilder:
    """Builds the site of one office into ``config.site_dir`` from the ``publications`` table."""

    def __init__(
        self, db: Engine, config: SiteConfig, files: FileStore | None, *, clock: Callable[[], dt.datetime],
        progress: Progress | None = None,
    ) -> None:  # fmt: skip
        self.db = db
        self.config = config
        self.files = files
        self.clock = clock
        self.progress = progress
        self.renderer = SiteRenderer(config)
        site = config.site_dir
        self.site_dir = site
        self.builds = site.with_name(site.name + ".builds")
        self.lock_file = site.with_name(f".{site.name}.lock")

    # ---- where things are --------------------------------------------------------------------------

    def live(self) -> Path | None:
        """The live build's folder, or None before the first build."""
        site = self.site_dir
        if site.is_symlink():
            target = site.resolve()
            return target if target.is_dir() else None
        if site.exists():
            raise ConfigurationError("config.site_dir_not_link", path=str(site))
        return None

    @staticmethod
    def manifest_path(build: Path) -> Path:
        return build.with_name(build.name + ".manifest.sqlite")

    @contextmanager
    def _locked(self, wait: float | None) -> Iterator[None]:
        """Hold the site's lock; ``wait`` None waits as long as it takes, else raises :class:`SiteBusy`."""
        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        with self.lock_file.open("a") as handle:
            deadline = None if wait is None else time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | (fcntl.LOCK_NB if deadline is not None else 0))
                    break
                except BlockingIOError:
                    if deadline is not None and time.monotonic() > deadline:
                        raise SiteBusy(f"another build of {self.site_dir} is running") from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # ---- entry points ------------------------------------------------------------------------------

    def full(self, *, wait: float | None = None) -> BuildReport:
        """Render everything into a fresh folder and swap it in."""
        with self._locked(wait):
            return self._full()

    def update(self, item_ids: Iterable[int], *, wait: float | None = None) -> BuildReport:
        """Rewrite what shows these items in the live build; a full build when there is no live site yet."""
        ids = sorted(set(item_ids))
        with self._locked(wait):
            live = self.live()
            if live is None or not self.manifest_path(live).is_file():
                return self._full()
            return self._update(live, ids)

    def out_of_date(self) -> list[int] | None:
        """The items whose pages differ from their publication (None: there is no live site). Reads every
        publication: for ``gongkai site build`` catching up, never on the path of one publication."""
        live = self.live()
        if live is None or not self.manifest_path(live).is_file():
            return None
        manifest = Manifest(self.manifest_path(live))
        try:
            stale: list[int] = []
            with reading(self.db) as conn:
                for item in public_items(conn):
                    entry = manifest.entry(item.item_id)
                    if entry is None or not entry.shown_as(item):
                        stale.append(item.item_id)
            return stale
        finally:
            manifest.close()

    def catch_up(self, *, wait: float | None = None) -> BuildReport:
        """Bring the live site up to date with the publications: an update of the items out of date, or a
        full build when there is no live site."""
        stale = self.out_of_date()
        if stale is None:
            return self.full(wait=wait)
        if not stale:
            return BuildReport("none", self.live())
        return self.update(stale, wait=wait)

    # ---- a full build ------------------------------------------------------------------------------

    def _full(self) -> BuildReport:
        now = self.clock()
        self.builds.mkdir(parents=True, exist_ok=True)
        stamp = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        build = self.builds / f"{stamp}-{os.getpid()}-{secrets.token_hex(3)}"
        build.mkdir()
        manifest = Manifest(self.manifest_path(build))
        writer = Writer(build, atomic=False, progress=self.progress)
        try:
            self._assets(writer)
            docs: list[tuple[PublicItem, str, str]] = []
            count = 0
            with reading(self.db) as conn:
                for item in public_items(conn):
                    count += 1
                    _, entry = manifest.put(item)
                    if entry.listing is not None:
                        self._attachments(writer, manifest, item)
                        docs.append(self._doc(item))
                    writer.pages(self.renderer.item_pages(item))
            listings = self._listings(manifest)
            for listing in listings:
                pages = layout.pages_for(manifest.last_slot(listing))
                for page in range(1, pages + 1):
                    self._listing_page(writer, manifest, listing, page)
                self._listing_index(writer, manifest, listing)
            self._front(writer, manifest, listings, now)
            chunks = layout.chunk_of(manifest.last_slot(layout.SITEMAP)) if manifest.last_slot(layout.SITEMAP) else 0
            for chunk in range(1, chunks + 1):
                self._sitemap_chunk(writer, manifest, chunk)
            writer.text(layout.SITEMAP_PAGES, self.renderer.sitemap_pages(listings, now))
            writer.text(layout.SITEMAP_INDEX, self.renderer.sitemap_index(chunks, now))
            writer.pages(self.renderer.guide())
            writer.pages(self.renderer.search())
            writer.text(layout.NOT_FOUND, self.renderer.not_found())
            searched = searching.write_full(build, docs)
            manifest.commit()
        finally:
            manifest.close()
        previous = self.live()
        self._swap(build)
        self._prune({build.name} | ({previous.name} if previous is not None else set()))
        log.info("site: full build of %s items into %s (%s files)", count, build, len(writer.written))
        return BuildReport("full", build, count, writer.written, [], searched)

    def _assets(self, writer: Writer) -> None:
        writer.copy(layout.STYLESHEET, STATIC / "site.css")
        writer.copy(searching.SCRIPT, searching.SCRIPT_SOURCE)

    def _swap(self, build: Path) -> None:
        """Point ``site_dir`` at ``build``: a new symlink renamed over the old one (atomic)."""
        site = self.site_dir
        if site.exists() and not site.is_symlink():
            raise ConfigurationError("config.site_dir_not_link", path=str(site))
        aside = site.with_name(f".{site.name}.swap-{os.getpid()}")
        if aside.is_symlink() or aside.exists():
            aside.unlink()
        os.symlink(os.path.relpath(build, site.parent), aside)
        os.replace(aside, site)
        directory = os.open(site.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def _prune(self, keep: set[str]) -> None:
        """Remove every build but ``keep`` (the live one and the one before it), with half-built ones."""
        for entry in self.builds.iterdir():
            name = entry.name.split(".manifest.sqlite", 1)[0]
            if name in keep:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    # ---- an incremental update ---------------------------------------------------------------------

    def _update(self, live: Path, ids: Sequence[int]) -> BuildReport:
        now = self.clock()
        manifest = Manifest(self.manifest_path(live))
        writer = Writer(live, atomic=True, progress=self.progress)
        try:
            with reading(self.db) as conn:
                items = [found for i in ids if (found := public_item(conn, i)) is not None]
            chunks_before = layout.chunk_of(manifest.last_slot(layout.SITEMAP)) if manifest.last_slot(
                layout.SITEMAP) else 0  # fmt: skip
            listings_before = set(self._listings(manifest))
            pages: set[tuple[str, int]] = set()
            indexes: set[str] = set()
            chunks: set[int] = set()
            listed: list[PublicItem] = []
            gone: list[PublicItem] = []
            unused: list[tuple[str, str]] = []
            for item in items:
                before, after = manifest.put(item)
                for entry in (before, after):
                    if entry is not None and entry.listing is not None:
                        self._touch(manifest, entry, pages, indexes, chunks)
                if after.listing is not None:
                    listed.append(item)
                else:
                    gone.append(item)
                    old_files = manifest.files_of(item.item_id)
                    manifest.set_files(item.item_id, ())
                    unused.extend(f for f in old_files if not manifest.file_used(*f))
            # A publication: the item's page (and its files) exist before any listing links to it.
            for item in listed:
                old_files = manifest.files_of(item.item_id)
                self._attachments(writer, manifest, item)
                new_files = manifest.files_of(item.item_id)
                unused.extend(f for f in old_files - new_files if not manifest.file_used(*f))
                writer.pages(self.renderer.item_pages(item))
            for listing, page in sorted(pages):
                self._listing_page(writer, manifest, listing, page)
            for listing in sorted(indexes):
                self._listing_index(writer, manifest, listing)
            listings = self._listings(manifest)
            self._front(writer, manifest, listings, now)
            for chunk in sorted(chunks):
                self._sitemap_chunk(writer, manifest, chunk)
            chunks_after = layout.chunk_of(manifest.last_slot(layout.SITEMAP)) if manifest.last_slot(
                layout.SITEMAP) else 0  # fmt: skip
            if set(listings) != listings_before:
                writer.text(layout.SITEMAP_PAGES, self.renderer.sitemap_pages(listings, now))
            if chunks_after != chunks_before:
                writer.text(layout.SITEMAP_INDEX, self.renderer.sitemap_index(chunks_after, now))
            searched = searching.update(live, [self._doc(i) for i in listed], [searching.doc_id(i) for i in gone])
            # A withdrawal: nothing links to the page any more when it changes to say 已撤回.
            for item in gone:
                writer.pages(self.renderer.item_pages(item))
            for sha256, name in sorted(set(unused)):
                writer.remove(layout.attachment_path(sha256, name))
            manifest.commit()
        finally:
            manifest.close()
        log.info("site: updated %s items in %s (%s files)", len(items), live, len(writer.written))
        return BuildReport("incremental", live, len(items), writer.written, writer.removed, searched)

    def _touch(
        self, manifest: Manifest, entry: Entry, pages: set[tuple[str, int]], indexes: set[str], chunks: set[int]
    ) -> None:
        """Mark the listing page, index and sitemap chunk that show ``entry`` (before or after a change)."""
        assert entry.listing is not None
        slot = manifest.slot_if_any(entry.listing, entry.item_id)
        if slot is not None:
            page = layout.page_of(slot)
            pages.add((entry.listing, page))
            if page > 1 and slot == layout.slots_of(page)[0]:
                pages.add((entry.listing, page - 1))  # a new page: the one before now links to it
        indexes.add(entry.listing)
        sitemap = manifest.slot_if_any(layout.SITEMAP, entry.item_id)
        if sitemap is not None:
            chunks.add(layout.chunk_of(sitemap))

    # ---- the parts -------------------------------------------------------------------------------

    def _doc(self, item: PublicItem) -> tuple[PublicItem, str, str]:
        day = item.first_published_at.astimezone(self.config.zone).strftime("%Y-%m-%d")
        return item, self.renderer.category_name(item.category), day

    def _attachments(self, writer: Writer, manifest: Manifest, item: PublicItem) -> None:
        if item.attachments and self.files is None:
            raise ConfigurationError("config.no_file_store")
        for attachment in item.attachments:
            assert self.files is not None
            writer.attachment(layout.attachment_path(attachment.sha256, attachment.name), self.files, attachment.sha256)
        manifest.set_files(item.item_id, [(a.sha256, a.name) for a in item.attachments])

    def _listings(self, manifest: Manifest) -> list[str]:
        """Every sub-directory of the catalogue, the uncategorised items when there are any, the archive."""
        codes = [code for code, _ in self.renderer.categories()]
        if manifest.last_slot(layout.UNCATEGORISED):
            codes.append(layout.UNCATEGORISED)
        return [*codes, layout.ARCHIVE]

    def _listing_page(self, writer: Writer, manifest: Manifest, listing: str, page: int) -> None:
        first, last = layout.slots_of(page)
        pages = layout.pages_for(manifest.last_slot(listing))
        entries = manifest.in_slots(listing, first, last)
        writer.pages(self.renderer.listing_pages(listing, page, entries, pages, page - 1 if page > 1 else None))

    def _listing_index(self, writer: Writer, manifest: Manifest, listing: str) -> None:
        entries = manifest.newest(listing, layout.PAGE_SIZE)
        pages = layout.pages_for(manifest.last_slot(listing))
        older = layout.page_of(entries[-1][0] - 1) if entries and entries[-1][0] > 1 else None
        writer.pages(self.renderer.listing_pages(listing, None, entries, pages, older))

    def _front(self, writer: Writer, manifest: Manifest, listings: Sequence[str], now: dt.datetime) -> None:
        """The home page and the feed: both show the newest items, read from the manifest by index."""
        sections = [
            (listing, manifest.count(listing), [e for _, e in manifest.newest(listing, layout.CATEGORY_NEWEST)])
            for listing in listings
            if listing != layout.ARCHIVE
        ]
        newest = manifest.newest_current(layout.FEED_SIZE)
        writer.pages(self.renderer.home(sections, newest[: layout.HOME_NEWEST], manifest.count(layout.ARCHIVE)))
        updated = max((e.published_at for e in newest), default=now)
        writer.text(layout.FEED, self.renderer.feed(newest, updated))

    def _sitemap_chunk(self, writer: Writer, manifest: Manifest, chunk: int) -> None:
        first = (chunk - 1) * layout.SITEMAP_CHUNK + 1
        entries = [e for _, e in reversed(manifest.in_slots(layout.SITEMAP, first, first + layout.SITEMAP_CHUNK - 1))]
        writer.text(layout.sitemap_chunk(chunk), self.renderer.sitemap_chunk(entries))

"""Where everything lives in the site, and which listing shows an item. Pure: names and arithmetic.

Listings (a catalogue sub-directory, the archive) are paged in fixed pages counted from the oldest:
an item keeps the slot it was given when it first entered a listing, so page ``k`` always holds slots
``(k-1)*PAGE_SIZE+1 .. k*PAGE_SIZE``. A new publication writes only the newest page (and the one
before it when it opens a new page), a withdrawal only the page of its slot; a page thinned by
withdrawals keeps fewer than ``PAGE_SIZE`` items rather than shift every later page. Each listing's
``index.html`` shows the newest ``PAGE_SIZE`` items whatever pages they are on.
"""

from __future__ import annotations

from workflow.core.publication import CURRENT, EXPIRED, REPEALED, PublicItem, item_path

PAGE_SIZE = 20
SITEMAP_CHUNK = 1000
"""URLs per sitemap file (the protocol allows 50,000; a publication rewrites one chunk of this size)."""
HOME_NEWEST = 10
CATEGORY_NEWEST = 5
FEED_SIZE = 50
ARCHIVE = "archive"
SITEMAP = "sitemap"
UNCATEGORISED = "00"
"""The listing of a public item without a catalogue category (shown only when it holds any)."""
ELDER = "elder"
"""The folder of the elderly-friendly copy (适老化模式): the same pages, larger and higher-contrast."""

HOME = "index.html"
GUIDE = "guide.html"
SEARCH = "search.html"
NOT_FOUND = "404.html"
FEED = "feed.xml"
SITEMAP_INDEX = "sitemap.xml"
SITEMAP_PAGES = "sitemaps/pages.xml"
STYLESHEET = "assets/site.css"


def listing_of(item: PublicItem) -> str | None:
    """The listing that shows ``item`` now: its sub-directory while current, the archive once expired or
    repealed, none once withdrawn."""
    if item.status == CURRENT:
        return item.category or UNCATEGORISED
    if item.status in (EXPIRED, REPEALED):
        return ARCHIVE
    return None


def page_of(slot: int) -> int:
    """The fixed page (from 1, oldest first) that holds ``slot`` (from 1)."""
    return (slot - 1) // PAGE_SIZE + 1


def slots_of(page: int) -> tuple[int, int]:
    """The first and last slot of ``page``."""
    return (page - 1) * PAGE_SIZE + 1, page * PAGE_SIZE


def pages_for(last_slot: int) -> int:
    return page_of(last_slot) if last_slot > 0 else 0


def chunk_of(slot: int) -> int:
    """The sitemap chunk (from 1) of a sitemap slot."""
    return (slot - 1) // SITEMAP_CHUNK + 1


def listing_folder(listing: str) -> str:
    return ARCHIVE if listing == ARCHIVE else f"catalog/{listing}"


def listing_index(listing: str) -> str:
    return f"{listing_folder(listing)}/index.html"


def listing_page(listing: str, page: int) -> str:
    return f"{listing_folder(listing)}/page-{page}.html"


def sitemap_chunk(chunk: int) -> str:
    return f"sitemaps/items-{chunk:04d}.xml"


def item_page(reference: str) -> str:
    return item_path(reference)


def attachment_path(sha256: str, name: str) -> str:
    """Where an attachment is served: by its hash, under its original name (kept apart per content)."""
    return f"files/{sha256}/{safe_name(name)}"


def safe_name(name: str) -> str:
    """The attachment's name as a file name: its own unless it could leave its folder."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name or name.startswith("."):
        return "file"
    return name


def depth(path: str) -> int:
    """How many folders down ``path`` (relative to the site's root) is."""
    return path.count("/")


def up(levels: int) -> str:
    """The relative prefix that climbs ``levels`` folders (empty at the top)."""
    return "../" * levels

"""Browser-test fixtures: Debian's headless chromium (/usr/bin/chromium) driven by Playwright.

Playwright's own browser builds are never downloaded: `make browser` (a prerequisite of `make test`)
installs Debian's ``chromium`` and a CJK font with apt-get. Without /usr/bin/chromium the browser
tests skip, and the conftest turns that skip into a failure in CI.

Under pytest-xdist each worker process starts its own browser (the ``browser`` fixture is
session-scoped, and a session is per worker); every test gets a fresh context and page.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
LOCALE = "zh-CN"
VIEWPORT_WIDTH = 1280
VIEWPORT_HEIGHT = 900


def chromium_args() -> list[str]:
    """Flags for chromium in a container: no setuid sandbox as root, /tmp instead of a small /dev/shm."""
    args = ["--disable-dev-shm-usage", "--disable-gpu", "--no-first-run", "--no-default-browser-check"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # chromium refuses to start as root with its sandbox on
    return args


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: `make browser` installs Debian's chromium (apt-get install chromium)")
    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=chromium_args())
        try:
            yield launched
        finally:
            launched.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale=LOCALE, viewport={"width": VIEWPORT_WIDTH, "height": VIEWPORT_HEIGHT})
    try:
        yield context.new_page()
    finally:
        context.close()


def save_screenshot(page: Page, name: str) -> Path:
    """Write a full-page PNG to test-artifacts/screenshots/NAME.png and return its path."""
    safe = re.sub(r"[^\w.-]+", "_", name).strip("._") or "screenshot"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{safe}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

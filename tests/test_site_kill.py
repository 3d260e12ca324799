"""A full build of the site killed with SIGKILL half-way leaves the previous build live and whole; the next
build succeeds and clears the half-built folder away."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import DEFINITIONS, ROOT, FrozenClock
from tests.site_support import builder_for, publish, read_page, site_files
from workflow.engine import WorkflowEngine
from workflow.settings import Settings

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

BUILD = """
import datetime as dt, sys, time
from pathlib import Path
from zoneinfo import ZoneInfo
from workflow.publishing.site import SiteBuilder, SiteConfig
from workflow.store.db import make_engine
from workflow.store.files import FolderFileStore
from workflow.store.registry import DefinitionRegistry

url, site, files, definitions, marker, after = sys.argv[1:]
registry = DefinitionRegistry(Path(definitions))
config = SiteConfig(site_dir=Path(site), office=registry.office(), catalog=registry.catalog(), lang="zh",
                    zone=ZoneInfo("Asia/Shanghai"), definitions_dir=Path(definitions))
written = []

def progress(path):
    written.append(path)
    if len(written) == int(after):  # half-way: say so, then wait to be killed
        Path(marker).write_text(path)
        time.sleep(120)

SiteBuilder(make_engine(url), config, FolderFileStore(Path(files)), clock=lambda: dt.datetime.now(dt.UTC),
            progress=progress).full()
"""


def test_a_killed_full_build_leaves_the_previous_site_whole(
    engine: WorkflowEngine, make_item: Callable[..., int], settings: Settings, tmp_path: Path, clock: FrozenClock
) -> None:
    first = [publish(engine, make_item, title=f"旧信息{n}", category="08") for n in range(4)]
    site = tmp_path / "site"
    builder = builder_for(engine, site)
    old_build = builder.full().build
    assert old_build is not None
    old = {name: (old_build / name).read_bytes() for name in site_files(old_build)}
    clock.advance(hours=1)
    later = [publish(engine, make_item, title=f"新信息{n}", category="08") for n in range(6)]
    marker = tmp_path / "half-way"
    process = subprocess.Popen(
        [sys.executable, "-c", BUILD, settings.database_url, str(site), str(tmp_path / "files"), str(DEFINITIONS),
         str(marker), "30"],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=tmp_path,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the build never got half-way"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    half_built = [p for p in (tmp_path / "site.builds").iterdir() if p.is_dir() and p != old_build]
    assert len(half_built) == 1 and 0 < len(site_files(half_built[0])) < len(old) + 12
    # The previous site is live and whole: the same files, every one readable, no half-written page.
    assert site.resolve() == old_build
    assert {name: (site / name).read_bytes() for name in site_files(site.resolve())} == old
    for name in old:
        if name.endswith(".html"):
            assert not read_page(site / name).problems
    # The next build succeeds, shows everything, and removes the half-built folder.
    report = builder.full()
    assert report.build is not None and site.resolve() == report.build
    assert not half_built[0].exists()
    text = read_page(site / "catalog/08/index.html").text
    assert all(f"{kind}信息{n}" in text for kind, n in [("旧", 0), ("旧", 3), ("新", 0), ("新", 5)])
    assert len(first) + len(later) == report.items

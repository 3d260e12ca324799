"""The site's search entries through the search module's interface (``workflow.publishing.search``): an
item published is indexed, a withdrawn one removed. Skipped where the search module is not installed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FrozenClock
from tests.site_support import builder_for, publish
from workflow.engine import WorkflowEngine
from workflow.publishing.site import searching

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def index_text(site: Path) -> str:
    folder = site / searching.INDEX_FOLDER
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in folder.rglob("*") if p.is_file())


def test_a_build_writes_the_search_page_and_index(
    engine: WorkflowEngine, make_item: Callable[..., int], tmp_path: Path
) -> None:
    publish(engine, make_item)
    report = builder_for(engine, tmp_path / "site").full()
    assert report.searched
    assert (tmp_path / "site" / searching.SCRIPT).is_file() and (tmp_path / "site" / searching.INDEX_FOLDER).is_dir()
    assert (tmp_path / "site" / "search.html").is_file()


def test_search_entries_follow_publication_and_withdrawal(
    engine: WorkflowEngine, make_item: Callable[..., int], tmp_path: Path, clock: FrozenClock
) -> None:
    kept = publish(engine, make_item, title="防汛物资储备", category="07")
    builder = builder_for(engine, tmp_path / "site")
    builder.full()
    gone = publish(engine, make_item, title="临时交通管制", category="07")
    assert builder.update([gone]).searched
    site = tmp_path / "site"
    kept_ref, gone_ref = engine.show(kept).reference, engine.show(gone).reference
    assert kept_ref in index_text(site) and gone_ref in index_text(site)
    clock.advance(days=1)
    engine.fire(gone, "withdraw", "leader_a", comment="撤回")
    builder.update([gone])
    assert kept_ref in index_text(site) and gone_ref not in index_text(site)

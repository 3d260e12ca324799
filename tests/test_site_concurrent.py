"""Several workers performing portal jobs for the same site at once (PostgreSQL, as in production): one
update at a time (the site's lock), none lost."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FrozenClock
from tests.site_support import builder_for, publish, read_page
from workflow.engine import WorkflowEngine

pytestmark = pytest.mark.parametrize("database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                                     indirect=True)  # fmt: skip


def test_concurrent_updates_are_serialised_and_none_is_lost(
    engine: WorkflowEngine, make_item: Callable[..., int], tmp_path: Path, clock: FrozenClock
) -> None:
    site = tmp_path / "site"
    builder_for(engine, site).full()
    ids = []
    for n in range(8):
        ids.append(publish(engine, make_item, title=f"并发{n}", category="08"))
        clock.advance(minutes=1)
    errors: list[BaseException] = []

    def work(item_id: int) -> None:
        try:
            builder_for(engine, site).update([item_id], wait=60)  # one builder per worker, as in separate processes
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    text = read_page(site / "catalog/08/index.html").text
    assert all(f"并发{n}" in text for n in range(8))
    assert "工作动态 8 条" in read_page(site / "index.html").text
    builder = builder_for(engine, site)
    assert builder.out_of_date() == []

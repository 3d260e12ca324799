"""Round trips of one ``engine.fire`` on PostgreSQL, counted on the wire (tests/pg_wire.py).

A round trip here is a turn of the client: BEGIN, the pool's pre-ping and COMMIT count like any
statement. The budget is a count, not a timing, so it holds on a loaded machine; it fails as
soon as the hot path sends one statement more than it should.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from notifications.notices import Notifier
from notifications.settings import MailSettings
from tests.conftest import FrozenClock
from tests.pg_wire import CountingProxy, counting_proxy
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.store.db import make_engine
from workflow.store.files import FolderFileStore
from workflow.store.models import OutboxMessage
from workflow.store.registry import DefinitionRegistry

pytestmark = pytest.mark.postgres

FIRE_BUDGET = 9
"""Round trips of a fire that does not publish, BEGIN and COMMIT included (19 and 17 before the
hot path was batched: the pool's pre-ping, then one round trip per statement)."""
PUBLISH_BUDGET = 17
"""The fire that publishes (index number, publication row, channel jobs: still statement by statement; 25 before)."""
CHAIN = [("submit", "drafter_a"), ("clear", "reviewer_a"), ("sign_off", "leader_a")]


@pytest.fixture
def wire(settings: Settings) -> Iterator[tuple[CountingProxy, Engine]]:
    url = make_url(settings.database_url)
    with counting_proxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        db = make_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
        yield proxy, db
        db.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_fire_on_postgresql_stays_within_its_round_trip_budget(
    wire: tuple[CountingProxy, Engine], engine: WorkflowEngine, settings: Settings, clock: FrozenClock, tmp_path: Path
) -> None:
    proxy, db = wire
    counted = WorkflowEngine(
        db, DefinitionRegistry(settings.definitions_dir), settings.require_audit_key(), clock=clock,
        files=FolderFileStore(tmp_path / "files"), notifier=Notifier(MailSettings(smtp_url=None)),
    )  # fmt: skip
    warm = counted.create("proactive_disclosure", title="预热", actor="drafter_a", category="03", body="正文")
    for trigger, actor in CHAIN:
        counted.fire(warm.id, trigger, actor)
    item = counted.create("proactive_disclosure", title="测试", actor="drafter_a", category="03", body="正文")
    trips = {}
    for trigger, actor in CHAIN:
        proxy.reset()
        result = counted.fire(item.id, trigger, actor)
        trips[trigger] = proxy.turns
        assert result.to_state != result.from_state
    print(f"round trips per fire on PostgreSQL: {trips}")
    # Every guarantee's write happened: the outbox got its new-task notices in the same fires.
    with db.connect() as conn:
        notices = conn.execute(select(func.count()).where(OutboxMessage.item_id == item.id)).scalar_one()
    assert notices >= 2
    assert trips["submit"] <= FIRE_BUDGET and trips["clear"] <= FIRE_BUDGET, trips
    assert trips["sign_off"] <= PUBLISH_BUDGET, trips
    assert min(trips.values()) >= 2  # the counter counts: at least one statement and the COMMIT

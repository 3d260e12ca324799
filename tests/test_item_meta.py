"""Item metadata (文号, 主题词, attachments) is part of what a reviewer clears: the content hash covers it,
each revision keeps it, and an item without metadata hashes as it did before metadata existed."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from workflow.core.chain import content_hash
from workflow.engine import WorkflowEngine
from workflow.store.models import ItemRevision

META = {"doc_number": "荷政发〔2026〕12号", "subjects": ["财政", "预算"]}


def test_an_item_without_metadata_hashes_as_before() -> None:
    assert content_hash("t", "b", "02", {}) == content_hash("t", "b", "02", {}, {"doc_number": "", "subjects": []})
    assert content_hash("t", "b", "02", {}) != content_hash("t", "b", "02", {}, META)


def test_metadata_is_covered_by_the_hash_and_kept_per_revision(
    engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    item_id = make_item(meta=META)
    view = engine.show(item_id)
    assert view.meta == META
    assert view.content_hash == content_hash(view.title, view.body, view.category, view.fields, META)

    edited = engine.edit(item_id, "drafter_a", body=view.body, meta={**META, "doc_number": "荷政发〔2026〕13号"})
    assert edited.content_hash != view.content_hash
    kept = engine.edit(item_id, "drafter_a", body="新正文")
    assert kept.meta["doc_number"] == "荷政发〔2026〕13号"
    with engine.db.connect() as conn:
        stored = conn.execute(select(ItemRevision.meta).where(ItemRevision.item_id == item_id)).scalar_one()
    assert stored == kept.meta

    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "clear", "reviewer_a")
    assert engine.show(item_id).content_hash == kept.content_hash

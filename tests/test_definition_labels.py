"""Trigger and choice labels live in the definition YAML; versions stored before they did still work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Table, update

from workflow.core.errors import DefinitionError
from workflow.core.loader import definition_version, load_definition_text
from workflow.engine import WorkflowEngine
from workflow.store.models import DefinitionVersion, Item
from workflow.store.registry import DefinitionRegistry

DEFINITIONS = Path(__file__).resolve().parent.parent / "definitions"
# disclosure_request.yaml as it was before triggers and choices carried labels (its choices a list)
LEGACY = (Path(__file__).parent / "data" / "legacy_disclosure_request.yaml").read_text(encoding="utf-8")


def test_labels_are_per_field_and_per_trigger() -> None:
    definition = load_definition_text((DEFINITIONS / "disclosure_request.yaml").read_text("utf-8"), "d.yaml")
    # `other` is a requester type and an outcome: each field says what it means there
    assert definition.fields["requester_type"].choice_label("other", "zh") == "其他"
    assert definition.fields["outcome"].choice_label("other", "zh") == "其他处理: 其他"
    assert definition.fields["channel"].choice_label("post", "en") == "Post"
    assert definition.trigger_label("draft_reply", "zh") == "拟定答复"
    assert definition.trigger_label("draft_reply", "en") == "Draft reply"
    # engine actions every definition has come from the catalogues
    assert definition.trigger_label("edit", "zh") == "修改"
    assert definition.trigger_label("assign", "en") == "Assign"


def test_a_new_definition_without_labels_is_refused() -> None:
    try:
        load_definition_text(LEGACY, "legacy.yaml")
    except DefinitionError as error:
        keys = {problem.key for problem in error.problems}
    else:
        raise AssertionError("a definition without trigger and choice labels loaded as new")
    assert keys == {"definition.trigger_label_missing", "definition.bad_choices"}


def test_a_legacy_version_loads_as_stored_with_names_for_labels() -> None:
    definition = load_definition_text(LEGACY, "legacy.yaml", stored=True)
    assert definition.trigger_label("register", "zh") == "register"
    assert definition.fields["requester_type"].choices[-1] == "other"
    assert definition.fields["requester_type"].choice_label("other", "zh") == "other"


def test_an_item_pinned_to_a_legacy_version_still_works(engine: WorkflowEngine, make_item: Any) -> None:
    item_id = make_item("disclosure_request")
    legacy_version = definition_version(LEGACY)
    with engine.db.begin() as conn:
        versions: Table = DefinitionVersion.__table__  # type: ignore[assignment]
        items: Table = Item.__table__  # type: ignore[assignment]
        conn.execute(
            versions.insert().values(
                name="disclosure_request", version=legacy_version, source_path="definitions/disclosure_request.yaml",
                source_text=LEGACY, loaded_at=engine.clock(),
            )
        )  # fmt: skip
        conn.execute(update(items).where(items.c.id == item_id).values(definition_version=legacy_version))
    # a fresh process: nothing remembered
    fresh = WorkflowEngine(engine.db, DefinitionRegistry(DEFINITIONS), engine.audit_key, clock=engine.clock)
    result = fresh.fire(item_id, "register", "office_a")
    assert result.to_state == "processing"
    with fresh.db.connect() as conn:
        pinned = fresh.registry.pinned(conn, "disclosure_request", legacy_version)
    assert pinned.version == legacy_version
    # its labels come from the file's version, where the stored text has none
    assert pinned.trigger_label("register", "zh") == "登记"
    assert pinned.fields["requester_type"].choice_label("other", "zh") == "其他"
    assert pinned.fields["outcome"].choice_label("other", "en") == "Other"

"""Attachments through the engine, on SQLite and PostgreSQL: stored content-addressed before the
transaction, named in the revision's metadata and the audit row, covered by the content hash; a refused
upload changes nothing."""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests import sample_files as files
from workflow.core.attachments import Upload
from workflow.core.chain import content_hash
from workflow.core.errors import InvalidInput, NotFound, NotPermitted, TransitionNotAllowed
from workflow.core.uploads import MB
from workflow.engine import WorkflowEngine, audit_log, stored_files
from workflow.store.file_check import verify_files
from workflow.store.files import FolderFileStore
from workflow.store.models import ItemRevision


def upload(name: str, content: bytes) -> Upload:
    return Upload(name, io.BytesIO(content))


def counts(engine: WorkflowEngine) -> tuple[int, int, int]:
    """Audit rows, stored file rows, revisions: what a refused change must leave as it was."""
    with engine.db.connect() as conn:
        return (
            int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one()),
            int(conn.execute(select(func.count()).select_from(stored_files)).scalar_one()),
            int(conn.execute(select(func.count()).select_from(ItemRevision.__table__)).scalar_one()),
        )


def last_details(engine: WorkflowEngine) -> dict[str, Any]:
    with engine.db.connect() as conn:
        text = conn.execute(select(audit_log.c.details).order_by(audit_log.c.seq.desc()).limit(1)).scalar_one()
    return dict(json.loads(text))


def store_of(engine: WorkflowEngine) -> FolderFileStore:
    assert isinstance(engine.files, FolderFileStore)
    return engine.files


def test_files_uploaded_with_a_new_item_are_stored_listed_and_hashed(engine: WorkflowEngine) -> None:
    budget = files.xlsx()
    view = engine.create(
        "proactive_disclosure", title="2026年预算公开", actor="drafter_a", category="03", body="预算说明",
        meta={"doc_number": "荷政发〔2026〕1号"},
        uploads=[upload("2026年预算表.xlsx", budget), upload("预算说明.pdf", files.pdf())],
    )  # fmt: skip
    attached = view.meta["attachments"]
    assert [a["name"] for a in attached] == ["2026年预算表.xlsx", "预算说明.pdf"]
    assert attached[0] == {
        "name": "2026年预算表.xlsx", "sha256": hashlib.sha256(budget).hexdigest(), "size": len(budget),
        "media_type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }  # fmt: skip
    assert view.content_hash == content_hash(view.title, view.body, view.category, view.fields, view.meta)
    assert view.meta["doc_number"] == "荷政发〔2026〕1号"
    store = store_of(engine)
    with store.open(attached[0]["sha256"]) as stored:
        assert stored.read() == budget
    sha = attached[0]["sha256"]
    assert store.path_for(sha).relative_to(store.root).parts == (sha[:2], sha[2:4], sha)
    assert last_details(engine)["attached"] == [{"name": a["name"], "sha256": a["sha256"]} for a in attached]
    with engine.db.connect() as conn:
        rows = conn.execute(select(stored_files.c.sha256, stored_files.c.stored_by)).all()
    assert sorted(rows) == sorted((a["sha256"], "drafter_a") for a in attached)


def test_attach_and_detach_are_edits_named_in_the_audit_log(
    engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    item_id = make_item()
    before = engine.show(item_id)
    attached = engine.attach(item_id, "drafter_a", [upload("现场照片.png", files.png())])
    (photo,) = attached.meta["attachments"]
    assert attached.content_hash != before.content_hash
    assert attached.revision == before.revision and attached.version == before.version + 1
    details = last_details(engine)
    assert details["attached"] == [{"name": "现场照片.png", "sha256": photo["sha256"]}]
    assert details["previous_content_hash"] == before.content_hash

    engine.attach(item_id, "drafter_a", [upload("通知.docx", files.docx())])
    detached = engine.detach(item_id, "drafter_a", photo["sha256"])
    assert [a["name"] for a in detached.meta["attachments"]] == ["通知.docx"]
    assert last_details(engine)["detached"] == [{"name": "现场照片.png", "sha256": photo["sha256"]}]
    assert store_of(engine).exists(photo["sha256"]), "a removed attachment's file stays (the audit log names it)"

    with pytest.raises(NotFound) as refused:
        engine.detach(item_id, "drafter_a", photo["sha256"])
    assert refused.value.key == "upload.not_attached"


def test_the_same_content_is_stored_once(engine: WorkflowEngine, make_item: Callable[..., int]) -> None:
    first, second = make_item(), make_item()
    engine.attach(first, "drafter_a", [upload("a.pdf", files.pdf())])
    engine.attach(second, "drafter_a", [upload("b.pdf", files.pdf())])
    assert len(list(store_of(engine).iter())) == 1
    assert counts(engine)[1] == 1
    with pytest.raises(InvalidInput) as refused:
        engine.attach(first, "drafter_a", [upload("again.pdf", files.pdf())])
    assert refused.value.render("en") == "again.pdf is already attached to this item (as a.pdf)"


@pytest.mark.parametrize(
    ("name", "content", "key"),
    [
        ("大文件.pdf", files.pdf() + b"0" * (21 * MB), "upload.too_large"),
        ("年度报告.pdf", files.windows_exe(), "upload.executable"),
        ("照片.png", files.elf(), "upload.executable"),
        ("说明.pdf", files.text(), "upload.mismatch_unknown"),
        ("预算.xlsx", files.docx(), "upload.mismatch"),
    ],
)
def test_a_refused_upload_changes_nothing(
    engine: WorkflowEngine, make_item: Callable[..., int], name: str, content: bytes, key: str
) -> None:
    item_id = make_item()
    before, rows = engine.show(item_id), counts(engine)
    with pytest.raises(InvalidInput) as refused:
        engine.attach(item_id, "drafter_a", [upload("好的.pdf", files.pdf()), upload(name, content)])
    assert refused.value.key == key
    assert name in refused.value.render("en")
    after = engine.show(item_id)
    assert (after.version, after.content_hash, after.meta) == (before.version, before.content_hash, before.meta)
    assert counts(engine) == rows
    assert list(store_of(engine).iter()) == [], "every file is checked before any is stored"
    with pytest.raises(InvalidInput):
        engine.create(
            "proactive_disclosure", title="t", actor="drafter_a", category="03", uploads=[upload(name, content)]
        )
    assert counts(engine) == rows


def test_attaching_follows_the_rules_of_editing(engine: WorkflowEngine, make_item: Callable[..., int]) -> None:
    item_id = make_item()
    rows = counts(engine)
    with pytest.raises(NotPermitted):
        engine.attach(item_id, "reviewer_a", [upload("a.pdf", files.pdf())])
    with pytest.raises(NotPermitted):
        engine.attach(item_id, "drafter_b", [upload("a.pdf", files.pdf())])
    assert counts(engine) == rows
    engine.attach(item_id, "drafter_a", [upload("a.pdf", files.pdf())])
    engine.fire(item_id, "submit", "drafter_a")
    rows = counts(engine)
    sha = engine.show(item_id).meta["attachments"][0]["sha256"]
    with pytest.raises(TransitionNotAllowed) as refused:
        engine.attach(item_id, "drafter_a", [upload("b.png", files.png())])
    assert refused.value.key == "refuse.not_editable"
    with pytest.raises(TransitionNotAllowed):
        engine.detach(item_id, "drafter_a", sha)
    assert counts(engine) == rows
    with pytest.raises(InvalidInput) as nothing:
        engine.attach(item_id, "drafter_a", [])
    assert nothing.value.key == "upload.none"


def test_attachments_enter_only_as_uploads_and_an_edit_of_the_metadata_keeps_them(
    engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    forged = {"attachments": [{"name": "x.pdf", "sha256": "0" * 64, "size": 1, "media_type": "application/pdf"}]}
    with pytest.raises(InvalidInput) as refused:
        engine.create("proactive_disclosure", title="t", actor="drafter_a", category="03", meta=forged)
    assert refused.value.key == "upload.meta_attachments"
    item_id = make_item()
    engine.attach(item_id, "drafter_a", [upload("a.pdf", files.pdf())])
    with pytest.raises(InvalidInput):
        engine.edit(item_id, "drafter_a", body="b", meta=forged)
    edited = engine.edit(item_id, "drafter_a", body="新正文", meta={"doc_number": "荷政发〔2026〕2号"},
                         uploads=[upload("b.png", files.png())])  # fmt: skip
    assert edited.meta["doc_number"] == "荷政发〔2026〕2号"
    assert [a["name"] for a in edited.meta["attachments"]] == ["a.pdf", "b.png"]
    assert last_details(engine)["attached"][0]["name"] == "b.png"


def test_the_cleared_hash_covers_the_attachments_and_sign_off_keeps_it(
    engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    item_id = make_item()
    engine.attach(item_id, "drafter_a", [upload("预算表.xlsx", files.xlsx())])
    engine.fire(item_id, "submit", "drafter_a")
    cleared = engine.fire(item_id, "clear", "reviewer_a")
    view = engine.show(item_id)
    assert view.content_hash == content_hash(view.title, view.body, view.category, view.fields, view.meta)
    assert view.content_hash != content_hash(view.title, view.body, view.category, view.fields, {})
    published = engine.fire(item_id, "sign_off", "leader_a")
    assert published.row.content_hash == cleared.row.content_hash == view.content_hash
    assert published.row.meta["attachments"][0]["name"] == "预算表.xlsx"
    with engine.db.connect() as conn:
        audit_hashes = list(
            conn.execute(
                select(audit_log.c.content_hash).where(audit_log.c.trigger.in_(["clear", "sign_off"]))
            ).scalars()
        )
    assert audit_hashes == [view.content_hash, view.content_hash]


def test_a_file_altered_on_disk_after_clearing_is_named_with_its_item(
    engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    item_id = make_item()
    engine.attach(item_id, "drafter_a", [upload("预算表.xlsx", files.xlsx()), upload("照片.png", files.png())])
    engine.fire(item_id, "submit", "drafter_a")
    engine.fire(item_id, "clear", "reviewer_a")
    reference = engine.show(item_id).reference
    store = store_of(engine)
    assert verify_files(engine.db, store).problems == []
    table, photo = engine.show(item_id).meta["attachments"]
    path = store.path_for(table["sha256"])
    os.chmod(path, 0o644)
    path.write_bytes(files.xlsx().replace(b"workbook", b"WORKBOOK"))
    store.path_for(photo["sha256"]).unlink()
    report = verify_files(engine.db, store)
    assert report.checked == 2
    found = {(p.sha256, p.kind, p.items) for p in report.problems}
    assert found == {(table["sha256"], "mismatch", (reference,)), (photo["sha256"], "missing", (reference,))}


def test_the_folder_store_writes_atomically_and_refuses_odd_names(tmp_path: Path) -> None:
    store = FolderFileStore(tmp_path / "files")
    assert list(store.iter()) == []
    blob = store.put(io.BytesIO(b"%PDF-1.4 x"))
    again = store.put(io.BytesIO(b"%PDF-1.4 x"))
    assert blob == again and blob.size == 10
    assert list(store.iter()) == [blob.sha256]
    assert [p.name for p in (tmp_path / "files").iterdir() if p.is_file()] == [], "no temporary file is left"
    assert store.rehash(blob.sha256) == blob.sha256
    assert store.rehash("a" * 64) is None
    for odd in ("../../etc/passwd", "A" * 64, "a" * 63):
        assert not store.exists(odd)
        with pytest.raises(NotFound):
            store.open(odd)
    (tmp_path / "plain").write_text("x")
    with pytest.raises(Exception) as refused:
        FolderFileStore(tmp_path / "plain")
    assert "is not a folder" in str(refused.value)

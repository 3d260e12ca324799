"""``gongkai item create|edit --doc-number --subject``; ``item show`` prints them and ``--json`` gives
``doc_number`` and ``subjects``; bad metadata is one line on stderr and writes nothing."""

from __future__ import annotations

from tests.test_cli import Office, fresh, one_line, template  # noqa: F401 (the fixtures)


def test_document_number_and_subject_words_on_the_command_line(fresh: Office) -> None:  # noqa: F811
    item_id, ref = fresh.create(
        "proactive_disclosure", "预算公开", "drafter", "--category", "03",
        "--doc-number", " 荷政发〔2026〕12号 ", "--subject", "财政 预算", "--subject", "决算、财政",
    )  # fmt: skip
    shown = fresh.show(item_id)
    assert shown["doc_number"] == "荷政发〔2026〕12号"
    assert shown["subjects"] == ["财政", "预算", "决算"]
    text = fresh.ok("item", "show", ref)
    assert "荷政发〔2026〕12号" in text and "财政、预算、决算" in text

    body = fresh.folder / "body.txt"
    body.write_text("正文\n", encoding="utf-8")
    fresh.ok("item", "edit", ref, "--as", "drafter", "--body-file", str(body), "--subject", "公开，预算")
    edited = fresh.show(item_id)
    assert edited["subjects"] == ["公开", "预算"] and edited["doc_number"] == "荷政发〔2026〕12号"
    assert edited["content_hash"] != shown["content_hash"]
    fresh.ok("item", "edit", ref, "--as", "drafter", "--body-file", str(body), "--doc-number", "")
    assert fresh.show(item_id)["doc_number"] == ""

    plain, _ = fresh.create("proactive_disclosure", "无文号", "drafter", "--category", "03")
    assert (fresh.show(plain)["doc_number"], fresh.show(plain)["subjects"]) == ("", [])


def test_bad_metadata_is_refused_and_writes_nothing(fresh: Office) -> None:  # noqa: F811
    before = fresh.sql("SELECT count(*) FROM audit_log")
    words = " ".join(f"词{i}" for i in range(11))
    refused = fresh.run(
        "item", "create", "proactive_disclosure", "--title", "t", "--as", "drafter", "--category", "03",
        "--subject", words,
    )  # fmt: skip
    assert refused.returncode == 2 and "11" in one_line(refused)
    long = fresh.run(
        "item", "create", "proactive_disclosure", "--title", "t", "--as", "drafter", "--category", "03",
        "--doc-number", "号" * 101,
    )  # fmt: skip
    assert long.returncode == 2 and "101" in one_line(long)
    assert fresh.sql("SELECT count(*) FROM audit_log") == before
    assert fresh.sql("SELECT count(*) FROM items") == [(0,)]

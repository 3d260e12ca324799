"""The catalogue site's search index (workflow.publishing.search): Chinese words found without a
dictionary, upsert and remove one document, the cost of one update independent of the site's size
(files and bytes counted), a crash between any two file writes harmless, bad input refused whole."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflow.core.errors import InvalidInput
from workflow.publishing.search import (
    MANIFEST,
    SearchDoc,
    SearchIndex,
    decode_days,
    decode_slots,
    encode_days,
    encode_slots,
    index_tokens,
    query,
    query_tokens,
    search,
    shard_of,
)


def doc(
    doc_id: str, title: str, text: str, date: str = "2026-03-01", category: str = "民政信息", url: str | None = None
) -> SearchDoc:
    return SearchDoc(doc_id, url or f"items/{doc_id}.html", title, text, date, category)


DOCS = [
    doc("dibao", "2026年第一季度低保资金发放公示", "本镇城乡最低生活保障（低保）资金已按月发放到户。", "2026-04-02"),
    doc("flood", "第三季度防汛工作安排", "各村做好防汛抗旱准备, 汛期值班表见附件。", "2026-06-15", "应急管理"),
    doc("budget", "荷花镇2026年财政预算", "荷政发〔２０２６〕3号: 低收入农户补助列入预算。", "2026-01-20", "财政信息"),
    doc(
        "guide",
        "政府信息公开指南",
        "索引号 01526086-8-30/2015-0922001, 发布机构 荷花镇人民政府。",
        "2025-12-01",
        "公开指南",
    ),
]


def ids(root: Path, text: str, limit: int = 20) -> list[str]:
    return [hit.id for hit in query(root, text, limit)]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    index_root = tmp_path / "site" / "search"
    SearchIndex(index_root).write_full(DOCS)
    return index_root


# --- tokens -------------------------------------------------------------------------------------


def test_a_chinese_run_is_indexed_as_its_characters_and_pairs() -> None:
    assert index_tokens("低保金") == {"低", "保", "金", "低保", "保金"}


@pytest.mark.parametrize(
    ("word", "tokens"),
    [
        ("镇", ["镇"]),
        ("低保", ["低保"]),
        ("公示栏", ["公示", "示栏"]),
        ("防汛抗旱", ["防汛", "汛抗", "抗旱"]),
    ],
)
def test_a_chinese_word_of_one_to_four_characters_is_its_pairs(word: str, tokens: list[str]) -> None:
    assert query_tokens(word) == tokens
    assert set(tokens) <= index_tokens(f"今年{word}工作")


def test_ascii_words_and_numbers_are_lowercased_and_kept_whole() -> None:
    assert query_tokens("GK-2026-0003") == ["gk", "2026", "0003"]
    assert query_tokens("01526086-8-30/2015-0922001") == ["01526086", "8", "30", "2015", "0922001"]
    assert query_tokens("PDF附件") == ["pdf", "附件"]


def test_full_width_digits_and_letters_are_normalised() -> None:
    assert query_tokens("２０２６年") == ["2026", "年"]
    assert query_tokens("ＧＫ") == ["gk"]
    assert index_tokens("荷政发〔２０２６〕3号") >= {"2026", "3", "号", "荷政", "政发"}


def test_punctuation_and_spaces_are_ignored() -> None:
    assert query_tokens("低保，公示！") == ["低保", "公示"]
    assert query_tokens("「低保」 《公示》 ——") == ["低保", "公示"]
    assert query_tokens("，。！？ 、") == []
    assert "，" not in "".join(index_tokens("低保，公示。"))


def test_slot_sets_survive_both_encodings() -> None:
    for slots in [set(), {0}, {255}, {3, 64, 200}, set(range(0, 256, 2)), set(range(256))]:
        assert decode_slots(encode_slots(slots, 256)) == slots
    assert encode_slots(range(256), 256).startswith("*")  # the bitmap when shorter
    assert not encode_slots({1, 2}, 256).startswith("*")


def test_the_shard_hash_is_fnv1a_of_the_utf8() -> None:
    # FNV-1a 32 of "a" is 0xe40c292c, of "" the offset basis; search.js is checked against this in the browser test.
    assert shard_of("a", 2**32 - 1) == 0xE40C292C % (2**32 - 1)
    assert shard_of("", 1 << 31) == 0x811C9DC5 % (1 << 31)
    assert 0 <= shard_of("低保", 256) < 256


# --- matching -----------------------------------------------------------------------------------


def test_the_document_with_the_word_is_found_and_the_one_without_is_not(root: Path) -> None:
    assert ids(root, "低保") == ["dibao"]
    assert "budget" in ids(root, "低收入") and "dibao" not in ids(root, "低收入")


def test_every_query_token_must_be_in_the_document(root: Path) -> None:
    assert ids(root, "防汛抗旱") == ["flood"]
    assert ids(root, "低保 防汛") == []
    assert ids(root, "值班") == ["flood"]


def test_doc_numbers_index_numbers_and_years_are_found(root: Path) -> None:
    assert ids(root, "〔2026〕3号") == ["budget"]
    assert ids(root, "0922001") == ["guide"]
    assert ids(root, "２０２６") == ["dibao", "budget"]  # both have 2026 in the title: the newest first


def test_title_hits_rank_above_body_hits_then_newest_first(tmp_path: Path) -> None:
    index_root = tmp_path / "search"
    SearchIndex(index_root).write_full(
        [
            doc("old-title", "低保公示", "名单", "2025-01-01"),
            doc("new-body", "公告", "低保名单", "2026-05-01"),
            doc("new-title", "低保调整", "标准", "2026-02-01"),
            doc("older-body", "通知", "低保标准", "2024-01-01"),
        ]
    )
    assert ids(index_root, "低保") == ["new-title", "old-title", "new-body", "older-body"]
    hits = query(index_root, "低保")
    assert [hit.title_hits for hit in hits] == [1, 1, 0, 0]
    assert ids(index_root, "低保", limit=2) == ["new-title", "old-title"]
    assert search(index_root, "低保", limit=2).total == 4


def test_a_hit_carries_what_a_result_shows(root: Path) -> None:
    (hit,) = query(root, "低保")
    assert (hit.url, hit.title, hit.date, hit.category) == (
        "items/dibao.html",
        "2026年第一季度低保资金发放公示",
        "2026-04-02",
        "民政信息",
    )
    assert hit.snippet.startswith("本镇城乡最低生活保障")


def test_a_chinese_title_with_html_characters_stays_text(tmp_path: Path) -> None:
    title = '<script>alert("低保")</script> & <b>公示</b>'
    index_root = tmp_path / "search"
    SearchIndex(index_root).write_full([doc("x", title, "正文 <img src=x onerror=alert(1)>")])
    (hit,) = query(index_root, "低保")
    assert hit.title == title
    assert hit.snippet == "正文 <img src=x onerror=alert(1)>"
    assert ids(index_root, "script") == ["x"]  # indexed as words, stored as given


def test_an_empty_query_or_a_missing_index_finds_nothing(root: Path, tmp_path: Path) -> None:
    assert query(root, "，。 ") == []
    assert query(tmp_path / "nowhere", "低保") == []


# --- upsert and remove --------------------------------------------------------------------------


def test_upsert_replaces_a_changed_document(root: Path) -> None:
    SearchIndex(root).upsert(
        [doc("dibao", "2026年第一季度低保资金发放公示（修订）", "临时救助资金已发放。", "2026-05-01")]
    )
    assert ids(root, "低保") == ["dibao"]
    assert ids(root, "临时救助") == ["dibao"]
    assert ids(root, "生活保障") == []  # the old text is no longer found
    assert query(root, "修订")[0].date == "2026-05-01"
    assert len(ids(root, "2026")) == 2


def test_upsert_adds_a_new_document(root: Path) -> None:
    SearchIndex(root).upsert([doc("new", "低保标准调整通知", "自七月起执行。", "2026-07-01")])
    assert ids(root, "低保") == ["new", "dibao"]


def test_remove_makes_a_document_unfindable(root: Path) -> None:
    index = SearchIndex(root)
    index.remove(["dibao", "never-indexed"])
    assert ids(root, "低保") == []
    assert ids(root, "2026") == ["budget"]
    index.upsert([doc("dibao", "低保公示", "恢复公开。")])  # a removed id can come back
    assert ids(root, "低保") == ["dibao"]


def test_a_full_bucket_sends_new_documents_to_a_new_one(tmp_path: Path) -> None:
    index_root = tmp_path / "search"
    index = SearchIndex(index_root)
    index.write_full([doc(f"d{i}", f"公告{i}", "低保" if i % 2 else "防汛") for i in range(32)], shards=4, capacity=32)
    index.upsert([doc("d32", "公告32", "低保"), doc("d33", "公告33", "防汛")])
    manifest = (index_root / MANIFEST).read_text()
    assert '"buckets":2' in manifest
    assert len(ids(index_root, "低保", limit=100)) == 17
    assert set(ids(index_root, "公告33")) == {"d33"}


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "key"),
    [
        (doc("", "低保", "x"), "search.bad_id"),
        (doc("x", "低保", "x", date="2026-13-01"), "search.bad_date"),
        (doc("x", "低保", "x", date="1.3.2026"), "search.bad_date"),
        (doc("x", "低保", "x", date="1969-12-31"), "search.bad_date"),
        (doc("x", "低保", "x", date="2688-01-01"), "search.bad_date"),
        (doc("x", "低保", "x", url="javascript:alert(1)"), "search.bad_url"),
        (doc("x", "低保", "x", url="/items/x.html"), "search.bad_url"),
        (doc("dibao", "低保", "重复"), "search.duplicate_id"),
    ],
)
def test_a_bad_document_is_refused_whole_and_changes_nothing(root: Path, bad: SearchDoc, key: str) -> None:
    before = snapshot(root)
    batch = [doc("good", "新的低保公示", "x"), bad] if key != "search.duplicate_id" else [DOCS[0], bad]
    with pytest.raises(InvalidInput) as refused:
        SearchIndex(root).upsert(batch)
    assert refused.value.key == key
    assert snapshot(root) == before


def test_a_full_write_needs_an_empty_folder_and_an_update_an_index(root: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as refused:
        SearchIndex(root).write_full(DOCS)
    assert refused.value.key == "search.not_empty"
    with pytest.raises(InvalidInput) as refused:
        SearchIndex(tmp_path / "none").upsert([DOCS[0]])
    assert refused.value.key == "search.no_index"
    assert not (tmp_path / "none").exists()


# --- cost of one update -------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def sized_site(tmp_path: Path, count: int) -> tuple[SearchIndex, Path]:
    """``count`` documents whose content depends only on their position in a bucket (i % 256)."""
    phrases = ["低保资金发放", "防汛值班安排", "财政预算公开", "村道工程合同", "耕地保护", "医疗救助", "乡村振兴"]

    def nth(i: int) -> SearchDoc:
        k = i % 256
        text = "".join(phrases[(k * j) % len(phrases)] + f"第{j}项{k}" for j in range(12))
        return doc(f"{i:06d}", f"通知{k:03d} {phrases[k % len(phrases)]}", text, f"2026-01-{k % 28 + 1:02d}")

    index_root = tmp_path / f"site{count}" / "search"
    index = SearchIndex(index_root)
    index.write_full(nth(i) for i in range(count))
    index.upsert([nth(count)])
    return index, index_root


def written(root: Path, before: dict[str, bytes]) -> tuple[int, int]:
    after = snapshot(root)
    changed = [name for name, data in after.items() if before.get(name) != data and not name.startswith(".lock")]
    return len(changed), sum(len(after[name]) for name in changed)


def test_one_upsert_writes_the_same_files_and_bytes_at_100_and_at_5000_documents(tmp_path: Path) -> None:
    # 100 and 100 + 19 * 256: the new document lands in the same position of its (the last) bucket.
    small, small_root = sized_site(tmp_path, 100)
    large, large_root = sized_site(tmp_path, 100 + 19 * 256)
    assert small.last.files == large.last.files
    # only digits differ: the bucket number in the location file, the bucket count in the manifest
    assert 0 <= large.last.bytes - small.last.bytes <= 4
    assert small.last.bytes < 1_000_000

    for index, index_root in ((small, small_root), (large, large_root)):
        before = snapshot(index_root)
        index.upsert([doc(f"{5:06d}" if index is small else f"{19 * 256 + 5:06d}", "低保通知修订", "临时救助")])
        files, size = written(index_root, before)
        assert (files, size) == (index.last.files, index.last.bytes)  # what it reports is what it wrote
    assert small.last.files == large.last.files
    assert 0 <= large.last.bytes - small.last.bytes <= 4

    for index in (small, large):
        index.remove([f"{7:06d}" if index is small else f"{19 * 256 + 7:06d}"])
    assert (small.last.files, small.last.deleted) == (large.last.files, large.last.deleted)
    assert 0 <= large.last.bytes - small.last.bytes <= 4
    assert ids(large_root, "临时救助") == [f"{19 * 256 + 5:06d}"]


# --- a crash between any two file writes --------------------------------------------------------


class Crash(Exception):
    pass


class CrashingIndex(SearchIndex):
    """Dies (as a killed process would: no clean-up) before its ``after``-th file write or deletion."""

    def __init__(self, root: Path, after: int) -> None:
        super().__init__(root)
        self.left = after

    def _tick(self) -> None:
        if self.left == 0:
            raise Crash
        self.left -= 1

    def _put(self, path: Path, data: bytes) -> None:
        self._tick()
        super()._put(path, data)

    def _delete(self, path: Path) -> None:
        self._tick()
        super()._delete(path)


CRASH_DOCS = [
    doc(f"c{i}", f"公告{i}号", f"第{i}村 低保 名单" if i % 2 else f"第{i}村 防汛", f"2026-02-{i + 1:02d}")
    for i in range(15)
]
QUERIES = ["低保", "防汛", "公告", "名单", "村", *(f"公告{i}号" for i in range(17)), "临时救助", "新增"]


def results(root: Path) -> dict[str, list[str]]:
    return {text: ids(root, text, limit=100) for text in QUERIES}


Operation = Callable[[SearchIndex], None]
OPERATIONS: dict[str, tuple[Operation, set[str]]] = {
    # name: (the update, the ids it changes)
    "add": (lambda index: index.upsert([doc("c15", "公告15号", "新增 低保", "2026-03-01")]), {"c15"}),
    "add-new-bucket": (
        lambda index: index.upsert([doc("c15", "公告15号", "新增", "2026-03-01"), doc("c16", "公告16号", "新增")]),
        {"c15", "c16"},
    ),
    "replace": (lambda index: index.upsert([doc("c3", "公告3号", "临时救助", "2026-03-02")]), {"c3"}),
    "remove": (lambda index: index.remove(["c4"]), {"c4"}),
}


def without(found: dict[str, list[str]], changed: set[str]) -> dict[str, list[str]]:
    return {text: [hit for hit in hits if hit not in changed] for text, hits in found.items()}


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_a_crash_between_any_two_writes_leaves_an_index_that_answers(tmp_path: Path, name: str) -> None:
    operation, changed = OPERATIONS[name]
    base = tmp_path / "base"
    SearchIndex(base).write_full(CRASH_DOCS, shards=4, capacity=16)
    expected_before = results(base)
    whole = tmp_path / "whole"
    shutil.copytree(base, whole)
    index = SearchIndex(whole)
    operation(index)
    expected_after = results(whole)
    writes = index.last.files + index.last.deleted
    assert writes >= 5

    for crash_at in range(writes):
        root = tmp_path / f"crash{crash_at}"
        shutil.copytree(base, root)
        with pytest.raises(Crash):
            operation(CrashingIndex(root, crash_at))
        found = results(root)  # answers, never raises
        for text, hits in found.items():
            assert len(hits) == len(set(hits)), f"crash at write {crash_at}: {text} lists a document twice"
        # every document not being changed is found exactly as before
        assert without(found, changed) == without(expected_before, changed), f"crash at write {crash_at}"
        # running the same update again completes it
        operation(SearchIndex(root))
        assert results(root) == expected_after, f"crash at write {crash_at}, then the update again"


def test_after_a_crash_another_update_then_the_retried_one_leave_no_duplicate(tmp_path: Path) -> None:
    add, _ = OPERATIONS["add-new-bucket"]
    for crash_at in range(12):
        root = tmp_path / f"crash{crash_at}"
        SearchIndex(root).write_full(CRASH_DOCS, shards=4, capacity=16)
        with pytest.raises(Crash):
            add(CrashingIndex(root, crash_at))
        SearchIndex(root).upsert([doc("other", "公告0号补充", "临时救助")])
        add(SearchIndex(root))
        assert sorted(ids(root, "新增")) == ["c15", "c16"]
        assert ids(root, "临时救助") == ["other"]
        assert sorted(ids(root, "公告", limit=100)) == sorted([d.id for d in CRASH_DOCS] + ["c15", "c16", "other"])


def test_upserts_in_sequence_match_a_full_write(tmp_path: Path) -> None:
    incremental = tmp_path / "incremental"
    index = SearchIndex(incremental)
    index.write_full(CRASH_DOCS[:3], shards=4, capacity=16)
    for one in CRASH_DOCS[3:]:
        index.upsert([one])
    full = tmp_path / "full"
    SearchIndex(full).write_full(CRASH_DOCS, shards=4, capacity=16)
    assert results(incremental) == results(full)
    # the same documents in the same slots give the same public files (only the version differs)
    public = {name: data for name, data in snapshot(full).items() if name.startswith("b/")}
    assert {name: data for name, data in snapshot(incremental).items() if name.startswith("b/")} == public


# --- against a model ----------------------------------------------------------------------------

WORDS = ["低保", "防汛", "抗旱", "名单", "公示", "值班", "2026", "GK", "〔2026〕3号", "村", "保障"]
MODEL_QUERIES = ["低保", "低", "保", "防汛抗旱", "2026", "gk", "公示 名单", "村", "号", "障", "不存在"]


def model_hits(docs: dict[str, SearchDoc], text: str) -> list[tuple[int, str, str]]:
    """(title hits, date, id) of every document holding every query token: the definition, by brute force."""
    tokens = query_tokens(text)
    found = []
    for one in docs.values():
        title = index_tokens(one.title)
        if tokens and set(tokens) <= title | index_tokens(one.text):
            found.append((sum(token in title for token in tokens), one.date, one.id))
    return found


@st.composite
def operations(draw: st.DrawFn) -> list[SearchDoc | str]:
    names = [f"m{i}" for i in range(40)]
    steps: list[SearchDoc | str] = []  # a document to upsert, or an id to remove
    for _ in range(draw(st.integers(1, 40))):
        name = draw(st.sampled_from(names))
        if draw(st.integers(0, 4)) == 0:
            steps.append(name)  # remove it
        else:
            title = " ".join(draw(st.lists(st.sampled_from(WORDS), max_size=2)))
            text = " ".join(draw(st.lists(st.sampled_from(WORDS), max_size=4)))
            day = draw(st.integers(1, 28))
            steps.append(doc(name, title, text, f"2026-02-{day:02d}"))
    return steps


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.integers(0, 40), steps=operations())
def test_any_sequence_of_updates_answers_as_the_definition(
    tmp_path_factory: pytest.TempPathFactory, first: int, steps: list[SearchDoc | str]
) -> None:
    root = tmp_path_factory.mktemp("model") / "search"
    start = [
        doc(f"m{i}", WORDS[i % len(WORDS)], WORDS[(i * 3) % len(WORDS)], f"2026-01-{i % 28 + 1:02d}")
        for i in range(first)
    ]
    index = SearchIndex(root)
    index.write_full(start, shards=4, capacity=16, chunk=4)
    model = {one.id: one for one in start}
    for value in steps:
        if isinstance(value, SearchDoc):
            index.upsert([value])
            model[value.id] = value
        else:
            index.remove([value])
            model.pop(value, None)
    for text in MODEL_QUERIES:
        expected = model_hits(model, text)
        result = search(root, text, limit=100)
        assert result.total == len(expected), text
        assert sorted(hit.id for hit in result.hits) == sorted(hit[2] for hit in expected), text
        ranks = [(hit.title_hits, hit.date) for hit in result.hits]
        assert ranks == sorted(ranks, reverse=True), text  # title hits first, then the newest
        for hit in result.hits:
            assert (hit.title, hit.date) == (model[hit.id].title, model[hit.id].date)


def test_dates_survive_their_encoding() -> None:
    days = [0, None, 20_555, 262_143, None]
    assert decode_days(encode_days(days)) == days
    assert len(encode_days(days)) == 15

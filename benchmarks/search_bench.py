"""The site search index (workflow.publishing.search): full build, the cost of one update, what a query fetches.

Usage::

    python benchmarks/search_bench.py [--docs N] [--small M] [--repeat R] [--dir DIR]
                                      [--capacity C] [--shards S] [--chunk K]

Documents are generated deterministically (seeded): a Chinese title and ~800 characters of body text
made of two- to four-character words drawn (Zipf-like) from a vocabulary over ~600 common characters,
with numbers, years and 文号 mixed in, like the office's notices.

Printed:
- ``write_full`` of N documents (default 10,000): seconds, files and bytes of the index;
- one ``upsert`` of a new document into the index of M (default 1,000) and of N documents: median
  seconds of R (default 5), files and bytes written; and one ``remove``;
- the bytes a browser fetches (search.js's requests: the manifest, each bucket's ``m.json`` and the
  shards of the query's tokens, the document chunks of the first 20 hits) for a two-character query,
  a common one and a rare one, at M and at N documents, raw and gzip-compressed (as a server sends
  JSON), with the number of requests;
- the ratio N/M of the upsert's bytes and time: it must stay about 1 (the cost does not grow with
  the index). Exit status 1 when the bytes ratio is over 1.1 or the files differ.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from workflow.publishing.search import (  # noqa: E402
    BUCKET_CAPACITY,
    CHUNK,
    MANIFEST,
    SHARDS,
    SearchDoc,
    SearchIndex,
    query_tokens,
    search,
    shard_of,
)

COMMON = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而"
    "方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应"
    "开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命"
    "此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求"
    "老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光"
    "门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清美再采转更单风切打白教速花"
    "带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段"
    "研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳"
    "便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京"
    "识适属圆包火住调满县局照参红细引听该铁价严龙飞镇乡村街户籍救助补贴防汛抗旱医疗卫生教育养老就业扶贫低保"
)
SUBJECTS = ["民政信息", "财政信息", "应急管理", "农业农村", "卫生健康", "自然资源", "乡村振兴", "公开指南"]


def vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    chars = list(dict.fromkeys(COMMON))
    return ["".join(rng.choice(chars) for _ in range(rng.choice((2, 2, 2, 3, 4)))) for _ in range(size)]


def make_docs(count: int, seed: int = 2026) -> list[SearchDoc]:
    rng = random.Random(seed)
    words = vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(words))]
    docs = []
    for i in range(count):
        parts: list[str] = []
        length = 0
        while length < 800:
            sentence = "".join(rng.choices(words, weights, k=rng.randint(4, 12)))
            if rng.random() < 0.2:
                sentence += f"{rng.randint(1, 500)}万元"
            if rng.random() < 0.05:
                sentence += f"荷政发〔{rng.choice((2024, 2025, 2026))}〕{rng.randint(1, 60)}号"
            parts.append(sentence + rng.choice("，。；、"))
            length += len(parts[-1])
        title = "".join(rng.choices(words, weights, k=rng.randint(3, 6))) + rng.choice(("通知", "公示", "公告", "报告"))
        date = f"{2020 + i * 7 // count}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        docs.append(SearchDoc(f"GK-{i:07d}", f"items/{i:07d}.html", title, "".join(parts), date, rng.choice(SUBJECTS)))
    return docs


def fetched(root: Path, text: str, limit: int = 20) -> tuple[int, int, int]:
    """Requests, raw bytes and gzip bytes search.js fetches for ``text`` (the same files it asks for)."""
    manifest = json.loads((root / MANIFEST).read_bytes())
    needed = {shard_of(token, manifest["shards"]) for token in query_tokens(text)}
    files = [root / MANIFEST]
    for bucket in range(manifest["buckets"]):
        files.append(root / "b" / str(bucket) / "m.json")
        files.extend(root / "b" / str(bucket) / f"s{k}.json" for k in needed)
    chunks: set[Path] = set()
    for hit in search(root, text, limit).hits:
        location = root / "ids"
        digest = hashlib.sha256(hit.id.encode("utf-8")).hexdigest()
        where = json.loads((location / digest[:2] / f"{digest}.json").read_bytes())
        chunks.add(root / "b" / str(where["b"]) / f"d{where['s'] // manifest['chunk']}.json")
    files.extend(sorted(chunks))
    data = [path.read_bytes() for path in files]
    return len(files), sum(map(len, data)), sum(len(gzip.compress(item)) for item in data)


def tree_size(root: Path) -> tuple[int, int]:
    files = [path for path in root.rglob("*") if path.is_file()]
    return len(files), sum(path.stat().st_size for path in files)


def two_character_queries(docs: list[SearchDoc], root: Path) -> tuple[str, str]:
    """A common two-character word and a rare one that the index holds."""
    counts: dict[str, int] = {}
    for doc in docs[:500]:
        for token in {doc.text[i : i + 2] for i in range(len(doc.text) - 1)}:
            if all("\u4e00" <= char <= "\u9fff" for char in token):
                counts[token] = counts.get(token, 0) + 1
    ranked = sorted(counts, key=lambda token: (-counts[token], token))
    rare = next(token for token in reversed(ranked) if search(root, token).total >= 1)
    return ranked[0], rare


def upsert_cost(index: SearchIndex, docs: list[SearchDoc], repeat: int, replace: str = "") -> tuple[float, int, int]:
    """Median seconds of ``repeat`` upserts of one document (new ones, or ``replace`` rewritten), files, bytes."""
    seconds = []
    for k in range(repeat):
        new = docs[k]
        doc_id, url = (replace, f"items/{replace}.html") if replace else (f"NEW-{k}", f"items/new-{k}.html")
        started = time.perf_counter()
        index.upsert([SearchDoc(doc_id, url, new.title, new.text, new.date, new.category)])
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), index.last.files, index.last.bytes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--capacity", type=int, default=BUCKET_CAPACITY, help="documents a bucket")
    parser.add_argument("--shards", type=int, default=SHARDS, help="postings files a bucket")
    parser.add_argument("--chunk", type=int, default=CHUNK, help="documents a document file")
    parser.add_argument("--dir", type=Path, default=None, help="where the indexes are written (a temporary folder)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="search-bench-", dir=args.dir))
    try:
        docs = make_docs(args.docs + args.repeat)
        extra, docs = docs[args.docs :], docs[: args.docs]
        print(f"documents: {args.docs:,}, body {statistics.mean(len(d.text) for d in docs):.0f} characters on average")

        layout = {"capacity": args.capacity, "shards": args.shards, "chunk": args.chunk}
        print(f"layout: {layout}")
        large_root = workdir / "large"
        large = SearchIndex(large_root)
        started = time.perf_counter()
        large.write_full(docs, **layout)
        elapsed = time.perf_counter() - started
        files, size = tree_size(large_root)
        print(f"write_full {args.docs:,}: {elapsed:.1f} s, {files:,} files, {size / 1e6:.1f} MB")

        small_root = workdir / "small"
        small = SearchIndex(small_root)
        small.write_full(docs[: args.small], **layout)

        common, rare = two_character_queries(docs, large_root)
        for label, root, count in (("small", small_root, args.small), ("large", large_root, args.docs)):
            for word in (common, rare):
                requests, raw, packed = fetched(root, word)
                total = search(root, word).total
                print(
                    f"query {word!r} at {count:,} ({label}): {total:,} hits, {requests} requests, "
                    f"{raw / 1e3:.0f} kB fetched ({packed / 1e3:.0f} kB gzip)"
                )

        costs = {}
        for kind, replace in (("new", ""), ("replace", "GK-0000100")):
            # new: into the last bucket (232 of 256 full at 1,000, 16 at 10,000); replace: in the full bucket 0,
            # the worst case, like for like
            costs[kind] = (
                upsert_cost(small, extra, args.repeat, replace),
                upsert_cost(large, extra, args.repeat, replace),
            )
            for count, (seconds, files, written) in zip((args.small, args.docs), costs[kind], strict=True):
                print(
                    f"upsert 1 ({kind}) at {count:,}: {seconds * 1e3:.0f} ms (median of {args.repeat}), "
                    f"{files} files, {written / 1e3:.0f} kB written"
                )
        large.remove(["NEW-0"])
        print(f"remove 1 at {args.docs:,}: {large.last.files} files, {large.last.bytes / 1e3:.0f} kB written")
        (small_time, small_files, small_bytes), (large_time, large_files, large_bytes) = costs["replace"]
        bytes_ratio, time_ratio = large_bytes / small_bytes, large_time / small_time
        print(
            f"ratio {args.docs:,}/{args.small:,} (replace): bytes {bytes_ratio:.2f}, time {time_ratio:.2f}, "
            f"files {large_files}/{small_files}"
        )
        return 0 if bytes_ratio <= 1.1 and large_files <= small_files * 1.1 else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())

"""The public site: a full build of N published items, and the cost of one more publication at 1,000 and at N.

Usage::

    python benchmarks/site_bench.py [N] [--small S] [--repeat R] [--dir DIR]

Publications are written straight into ``publications`` with the store's own function
(``workflow.store.publications.record_publication``, one transaction, not timed) on a fresh SQLite file
made by ``workflow.wiring.initialise``; the items they belong to are not created (that is the engine's
cost, measured by transitions_bench.py), so these inserts run without the foreign-key check. Bodies are
about 1,200 characters of Chinese Markdown with a table; the items are spread over the twelve
sub-directories, one minute apart. No attachments.

Timed: (1) a full build of N items (``SiteBuilder.full``: every page in both copies, listings, feed,
sitemap, into a fresh folder swapped in); (2) at S items (default 1,000) and at N items (default
10,000), R times (default 7): one more publication recorded, then ``SiteBuilder.update([its id])``
timed alone. Printed: the full build's time and rate, the median (and min/max) incremental update at
each size, the files each update wrote, and ``ratio N/S`` (should be about 1: an update reads only the
manifest by key and writes the same files whatever the size of the site).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine  # noqa: E402

from workflow.publishing.site import SiteBuilder, SiteConfig  # noqa: E402
from workflow.settings import Settings  # noqa: E402
from workflow.store.db import make_engine  # noqa: E402
from workflow.store.publications import record_publication  # noqa: E402
from workflow.store.registry import DefinitionRegistry  # noqa: E402
from workflow.wiring import initialise  # noqa: E402

DEFINITIONS = ROOT / "definitions"
AUDIT_KEY = "benchmark-audit-key-0123456789-abcdefghijklmnop"
START = dt.datetime(2026, 1, 5, 1, 0, tzinfo=dt.UTC)
BODY = (
    "## 一、基本情况\n\n"
    + "本镇按照县委、县政府的统一部署，认真做好第{n}项重点工作，切实保障人民群众的合法权益。" * 6
    + "\n\n## 二、主要措施\n\n| 项目 | 时间 | 责任单位 |\n| --- | --- | --- |\n"
    + "| 巡查 | 第一季度 | 党政综合办公室 |\n| 整改 | 第二季度 | 财政所 |\n\n"
    + "各村（社区）要结合实际，抓好落实。如有疑问，请与镇党政综合办公室联系。" * 5
)


class Site:
    """A database of publications and the builder of its site."""

    def __init__(self, folder: Path, name: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.url = f"sqlite:///{folder / (name + '.db')}"
        settings = Settings(database_url=self.url, definitions_dir=DEFINITIONS, audit_key=AUDIT_KEY)
        db = make_engine(self.url)
        initialise(settings, db)
        self.writer = create_engine(self.url)  # the foreign-key check off: no items rows behind these
        self.count = 0
        self.now = START
        registry = DefinitionRegistry(DEFINITIONS)
        config = SiteConfig(
            site_dir=folder / name, office=registry.office(), catalog=registry.catalog(), lang="zh",
            zone=ZoneInfo("Asia/Shanghai"), definitions_dir=DEFINITIONS,
        )  # fmt: skip
        self.builder = SiteBuilder(db, config, None, clock=lambda: self.now)

    def publish(self, how_many: int) -> list[int]:
        ids = []
        with self.writer.begin() as conn:
            for _ in range(how_many):
                self.count += 1
                n = self.count
                self.now = START + dt.timedelta(minutes=n)
                code = f"{(n % 12) + 1:02d}"
                record_publication(
                    conn, item_id=n, reference=f"GK-2026-{n:05d}", index_number=f"01526086-8-{code}/2026-{n:05d}",
                    category=code, title=f"关于做好第{n}项重点工作的通知", body=BODY.format(n=n),
                    fields={"formed_on": "2026-01-02"},
                    meta={"doc_number": f"荷政发〔2026〕{n}号", "subjects": ["通知"]},
                    revision=1, content_hash=f"{n:064x}", expires_at=None, now=self.now,
                )  # fmt: skip
                ids.append(n)
        return ids

    def one_more(self, repeat: int) -> tuple[list[float], int]:
        """``repeat`` single publications, each followed by a timed incremental update."""
        times = []
        files = 0
        for _ in range(repeat):
            (item_id,) = self.publish(1)
            began = time.perf_counter()
            report = self.builder.update([item_id])
            times.append(time.perf_counter() - began)
            assert report.kind == "incremental", report.kind
            files = len(report.written)
        return times, files


def summary(label: str, times: list[float], files: int) -> float:
    median = statistics.median(times)
    print(
        f"{label}: median {median * 1000:.1f} ms (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}, "
        f"{len(times)} runs, {files} files written each)"
    )
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--dir", type=Path, help="where to work (default: a temporary folder, removed after)")
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="gongkai-site-bench-"))
    try:
        small = Site(folder, "small")
        small.publish(args.small)
        small.builder.full()
        small_times, small_files = small.one_more(args.repeat)

        large = Site(folder, "large")
        large.publish(args.n)
        began = time.perf_counter()
        report = large.builder.full()
        elapsed = time.perf_counter() - began
        print(
            f"full build of {args.n} items: {elapsed:.1f} s ({args.n / elapsed:.0f} items/s, "
            f"{len(report.written)} files)"
        )
        large_times, large_files = large.one_more(args.repeat)

        small_median = summary(f"one more publication at {args.small} items", small_times, small_files)
        large_median = summary(f"one more publication at {args.n} items", large_times, large_files)
        print(f"ratio {args.n}/{args.small}: {large_median / small_median:.2f} (target about 1)")
        stale = large.builder.out_of_date()
        if stale:
            print(f"FAILED: {len(stale)} items out of date after the updates", file=sys.stderr)
            return 1
        return 0
    finally:
        if args.dir is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""``gongkai publication status`` and ``retry``, and the worker's pass over the channels, as an office runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.test_cli import ROOT, Office, fresh, template  # noqa: F401 (fixtures)


def published_item(office: Office) -> str:
    _, ref = office.create("proactive_disclosure", "村务公开通知", "drafter", "--category", "01")
    office.ok("item", "fire", ref, "submit", "--as", "drafter")
    office.ok("item", "fire", ref, "clear", "--as", "reviewer")
    office.ok("item", "fire", ref, "sign_off", "--as", "leader")
    return ref


def worker_pass(office: Office, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**office.env, "GONGKAI_MAIL_DIR": str(office.folder / "mail"),
           "GONGKAI_CHANNELS_DIR": str(office.folder / "channels"),
           "GONGKAI_WEBHOOK_URL": "http://127.0.0.1:9/county"}  # fmt: skip
    return subprocess.run(
        [sys.executable, str(ROOT / "run_worker.py"), "--once", *extra], cwd=office.folder, env=env,
        capture_output=True, text=True, encoding="utf-8", timeout=120, check=False,
    )  # fmt: skip


def test_status_shows_each_channel_exits_1_on_a_failure_and_retry_requeues_with_the_actor(fresh: Office) -> None:  # noqa: F811
    ref = published_item(fresh)
    dry = worker_pass(fresh, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"channel webhook publish {ref} (attempt 1" in dry.stdout
    assert f"channel portal publish {ref}" in dry.stdout

    status = fresh.run("publication", "status", ref, "--json")
    assert status.returncode == 0, status.stderr  # nothing failed yet: the dry run changed nothing
    jobs = {j["channel"]: j for j in json.loads(status.stdout)["jobs"]}
    assert {(c, j["status"], j["attempts"]) for c, j in jobs.items()} == {("portal", "pending", 0),
                                                                          ("webhook", "pending", 0)}  # fmt: skip

    done = worker_pass(fresh)  # no GONGKAI_WEBHOOK_SECRET: the webhook fails at once, clearly
    assert done.returncode == 0, done.stderr
    status = fresh.run("publication", "status", ref, "--json")
    assert status.returncode == 1
    jobs = {j["channel"]: j for j in json.loads(status.stdout)["jobs"]}
    assert jobs["webhook"]["status"] == "failed" and jobs["webhook"]["attempts"] == 1
    assert "GONGKAI_WEBHOOK_SECRET is not set" in jobs["webhook"]["last_error"]
    assert jobs["portal"]["status"] == "done" and jobs["portal"]["attempts"] == 1  # the site was built

    text = fresh.run("publication", "status")
    assert text.returncode == 1
    assert "失败（不再自动重试）: 1" in text.stdout and "完成: 1" in text.stdout
    assert "GONGKAI_WEBHOOK_SECRET is not set" in text.stdout
    english = fresh.run("publication", "status", ref, env={"GONGKAI_LANG": "en"})
    assert english.returncode == 1 and "failed, not retried" in english.stdout and "attempts: 1" in english.stdout

    refused = fresh.run("publication", "retry", ref, "--as", "drafter")
    assert refused.returncode == 1 and "drafter" in refused.stderr and refused.stdout == ""
    unknown = fresh.run("publication", "retry", ref, "--channel", "fax", "--as", "office")
    assert unknown.returncode != 0 and "fax" in unknown.stderr

    retried = fresh.ok("publication", "retry", ref, "--channel", "webhook", "--as", "office")
    assert "webhook publish" in retried
    status = fresh.run("publication", "status", ref, "--json")
    assert status.returncode == 0
    webhook = next(j for j in json.loads(status.stdout)["jobs"] if j["channel"] == "webhook")
    assert (webhook["status"], webhook["attempts"]) == ("pending", 0)
    again = fresh.run("publication", "retry", ref, "--as", "office")
    assert again.returncode == 1 and ref in again.stderr  # nothing failed now

    rows = [r for r in fresh.audit("--item", ref) if r["trigger"].startswith("channel")]
    assert sorted((r["trigger"], r["actor"]) for r in rows) == [
        ("channel", "system"),
        ("channel", "system"),
        ("channel.retry", "office"),
    ]
    outcomes = {r["details"]["channel"]: r["details"]["outcome"] for r in rows if r["trigger"] == "channel"}
    assert outcomes == {"webhook": "failed", "portal": "delivered"}
    assert rows[-1]["details"]["jobs"][0]["channel"] == "webhook"
    verified = fresh.run("audit", "verify")
    assert verified.returncode == 0, verified.stderr


def test_status_of_an_office_with_nothing_published(fresh: Office) -> None:  # noqa: F811
    out = json.loads(fresh.ok("publication", "status", "--json"))
    assert out == {"jobs": [], "counts": {"pending": 0, "running": 0, "done": 0, "failed": 0}}
    missing = fresh.run("publication", "status", "GK-2026-9999")
    assert missing.returncode == 2


def test_the_worker_writes_the_files_of_a_village_notice(fresh: Office, tmp_path: Path) -> None:  # noqa: F811
    _, ref = fresh.create("proactive_disclosure", "春耕补贴发放公告", "drafter", "--category", "06")
    for trigger, actor in (("submit", "drafter"), ("clear", "reviewer"), ("sign_off", "leader")):
        fresh.ok("item", "fire", ref, trigger, "--as", actor)
    done = worker_pass(fresh)
    assert done.returncode == 0, done.stderr
    scripts = list((fresh.folder / "channels" / "broadcast").rglob(f"{ref}.txt"))
    assert len(scripts) == 1 and "春耕补贴发放公告" in scripts[0].read_text(encoding="utf-8")
    assert len(list((fresh.folder / "channels" / "notice_board").rglob("*.pdf"))) == 10

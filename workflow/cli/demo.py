"""A small demo office, and a guided walk of one item through the whole proactive chain."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import secrets
from collections.abc import Callable
from pathlib import Path

from notifications.settings import MailSettings
from workflow.cli.demo_catalogue import publish_catalogue
from workflow.clock import utc_now
from workflow.core.attachments import Upload
from workflow.core.errors import GongkaiError, render_error
from workflow.core.i18n import N_, translator
from workflow.core.personnel import Account
from workflow.engine import WorkflowEngine
from workflow.settings import Settings, read_key_file
from workflow.store import audit_log as auditlog
from workflow.store.db import reading
from workflow.store.people import list_users
from workflow.wiring import initialise, open_engine

DEMO_DIR = Path("demo-office")

DEMO_PEOPLE = [
    ("zhang_wei", "drafter confidentiality_reviewer", "张伟", "承办人 (也兼保密审查)"),
    ("li_na", "confidentiality_reviewer", "李娜", "保密审查员"),
    ("wang_qiang", "leader", "王强", "分管领导"),
    ("zhao_min", "leader", "赵敏", "主要领导"),
    ("chen_jing", "office", "陈静", "公开办"),
    ("sun_li", "legal_reviewer", "孙丽", "合法性审查员"),
    ("zhou_shen", "auditor", "周审", "审计员"),
    ("wu_gang", "admin", "吴刚", "系统管理员 (人员管理、安全日志)"),
]
"""(login name, roles, display name, what they do): the people of the demo office."""

BODY_DRAFT = "2026 年镇级财政预算收入 1,250 万元, 支出 1,180 万元。\n三公经费预算 18.6 万元。\n"
BODY_FIXED = BODY_DRAFT + "附件: 预算表 (已删去涉及个人信息的明细)。\n"


def demo_pdf(lines: list[str]) -> bytes:
    """A small real PDF (one page of text), standing in for the scanned or exported file an office attaches."""
    text = " ".join(line.encode("utf-8").hex() for line in lines)
    stream = f"BT /F1 12 Tf 72 720 Td <{text}> Tj ET".encode("ascii")
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
        b"3 0 obj << /Type /Page /Parent 2 0 R /Contents 4 0 R >> endobj\n"
        + f"4 0 obj << /Length {len(stream)} >> stream\n".encode("ascii")
        + stream
        + b"\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


def demo_settings(settings: Settings, folder: Path, say: Callable[[str], None]) -> Settings:
    """The demo's own database and keys in ``folder``, unless the settings name them."""
    folder.mkdir(parents=True, exist_ok=True)
    changes: dict[str, object] = {}
    if not settings.database_named:
        changes["database_url"] = f"sqlite:///{folder / 'gongkai.db'}"
        changes["database_named"] = True
    if settings.audit_key is None:
        key_file = folder / "audit.key"
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(48) + "\n", encoding="utf-8")
            key_file.chmod(0o600)
            say(translator(settings.lang)._(
                "A new audit key in %(file)s: keep it outside the database, back it up", file=key_file
            ))  # fmt: skip
        changes["audit_key"] = read_key_file(key_file)
    if settings.secret_key is None:
        secret_file = folder / "secret.key"
        if not secret_file.exists():
            secret_file.write_text(secrets.token_urlsafe(48) + "\n", encoding="utf-8")
            secret_file.chmod(0o600)
            say(translator(settings.lang)._(
                "A new secret key in %(file)s: it signs email links and sessions (GONGKAI_SECRET_KEY_FILE)",
                file=secret_file,
            ))  # fmt: skip
        changes["secret_key"] = read_key_file(secret_file)
    return dataclasses.replace(settings, **changes)  # type: ignore[arg-type]


def run_demo(base: Settings, mail: MailSettings, say: Callable[[str], None], folder: Path = DEMO_DIR) -> None:
    settings = demo_settings(base, folder, say)
    _ = translator(settings.lang)._
    initialise(settings)
    engine = open_engine(settings, mail=mail)
    with reading(engine.db) as conn:
        existing = {user.name for user in list_users(conn)}
    for name, role, display_name, _work in DEMO_PEOPLE:
        if name not in existing:
            # Through the engine like every change: the demo's people are in the audit chain too.
            engine.add_person(
                name, email=f"{name}@town.example.gov.cn", roles=role.split(), by=Account("demo"),
                display_name=display_name,
            )  # fmt: skip
    say("")
    say(_("== demo office =="))
    for name, role, display_name, work in DEMO_PEOPLE:
        say(f"  {name:<12} {display_name:<4} {role:<33} {work}")

    def step(text: str) -> None:
        say("")
        say("-> " + _(text))

    step(N_("The drafter writes an item (catalogue 03)"))
    draft_table = demo_pdf(["2026年镇级财政预算表", "明细: 张三 身份证号 ……"])
    item = engine.create(
        "proactive_disclosure", title="2026 年镇级财政预算公开", actor="zhang_wei", category="03", body=BODY_DRAFT,
        fields={"formed_on": engine.today().isoformat(), "department": "财政所"},
        meta={"doc_number": "荷政发〔2026〕12号", "subjects": ["财政", "预算"]},
        uploads=[Upload("2026年镇级财政预算表.pdf", io.BytesIO(draft_table))],
    )  # fmt: skip
    say(f"   {item.reference} [{item.state}] 文号 {item.meta['doc_number']}, 附件 2026年镇级财政预算表.pdf")
    moves: list[tuple[str, str, str | None]] = [
        (N_("The drafter submits it for confidentiality review"), "submit:zhang_wei", None),
        (
            N_("The drafter, also a reviewer, tries to clear their own item: separation of duties refuses"),
            "clear:zhang_wei",
            None,
        ),
        (
            N_("The reviewer sends it back: personal data in the annex"),
            "send_back:li_na",
            "附件含有个人信息, 请删除后再送审",
        ),
    ]
    for text, move, comment in moves:
        step(text)
        _fire(engine, item.id, move, comment, say, settings.lang)
    step(N_("The drafter replaces the annex and edits the body"))
    engine.detach(item.id, "zhang_wei", hashlib.sha256(draft_table).hexdigest())
    fixed_table = demo_pdf(["2026年镇级财政预算表", "(已删去涉及个人信息的明细)"])
    edited = engine.edit(
        item.id, "zhang_wei", body=BODY_FIXED, uploads=[Upload("2026年镇级财政预算表.pdf", io.BytesIO(fixed_table))]
    )
    say(f"   content hash {edited.content_hash[:12]}")
    for text, move in [
        (N_("The drafter submits it again"), "submit:zhang_wei"),
        (N_("The reviewer clears it"), "clear:li_na"),
        (N_("The reviewer tries to sign off: not a leader, refused"), "sign_off:li_na"),
        (N_("The leader signs it off: published"), "sign_off:wang_qiang"),
    ]:
        step(text)
        _fire(engine, item.id, move, None, say, settings.lang)

    step(N_("The audit log of this item"))
    for line in auditlog.format_entries(auditlog.read_entries(engine.db, item.id), settings.timezone):
        say("   " + line)
    result = auditlog.verify(engine.db, settings.require_audit_key())
    say("")
    verdict = str(result.fault) if result.fault is not None else translator(settings.lang).ngettext(
        "%(num)s entry verified", "%(num)s entries verified", result.count
    )  # fmt: skip
    say(f"audit verify: {verdict}")
    step(N_("A second item: the leader schedules it; the worker (run_worker.py) publishes it in two minutes"))
    second = engine.create(
        "proactive_disclosure", title="镇便民服务中心办事指南", actor="zhang_wei", category="06", body=BODY_FIXED
    )
    say(f"   {second.reference} [{second.state}]")
    publish_at = (utc_now() + dt.timedelta(minutes=2)).astimezone(engine.zone).isoformat(timespec="minutes")
    for move in ("submit:zhang_wei", "clear:li_na"):
        _fire(engine, second.id, move, None, say, settings.lang)
    scheduled = engine.fire(second.id, "schedule", "wang_qiang", fields={"publish_at": publish_at})
    say(f"   wang_qiang schedule: {scheduled.from_state} -> {scheduled.to_state}, publish_at {publish_at}")
    step(
        N_(
            "A third item: submitted and left in confidentiality review, for li_na to decide on the web pages"
            " or from the link in her email"
        )
    )
    third = engine.create(
        "proactive_disclosure", title="镇 2026 年度民生实事项目公示", actor="zhang_wei", category="03",
        body="一、村道硬化 12 公里。\n二、新建便民服务点 3 个。\n",
    )  # fmt: skip
    _fire(engine, third.id, "submit:zhang_wei", None, say, settings.lang)
    publish_catalogue(engine, step, say, demo_pdf)
    say("")
    say(_("To use the CLI on this demo database:"))
    say(f"  export GONGKAI_DATABASE_URL={settings.database_url}")
    if base.audit_key is None:  # the demo's own key, in its folder
        say(f"  export GONGKAI_AUDIT_KEY_FILE={folder / 'audit.key'}")
    say("  .venv/bin/gongkai item list")
    say("")
    say(
        _(
            "Sign in to the web pages with a demo address, e.g. li_na@town.example.gov.cn: the sign-in email"
            " arrives in demo-office/mail/ (open the .eml file, follow its link)."
        )
    )
    say(_("The administrator's pages (people, security log): sign in as wu_gang@town.example.gov.cn."))


def _fire(
    engine: WorkflowEngine, item_id: int, move: str, comment: str | None, say: Callable[[str], None], lang: str
) -> None:
    trigger, actor = move.split(":")
    try:
        result = engine.fire(item_id, trigger, actor, comment=comment)
    except GongkaiError as error:
        refused = translator(lang)._("refused — %(reason)s", reason=render_error(error, lang))
        say(f"   {actor} {trigger}: {refused}")
        return
    say(f"   {actor} {trigger}: {result.from_state} -> {result.to_state} (#{result.audit_seq})")

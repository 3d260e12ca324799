"""The demo's public catalogue: items published across sub-directories, and the ways one stops being current.

Run by ``gongkai demo`` after its guided walk, so the site the worker builds is worth looking at: items
with 文号, 主题词, the date formed and an attachment; a normative document valid for five years; a public
notice whose 有效期至 comes a minute after the demo, so the running worker expires it; a withdrawn notice;
a work report revised and republished (修订). Every step goes through the engine, like any office's.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Callable

from workflow.core.attachments import Upload
from workflow.core.i18n import N_
from workflow.engine import WorkflowEngine

Say = Callable[[str], None]
Step = Callable[[str], None]

REVIEWER, LEADER, OTHER_LEADER, DRAFTER = "li_na", "wang_qiang", "zhao_min", "zhang_wei"


def publish_catalogue(engine: WorkflowEngine, step: Step, say: Say, pdf: Callable[[list[str]], bytes]) -> None:
    """Publish the demo's catalogue items and print what happened to each, as it happened."""
    today = engine.today().isoformat()

    def proactive(
        title: str, category: str, body: str, *, doc_number: str = "", subjects: tuple[str, ...] = (),
        department: str = "党政综合办公室", attachment: tuple[str, bytes] | None = None,
    ) -> int:  # fmt: skip
        uploads = [Upload(attachment[0], io.BytesIO(attachment[1]))] if attachment else []
        view = engine.create(
            "proactive_disclosure", title=title, actor=DRAFTER, category=category, body=body,
            fields={"formed_on": today, "department": department},
            meta={"doc_number": doc_number, "subjects": list(subjects)}, uploads=uploads,
        )  # fmt: skip
        engine.fire(view.id, "submit", DRAFTER)
        engine.fire(view.id, "clear", REVIEWER)
        say(f"   {view.reference} [{category}] {title}: {DRAFTER} submit, {REVIEWER} clear")
        return view.id

    def fire(item_id: int, trigger: str, actor: str, comment: str | None = None, **fields: str) -> None:
        result = engine.fire(item_id, trigger, actor, comment=comment, fields=fields or None)
        given = "".join(f" {name}={value}" for name, value in fields.items())
        say(f"   {result.row.reference} {actor} {trigger}: {result.from_state} -> {result.to_state}{given}")

    step(N_("The public catalogue: items published in several sub-directories, with 文号, 主题词 and an attachment"))
    plan = proactive(
        "2026 年汛期防汛应急预案", "07", "一、组织机构\n\n二、预警与响应\n\n三、值班安排见附件。\n",
        doc_number="荷政发〔2026〕15号", subjects=("应急", "防汛"),
        attachment=("汛期值班表.pdf", pdf(["2026年汛期值班表", "镇值班电话 0875-0000000"])),
    )  # fmt: skip
    fire(plan, "sign_off", LEADER)
    news = proactive(
        "荷花镇召开春季森林防火工作会议", "08", "会议部署了春季森林防火各项工作。\n", subjects=("森林防火",)
    )
    fire(news, "sign_off", OTHER_LEADER)
    normative = _normative(engine, fire)

    step(
        N_(
            "A public notice valid until a minute or two from now: the worker (run_worker.py, beside the web pages in"
            " make run) expires it at its first pass after that (已失效, kept in the archive)"
        )
    )
    notice = proactive(
        "2026 年第一季度农村低保对象公示", "11", "公示期内如有异议，请向镇民政办反映。\n",
        doc_number="荷民公〔2026〕3号", subjects=("低保", "公示"), department="民政办",
    )  # fmt: skip
    fire(notice, "sign_off", LEADER, unpublish_at=_next_minute(engine, minutes=1))

    step(N_("A notice published and then withdrawn by a leader: the reason stays internal, the public sees the date"))
    water = proactive("关于临时停水的通知", "08", "3 月 15 日 8:00-18:00 镇区临时停水。\n", subjects=("停水",))
    fire(water, "sign_off", LEADER)
    fire(water, "withdraw", OTHER_LEADER, comment="停水日期有误，已另行通知")

    step(N_("A work report revised and republished: same index number, marked 修订"))
    report = proactive(
        "荷花镇 2025 年工作总结", "03", "全年完成村道硬化 10 公里。\n",
        doc_number="荷政发〔2026〕3号", subjects=("工作总结",),
    )  # fmt: skip
    fire(report, "sign_off", OTHER_LEADER)
    fire(report, "revise", DRAFTER)
    engine.edit(report, DRAFTER, body="全年完成村道硬化 12 公里（更正）。\n")
    for trigger, actor in (("submit", DRAFTER), ("clear", REVIEWER), ("sign_off", LEADER)):
        fire(report, trigger, actor)
    for item_id in (plan, news, normative, notice, water, report):
        public = engine.public(item_id)
        if public is not None:
            say(f"   {public.reference} {public.index_number} {public.status}{_revised(public.revised_at)}")


def _normative(engine: WorkflowEngine, fire: Callable[..., None]) -> int:
    """A normative document (its own chain: legality review, two leaders) valid for five years."""
    view = engine.create(
        "normative_document", title="荷花镇农村人居环境整治管理办法（试行）", actor=DRAFTER, category="04",
        body="第一条 为改善农村人居环境，制定本办法。\n", meta={"doc_number": "荷政规〔2026〕1号",
        "subjects": ["人居环境", "规范性文件"]},
    )  # fmt: skip
    until = (engine.clock().astimezone(engine.zone) + dt.timedelta(days=5 * 365)).strftime("%Y-%m-%dT00:00")
    fire(view.id, "submit", DRAFTER)
    fire(view.id, "pass_legality", "sun_li")
    fire(view.id, "clear", REVIEWER)
    fire(view.id, "sign_off", LEADER, unpublish_at=until)
    fire(view.id, "sign_off", OTHER_LEADER)
    return view.id


def _next_minute(engine: WorkflowEngine, *, minutes: int) -> str:
    """Office time ``minutes`` after the next whole minute (fields take minutes: never now or before)."""
    now = engine.clock().astimezone(engine.zone)
    whole = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=math.ceil(now.second / 60) + minutes)
    return whole.isoformat(timespec="minutes")


def _revised(revised_at: dt.datetime | None) -> str:
    return " 修订" if revised_at is not None else ""

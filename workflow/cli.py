"""The ``gongkai`` command: a thin shell over the engine.

Exit codes: 0 done; 1 refused by a rule, lost a race, validation or verification
failed; 2 bad usage or unknown id. Every refusal goes to stderr, one line a problem.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

from workflow import auditlog
from workflow.calendar import WorkingCalendar, WorkingDayCount, holiday_label, load_calendar
from workflow.cli_outbox import outbox
from workflow.deadlines import ItemDeadline, count_with_pauses, current_due
from workflow.definition import Definition
from workflow.diagram import mermaid
from workflow.engine import ItemView, WorkflowEngine, utc_now
from workflow.errors import ConfigurationError, Conflict, DefinitionError, GongkaiError, InvalidInput
from workflow.i18n import render_error, translate
from workflow.loader import check_definition_text, definition_files, load_catalog
from workflow.people import add_user, delegate, list_delegations, list_users, set_digest
from workflow.roles import ROLES, role_label
from workflow.settings import Settings
from workflow.setup import initialise, open_engine
from workflow.store.db import normalise_url

F = TypeVar("F", bound=Callable[..., Any])


class Shell:
    """What every command needs: settings, and lazily the database and engine."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: WorkflowEngine | None = None

    @property
    def lang(self) -> str:
        return self.settings.lang

    def t(self, key: str, **params: Any) -> str:
        return translate(key, self.lang, **params)

    @property
    def engine(self) -> WorkflowEngine:
        if self._engine is None:
            require_initialised(self.settings)
            self._engine = open_engine(self.settings)
        return self._engine

    def fail(self, error: GongkaiError) -> NoReturn:
        for line in render_error(error, self.lang).splitlines():
            click.echo(line, err=True)
        sys.exit(error.exit_code)


@contextmanager
def handled(shell: Shell) -> Iterator[None]:
    try:
        yield
    except GongkaiError as error:
        shell.fail(error)
    except DBAPIError as error:
        shell.fail(database_error(error))


RACE_MARKERS = ("locked", "deadlock", "could not serialize")


def database_error(error: DBAPIError) -> GongkaiError:
    """A driver error as one clean line: a lost race (exit 1) or an unusable database (exit 2)."""
    lines = str(error.orig).strip().splitlines()
    detail = lines[0].strip() if lines else type(error.orig).__name__
    if isinstance(error, IntegrityError) or any(m in detail.lower() for m in RACE_MARKERS):
        return Conflict("conflict.database", detail=detail)
    return ConfigurationError("config.database_unusable", detail=detail)


def require_initialised(settings: Settings) -> None:
    """A missing SQLite file means 'gongkai init' was not run; do not leave an empty one behind."""
    url = make_url(normalise_url(settings.database_url))
    database = url.database
    if url.get_backend_name() == "sqlite" and database and database != ":memory:" and not Path(database).exists():
        raise ConfigurationError("config.not_initialised", database=url.database)


pass_shell = click.make_pass_decorator(Shell)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """gongkai 公开: review-and-publish approval chains for government information disclosure."""
    try:
        ctx.obj = Shell(Settings.from_env())
    except GongkaiError as error:
        lang = "en" if os.environ.get("GONGKAI_LANG", "").strip().lower() == "en" else "zh"
        click.echo(error.render(lang), err=True)
        sys.exit(error.exit_code)


# ---- init ----------------------------------------------------------------------------------


@main.command()
@pass_shell
def init(shell: Shell) -> None:
    """Create or upgrade the database and load definitions/."""
    with handled(shell):
        report = initialise(shell.settings)
    for name, version in sorted(report.definitions.items()):
        mark = " (new)" if name in report.new_versions else ""
        click.echo(f"{name} {version[:12]}{mark}")
    click.echo(("database ready: " if shell.lang == "en" else "数据库已就绪: ") + shell.settings.database_url)


# ---- users ---------------------------------------------------------------------------------


@main.group()
def users() -> None:
    """People and their roles."""


@users.command("add")
@click.argument("name")
@click.option("--email", required=True)
@click.option("--role", "roles", multiple=True, required=True, help="Repeat for several roles.")
@pass_shell
def users_add(shell: Shell, name: str, email: str, roles: tuple[str, ...]) -> None:
    """Add a person with one or more roles."""
    with handled(shell):
        shell.settings.require_audit_key()  # changing who may act is a write: it needs the key too
        with shell.engine.db.begin() as conn:
            info = add_user(conn, name, email, list(roles), utc_now())
    click.echo(f"{info.name} <{info.email}> {', '.join(role_label(r, shell.lang) for r in info.roles)}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_shell
def users_list(shell: Shell, as_json: bool) -> None:
    with handled(shell), shell.engine.db.connect() as conn:
        people = list_users(conn)
        delegations = list_delegations(conn)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "name": p.name,
                        "email": p.email,
                        "roles": list(p.roles),
                        "active": p.active,
                        "substitutes": [
                            {"to": d.substitute, "from": d.starts_on.isoformat(), "until": d.ends_on.isoformat()}
                            for d in delegations
                            if d.principal == p.name
                        ],
                    }
                    for p in people
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    for person in people:
        roles = ", ".join(role_label(r, shell.lang) for r in person.roles)
        click.echo(f"{person.name:<12} {person.email:<28} {roles}")
    for d in delegations:
        click.echo(f"  {d.principal} -> {d.substitute} {d.starts_on.isoformat()}..{d.ends_on.isoformat()}")


def _parse_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("input.bad_date", value=value) from None


@users.command("digest")
@click.argument("name")
@click.option("--on/--off", "on", default=True, help="One daily email of all pending items, or single emails.")
@pass_shell
def users_digest(shell: Shell, name: str, on: bool) -> None:
    """Choose a daily digest instead of single notices and reminders (escalations still come at once)."""
    with handled(shell):
        shell.settings.require_audit_key()
        with shell.engine.db.begin() as conn:
            set_digest(conn, name, on)
    en = shell.lang == "en"
    choice = ("daily digest" if en else "每日汇总") if on else ("single emails" if en else "逐条邮件")
    click.echo(f"{name}: {choice}")


@users.command("delegate")
@click.argument("name")
@click.option("--to", "substitute", required=True, help="The substitute.")
@click.option("--from", "starts", required=True, help="First day, YYYY-MM-DD.")
@click.option("--until", "ends", required=True, help="Last day, YYYY-MM-DD (included).")
@pass_shell
def users_delegate(shell: Shell, name: str, substitute: str, starts: str, ends: str) -> None:
    """NAME is away: SUBSTITUTE may act in their place for the period."""
    with handled(shell):
        shell.settings.require_audit_key()
        starts_on, ends_on = _parse_date(starts), _parse_date(ends)
        with shell.engine.db.begin() as conn:
            info = delegate(conn, name, substitute, starts_on, ends_on, utc_now())
    click.echo(f"{info.principal} -> {info.substitute} {info.starts_on}..{info.ends_on}")


# ---- items ---------------------------------------------------------------------------------


def _parse_fields(values: tuple[str, ...]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise InvalidInput("input.bad_field_syntax", value=value)
        fields[key.strip()] = text
    return fields


def _read_body(path: str | None) -> str:
    if path is None:
        return ""
    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput("input.unreadable_file", path=path, detail=str(error)) from None


@main.group()
def item() -> None:
    """Create, move and read items."""


@item.command("create")
@click.argument("definition")
@click.option("--title", required=True)
@click.option("--as", "actor", required=True, help="Who creates it.")
@click.option("--category", help="Catalogue code or name (公开目录).")
@click.option("--body-file", help="File with the body text; - for standard input.")
@click.option("--field", "fields", multiple=True, help="KEY=VALUE, repeatable.")
@pass_shell
def item_create(
    shell: Shell,
    definition: str,
    title: str,
    actor: str,
    category: str | None,
    body_file: str | None,
    fields: tuple[str, ...],
) -> None:
    """Create an item; its id is the last line printed."""
    with handled(shell):
        view = shell.engine.create(
            definition,
            title=title,
            actor=actor,
            category=category,
            body=_read_body(body_file),
            fields=_parse_fields(fields),
        )
        definition_obj = shell.engine.registry.current(definition)
    click.echo(f"{view.reference} {view.title} [{_state_label(definition_obj, view.state, shell.lang)}]")
    click.echo(str(view.id))


@item.command("fire")
@click.argument("item_ref", metavar="ID")
@click.argument("trigger")
@click.option("--as", "actor", required=True)
@click.option("--comment")
@click.option("--field", "fields", multiple=True, help="KEY=VALUE, repeatable.")
@click.option("--expect-version", type=int, help="Refuse unless the item is still at this version.")
@pass_shell
def item_fire(
    shell: Shell,
    item_ref: str,
    trigger: str,
    actor: str,
    comment: str | None,
    fields: tuple[str, ...],
    expect_version: int | None,
) -> None:
    """Fire TRIGGER on item ID as a person."""
    with handled(shell):
        result = shell.engine.fire(
            item_ref, trigger, actor, comment=comment, fields=_parse_fields(fields), expected_version=expect_version
        )
        definition = result.definition
    before = _state_label(definition, result.from_state, shell.lang)
    after = _state_label(definition, result.to_state, shell.lang)
    line = f"{result.row.reference}: {trigger} {before} -> {after} (#{result.audit_seq})"
    quorum = result.details.get("quorum")
    if quorum and result.from_state == result.to_state:
        line += f" [{quorum['votes']}/{quorum['needed']}]"
    if "late" in result.details:
        line += " [late 逾期]" if shell.lang == "zh" else " [late]"
    click.echo(line)


@item.command("edit")
@click.argument("item_ref", metavar="ID")
@click.option("--as", "actor", required=True)
@click.option("--body-file", required=True, help="File with the new body; - for standard input.")
@click.option("--title", help="A new title.")
@pass_shell
def item_edit(shell: Shell, item_ref: str, actor: str, body_file: str, title: str | None) -> None:
    """Replace the body (only in editable states)."""
    with handled(shell):
        view = shell.engine.edit(item_ref, actor, body=_read_body(body_file), title=title)
    click.echo(f"{view.reference} {view.content_hash[:12]}")


@item.command("assign")
@click.argument("item_ref", metavar="ID")
@click.argument("role", type=click.Choice(list(ROLES)))
@click.argument("user")
@click.option("--as", "actor", required=True)
@pass_shell
def item_assign(shell: Shell, item_ref: str, role: str, user: str, actor: str) -> None:
    """Hand ROLE on item ID to USER (logged)."""
    with handled(shell):
        view = shell.engine.assign(item_ref, role, user, actor)
    click.echo(f"{view.reference}: {role} -> {user}")


def _state_label(definition: Definition, state: str, lang: str) -> str:
    spec = definition.states.get(state)
    return spec.label.in_lang(lang) if spec else state


def item_json(view: ItemView, definition: Definition, lang: str) -> dict[str, Any]:
    return {
        "id": view.id,
        "reference": view.reference,
        "definition": view.definition,
        "definition_version": view.definition_version,
        "state": view.state,
        "state_label": _state_label(definition, view.state, lang),
        "title": view.title,
        "category": view.category,
        "body": view.body,
        "fields": view.fields,
        "holders": view.holders,
        "revision": view.revision,
        "version": view.version,
        "content_hash": view.content_hash,
        "created_by": view.created_by,
        "created_at": view.created_at.isoformat(),
        "updated_at": view.updated_at.isoformat(),
        "available_triggers": view.available_triggers,
    }


@item.command("show")
@click.argument("item_ref", metavar="ID")
@click.option("--as", "viewer", help="List only the triggers this person may fire.")
@click.option("--json", "as_json", is_flag=True)
@pass_shell
def item_show(shell: Shell, item_ref: str, viewer: str | None, as_json: bool) -> None:
    with handled(shell):
        view = shell.engine.show(item_ref, viewer)
        with shell.engine.db.connect() as conn:
            definition = shell.engine.registry.pinned(conn, view.definition, view.definition_version)
        _, deadlines = shell.engine.deadlines(view.id)
    data = item_json(view, definition, shell.lang)
    data["due_date"] = _iso(current_due(deadlines))
    data["deadlines"] = [deadline_json(d, shell.engine.today()) for d in deadlines]
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    en = shell.lang == "en"
    rows = [
        ("reference" if en else "编号", view.reference),
        ("title" if en else "标题", view.title),
        (
            "definition" if en else "流程",
            f"{definition.label.in_lang(shell.lang)} ({view.definition} {view.definition_version[:12]})",
        ),
        ("state" if en else "状态", data["state_label"]),
        ("category" if en else "公开目录", _category_text(shell, view.category)),
        ("revision" if en else "版次", str(view.revision)),
        ("content hash" if en else "内容哈希", view.content_hash),
        (
            "holders" if en else "经办人",
            "; ".join(f"{role_label(r, shell.lang)}: {', '.join(n)}" for r, n in view.holders.items()),
        ),
    ]
    rows += [
        (definition.fields[k].label.in_lang(shell.lang) if k in definition.fields else k, str(v))
        for k, v in view.fields.items()
    ]
    rows.append(("may fire" if en else "可执行", ", ".join(view.available_triggers) or "-"))
    rows.append(("due" if en else "期限", data["due_date"] or "-"))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        click.echo(f"{label:<{width}}  {value}")
    if view.body:
        click.echo("")
        click.echo(view.body)


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def deadline_json(deadline: ItemDeadline, today: dt.date) -> dict[str, Any]:
    status = deadline.status
    return {
        "kind": deadline.policy.name,
        "label": {"zh": deadline.label_zh, "en": deadline.label_en},
        "status": status.status,
        "applies_now": deadline.applies_now,
        "start": _iso(status.start),
        "due_date": _iso(status.due),
        "working_days": status.working_days,
        "extension_days": status.extension_days,
        "paused_days": status.paused_days,
        "met": status.met,
        "met_on": _iso(status.met_on),
        "overdue": status.overdue(today),
        "calendar_missing_years": list(status.missing_years),
    }


@item.command("deadline")
@click.argument("item_ref", metavar="ID")
@click.option("--explain", is_flag=True, help="Show the working days one by one: counted, skipped and why.")
@click.option("--json", "as_json", is_flag=True)
@pass_shell
def item_deadline(shell: Shell, item_ref: str, explain: bool, as_json: bool) -> None:
    """The item's deadlines: which applies now, due dates, pauses, extension."""
    with handled(shell):
        view, deadlines = shell.engine.deadlines(item_ref)
    today = shell.engine.today()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "id": view.id,
                    "reference": view.reference,
                    "due_date": _iso(current_due(deadlines)),
                    "deadlines": [deadline_json(d, today) for d in deadlines],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    en = shell.lang == "en"
    for deadline in deadlines:
        status = deadline.status
        label = deadline.label_en if en else deadline.label_zh
        mark = "*" if deadline.applies_now else " "
        parts = [f"{mark} {label} ({deadline.policy.name}): {status.status}"]
        if status.due:
            parts.append(("due " if en else "截止 ") + status.due.isoformat())
        if status.extension_days:
            parts.append(f"+{status.extension_days} " + ("extension" if en else "延期"))
        if status.paused_days:
            parts.append(f"{status.paused_days} " + ("working days paused" if en else "个工作日暂停计算"))
        if status.overdue(today):
            parts.append("OVERDUE" if en else "已逾期")
        click.echo(", ".join(parts))
        if explain and status.start and status.due:
            length = status.working_days + status.extension_days
            _, _, notes = count_with_pauses(
                shell.engine.calendar, status.start, length, status.pauses, today, deadline.policy.calendar_days
            )
            explained = WorkingDayCount(status.start, length, status.due, tuple(notes), status.missing_years)
            for line in explain_count(explained, shell.lang):
                click.echo("    " + line)
        if status.missing_years:
            click.echo(shell.t("calendar.missing_warning", years=", ".join(map(str, status.missing_years))), err=True)


def _category_text(shell: Shell, code: str | None) -> str:
    if code is None:
        return "-"
    catalog = load_catalog(shell.settings.definitions_dir)
    found = catalog.find(code)
    return f"{code} {found.label.in_lang(shell.lang)}" if found else code


@item.command("list")
@click.option("--state")
@click.option("--definition")
@click.option("--as", "viewer", help="List only the triggers this person may fire.")
@click.option("--overdue", is_flag=True, help="Only items whose applicable deadline has passed.")
@click.option("--due-before", help="Only items due before this date (YYYY-MM-DD), not on it.")
@click.option("--json", "as_json", is_flag=True)
@pass_shell
def item_list(
    shell: Shell,
    state: str | None,
    definition: str | None,
    viewer: str | None,
    overdue: bool,
    due_before: str | None,
    as_json: bool,
) -> None:
    """Items, with the due date that applies now; by due date when --overdue or --due-before is given."""
    with handled(shell):
        before = _parse_date(due_before) if due_before else None
        views = shell.engine.list_items(
            state=state, definition=definition, viewer=viewer, overdue=overdue, due_before=before
        )
        with shell.engine.db.connect() as conn:
            definitions = {
                (v.definition, v.definition_version): shell.engine.registry.pinned(
                    conn, v.definition, v.definition_version
                )
                for v in views
            }
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        **item_json(v, definitions[(v.definition, v.definition_version)], shell.lang),
                        "due_date": _iso(v.due_date),
                    }
                    for v in views
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    for v in views:
        label = _state_label(definitions[(v.definition, v.definition_version)], v.state, shell.lang)
        click.echo(f"{v.id:>5}  {v.reference:<13} {label:<10} {_iso(v.due_date) or '-':<10}  {v.title}")


# ---- audit ---------------------------------------------------------------------------------


@main.group()
def audit() -> None:
    """The hash-chained audit log."""


@audit.command("log")
@click.option("--item", "item_ref", help="Only this item (id or reference).")
@click.option("--json", "as_json", is_flag=True)
@pass_shell
def audit_log_command(shell: Shell, item_ref: str | None, as_json: bool) -> None:
    with handled(shell):
        item_id = shell.engine.show(item_ref).id if item_ref else None
        entries = auditlog.read_entries(shell.engine.db, item_id)
    if as_json:
        click.echo(json.dumps([auditlog.entry_json(e) for e in entries], ensure_ascii=False, indent=2))
        return
    for line in auditlog.format_entries(entries, shell.settings.timezone):
        click.echo(line)


@audit.command("verify")
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="An anchor file written by 'audit anchor'; repeatable.",
)
@pass_shell
def audit_verify(shell: Shell, anchors: tuple[str, ...]) -> None:
    """Walk the whole chain; exit 1 at the first bad entry."""
    with handled(shell):
        result = auditlog.verify(shell.engine.db, shell.settings.require_audit_key())
        fault = result.fault
        for path in anchors if fault is None else ():
            fault = auditlog.check_anchor(shell.engine.db, _read_anchor(path))
            if fault is not None:
                break
    if fault is None:
        click.echo(shell.t("audit.verified", count=result.count))
        return
    click.echo(f"{shell.t(fault.key, seq=fault.seq)} {shell.t('audit.after_good', count=result.count)}", err=True)
    sys.exit(1)


def _read_anchor(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("seq"), int) or not isinstance(data.get("hash"), str):
            raise ValueError("needs seq (integer) and hash (text)")
    except (OSError, ValueError) as error:
        raise InvalidInput("audit.anchor_bad", path=path, detail=str(error)) from None
    return data


@audit.command("anchor")
@pass_shell
def audit_anchor(shell: Shell) -> None:
    """Print the chain's head (seq and hash) as JSON, to keep outside the database."""
    with handled(shell):
        kept = auditlog.anchor(shell.engine.db)
    kept["taken_at"] = utc_now().isoformat(timespec="seconds")
    click.echo(json.dumps(kept))


# ---- definitions ---------------------------------------------------------------------------


@main.group()
def definitions() -> None:
    """Check, show and draw the declared chains."""


@definitions.command("check")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@pass_shell
def definitions_check(shell: Shell, files: tuple[str, ...]) -> None:
    """Validate definition files (default: every file in definitions/); FILE:LINE: message per problem."""
    paths = [Path(f) for f in files] or definition_files(shell.settings.definitions_dir)
    problems: list[object] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            click.echo(f"{path}:1: {shell.t('definition.unreadable', detail=error)}", err=True)
            problems.append(path)
            continue
        found = check_definition_text(text, str(path))
        for problem in found:
            click.echo(problem.render(shell.lang), err=True)
        problems.extend(found)
    if not files:
        try:
            load_catalog(shell.settings.definitions_dir)
        except DefinitionError as error:
            click.echo(error.render(shell.lang), err=True)
            problems.extend(error.problems)
    if problems:
        sys.exit(1)
    click.echo(f"{len(paths)} definitions OK" if shell.lang == "en" else f"{len(paths)} 个流程定义检查通过")


def _load_by_name(shell: Shell, name: str) -> Definition:
    from workflow.registry import DefinitionRegistry

    return DefinitionRegistry(shell.settings.definitions_dir).current(name)


@definitions.command("show")
@click.argument("name")
@pass_shell
def definitions_show(shell: Shell, name: str) -> None:
    """Print the states and transitions of a definition."""
    with handled(shell):
        definition = _load_by_name(shell, name)
    lang = shell.lang
    click.echo(f"{definition.name} — {definition.label.in_lang(lang)} ({definition.version[:12]})")
    click.echo("states:" if lang == "en" else "状态:")
    for state in definition.states.values():
        marks = [
            m
            for m, on in (
                ("initial", state.name == definition.initial),
                ("terminal", state.terminal),
                ("editable", state.editable),
            )
            if on
        ]
        roles = ", ".join(role_label(r, lang) for r in state.roles) or "-"
        click.echo(f"  {state.name:<26} {state.label.in_lang(lang):<10} {roles:<14} {' '.join(marks)}")
    click.echo("transitions:" if lang == "en" else "操作:")
    for t in definition.transitions:
        guards = ", ".join(g.name for g in t.guards)
        dest = t.dest or "(" + ("no change" if lang == "en" else "状态不变") + ")"
        click.echo(
            f"  {t.trigger:<20} {'|'.join(t.sources)} -> {dest}  [{role_label(t.role, lang)}]"
            + (f"  {guards}" if guards else "")
        )


@definitions.command("diagram")
@click.argument("name")
@pass_shell
def definitions_diagram(shell: Shell, name: str) -> None:
    """Print a Mermaid stateDiagram-v2 of a definition."""
    with handled(shell):
        definition = _load_by_name(shell, name)
    click.echo(mermaid(definition, shell.lang))


# ---- calendar ------------------------------------------------------------------------------


@main.group()
def calendar() -> None:
    """China's working days with the office's overrides (definitions/calendar.yaml)."""


def _calendar(shell: Shell) -> WorkingCalendar:
    return load_calendar(shell.settings.definitions_dir)


@calendar.command("check")
@click.argument("year", type=int)
@pass_shell
def calendar_check(shell: Shell, year: int) -> None:
    """Does the calendar have official data for YEAR? Exit 1 when it does not."""
    with handled(shell):
        cal = _calendar(shell)
    if not cal.has_official_data(year):
        click.echo(shell.t("calendar.year_missing", year=year), err=True)
        sys.exit(1)
    days = [
        dt.date(year, 1, 1) + dt.timedelta(days=n) for n in range((dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days)
    ]
    notes = [cal.note(day) for day in days]
    click.echo(
        shell.t(
            "calendar.year_ok",
            year=year,
            working=sum(n.working for n in notes),
            holidays=sum(n.kind == "holiday" for n in notes),
            makeup=sum(n.kind == "makeup_workday" for n in notes),
            version=cal.data_version(),
        )
    )


@calendar.command("recompute")
@pass_shell
def calendar_recompute(shell: Shell) -> None:
    """Recompute open deadlines computed with other calendar data; one line per change."""
    with handled(shell):
        changes = shell.engine.recompute_deadlines()
    moved = [c for c in changes if c.old_due != c.new_due]
    for change in moved:
        click.echo(f"{change.reference} {change.kind}: {_iso(change.old_due)} -> {_iso(change.new_due)}")
    en = shell.lang == "en"
    click.echo(
        f"{len(changes)} open deadlines recomputed, {len(moved)} moved ({shell.engine.calendar_version})"
        if en
        else f"重新计算了 {len(changes)} 个未到期期限, 其中 {len(moved)} 个截止日期有变化 "
        f"({shell.engine.calendar_version})"
    )


@calendar.command("add-days")
@click.argument("start")
@click.argument("count", type=click.IntRange(min=0))
@click.option("--explain", is_flag=True, help="Show every day counted or skipped, and why.")
@pass_shell
def calendar_add_days(shell: Shell, start: str, count: int, explain: bool) -> None:
    """Print the date COUNT working days after START (START itself is not counted)."""
    with handled(shell):
        cal = _calendar(shell)
        counted = cal.count(_parse_date(start), count)
    if explain:
        for line in explain_count(counted, shell.lang):
            click.echo(line)
    if counted.missing_years:
        click.echo(shell.t("calendar.missing_warning", years=", ".join(map(str, counted.missing_years))), err=True)
    click.echo(counted.due.isoformat())


def explain_count(counted: WorkingDayCount, lang: str) -> list[str]:
    """One line a day: counted or skipped, and why."""
    en = lang == "en"
    kinds = {
        "weekday": ("工作日", "working day"),
        "weekend": ("周末", "weekend"),
        "holiday": ("法定节假日", "public holiday"),
        "makeup_workday": ("调休上班", "make-up working day"),
        "override_off": ("本办休息", "office day off"),
        "override_on": ("本办上班", "office working day"),
        "paused": ("暂停计算", "paused (not counted)"),
    }
    lines = [f"{counted.start.isoformat()}  " + ("start, not counted" if en else "起算日, 不计入")]
    number = 0
    for note in counted.days:
        kind = kinds[note.kind][1 if en else 0]
        name = holiday_label(note.name, lang) if note.kind in ("holiday", "makeup_workday") else (note.name or "")
        weekday = note.day.strftime("%a") if en else "一二三四五六日"[note.day.weekday()]
        if note.working:
            number += 1
            verdict = f"{'counted' if en else '计入'} {number}/{counted.count}"
        else:
            verdict = "skipped" if en else "跳过"
        extra = f" {name}" if name else ""
        unofficial = "" if note.official else (" (no official data)" if en else " (无官方数据)")
        lines.append(f"{note.day.isoformat()} {weekday}  {verdict:<12} {kind}{extra}{unofficial}")
    return lines


# ---- worker --------------------------------------------------------------------------------


@main.group()
def worker() -> None:
    """The background worker (run it with: python run_worker.py)."""


@worker.command("status")
@click.option("--json", "as_json", is_flag=True)
@pass_shell
def worker_status(shell: Shell, as_json: bool) -> None:
    """The last passes, and the messages pending and failed."""
    from workflow.worker import status

    with handled(shell):
        found = status(shell.engine)
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    en = shell.lang == "en"
    if not found["passes"]:
        click.echo("no worker pass yet" if en else "工作进程尚未运行过")
    for last in found["passes"]:
        report = last["report"] or {}
        click.echo(
            f"{last['at']}  {last['owner']}: "
            + ("reminders {reminders}, sent {sent}, retry {retried}, failed {failed}" if en
               else "提醒 {reminders}, 已发送 {sent}, 待重试 {retried}, 失败 {failed}").format(**{
                   k: report.get(k, 0) for k in ("reminders", "sent", "retried", "failed")})
        )  # fmt: skip
    click.echo(
        f"outbox: {found['pending']} pending, {found['failed']} failed" if en
         else f"发件箱: {found['pending']} 封待发送, {found['failed']} 封发送失败"
    )  # fmt: skip


# ---- demo ----------------------------------------------------------------------------------


@main.command()
@pass_shell
def demo(shell: Shell) -> None:
    """Set up a small demo office and walk one item through the whole chain."""
    from workflow.demo import run_demo

    with handled(shell):
        run_demo(shell.settings, click.echo)


main.add_command(outbox)


if __name__ == "__main__":
    main()


@main.command("web")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="server processes")
@pass_shell
def web(shell: Shell, host: str, port: int, workers: int) -> None:
    """The office web pages: inbox, items, action links from emails, audit log, outbox."""
    import uvicorn

    from notifications.settings import MailSettings
    from workflow.web.app import create_app

    with handled(shell):
        shell.settings.require_secret_key()
        mail = MailSettings.from_env()
        app = create_app(shell.settings, shell.engine, mail)  # checks everything before serving
    click.echo(f"gongkai web: http://{host}:{port}/ (links in emails use {mail.base_url})")
    if workers > 1:
        uvicorn.run("workflow.web.app:app_from_env", factory=True, host=host, port=port, workers=workers)
    else:
        uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)


@main.command("security-log")
@click.option("--event", help="only this event, e.g. action_link_reused, signin_throttled")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True)
@pass_shell
def security_log_command(shell: Shell, event: str | None, limit: int, as_json: bool) -> None:
    """The web pages' security log, newest first: refused links, sign-ins, throttled requests."""
    from sqlalchemy import select

    from workflow.web.security import security_log

    query = select(security_log).order_by(security_log.c.id.desc()).limit(limit)
    if event:
        query = query.where(security_log.c.event == event)
    with handled(shell), shell.engine.db.connect() as conn:
        rows = conn.execute(query).all()
    if as_json:
        click.echo(json.dumps(
            [{"id": r.id, "at": r.at.isoformat(), "event": r.event, "user": r.user_name, "client": r.client,
              "subject": r.subject, "detail": r.detail} for r in rows],
            ensure_ascii=False, indent=2,
        ))  # fmt: skip
        return
    zone = shell.engine.zone
    for r in rows:
        click.echo(
            f"{r.at.astimezone(zone):%Y-%m-%d %H:%M:%S}  {r.event:<24} {r.user_name or '-':<14} "
            f"{r.client or '-':<15} {r.subject or ''} {json.dumps(r.detail, ensure_ascii=False) if r.detail else ''}"
        )

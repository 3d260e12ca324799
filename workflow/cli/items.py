"""``gongkai item``: create, move, edit, assign and read items."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click

from workflow.cli.calendar import explain_count
from workflow.cli.shell import Shell, handled, iso, parse_date, pass_shell, state_label
from workflow.core.calendar import WorkingDayCount
from workflow.core.deadlines import ItemDeadline, count_with_pauses, current_due
from workflow.core.definition import Definition
from workflow.core.errors import InvalidInput
from workflow.core.loader import load_catalog
from workflow.core.names import Names
from workflow.core.publication import PublicItem
from workflow.core.roles import ROLES, role_label
from workflow.engine import ItemView
from workflow.store.db import reading
from workflow.store.people import name_entries


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


def _meta_given(current: dict[str, Any], doc_number: str | None, subjects: tuple[str, ...]) -> dict[str, Any]:
    """The item's metadata with the 文号 and 主题词 given on the command line (checked by the core)."""
    meta = dict(current)
    if doc_number is not None:
        meta["doc_number"] = doc_number
    if subjects:
        meta["subjects"] = list(subjects)
    return meta


@click.group()
def item() -> None:
    """Create, move and read items."""


@item.command("create")
@click.argument("definition")
@click.option("--title", required=True)
@click.option("--as", "actor", required=True, help="Who creates it.")
@click.option("--category", help="Catalogue code or name (公开目录).")
@click.option("--body-file", help="File with the body text; - for standard input.")
@click.option("--field", "fields", multiple=True, help="KEY=VALUE, repeatable.")
@click.option("--doc-number", help="Document number (文号).")
@click.option(
    "--subject",
    "subjects",
    multiple=True,
    help="Subject words (主题词): repeatable, or one text split on spaces, 、，and commas.",
)
@pass_shell
def item_create(
    shell: Shell,
    definition: str,
    title: str,
    actor: str,
    category: str | None,
    body_file: str | None,
    fields: tuple[str, ...],
    doc_number: str | None,
    subjects: tuple[str, ...],
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
            meta=_meta_given({}, doc_number, subjects),
        )
        definition_obj = shell.engine.registry.current(definition)
    click.echo(f"{view.reference} {view.title} [{state_label(definition_obj, view.state, shell.lang)}]")
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
    before = state_label(definition, result.from_state, shell.lang)
    after = state_label(definition, result.to_state, shell.lang)
    line = f"{result.row.reference}: {trigger} {before} -> {after} (#{result.audit_seq})"
    quorum = result.details.get("quorum")
    if quorum and result.from_state == result.to_state:
        line += f" [{quorum['votes']}/{quorum['needed']}]"
    if "late" in result.details:
        line += " " + shell.tr._("[late]")
    click.echo(line)


@item.command("edit")
@click.argument("item_ref", metavar="ID")
@click.option("--as", "actor", required=True)
@click.option("--body-file", required=True, help="File with the new body; - for standard input.")
@click.option("--title", help="A new title.")
@click.option("--doc-number", help="A new document number (文号); empty removes it.")
@click.option(
    "--subject", "subjects", multiple=True, help="New subject words (主题词), as on create; empty removes them."
)
@pass_shell
def item_edit(
    shell: Shell,
    item_ref: str,
    actor: str,
    body_file: str,
    title: str | None,
    doc_number: str | None,
    subjects: tuple[str, ...],
) -> None:
    """Replace the body (only in editable states); the 文号 and 主题词 when given, keeping the rest."""
    with handled(shell):
        meta = None
        if doc_number is not None or subjects:
            meta = _meta_given(shell.engine.show(item_ref).meta, doc_number, subjects)
        view = shell.engine.edit(item_ref, actor, body=_read_body(body_file), title=title, meta=meta)
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


def item_json(view: ItemView, definition: Definition, lang: str) -> dict[str, Any]:
    return {
        "id": view.id,
        "reference": view.reference,
        "definition": view.definition,
        "definition_version": view.definition_version,
        "state": view.state,
        "state_label": state_label(definition, view.state, lang),
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
        "doc_number": view.meta.get("doc_number", ""),
        "subjects": list(view.meta.get("subjects", [])),
        "attachments": list(view.meta.get("attachments") or []),
    }


@item.command("show")
@click.argument("item_ref", metavar="ID")
@click.option("--as", "viewer", help="List only the triggers this person may fire.")
@click.option("--json", "as_json", is_flag=True)
@pass_shell
def item_show(shell: Shell, item_ref: str, viewer: str | None, as_json: bool) -> None:
    with handled(shell):
        view = shell.engine.show(item_ref, viewer)
        with reading(shell.engine.db) as conn:
            definition = shell.engine.registry.pinned(conn, view.definition, view.definition_version)
            entries = name_entries(conn)
        _, deadlines = shell.engine.deadlines(view.id)
    names = Names(lambda: entries, shell.lang)
    data = item_json(view, definition, shell.lang)
    data["due_date"] = iso(current_due(deadlines))
    data["deadlines"] = [deadline_json(d, shell.engine.today()) for d in deadlines]
    index_number, published_at = shell.engine.publication(view.id)
    data["index_number"] = index_number
    data["published_at"] = published_at.isoformat() if published_at is not None else None
    data["public"] = public_json(shell.engine.public(view.id), shell.engine.zone)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    _ = shell.tr._
    rows = [
        (_("reference"), view.reference),
        (_("title"), view.title),
        (
            _("definition"),
            f"{definition.label.in_lang(shell.lang)} ({view.definition} {view.definition_version[:12]})",
        ),
        (_("state"), data["state_label"]),
        (_("category"), _category_text(shell, view.category)),
        (_("document number"), data["doc_number"] or "-"),
        (_("subject words"), "、".join(data["subjects"]) or "-"),
        (_("revision"), str(view.revision)),
        (_("content hash"), view.content_hash),
        (
            _("holders"),
            "; ".join(
                f"{role_label(r, shell.lang)}: {', '.join(map(names.label, n))}" for r, n in view.holders.items()
            ),
        ),
    ]
    rows += [
        (definition.fields[k].label.in_lang(shell.lang) if k in definition.fields else k, str(v))
        for k, v in view.fields.items()
    ]
    rows.append((_("may fire"), ", ".join(view.available_triggers) or "-"))
    rows.append((_("due"), data["due_date"] or "-"))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        click.echo(f"{label:<{width}}  {value}")
    if view.body:
        click.echo("")
        click.echo(view.body)


def public_json(public: PublicItem | None, zone: dt.tzinfo) -> dict[str, Any] | None:
    """What the public sees of the item: status, and its moments in office time; None before publication."""
    if public is None:
        return None

    def at(moment: dt.datetime | None) -> str | None:
        return moment.astimezone(zone).isoformat() if moment is not None else None

    return {
        "status": public.status, "first_published_at": at(public.first_published_at),
        "published_at": at(public.published_at), "revised_at": at(public.revised_at),
        "expires_at": at(public.expires_at), "status_at": at(public.status_at),
    }  # fmt: skip


def deadline_json(deadline: ItemDeadline, today: dt.date) -> dict[str, Any]:
    status = deadline.status
    return {
        "kind": deadline.policy.name,
        "label": {"zh": deadline.label_zh, "en": deadline.label_en},
        "status": status.status,
        "applies_now": deadline.applies_now,
        "start": iso(status.start),
        "due_date": iso(status.due),
        "working_days": status.working_days,
        "extension_days": status.extension_days,
        "paused_days": status.paused_days,
        "met": status.met,
        "met_on": iso(status.met_on),
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
                    "due_date": iso(current_due(deadlines)),
                    "deadlines": [deadline_json(d, today) for d in deadlines],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    tr = shell.tr
    for deadline in deadlines:
        status = deadline.status
        label = deadline.label(shell.lang)
        mark = "*" if deadline.applies_now else " "
        parts = [f"{mark} {label} ({deadline.policy.name}): {status.status}"]
        if status.due:
            parts.append(tr._("due %(date)s", date=status.due.isoformat()))
        if status.extension_days:
            parts.append(
                tr.ngettext(
                    "extended by %(num)s working day", "extended by %(num)s working days", status.extension_days
                )
            )
        if status.paused_days:
            parts.append(tr.ngettext("%(num)s working day paused", "%(num)s working days paused", status.paused_days))
        if status.overdue(today):
            parts.append(tr._("OVERDUE"))
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
        before = parse_date(due_before) if due_before else None
        views = shell.engine.list_items(
            state=state, definition=definition, viewer=viewer, overdue=overdue, due_before=before
        )
        with reading(shell.engine.db) as conn:
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
                        "due_date": iso(v.due_date),
                    }
                    for v in views
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    for v in views:
        label = state_label(definitions[(v.definition, v.definition_version)], v.state, shell.lang)
        click.echo(f"{v.id:>5}  {v.reference:<13} {label:<10} {iso(v.due_date) or '-':<10}  {v.title}")

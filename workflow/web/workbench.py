"""The workbench's forms: write a new item (``/items/new``, ``/items/new/{definition}``) and revise one
(``/items/{ref}/edit``).

Every rule is the core's: which definitions a person may create (:func:`creatable`), who may edit an
item when (:func:`editing_role`), and every problem of the input keyed by its field
(:func:`check_item_input`); the engine writes. This module only turns a posted form into that input,
and the problems back into the same form, each next to its field, with everything typed kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2 import TemplateNotFound
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from workflow.core.attachments import ATTACHMENTS, Upload
from workflow.core.authoring import CheckedInput, check_item_input, creatable, editing_role, frozen_fields
from workflow.core.decisions import ItemSnapshot, Person, field_moment
from workflow.core.definition import Catalog, Definition, FieldSpec
from workflow.core.errors import Conflict, GongkaiError, NotPermitted, TransitionNotAllowed, render_error
from workflow.core.messages import message
from workflow.core.uploads import check_upload
from workflow.store.hot import ItemRow
from workflow.web.files import FILE_FIELD as FILES_INPUT
from workflow.web.files import uploads_in
from workflow.web.shell import WebShell

FIELD_PREFIX = "field_"
"""A declared field's input is named ``field_<name>``; its problems are keyed ``field:<name>``."""
META_INPUTS = ("doc_number", "subjects")
INPUT_TYPES = {"date": "date", "datetime": "datetime-local", "choice": "select", "text": "text"}


@dataclass(frozen=True)
class ItemForm:
    """What was typed into an item's form, as text, keyed like the core's problems (``title``, ``category``,
    ``body``, ``doc_number``, ``subjects``, ``field:<name>``); a key is absent when its input was not on the form.

    The one place where a posted form becomes the engine's input: an ``attachments`` input joins here.
    """

    values: dict[str, str]

    @classmethod
    def posted(cls, form: FormData, definition: Definition) -> ItemForm:
        names = ["title", "category", "body", *META_INPUTS]
        values = {name: str(form[name]) for name in names if isinstance(form.get(name), str)}
        for name in definition.fields:
            given = form.get(FIELD_PREFIX + name)
            if isinstance(given, str):
                values[f"field:{name}"] = given
        return cls(values)

    @classmethod
    def of_item(cls, row: ItemRow, definition: Definition, zone: dt.tzinfo) -> ItemForm:
        """The item as it stands, as its form shows it (a datetime in office time, as the input takes it)."""
        values = {
            "title": row.title, "category": row.category or "", "body": row.body,
            "doc_number": str(row.meta.get("doc_number", "")), "subjects": " ".join(row.meta.get("subjects", [])),
        }  # fmt: skip
        for name, spec in definition.fields.items():
            value = row.fields.get(name)
            if value in (None, ""):
                continue
            if spec.type == "datetime":
                moment = field_moment(value, zone)
                value = moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if moment else ""
            values[f"field:{name}"] = str(value)
        return cls(values)

    def get(self, key: str) -> str:
        return self.values.get(key, "")

    @property
    def title(self) -> str:
        return self.get("title")

    @property
    def body(self) -> str:
        # Browsers send a textarea's line breaks as CRLF; the body keeps the office's plain newlines.
        return self.get("body").replace("\r\n", "\n")

    @property
    def category(self) -> str | None:
        """The category typed; None when the form has no category input."""
        return self.values.get("category")

    def fields(self) -> dict[str, str]:
        """The declared fields given a value; a field left empty is not given."""
        return {
            key.removeprefix("field:"): value
            for key, value in self.values.items()
            if key.startswith("field:") and value.strip()
        }

    def meta(self, current: Mapping[str, Any]) -> dict[str, Any]:
        """The item's metadata with the 文号 and 主题词 typed (kept as they are when not on the form);
        without its attachments, which change only by upload and removal (the engine keeps them)."""
        meta = {key: value for key, value in current.items() if key != ATTACHMENTS}
        for key in META_INPUTS:
            if key in self.values:
                meta[key] = self.values[key]
        return meta

    def check(
        self,
        definition: Definition,
        catalog: Catalog,
        today: dt.date,
        row: ItemRow | None = None,
        now: dt.datetime | None = None,
    ) -> CheckedInput:
        """Every problem of this input (for an edit: against the item as it stands)."""
        category = self.category
        if category is None and row is not None:
            category = row.category
        return check_item_input(
            definition, catalog, title=self.title, category=category, fields=self.fields(),
            meta=self.meta(row.meta if row is not None else {}), current=row.fields if row is not None else None,
            today=today, now=now,
        )  # fmt: skip


@dataclass
class Control:
    """One input of the form as the template draws it."""

    key: str
    name: str
    id: str
    label: str
    kind: str
    """text, textarea, select, date or datetime-local."""
    value: str = ""
    required: bool = False
    help: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""
    readonly: bool = False
    accept: str = ""
    """For a file input: the extensions offered."""


class Workbench:
    """The create and edit pages over the web application (its sign-in, pages and engine)."""

    def __init__(self, app: WebShell) -> None:
        self.app = app

    # ---- choosing what to create ---------------------------------------------------------------

    def offered(self, person: Person) -> list[Definition]:
        """The definitions ``person`` may create items of, as the core says."""
        registry = self.app.engine.registry
        return creatable([registry.current(name) for name in registry.names()], person)

    def choose(self, request: Request) -> Response:
        with self.app.read() as conn:
            person = self.app.signed_in(request, conn)
        lang = self.app.lang(request)
        offered = [(d.name, d.label.in_lang(lang)) for d in self.offered(person)]
        return self.app.page(request, "item_new.html", offered=offered)

    # ---- a new item ----------------------------------------------------------------------------

    def new_form(self, request: Request) -> Response:
        with self.app.read() as conn:
            person = self.app.signed_in(request, conn)
        definition = self._creatable(request, person)
        return self._form(request, definition, ItemForm({}), action=request.url.path)

    def create(self, request: Request, form: FormData) -> Response:
        with self.app.read() as conn:
            person = self.app.signed_in(request, conn)
        definition = self._creatable(request, person)
        typed = ItemForm.posted(form, definition)
        engine = self.app.engine
        checked = typed.check(
            definition, engine.registry.catalog(), engine.today(), now=engine.clock().astimezone(engine.zone)
        )
        uploads = uploads_in(form)
        checked.problems.update(self._upload_problems(uploads))
        if checked.problems:
            return self._form(request, definition, typed, action=request.url.path, checked=checked, status=400)
        try:
            view = self.app.engine.create(
                definition.name, title=typed.title, actor=person.name, category=typed.category, body=typed.body,
                fields=typed.fields(), meta=typed.meta({}), uploads=uploads,
            )  # fmt: skip
        except GongkaiError as refusal:
            status = 403 if isinstance(refusal, NotPermitted) else 422
            return self._form(
                request, definition, typed, action=request.url.path, status=status,
                refusal=render_error(refusal, self.app.lang(request)),
            )  # fmt: skip
        return RedirectResponse(f"/items/{view.reference}", status_code=303)

    def _creatable(self, request: Request, person: Person) -> Definition:
        """The definition of the path, if this person may create it; else a 404 or 403 page."""
        name = request.path_params["definition"]
        registry = self.app.engine.registry
        tr = self.app.tr(request)
        if name not in registry.names():
            raise self.app.stop(request, 404, tr._("No such page or item."))
        definition = registry.current(name)
        if not creatable([definition], person):
            self.app.log_security(request, "create_forbidden", user=person.name, subject=name)
            raise self.app.stop(
                request, 403, tr._("You may not create this kind of item."),
                message(
                    "refuse.create_role", self.app.lang(request), person=person.name,
                    role=definition.creator_role, definition=definition.label.in_lang(self.app.lang(request)),
                ),
            )  # fmt: skip
        return definition

    # ---- revising an item ----------------------------------------------------------------------

    def edit_form(self, request: Request) -> Response:
        row, definition, _person = self._editable(request)
        typed = ItemForm.of_item(row, definition, self.app.engine.zone)
        return self._form(request, definition, typed, action=request.url.path, row=row)

    def save_edit(self, request: Request, form: FormData) -> Response:
        row, definition, person = self._editable(request)
        typed = ItemForm.posted(form, definition)
        engine = self.app.engine
        checked = typed.check(
            definition, engine.registry.catalog(), engine.today(), row, now=engine.clock().astimezone(engine.zone)
        )
        uploads = uploads_in(form)
        checked.problems.update(self._upload_problems(uploads))
        version_text = str(form.get("version") or "")
        version = int(version_text) if version_text.isdigit() else row.version
        if checked.problems:
            return self._form(
                request, definition, typed, action=request.url.path, checked=checked, status=400, row=row,
                version=version,
            )  # fmt: skip
        try:
            self.app.engine.edit(
                row.id, person.name, body=typed.body, title=typed.title, meta=typed.meta(row.meta),
                category=typed.category, fields=typed.fields(), expected_version=version, uploads=uploads,
            )  # fmt: skip
        except Conflict:
            tr = self.app.tr(request)
            raise self.app.stop(
                request, 409, tr._("Someone else changed this item first"),
                tr._("Nothing was saved. Open the item again to see the change, then make yours."),
                item_link=f"/items/{row.reference}",
            ) from None  # fmt: skip
        except GongkaiError as refusal:
            status = 403 if isinstance(refusal, NotPermitted) else 422
            return self._form(
                request, definition, typed, action=request.url.path, status=status, row=row, version=version,
                refusal=render_error(refusal, self.app.lang(request)),
            )  # fmt: skip
        return RedirectResponse(f"/items/{row.reference}", status_code=303)

    def _upload_problems(self, uploads: Sequence[Upload]) -> dict[str, GongkaiError]:
        """The first refused file, keyed ``files`` (the core's check, as the engine will ask it)."""
        policy = self.app.engine.upload_policy
        for upload in uploads:
            try:
                check_upload(policy, upload.name, upload.content.seek(0, 2), upload.content)
            except GongkaiError as problem:
                return {FILES_INPUT: problem}
            finally:
                upload.content.seek(0)
        return {}

    def _editable(self, request: Request) -> tuple[ItemRow, Definition, Person]:
        """The item of the path, if this person may edit it now; else a 409 (state) or 403 (role) page."""
        with self.app.read() as conn:
            person = self.app.signed_in(request, conn)
            row, definition = self.app.visible_item(request, conn, person, request.path_params["ref"])
        try:
            editing_role(ItemSnapshot(definition, row.state, row.fields, row.holders, row.acted), person)
        except (TransitionNotAllowed, NotPermitted) as refusal:
            state = definition.states[row.state].label.in_lang(self.app.lang(request))
            tr = self.app.tr(request)
            if isinstance(refusal, TransitionNotAllowed):
                editable = [s.label.in_lang(self.app.lang(request)) for s in definition.states.values() if s.editable]
                text = tr._(
                    "%(reference)s is in “%(state)s”: it can be revised only in %(editable)s, so that what was"
                    " reviewed is what is signed off.", reference=row.reference, state=state,
                    editable="、".join(editable),
                )  # fmt: skip
                raise self.app.stop(
                    request, 409, tr._("This item cannot be revised now"), text, item_link=f"/items/{row.reference}"
                ) from None
            self.app.log_security(request, "edit_forbidden", user=person.name, subject=row.reference)
            raise self.app.stop(
                request, 403, tr._("You may not revise this item"),
                render_error(refusal, self.app.lang(request)), item_link=f"/items/{row.reference}",
            ) from None  # fmt: skip
        return row, definition, person

    # ---- the form ------------------------------------------------------------------------------

    def _form(
        self,
        request: Request,
        definition: Definition,
        typed: ItemForm,
        *,
        action: str,
        checked: CheckedInput | None = None,
        status: int = 200,
        row: ItemRow | None = None,
        version: int | None = None,
        refusal: str | None = None,
    ) -> Response:
        lang = self.app.lang(request)
        problems = checked.problems if checked is not None else {}
        controls = self._controls(request, definition, typed, problems, editing=row is not None)
        shown = [c for c in controls.values() if c.error]
        # A problem without an input of its own (none is expected) still reaches the summary.
        stray = [message(p.key, lang, **p.params) for key, p in problems.items() if key not in controls]
        template = f"item_form_{definition.name}.html"
        try:
            self.app.templates[lang].get_template(template)
        except TemplateNotFound:
            template = "item_form.html"
        return self.app.page(
            request, template, status=status, definition=definition, definition_label=definition.label.in_lang(lang),
            controls=controls, declared=[controls[f"field:{name}"] for name in definition.fields],
            problems=shown, stray=stray, refusal=refusal, action=action, item=row,
            version=version if version is not None else (row.version if row is not None else None),
        )  # fmt: skip

    def _controls(
        self,
        request: Request,
        definition: Definition,
        typed: ItemForm,
        problems: Mapping[str, GongkaiError],
        *,
        editing: bool,
    ) -> dict[str, Control]:
        lang = self.app.lang(request)
        tr = self.app.tr(request)
        catalog = self.app.engine.registry.catalog()
        controls = [
            Control("title", "title", "f-title", tr._("Title"), "text", required=True),
            Control(
                "category",
                "category",
                "f-category",
                tr._("Catalogue sub-directory"),
                "select",
                required=definition.requires_category,
                options=[(c.code, f"{c.code} {c.label.in_lang(lang)}") for c in catalog.categories],
            ),
            Control(
                "body",
                "body",
                "f-body",
                tr._("Body"),
                "textarea",
                help=tr._(
                    "Plain text; Markdown is allowed for light formatting: paragraphs (an empty line between them),"
                    " lists (lines starting with - or 1.) and tables (| column | column |)."
                ),
            ),
            Control(
                "doc_number",
                "doc_number",
                "f-doc-number",
                tr._("Document number (文号)"),
                "text",
                help=tr._("For example 荷政发〔2026〕12号; at most 100 characters."),
            ),
            Control(
                "subjects",
                "subjects",
                "f-subjects",
                tr._("Subject words (主题词)"),
                "text",
                help=tr._("Up to 10 words of at most 20 characters, separated by spaces, 、 or commas."),
            ),
        ]
        policy = self.app.engine.upload_policy
        controls.append(
            Control(
                FILES_INPUT, FILES_INPUT, "f-files", tr._("Attachments") if not editing else tr._("Add attachments"),
                "file", accept=",".join(f".{extension}" for extension in policy.types),
                help=tr._(
                    "At most %(limit)s MB each; allowed: %(types)s. After a problem, choose the files again.",
                    limit=policy.max_mb, types=policy.allowed(),
                ),
            )
        )  # fmt: skip
        frozen = frozen_fields(definition) if editing else frozenset()
        for name, spec in definition.fields.items():
            controls.append(self._field_control(spec, lang, name in frozen, tr._))
        by_key = {c.key: c for c in controls}
        labels = {c.key: c.label for c in controls}
        for control in controls:
            control.value = typed.get(control.key)
            problem = problems.get(control.key)
            if problem is not None:
                params = dict(problem.params)
                if "field" in params and control.key.startswith("field:"):
                    params["field"] = labels[control.key]
                control.error = message(problem.key, lang, **params)
        return by_key

    def _field_control(self, spec: FieldSpec, lang: str, frozen: bool, _: Any) -> Control:
        help_text = spec.help.in_lang(lang) if spec.help else ""
        if frozen:
            help_text = " ".join(filter(None, [help_text, _("Set when the item was created; it cannot be changed.")]))
        return Control(
            f"field:{spec.name}", FIELD_PREFIX + spec.name, f"f-field-{spec.name}", spec.label.in_lang(lang),
            INPUT_TYPES.get(spec.type, "text"), required=spec.required, help=help_text,
            options=[(c, spec.choice_label(c, lang)) for c in spec.choices], readonly=frozen,
        )  # fmt: skip

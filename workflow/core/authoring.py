"""The pure core of writing an item: may this person create it, or edit it now, and what is written?

Shaped like :func:`workflow.core.decisions.decide`: plain inputs in, a frozen decision out, or a
refusal naming the rule. No database, no clock.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from workflow.core.chain import content_hash, meaningful_meta
from workflow.core.decisions import (
    UNPUBLISH_AT,
    ItemSnapshot,
    Person,
    acting_principal,
    check_field,
    checks_expiry,
    expiry_refusal,
)
from workflow.core.definition import Catalog, Definition
from workflow.core.errors import GongkaiError, InvalidInput, NotPermitted, TransitionNotAllowed

CREATE_TRIGGER = "create"
EDIT_TRIGGER = "edit"
DOC_NUMBER_MAX = 100
"""文号: characters at most."""
SUBJECTS_MAX = 10
"""主题词: words at most."""
SUBJECT_MAX_CHARS = 20
"""主题词: characters per word at most."""
SUBJECT_SEPARATORS = re.compile(r"[\s、，,]+")
"""主题词 typed as one text are split on spaces (any, including the full-width one), 、，and commas."""
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")

Problems = dict[str, GongkaiError]


@dataclass(frozen=True)
class Creation:
    """A new item: its first state, text, fields and holders, and who created it in which role."""

    definition: Definition
    title: str
    body: str
    category: str | None
    fields: dict[str, Any]
    holders: dict[str, list[str]]
    content_hash: str
    principal: str
    role: str
    meta: dict[str, Any] = field(default_factory=dict)
    """文号 ``doc_number``, 主题词 ``subjects``, ``attachments``: covered by the content hash."""

    @property
    def state(self) -> str:
        return self.definition.initial


@dataclass(frozen=True)
class ItemText:
    """What an edit changes, as the item stands."""

    title: str
    body: str
    category: str | None
    content_hash: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Edit:
    """A new body (and perhaps title) in the same state; the audit row's details say what it replaced."""

    state: str
    title: str
    body: str
    content_hash: str
    principal: str
    role: str
    details: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    category: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    changed_fields: dict[str, Any] = field(default_factory=dict)
    """Declared fields this edit gave a new value (None: removed)."""


def frozen_fields(definition: Definition) -> frozenset[str]:
    """Fields a rule of the definition counts time from (a deadline's start, a late mark's date): set when the
    item is created and never changed by an edit, so no one moves a statutory clock by retyping a date."""
    starts = {spec.policy.start_field for spec in definition.deadlines if spec.policy.start_field}
    marks = {t.late_after.from_field for t in definition.transitions if t.late_after is not None}
    return frozenset(starts | marks)


def split_subjects(given: str | Iterable[str] | None) -> list[str]:
    """主题词 as a list of words: each piece split on spaces, 、，and commas, trimmed, the first of each kept."""
    pieces = [given] if isinstance(given, str) else list(given or ())
    words: list[str] = []
    for piece in pieces:
        for word in SUBJECT_SEPARATORS.split(str(piece)):
            if word and word not in words:
                words.append(word)
    return words


def check_doc_number(given: Any) -> str:
    """文号 trimmed; at most DOC_NUMBER_MAX characters and no control characters."""
    text = str(given or "").strip()
    if len(text) > DOC_NUMBER_MAX:
        raise InvalidInput("input.doc_number_too_long", length=len(text), maximum=DOC_NUMBER_MAX)
    if CONTROL_CHARACTERS.search(text):
        raise InvalidInput("input.doc_number_control")
    return text


def check_subjects(given: Any) -> list[str]:
    """主题词: at most SUBJECTS_MAX distinct words of at most SUBJECT_MAX_CHARS characters each."""
    words = split_subjects(given)
    for word in words:
        if CONTROL_CHARACTERS.search(word):
            raise InvalidInput("input.subject_control", word=word.encode("unicode_escape").decode("ascii"))
        if len(word) > SUBJECT_MAX_CHARS:
            raise InvalidInput("input.subject_too_long", word=word, maximum=SUBJECT_MAX_CHARS)
    if len(words) > SUBJECTS_MAX:
        raise InvalidInput("input.too_many_subjects", count=len(words), maximum=SUBJECTS_MAX)
    return words


def check_meta(given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The metadata checked and normalised; keys other than 文号 and 主题词 (attachments) pass unchanged."""
    problems: Problems = {}
    meta = _checked_meta(given, problems)
    _raise_first(problems)
    return meta


@dataclass(frozen=True)
class CheckedInput:
    """An item's input as checked: the values to write, and every problem keyed by the field it concerns.

    Keys: ``title``, ``category``, ``body``, ``doc_number``, ``subjects`` and ``field:<name>`` for a declared
    field (or an undeclared one given). Nothing may be written unless ``problems`` is empty.
    """

    title: str
    category: str | None
    fields: dict[str, Any]
    meta: dict[str, Any]
    problems: dict[str, GongkaiError]

    def raise_first(self) -> None:
        """Refuse with the first problem, as the engine reports to the command line (the missing required
        fields together, in one message)."""
        _raise_first(self.problems)


def check_item_input(
    definition: Definition,
    catalog: Catalog,
    *,
    title: str,
    category: str | None,
    fields: Mapping[str, Any],
    meta: Mapping[str, Any] | None = None,
    current: Mapping[str, Any] | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> CheckedInput:
    """Every problem with a new item's input, or with an edit's when ``current`` holds the item's fields.

    The one home of the input rules: the engine refuses with the first problem, a form shows them all.
    An edit gives the fields in full; a frozen field (:func:`frozen_fields`) is kept as it stands when not
    given, and refused when given a different value. With ``now`` (aware, office time), a 有效期至 given must
    be after it and after a scheduled publication (:func:`workflow.core.decisions.expiry_refusal`).
    """
    problems: Problems = {}
    title = title.strip()
    if not title:
        problems["title"] = InvalidInput("input.empty_title")
    code: str | None = None
    try:
        code = _category(definition, catalog, category)
    except GongkaiError as problem:
        problems["category"] = problem
    given = _checked_fields(definition, fields, current, problems)
    if today is not None:
        _refuse_future_starts(definition, given, today, problems)
    if now is not None:
        _refuse_expiry_out_of_order(definition, given, current, now, problems)
    checked_meta = _checked_meta(meta, problems)
    return CheckedInput(title, code, given, checked_meta, problems)


def creatable(definitions: Iterable[Definition], person: Person) -> list[Definition]:
    """The definitions ``person`` may create items of: in their own right or standing in for someone."""
    return [d for d in definitions if acting_principal(person, d.creator_role, {}) is not None]


def decide_create(
    definition: Definition,
    catalog: Catalog,
    person: Person,
    *,
    title: str,
    body: str,
    category: str | None,
    fields: dict[str, Any],
    meta: dict[str, Any] | None = None,
) -> Creation:
    """The input is checked first (what was wrong), then whether this person may create the item."""
    checked = check_item_input(definition, catalog, title=title, category=category, fields=fields, meta=meta)
    checked.raise_first()
    principal = acting_principal(person, definition.creator_role, {})
    if principal is None:
        raise NotPermitted(
            "refuse.create_role", person=person.name, role=definition.creator_role, definition=definition.name
        )
    title, code, given = checked.title, checked.category, checked.fields
    return Creation(
        definition=definition,
        title=title,
        body=body,
        category=code,
        fields=given,
        holders={definition.creator_role: [principal]} if definition.assign_creator else {},
        content_hash=content_hash(title, body, code, given, checked.meta),
        principal=principal,
        role=definition.creator_role,
        meta=meaningful_meta(checked.meta),
    )


def editing_role(snapshot: ItemSnapshot, person: Person) -> tuple[str, str]:
    """The role and principal in which ``person`` may edit the item now; refused when the state is not
    editable (a rule of the definition) or the person acts in none of its roles."""
    definition = snapshot.definition
    state = definition.states[snapshot.state]
    if not state.editable:
        editable = [name for name, spec in definition.states.items() if spec.editable]
        raise TransitionNotAllowed("refuse.not_editable", state=snapshot.state, editable=", ".join(editable))
    acting = next(
        ((role, p) for role in state.roles if (p := acting_principal(person, role, snapshot.holders)) is not None),
        None,
    )
    if acting is None:
        raise NotPermitted("refuse.edit_role", person=person.name, roles=", ".join(state.roles))
    return acting


def may_edit(snapshot: ItemSnapshot, person: Person) -> bool:
    """Whether :func:`editing_role` lets ``person`` edit the item now (a page offers the edit form)."""
    try:
        editing_role(snapshot, person)
    except (TransitionNotAllowed, NotPermitted):
        return False
    return True


def decide_edit(
    snapshot: ItemSnapshot,
    text: ItemText,
    person: Person,
    *,
    body: str,
    title: str | None,
    meta: dict[str, Any] | None = None,
    catalog: Catalog | None = None,
    category: str | None = None,
    fields: Mapping[str, Any] | None = None,
) -> Edit:
    """Only in an editable state, by someone acting in one of the state's roles on this item.

    ``meta`` None keeps the item's metadata; a mapping replaces it. ``category`` None keeps the item's
    (a text, even empty, is checked against ``catalog``); ``fields`` None keeps the item's fields, a
    mapping gives them in full, checked as a new item's are (frozen fields kept).
    """
    definition = snapshot.definition
    role, principal = editing_role(snapshot, person)
    new_title = title.strip() if title and title.strip() else text.title
    checked = check_item_input(
        definition,
        catalog or Catalog(()),
        title=new_title,
        category=None,
        fields={} if fields is None else fields,
        meta=meta,
        current=snapshot.fields,
    )
    # The category is checked below, only when given; the fields only when given.
    problems = {
        key: problem
        for key, problem in checked.problems.items()
        if key != "category" and (fields is not None or not key.startswith("field:"))
    }
    _raise_first(problems)
    new_category = text.category
    if category is not None:
        if catalog is None:
            raise AssertionError("a category is checked against the catalogue")
        new_category = _category(definition, catalog, category)
    new_fields = dict(snapshot.fields) if fields is None else checked.fields
    new_meta = text.meta if meta is None else meaningful_meta(checked.meta)
    details: dict[str, Any] = {"previous_content_hash": text.content_hash}
    if new_title != text.title:
        details["title"] = new_title
    if new_category != text.category:
        details["category"] = new_category
    if new_meta != text.meta:
        details["meta"] = new_meta
    changed = {name: value for name, value in new_fields.items() if snapshot.fields.get(name) != value}
    changed.update({name: None for name in snapshot.fields if name not in new_fields})
    return Edit(
        state=snapshot.state,
        title=new_title,
        body=body,
        content_hash=content_hash(new_title, body, new_category, new_fields, new_meta),
        principal=principal,
        role=role,
        details=details,
        meta=new_meta,
        category=new_category,
        fields=new_fields,
        changed_fields=changed,
    )


def _refuse_future_starts(definition: Definition, given: Mapping[str, Any], today: dt.date, problems: Problems) -> None:
    """A date a deadline or late mark counts from (the day an application was received) cannot be after
    ``today``: a clock that starts on a day not yet come would promise more time than the law gives."""
    for name in frozen_fields(definition):
        value = given.get(name)
        if definition.fields[name].type == "date" and value and dt.date.fromisoformat(str(value)) > today:
            problems[f"field:{name}"] = InvalidInput(
                "input.field_in_future", field=name, value=value, today=today.isoformat()
            )


def _refuse_expiry_out_of_order(
    definition: Definition,
    given: Mapping[str, Any],
    current: Mapping[str, Any] | None,
    now: dt.datetime,
    problems: Problems,
) -> None:
    """有效期至 typed on the form must be after now and the scheduled publication (the fire's own rule, asked
    early so the form shows it beside the field); a value kept as it stands is left to the sign-off."""
    changed = [name for name, value in given.items() if (current or {}).get(name) != value]
    if checks_expiry(definition, definition.initial, definition.initial, changed):
        refusal = expiry_refusal(definition, given, now)
        if refusal is not None and f"field:{UNPUBLISH_AT}" not in problems:
            problems[f"field:{UNPUBLISH_AT}"] = refusal


def _checked_fields(
    definition: Definition, fields: Mapping[str, Any], current: Mapping[str, Any] | None, problems: Problems
) -> dict[str, Any]:
    frozen = frozen_fields(definition) if current is not None else frozenset()
    given: dict[str, Any] = {}
    for name, raw in fields.items():
        key = f"field:{name}"
        try:
            given[name] = check_field(definition, name, raw)
        except GongkaiError as problem:
            problems[key] = problem
            continue
        if current is not None and name in frozen and given[name] != current.get(name):
            problems[key] = InvalidInput("input.field_frozen", field=name)
    if current is not None:
        for name in sorted(frozen):
            if name not in fields and name in current:
                given[name] = current[name]
    for name, spec in definition.fields.items():
        if spec.required and name not in given and f"field:{name}" not in problems:
            problems[f"field:{name}"] = TransitionNotAllowed("refuse.field_missing", field=name)
    return given


def _checked_meta(given: Mapping[str, Any] | None, problems: Problems) -> dict[str, Any]:
    meta = dict(given or {})
    for key, check in (("doc_number", check_doc_number), ("subjects", check_subjects)):
        if key not in meta:
            continue
        try:
            meta[key] = check(meta[key])
        except GongkaiError as problem:
            problems[key] = problem
    return meta


def _raise_first(problems: Mapping[str, GongkaiError]) -> None:
    if not problems:
        return
    first = next(iter(problems.values()))
    if first.key == "refuse.field_missing":
        missing = [p.params["field"] for p in problems.values() if p.key == "refuse.field_missing"]
        raise TransitionNotAllowed("refuse.fields_missing", fields=", ".join(missing))
    raise first


def _category(definition: Definition, catalog: Catalog, category: str | None) -> str | None:
    if category is None or not category.strip():
        if definition.requires_category:
            raise InvalidInput("input.category_required", definition=definition.name, allowed=_category_list(catalog))
        return None
    found = catalog.find(category)
    if found is None:
        raise InvalidInput("input.unknown_category", category=category, allowed=_category_list(catalog))
    return found.code


def _category_list(catalog: Catalog) -> str:
    return ", ".join(f"{c.code} {c.label.zh}" for c in catalog.categories)

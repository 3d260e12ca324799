"""The pure core of writing an item: may this person create it, or edit it now, and what is written?

Shaped like :func:`workflow.core.decisions.decide`: plain inputs in, a frozen decision out, or a
refusal naming the rule. No database, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workflow.core.chain import content_hash, meaningful_meta
from workflow.core.decisions import ItemSnapshot, Person, acting_principal, check_given_fields
from workflow.core.definition import Catalog, Definition
from workflow.core.errors import InvalidInput, NotPermitted, TransitionNotAllowed

CREATE_TRIGGER = "create"
EDIT_TRIGGER = "edit"


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


def check_new_item(
    definition: Definition, catalog: Catalog, *, title: str, body: str, category: str | None, fields: dict[str, Any]
) -> tuple[str, str | None, dict[str, Any]]:
    """The title, category code and fields of a new item as given, checked; refused with what was wrong."""
    title = title.strip()
    if not title:
        raise InvalidInput("input.empty_title")
    code = _category(definition, catalog, category)
    given = check_given_fields(definition, fields)
    missing = [name for name, spec in definition.fields.items() if spec.required and name not in given]
    if missing:
        raise TransitionNotAllowed("refuse.fields_missing", fields=", ".join(missing))
    return title, code, given


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
    title, code, given = check_new_item(definition, catalog, title=title, body=body, category=category, fields=fields)
    principal = acting_principal(person, definition.creator_role, {})
    if principal is None:
        raise NotPermitted(
            "refuse.create_role", person=person.name, role=definition.creator_role, definition=definition.name
        )
    return Creation(
        definition=definition,
        title=title,
        body=body,
        category=code,
        fields=given,
        holders={definition.creator_role: [principal]} if definition.assign_creator else {},
        content_hash=content_hash(title, body, code, given, meta),
        principal=principal,
        role=definition.creator_role,
        meta=meaningful_meta(meta),
    )


def decide_edit(
    snapshot: ItemSnapshot,
    text: ItemText,
    person: Person,
    *,
    body: str,
    title: str | None,
    meta: dict[str, Any] | None = None,
) -> Edit:
    """Only in an editable state, by someone acting in one of the state's roles on this item.

    ``meta`` None keeps the item's metadata; a mapping replaces it.
    """
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
    role, principal = acting
    new_title = title.strip() if title and title.strip() else text.title
    new_meta = text.meta if meta is None else meaningful_meta(meta)
    details: dict[str, Any] = {"previous_content_hash": text.content_hash}
    if new_title != text.title:
        details["title"] = new_title
    if new_meta != text.meta:
        details["meta"] = new_meta
    return Edit(
        state=snapshot.state,
        title=new_title,
        body=body,
        content_hash=content_hash(new_title, body, text.category, snapshot.fields, new_meta),
        principal=principal,
        role=role,
        details=details,
        meta=new_meta,
    )


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

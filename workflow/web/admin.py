"""The administrator's pages: the people of the office (add, name, roles, deactivate, substitutes, digests)
and the security log.

Only people with the ``admin`` role see them; anyone else gets the 403 page and a security log row,
as for every page they may not see. Every change goes through the engine's people methods with the
signed-in administrator as ``by``, so it is decided by the core and written with its audit row; a
refusal is shown next to the field it is about, with what was typed, and nothing is changed. A change
that was made redirects (POST, redirect, GET) to the person's page with a confirmation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from workflow.core.decisions import Person
from workflow.core.errors import GongkaiError, InvalidInput
from workflow.core.i18n import N_
from workflow.core.roles import ROLES
from workflow.store.people import DelegationInfo, UserInfo, list_delegations, list_users
from workflow.web.access import ADMIN_ROLES
from workflow.web.security import SECURITY_EVENTS, SecurityFilter, security_events
from workflow.web.shell import WebShell

PAGE_SIZE = 50
"""Rows of the security log a page shows."""

DONE = {
    "added": N_("%(name)s was added."),
    "display_name": N_("The display name of %(name)s was saved."),
    "roles": N_("The roles of %(name)s were saved."),
    "deactivated": N_("%(name)s was deactivated; their history stays."),
    "activated": N_("%(name)s may act again."),
    "digest": N_("The email choice of %(name)s was saved."),
    "delegate": N_("The substitute of %(name)s was set."),
}
"""The confirmation shown after each change (``?done=``), in the reader's language."""

FIELD_OF_ERROR = {
    "input.bad_user_name": "name",
    "input.reserved_user_name": "name",
    "input.user_exists": "name",
    "input.bad_email": "email",
    "input.email_taken": "email",
    "input.display_name_empty": "display_name",
    "input.display_name_long": "display_name",
    "input.display_name_control": "display_name",
    "input.display_name_unchanged": "display_name",
    "input.no_roles": "roles",
    "input.unknown_role": "roles",
    "input.delegate_self": "substitute",
    "input.inactive_person": "substitute",
    "notfound.user": "substitute",
    "input.delegate_period": "ends_on",
}
"""The field a refusal of the core is about, where a form has several; else the form's own field."""


ADD_FIELDS = ("name", "display_name", "email", "roles")
"""The fields of the form that adds a person; a refusal about none of them is shown at the first."""


def field_of(refusal: GongkaiError, fields: tuple[str, ...]) -> str:
    """The field of a form a refusal is shown next to: the one it is about, else the form's first."""
    field = FIELD_OF_ERROR.get(refusal.key, fields[0])
    return field if field in fields else fields[0]


@dataclasses.dataclass(frozen=True)
class Change:
    """One form of a person's page: its fields (refusals are shown next to one of them) and what it does."""

    fields: tuple[str, ...]
    apply: Callable[[WebShell, UserInfo, FormData, str], str]
    """Makes the change through the engine (``by`` the administrator); the ``done`` key of its confirmation."""


def _set_display_name(web: WebShell, person: UserInfo, form: FormData, by: str) -> str:
    web.engine.set_display_name(person.name, _text(form, "display_name"), by=by)
    return "display_name"


def _set_roles(web: WebShell, person: UserInfo, form: FormData, by: str) -> str:
    """The ticked roles against those held: what to grant, what to remove. The core decides whether it may."""
    ticked = [str(role) for role in form.getlist("roles")]
    held = set(person.roles)
    grant = [role for role in ticked if role not in held]
    remove = [role for role in person.roles if role not in ticked]
    if not grant and not remove:
        remove = [role for role in ROLES if role not in ticked]  # asks for no change: the core says so
    web.engine.change_roles(person.name, grant=grant, remove=remove, by=by)
    return "roles"


def _set_active(web: WebShell, person: UserInfo, form: FormData, by: str) -> str:
    active = _text(form, "active") == "1"
    web.engine.set_active(person.name, active, by=by)
    return "activated" if active else "deactivated"


def _set_digest(web: WebShell, person: UserInfo, form: FormData, by: str) -> str:
    web.engine.set_digest(person.name, _text(form, "digest") == "1", by=by)
    return "digest"


def _delegate(web: WebShell, person: UserInfo, form: FormData, by: str) -> str:
    starts_on = _date(form, "starts_on")
    ends_on = _date(form, "ends_on")
    web.engine.delegate(person.name, _text(form, "substitute"), starts_on, ends_on, by=by)
    return "delegate"


CHANGES: Mapping[str, Change] = {
    "display-name": Change(("display_name",), _set_display_name),
    "roles": Change(("roles",), _set_roles),
    "active": Change(("active",), _set_active),
    "digest": Change(("digest",), _set_digest),
    "delegate": Change(("substitute", "starts_on", "ends_on"), _delegate),
}
"""The forms of a person's page, by the last part of the address they post to."""


class FieldRefusal(Exception):
    """A value of a form that cannot be read (a date), with its field."""

    def __init__(self, field: str, error: GongkaiError) -> None:
        super().__init__(field, error)
        self.field = field
        self.error = error


class AdminPages:
    """``/admin/people``, ``/admin/people/{id}`` and ``/admin/security``: handlers over the web application."""

    def __init__(self, web: WebShell) -> None:
        self.web = web

    def _administrator(self, request: Request, conn: Connection) -> Person:
        person = self.web.signed_in(request, conn)
        self.web.require(request, person, ADMIN_ROLES)
        return person

    # ---- people --------------------------------------------------------------------------------

    def people_page(self, request: Request) -> Response:
        return self._people(request)

    def _people(
        self, request: Request, status: int = 200, errors: dict[str, str] | None = None,
        typed: Mapping[str, Any] | None = None,
    ) -> Response:  # fmt: skip
        people, delegations = self._office(request)
        substitutes = _current_delegations(delegations, self.web.engine.today())
        return self.web.page(
            request, "admin_people.html", status=status, people=people, roles=ROLES, errors=errors or {},
            typed=typed or {}, substitutes=substitutes,
        )  # fmt: skip

    def _office(self, request: Request) -> tuple[list[UserInfo], list[DelegationInfo]]:
        """Everyone and every delegation, for an administrator (anyone else: refused)."""
        with self.web.read() as conn:
            self._administrator(request, conn)
            return list_users(conn), list_delegations(conn)

    def add_person(self, request: Request, form: FormData) -> Response:
        with self.web.read() as conn:
            admin = self._administrator(request, conn)
        name, display_name, email = _text(form, "name"), _text(form, "display_name"), _text(form, "email")
        roles = [str(role) for role in form.getlist("roles")]
        typed = {"name": name, "display_name": display_name, "email": email, "roles": roles}
        try:
            self.web.engine.add_person(name, email=email, roles=roles, by=admin.name, display_name=display_name or None)
        except GongkaiError as refusal:
            errors = {field_of(refusal, ADD_FIELDS): refusal.render(self.web.lang(request))}
            return self._people(request, status=422, errors=errors, typed=typed)
        with self.web.read() as conn:
            added = next(p for p in list_users(conn) if p.name == name)
        return self._done(added, "added")

    def person_page(self, request: Request) -> Response:
        return self._person(request, int(request.path_params["id"]))

    def _person(
        self, request: Request, person_id: int, status: int = 200, errors: dict[str, str] | None = None,
        typed: Mapping[str, Any] | None = None,
    ) -> Response:  # fmt: skip
        today = self.web.engine.today()
        people, delegations = self._office(request)
        person = _by_id(people, person_id)
        return self.web.page(
            request, "admin_person.html", status=status, person=person, roles=ROLES, errors=errors or {},
            typed=typed or {}, notice=self._notice(request, person) if status == 200 else None,
            others=[p for p in people if p.active and p.id != person.id],
            delegations=[d for d in delegations if d.principal == person.name and d.ends_on >= today],
        )  # fmt: skip

    def change_person(self, request: Request, form: FormData) -> Response:
        change = CHANGES.get(str(request.path_params["change"]))
        if change is None:
            raise HTTPException(404)
        person_id = int(request.path_params["id"])
        with self.web.read() as conn:
            admin = self._administrator(request, conn)
            person = _by_id(list_users(conn), person_id)
        try:
            done = change.apply(self.web, person, form, admin.name)
        except FieldRefusal as refused:  # a value the page could not read (a date)
            field, error = refused.field, refused.error
        except GongkaiError as refusal:
            field, error = field_of(refusal, change.fields), refusal
        else:
            return self._done(person, done)
        typed = {key: form.getlist(key) if key == "roles" else _text(form, key) for key in form if key != "csrf"}
        return self._person(
            request, person_id, status=422, errors={field: error.render(self.web.lang(request))},
            typed={"form": change.fields[0], **typed},
        )  # fmt: skip

    def _done(self, person: UserInfo, done: str) -> Response:
        return RedirectResponse(f"/admin/people/{person.id}?{urlencode({'done': done})}", status_code=303)

    def _notice(self, request: Request, person: UserInfo) -> str | None:
        """The confirmation of the change just made to ``person`` (``?done=``)."""
        done = request.query_params.get("done")
        if done not in DONE:
            return None
        return self.web.tr(request)._(DONE[done], name=self.web.names(request).label(person.name))

    # ---- the security log ----------------------------------------------------------------------

    def security_page(self, request: Request) -> Response:
        params = request.query_params
        page_text = params.get("page") or "1"
        page = max(int(page_text), 1) if page_text.isdigit() else 1
        user = (params.get("user") or "").strip()
        wanted = SecurityFilter(event=params.get("event") or None, user=user or None)
        with self.web.read() as conn:
            self._administrator(request, conn)
            if wanted.user:
                wanted = dataclasses.replace(wanted, user=self.web.names(request).login_name(wanted.user))
            rows, recorded = security_events(conn, wanted, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1)
        tr = self.web.tr(request)
        # Every event the log may hold, by its label; events of other parts of the system by their code.
        events = {event: tr._(label) for event, label in SECURITY_EVENTS.items()}
        events.update({event: event for event in recorded if event not in events})

        def link(to_page: int) -> str:
            query = {k: v for k, v in (("event", wanted.event), ("user", user), ("page", str(to_page))) if v}
            return f"/admin/security?{urlencode(query)}"

        return self.web.page(
            request, "admin_security.html", rows=rows[:PAGE_SIZE], events=events, wanted=wanted, typed_user=user,
            page_number=page, first_entry=(page - 1) * PAGE_SIZE + 1, newer=link(page - 1) if page > 1 else None,
            older=link(page + 1) if len(rows) > PAGE_SIZE else None,
        )  # fmt: skip


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _date(form: FormData, key: str) -> dt.date:
    text = _text(form, key)
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise FieldRefusal(key, InvalidInput("input.bad_date", value=text)) from None


def _by_id(people: list[UserInfo], person_id: int) -> UserInfo:
    for person in people:
        if person.id == person_id:
            return person
    raise HTTPException(404)


def _current_delegations(delegations: list[DelegationInfo], today: dt.date) -> dict[str, list[DelegationInfo]]:
    """Each principal's substitutes from today on (current and planned), by principal."""
    found: dict[str, list[DelegationInfo]] = {}
    for delegation in delegations:
        if delegation.ends_on >= today:
            found.setdefault(delegation.principal, []).append(delegation)
    return found

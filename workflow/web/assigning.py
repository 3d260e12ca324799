"""Handing a role on one item to one person, from the item page (``POST /items/{ref}/assign``).

Whoever the definition's ``assigned_by`` allows sees, for each role of the item, a choice of only the
people who may take it: active, holding the role, and not barred by separation of duties, as the core
says (:func:`workflow.core.assignment.eligible_assignees`, the same rule as ``decide_assign``). The POST
goes to ``WorkflowEngine.assign``; a refusal (a forged form naming the drafter as reviewer) is shown
next to that role's choice and changes nothing; success redirects to the item page, which confirms it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from workflow.core.assignment import assignable_roles, eligible_assignees
from workflow.core.decisions import ItemSnapshot, Person
from workflow.core.definition import Definition
from workflow.core.errors import GongkaiError, render_error
from workflow.core.names import person_label
from workflow.core.roles import role_label
from workflow.store.hot import ItemRow
from workflow.web import queries
from workflow.web.shell import WebShell


@dataclass(frozen=True)
class RoleChoice:
    """One role of the item: who holds it now, and (for someone who may assign) whom it may go to."""

    role: str
    label: str
    holders: list[str]
    """Shown names of the people it is assigned to; empty: open to everyone holding the role."""
    options: list[tuple[str, str]]
    """(login name, shown name) of the people it may be handed to; empty when this reader may not assign."""
    error: str | None = None


class Assigning:
    def __init__(self, web: WebShell) -> None:
        self.web = web

    def choices(
        self, conn: Connection, row: ItemRow, definition: Definition, person: Person, lang: str,
        error: tuple[str, str] | None = None,
    ) -> list[RoleChoice]:  # fmt: skip
        """Every role of the item with its holders; with the eligible people when ``person`` may assign.
        ``error`` is (role, message) of a refused assignment, shown beside that role's choice."""
        snapshot = ItemSnapshot(definition, row.state, row.fields, row.holders, row.acted)
        may_assign = set(assignable_roles(snapshot, person))
        roles = sorted(set(definition_roles_with_holders(definition, row)) | may_assign)
        people = queries.people_holding(conn, roles)
        display = {p.name: display_name for p, display_name in people}

        def shown(name: str) -> str:
            return person_label(name, display.get(name), lang)

        found = []
        for role in roles:
            eligible: list[str] = []
            if role in may_assign:
                eligible = eligible_assignees(snapshot, role, [p for p, _ in people if role in p.roles], person)
            found.append(
                RoleChoice(
                    role, role_label(role, lang), [shown(n) for n in row.holders.get(role, [])],
                    [(n, shown(n)) for n in eligible], error[1] if error and error[0] == role else None,
                )
            )  # fmt: skip
        return found

    def assign(self, request: Request, form: FormData) -> Response:
        web = self.web
        role = str(form.get("role") or "")
        assignee = str(form.get("assignee") or "")
        with web.read() as conn:
            person = web.signed_in(request, conn)
            row, _definition = web.visible_item(request, conn, person, request.path_params["ref"])
        try:
            web.engine.assign(row.id, role, assignee, person.name)
        except GongkaiError as refusal:
            return web.item_page(request, status=422, assignment_error=(role, render_error(refusal, web.lang(request))))
        return RedirectResponse(f"/items/{row.reference}?assigned={role}", status_code=303)


def definition_roles_with_holders(definition: Definition, row: ItemRow) -> list[str]:
    """The roles someone is assigned to on the item now."""
    return [role for role, names in row.holders.items() if names]

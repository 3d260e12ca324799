"""What the page modules (``inbox``, ``assigning``, ``workbench``, ``files``, ``admin``) use of the web
application, typed as one protocol: they never import ``workflow.web.app``, which imports them to
register their routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from jinja2 import Environment
from sqlalchemy import Connection
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from workflow.core.decisions import Person
from workflow.core.definition import Definition, Transition
from workflow.core.i18n import Translator
from workflow.core.names import Names
from workflow.engine import WorkflowEngine
from workflow.store.hot import ItemRow
from workflow.tokens import ActionClaim

FormHandler = Callable[[Request, FormData], Response]
"""A POST handler: run in a thread pool once its CSRF token was checked (``WebApp.posted``)."""


class WebShell(Protocol):
    engine: WorkflowEngine
    templates: dict[str, Environment]

    def lang(self, request: Request) -> str: ...
    def tr(self, request: Request) -> Translator: ...
    def names(self, request: Request) -> Names: ...
    def read(self) -> Connection: ...
    def signed_in(self, request: Request, conn: Connection) -> Person: ...
    def require(self, request: Request, person: Person, roles: frozenset[str]) -> None: ...
    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse: ...
    def stop(self, request: Request, status: int, title: str, message: str = "", **context: Any) -> Exception: ...
    def log_security(
        self, request: Request, event: str, *, user: str | None = None, subject: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None: ...  # fmt: skip
    def item_page(
        self, request: Request, status: int = 200, assignment_error: tuple[str, str] | None = None
    ) -> Response: ...
    def visible_item(
        self, request: Request, conn: Connection, person: Person, ref: str
    ) -> tuple[ItemRow, Definition]: ...
    def with_checked_form(self, handler: FormHandler, request: Request, form: FormData) -> Response: ...
    def action_claim(self, request: Request, token: str) -> ActionClaim: ...
    def action_context(
        self, request: Request, conn: Connection, claim: ActionClaim
    ) -> tuple[ItemRow, Definition, Person, Transition]: ...

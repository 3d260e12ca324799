"""What the page modules (``inbox``, ``assigning``) use of the web application: typed as a protocol, so
they never import ``workflow.web.app``, which imports them to register their routes."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from workflow.core.decisions import Person
from workflow.core.definition import Definition
from workflow.core.i18n import Translator
from workflow.engine import WorkflowEngine
from workflow.store.hot import ItemRow


class WebShell(Protocol):
    engine: WorkflowEngine

    def lang(self, request: Request) -> str: ...

    def tr(self, request: Request) -> Translator: ...

    def read(self) -> Connection: ...

    def signed_in(self, request: Request, conn: Connection) -> Person: ...

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse: ...

    def item_page(
        self, request: Request, status: int = 200, assignment_error: tuple[str, str] | None = None
    ) -> Response: ...

    def _visible_item(
        self, request: Request, conn: Connection, person: Person, ref: str
    ) -> tuple[ItemRow, Definition]: ...

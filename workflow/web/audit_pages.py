"""The audit log for auditors (``GET /audit``) and its CSV download (``GET /audit.csv``).

The filters are those of ``gongkai audit log`` (item, person, role, action, state, dates), read by the
same query (:mod:`workflow.store.audit_query`). A bad value is named beside its field and nothing is
listed; the download streams the whole selection a page at a time (UTF-8 with BOM), newest first.
"""

from __future__ import annotations

from collections.abc import Iterator

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from workflow.core.messages import message
from workflow.core.roles import ROLES, role_label
from workflow.store import audit_query
from workflow.store.audit_query import AuditQuery
from workflow.web.access import AUDIT_ROLES
from workflow.web.shell import WebShell

SHOWN = 500
"""Rows the page shows (the newest); the download has them all."""

FIELDS = {"item": "item", "person": "person", "role": "role", "trigger": "trigger", "state": "state",
          "since": "from", "until": "to"}  # fmt: skip
"""The form's field names and the query's filter names (the form keeps its ``since``/``until``)."""


class AuditPages:
    def __init__(self, web: WebShell) -> None:
        self.web = web

    def _wanted(self, request: Request) -> tuple[dict[str, str], AuditQuery, dict[str, str]]:
        """What was typed (kept for the form), the query, and an error per field."""
        params = request.query_params
        typed = {field: (params.get(field) or "").strip() for field in FIELDS}
        raw: dict[str, str | None] = {option: typed[field] or None for field, option in FIELDS.items()}
        if typed["person"]:  # a person is found by login name or by display name (张伟)
            raw["person"] = self.web.names(request).login_name(typed["person"])
        with self.web.read() as conn:
            wanted, problems = audit_query.parse_filters(
                conn, raw, audit_query.declared_names(self.web.engine.registry)
            )
        lang = self.web.lang(request)
        tr = self.web.tr(request)
        labels = {"item": tr._("Item"), "person": tr._("Person"), "role": tr._("Role"), "trigger": tr._("Action"),
                  "state": tr._("Step"), "from": tr._("From"), "to": tr._("Until")}  # fmt: skip
        by_option = {option: field for field, option in FIELDS.items()}
        errors = {by_option[p.option]: message(p.key, lang, option=labels[p.option], **p.params) for p in problems}
        return typed, wanted, errors

    def page(self, request: Request) -> Response:
        web = self.web
        with web.read() as conn:
            web.require(request, web.signed_in(request, conn), AUDIT_ROLES)
        typed, wanted, errors = self._wanted(request)
        rows = []
        if not errors:
            with web.read() as conn:
                rows = audit_query.page(conn, wanted, web.engine.zone, limit=SHOWN, newest_first=True)
        lang = web.lang(request)
        roles = [(role, role_label(role, lang)) for role in ROLES]
        return web.page(
            request, "audit.html", status=400 if errors else 200, rows=rows, typed=typed, errors=errors,
            roles=roles, query=request.url.query,
        )  # fmt: skip

    def csv(self, request: Request) -> Response:
        web = self.web
        with web.read() as conn:
            web.require(request, web.signed_in(request, conn), AUDIT_ROLES)
        _typed, wanted, errors = self._wanted(request)
        if errors:
            return PlainTextResponse("\n".join(errors.values()) + "\n", status_code=400)
        names = web.names(request)
        zone = web.engine.zone

        def lines() -> Iterator[bytes]:
            rows = audit_query.stream(web.engine.db, wanted, zone, newest_first=True)
            for line in audit_query.csv_lines(rows, zone, names.display_name):
                yield line.encode("utf-8")

        return StreamingResponse(
            lines(), media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="gongkai-audit.csv"'},
        )  # fmt: skip

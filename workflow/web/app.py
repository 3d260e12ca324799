"""The office web application: Starlette pages over the same engine as the command line.

GET never changes anything: mail scanners and link previewers open links. Every form
carries a CSRF token bound to a cookie; every change goes through ``WorkflowEngine``
with the same rules as the CLI. Action links from emails work without signing in:
their signed token is the authority for one decision by one person, once.

The event loop never waits on the database: pages are plain functions (Starlette runs them in
its thread pool), and a form POST only reads its body on the loop, then hands the rest to the
pool (:meth:`WebApp.posted`). A write that waits on another's lock past the busy timeout is a
503 "busy, try again" page with ``Retry-After``, never a 500, and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader
from sqlalchemy import Connection, Table, insert, select
from sqlalchemy.exc import IntegrityError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from notifications.outbox import FAILED, PENDING, SENDING, enqueue, list_messages, requeue_failed
from notifications.render import RenderedMessage, translated_environment
from notifications.settings import MailSettings
from workflow.clock import utc_now
from workflow.core.authoring import may_edit
from workflow.core.deadlines import working_days_left
from workflow.core.decisions import ItemSnapshot, Person, available_triggers, decide, field_moment, fields_taken
from workflow.core.definition import Definition, FieldSpec, Transition, action_label
from workflow.core.errors import (
    Conflict,
    GongkaiError,
    InvalidInput,
    NotFound,
    NotPermitted,
    TransitionNotAllowed,
    render_error,
)
from workflow.core.i18n import LANGUAGES, N_, Translator, translator
from workflow.core.names import Names
from workflow.core.roles import role_label
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.store.db import reading
from workflow.store.faults import DRIVER_ERRORS, Fault, classify, detail
from workflow.store.hot import ItemRow
from workflow.store.models import UsedToken, User
from workflow.store.people import load_person
from workflow.store.publication_jobs import item_jobs
from workflow.store.publications import public_item
from workflow.tokens import ActionClaim, SigninClaim, TokenRefused, Tokens
from workflow.web import queries
from workflow.web.access import ADMIN_ROLES, AUDIT_ROLES, OUTBOX_ROLES, may_read_body, may_see
from workflow.web.admin import AdminPages
from workflow.web.assigning import Assigning
from workflow.web.audit_pages import AuditPages
from workflow.web.bodydiff import body_diff, collapse
from workflow.web.chain import chain_svg
from workflow.web.files import FilePages, attachment_section
from workflow.web.inbox import InboxPages
from workflow.web.names import install_filters, request_names
from workflow.web.preview import ASSETS_FOLDER, ASSETS_PATH, PreviewPages
from workflow.web.public_status import public_status
from workflow.web.reports import ReportPages
from workflow.web.security import SecurityHeaders, record, signin_throttled
from workflow.web.shell import FormHandler
from workflow.web.workbench import Workbench

log = logging.getLogger("gongkai.web")

HERE = Path(__file__).parent
SESSION_COOKIE = "gk_session"
CSRF_COOKIE = "gk_csrf"
LANG_COOKIE = "gk_lang"
LARGE_COOKIE = "gk_large"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LINK_REFUSALS = {
    "expired": N_("This link has expired (links last 7 days). Sign in and act from the item page."),
    "invalid": N_("This link is not valid: it was altered or cut short. Use the link exactly as emailed."),
}
"""Why a signed link was refused (``TokenRefused.reason``), as the reader is told."""
SIGNIN_MAIL_BODY = N_(
    "Hello %(name)s,\n\nOpen this link to sign in (valid for 30 minutes, once):\n%(url)s\n\n"
    "If you did not ask for it, ignore this email."
)
RETRY_AFTER_SECONDS = 5
"""Sent with a 503 "busy" page: a lock held longer than the busy timeout is rare, and gone in seconds."""
used_tokens = cast(Table, UsedToken.__table__)
users = cast(Table, User.__table__)


class Page(Exception):
    """Stop handling and show this page (a refusal, a redirect to sign in)."""

    def __init__(self, response: Response) -> None:
        self.response = response


Endpoint = Callable[[Request], Awaitable[Response]]


class WebApp:
    def __init__(
        self,
        settings: Settings,
        engine: WorkflowEngine,
        mail: MailSettings,
        tokens: Tokens,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.mail = mail
        self.tokens = tokens
        self.clock = clock
        self.secure_cookies = mail.base_url.startswith("https://")
        self.templates = {lang: self._environment(lang) for lang in LANGUAGES}
        self.workbench = Workbench(self)
        self.assigning = Assigning(self)
        self.previews = PreviewPages(self, settings)

    def _environment(self, lang: str) -> Environment:
        """The pages' templates in one language: one tree, its text translated by the catalogue
        (``jinja2.ext.i18n``, as the emails are), dates written through Babel."""
        environment = translated_environment(FileSystemLoader(HERE / "templates"), lang)
        environment.filters["day"] = lambda value: translator(lang).date(value, "medium") if value else ""
        # A form's date input takes and gives ISO dates, whatever the reader's language.
        environment.filters["iso"] = lambda value: value.isoformat() if value else ""
        environment.filters["moment"] = self._moment
        install_filters(environment)
        return environment

    # ---- the application -----------------------------------------------------------------------
    # Nothing that touches the database, the engine, the file system or renders a page runs on the
    # event loop: one request waiting on a lock must not hold up every other. Pages are plain
    # functions (Starlette runs them in its thread pool); form POSTs go through ``posted``.

    def asgi(self) -> Starlette:
        files = FilePages(self)
        admin = AdminPages(self)
        audit_pages = AuditPages(self)
        routes = [
            Route("/", InboxPages(self).page),
            Route("/healthz", self.healthz),
            Route("/signin", self.signin_form, methods=["GET"]),
            Route("/signin", self.posted(self.signin_request), methods=["POST"]),
            Route("/signin/{token}", self.signin_confirm, methods=["GET"]),
            Route("/signin/{token}", self.posted(self.signin_use), methods=["POST"]),
            Route("/signout", self.posted(self.signout), methods=["POST"]),
            Route("/prefs", self.posted(self.prefs), methods=["POST"]),
            Route("/act/{token}", self.action_confirm, methods=["GET"]),
            Route("/act/{token}", self.posted(self.action_fire), methods=["POST"]),
            Route("/items/new", self.workbench.choose, methods=["GET"]),
            Route("/items/new/{definition}", self.workbench.new_form, methods=["GET"]),
            Route("/items/new/{definition}", files.forms.posted(self, self.workbench.create), methods=["POST"]),
            Route("/items/{ref}/edit", self.workbench.edit_form, methods=["GET"]),
            Route("/items/{ref}/edit", files.forms.posted(self, self.workbench.save_edit), methods=["POST"]),
            Route("/items/{ref}", self.item_page, methods=["GET"]),
            Route("/items/{ref}/fire", self.posted(self.item_fire), methods=["POST"]),
            Route("/items/{ref}/preview", self.previews.page, methods=["GET"]),
            Route("/items/{ref}/assign", self.posted(self.assigning.assign), methods=["POST"]),
            Route("/items/{ref}/files/{sha256}", files.download, methods=["GET"]),
            Route("/act/{token}/files/{sha256}", files.download_by_link, methods=["GET"]),
            Route("/items/{ref}/attach", files.forms.posted(self, files.attach), methods=["POST"]),
            Route("/items/{ref}/attach", files.back_to_item, methods=["GET"]),
            Route("/items/{ref}/detach", self.posted(files.detach), methods=["POST"]),
            Route("/items/{ref}/detach", files.back_to_item, methods=["GET"]),
            Route("/reports/timeliness", ReportPages(self).timeliness, methods=["GET"]),
            Route("/audit", audit_pages.page, methods=["GET"]),
            Route("/audit.csv", audit_pages.csv, methods=["GET"]),
            Route("/outbox", self.outbox_page, methods=["GET"]),
            Route("/outbox/{id:int}/retry", self.posted(self.outbox_retry), methods=["POST"]),
            Route("/admin/people", admin.people_page, methods=["GET"]),
            Route("/admin/people", self.posted(admin.add_person), methods=["POST"]),
            Route("/admin/people/{id:int}", admin.person_page, methods=["GET"]),
            Route("/admin/people/{id:int}/{change}", self.posted(admin.change_person), methods=["POST"]),
            Route("/admin/security", admin.security_page, methods=["GET"]),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
            Mount(ASSETS_PATH, StaticFiles(directory=ASSETS_FOLDER), name="public_assets"),
        ]
        app = Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)])
        app.add_exception_handler(Page, self._page_exception)  # type: ignore[arg-type]
        app.add_exception_handler(404, self._not_found)
        for error in DRIVER_ERRORS:
            app.add_exception_handler(error, self._database_fault)
        return app

    def posted(self, handler: FormHandler) -> Endpoint:
        """The endpoint of a form POST: only the body is read on the event loop; the CSRF check (and
        the security log of a refusal), the database, the engine and the page run in the thread pool."""

        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            form = await request.form()
            return await run_in_threadpool(self.with_checked_form, handler, request, form)

        return endpoint

    async def _page_exception(self, _request: Request, exc: Page) -> Response:
        return exc.response

    def _not_found(self, request: Request, _exc: Exception) -> Response:
        return self.page(
            request, "message.html", status=404, title=self.tr(request)._("No such page or item."), message=""
        )

    def _database_fault(self, request: Request, error: Exception) -> Response:
        """A driver error nobody handled, as a page. Every change commits in one transaction or not at
        all, so each of these pages can say that nothing was changed."""
        fault = classify(error)
        endpoint = getattr(request.scope.get("endpoint"), "__name__", "-")  # the path may hold a token
        if fault is Fault.BUSY:
            log.warning("database busy: %s %s gave up waiting: %s", request.method, endpoint, detail(error))
            tr = self.tr(request)
            response = self.page(
                request, "message.html", status=503, title=tr._("Busy, please try again"),
                message=tr._(
                    "Another change was being written, so yours was not made and nothing changed."
                    " Wait a few seconds, go back and send it again."
                ),
            )  # fmt: skip
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        if fault is Fault.RACE:
            log.warning("database race: %s %s lost: %s", request.method, endpoint, detail(error))
            tr = self.tr(request)
            return self.page(
                request, "message.html", status=409, title=tr._("Someone else acted at the same time"),
                message=tr._(
                    "Someone else did the same at the same moment, so yours was not made and nothing changed."
                    " Go back and reload the page."
                ),
            )  # fmt: skip
        log.error("database unusable: %s %s", request.method, endpoint, exc_info=error)
        tr = self.tr(request)
        return self.page(
            request, "message.html", status=500, title=tr._("The system cannot be used right now"),
            message=tr._(
                "The database cannot be used right now; nothing was changed. The problem was logged:"
                " try again later or tell the administrator."
            ),
        )  # fmt: skip

    def healthz(self, _request: Request) -> Response:
        return Response("ok", media_type="text/plain")

    def read(self) -> Connection:
        """A connection for reading (never waits on a writer's lock, see ``store.db.reading``)."""
        return reading(self.engine.db)

    # ---- rendering -----------------------------------------------------------------------------

    def lang(self, request: Request) -> str:
        chosen = request.cookies.get(LANG_COOKIE)
        return chosen if chosen in ("zh", "en") else self.settings.lang

    def tr(self, request: Request) -> Translator:
        """Text, plurals and dates in the reader's language."""
        return translator(self.lang(request))

    def names(self, request: Request) -> Names:
        """People's display names for this request (one query, on first use): ``.label(name)`` is 张伟（zhang_wei）."""
        return request_names(request, self.engine.db, self.lang(request))

    def _trigger_label(self, definition: Definition | str | None, trigger: str, lang: str) -> str:
        """A decision as its definition names it; ``definition`` may be a name (an audit row's), then the file's."""
        if isinstance(definition, str):
            try:
                definition = self.engine.registry.current(definition)
            except GongkaiError:
                definition = None
        return definition.trigger_label(trigger, lang) if definition else action_label(trigger, lang)

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        lang = self.lang(request)
        cookie = request.cookies.get(CSRF_COOKIE)
        fresh = cookie is None or len(cookie) < 20
        if fresh:
            cookie = getattr(request.state, "csrf_cookie", None) or secrets.token_urlsafe(24)
        assert cookie is not None
        user: Person | None = getattr(request.state, "user", None)
        html = (
            self.templates[lang]
            .get_template(template)
            .render(
                trigger_label=lambda trigger, definition=None: self._trigger_label(definition, trigger, lang),
                role_label=lambda role: role_label(role, lang),
                lang=lang,
                large=request.cookies.get(LARGE_COOKIE) == "1",
                csrf=self.tokens.csrf(cookie),
                path=request.url.path,
                user=user,
                can_audit=bool(user and user.roles & AUDIT_ROLES),
                can_outbox=bool(user and user.roles & OUTBOX_ROLES),
                can_admin=bool(user and user.roles & ADMIN_ROLES),
                names=self.names(request),
                can_create=bool(user and self.workbench.offered(user)),
                **context,
            )
        )
        response = HTMLResponse(html, status_code=status)
        if fresh:
            response.set_cookie(
                CSRF_COOKIE, cookie, httponly=True, samesite="strict", secure=self.secure_cookies, path="/"
            )
        return response

    def _field_shown(self, spec: FieldSpec, value: Any, request: Request) -> str:
        """A field's value as people read it: a choice by its label, a date and a time in office time."""
        lang = self.lang(request)
        if spec.type == "choice":
            return spec.choice_label(str(value), lang)
        if spec.type == "datetime":
            moment = field_moment(value, self.engine.zone)
            if moment is not None:
                return self.tr(request).datetime(moment.astimezone(self.engine.zone), "short")
        if spec.type == "date":
            return self.tr(request).date(dt.date.fromisoformat(str(value)))
        return str(value)

    def _moment(self, value: dt.datetime | None) -> str:
        if value is None:
            return ""
        return value.astimezone(self.engine.zone).strftime("%Y-%m-%d %H:%M")

    def stop(self, request: Request, status: int, title: str, message: str = "", **context: Any) -> Page:
        """Stop with a message page; ``title`` and ``message`` are already in the reader's language."""
        return Page(self.page(request, "message.html", status=status, title=title, message=message, **context))

    def refuse(self, request: Request, status: int, message: str, **params: Any) -> Page:
        """A refusal page; ``message`` is English source text (marked with ``N_``), shown in the reader's language."""
        return Page(
            self.page(
                request, "message.html", status=status, title=self.tr(request)._("This link cannot be used"),
                message=self.tr(request)._(message, **params),
            )
        )  # fmt: skip

    # ---- who is asking -------------------------------------------------------------------------

    def session_user(self, request: Request) -> str | None:
        return self.tokens.read_session(request.cookies.get(SESSION_COOKIE))

    def person(self, conn: Connection, name: str) -> Person | None:
        try:
            return load_person(conn, name, self.engine.today(), with_substitutions=True)
        except NotFound:
            return None

    def signed_in(self, request: Request, conn: Connection) -> Person:
        name = self.session_user(request)
        person = self.person(conn, name) if name else None
        if person is None:
            raise Page(RedirectResponse(f"/signin?next={quote(request.url.path)}", status_code=303))
        request.state.user = person
        return person

    def with_checked_form(self, handler: FormHandler, request: Request, form: FormData) -> Response:
        """``handler`` with the posted form, once its CSRF token matches this browser's cookie; else a
        refusal, logged."""
        token = form.get("csrf")
        if not self.tokens.check_csrf(request.cookies.get(CSRF_COOKIE), token if isinstance(token, str) else None):
            self.log_security(request, "csrf_refused", detail={"path": request.url.path})
            raise Page(
                self.page(
                    request, "message.html", status=403, title=self.tr(request)._("This link cannot be used"),
                    message=self.tr(request)._(
                        "The form expired; go back, reload the page and try again. Nothing was changed."
                    ),
                )
            )  # fmt: skip
        return handler(request, form)

    def client(self, request: Request) -> str | None:
        return request.client.host if request.client else None

    def log_security(
        self, request: Request, event: str, *, user: str | None = None, subject: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        log.warning("security: %s user=%s subject=%s client=%s", event, user, subject, self.client(request))
        record(
            self.engine.db, event, now=self.clock(), user=user, client=self.client(request), subject=subject,
            detail=detail,
        )  # fmt: skip

    # ---- sign-in -------------------------------------------------------------------------------

    def signin_form(self, request: Request) -> Response:
        return self.page(request, "signin.html", next=_safe_next(request.query_params.get("next")))

    def signin_request(self, request: Request, form: FormData) -> Response:
        address = str(form.get("email") or "").strip().lower()
        if not EMAIL.match(address) or len(address) > 254:
            return self.page(
                request, "signin.html", status=400, error=self.tr(request)._("Please enter a valid email address.")
            )
        now = self.clock()
        if signin_throttled(self.engine.db, self.client(request), address, now, self.settings.signin_per_client):
            self.log_security(request, "signin_throttled", subject=address)
            return self.page(
                request,
                "signin.html",
                status=429,
                error=self.tr(request)._("Too many sign-in requests; please try again in 15 minutes."),
            )
        self.log_security(request, "signin_requested", subject=address)
        with self.engine.db.begin() as conn:
            found = conn.execute(
                select(users.c.name, users.c.display_name).where(users.c.email == address, users.c.active.is_(True))
            ).first()
            if found is not None:
                url = f"{self.mail.base_url.rstrip('/')}/signin/{self.tokens.signin(found.name)}"
                lang = self.lang(request)
                greeted = found.display_name or found.name
                message = RenderedMessage(
                    subject=translator(lang)._("[gongkai] Your sign-in link"),
                    text=translator(lang)._(SIGNIN_MAIL_BODY, name=greeted, url=url),
                    html=self.templates[lang].get_template("signin_email.html").render(name=greeted, url=url),
                )
                enqueue(
                    conn, key=f"signin:{secrets.token_hex(8)}", event="signin", recipient=address,
                    message=message, now=now,
                )  # fmt: skip
        # The same answer whether the address is known or not: nobody learns who works here.
        return self.page(request, "signin_sent.html", email=address)

    def _signin_claim(self, request: Request, token: str) -> SigninClaim:
        try:
            claim = self.tokens.read_signin(token)
        except TokenRefused as refused:
            self.log_security(request, f"signin_link_{refused.reason}")
            raise self.refuse(request, 400, LINK_REFUSALS[refused.reason]) from None
        if self._used(claim.token_id):
            self.log_security(request, "signin_link_reused", user=claim.user)
            raise self.refuse(request, 410, N_("This link was used already; each link works once."))
        return claim

    def signin_confirm(self, request: Request) -> Response:
        claim = self._signin_claim(request, request.path_params["token"])
        return self.page(request, "signin_confirm.html", name=claim.user)

    def signin_use(self, request: Request, _form: FormData) -> Response:
        claim = self._signin_claim(request, request.path_params["token"])
        name = claim.user
        with self.engine.db.begin() as conn:
            if self.person(conn, name) is None:
                raise self.refuse(request, 403, N_("The person this link was sent to is no longer active."))
            try:
                self._mark_used(conn, claim.token_id, "signin", name, None)
            except IntegrityError:
                raise self.refuse(request, 410, N_("This link was used already; each link works once.")) from None
        self.log_security(request, "signed_in", user=name)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            SESSION_COOKIE, self.tokens.session(name), max_age=int(self.tokens.session_max_age.total_seconds()),
            httponly=True, samesite="lax", secure=self.secure_cookies, path="/",
        )  # fmt: skip
        return response

    def signout(self, _request: Request, _form: FormData) -> Response:
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    def prefs(self, _request: Request, form: FormData) -> Response:
        """Language and large text: remembered in cookies (a display choice, nothing in the database)."""
        response = RedirectResponse(_safe_next(str(form.get("next") or "/")), status_code=303)
        year = 365 * 24 * 3600
        if form.get("lang") in ("zh", "en"):
            response.set_cookie(LANG_COOKIE, str(form["lang"]), max_age=year, samesite="lax", path="/")
        if form.get("large") in ("0", "1"):
            response.set_cookie(LARGE_COOKIE, str(form["large"]), max_age=year, samesite="lax", path="/")
        return response

    # ---- one-time tokens -----------------------------------------------------------------------

    def _used(self, token_id: str) -> bool:
        with self.read() as conn:
            found = conn.execute(select(used_tokens.c.token_id).where(used_tokens.c.token_id == token_id)).first()
        return found is not None

    def _mark_used(self, conn: Connection, token_id: str, kind: str, user: str, item_id: int | None) -> None:
        conn.execute(
            insert(used_tokens).values(token_id=token_id, kind=kind, user_name=user, item_id=item_id, used_at=utc_now())
        )

    # ---- action links --------------------------------------------------------------------------

    def action_claim(self, request: Request, token: str) -> ActionClaim:
        """The link's claim, or a refusal page (logged): expired, altered, used, someone else's."""
        try:
            claim = self.tokens.read_action(token)
        except TokenRefused as refused:
            self.log_security(request, f"action_link_{refused.reason}")
            status = 400 if refused.reason == "invalid" else 410
            raise self.refuse(request, status, LINK_REFUSALS[refused.reason]) from None
        if self._used(claim.token_id):
            self.log_security(request, "action_link_reused", user=claim.user, detail=_claim_detail(claim))
            raise self.refuse(request, 410, N_("This link was used already; each link works once."))
        signed_in = self.session_user(request)
        if signed_in is not None and signed_in != claim.user:
            self.log_security(request, "action_link_other_user", user=signed_in, detail=_claim_detail(claim))
            raise self.refuse(
                request,
                403,
                N_("This link was sent to %(owner)s; you are signed in as %(name)s."),
                owner=self.names(request).label(claim.user),
                name=self.names(request).label(signed_in),
            )
        return claim

    def _stale(self, request: Request, conn: Connection, row: ItemRow) -> Page:
        last = self.engine.latest_action(conn, row.id)
        message = self.tr(request)._(
            "%(reference)s was acted on by %(actor)s at %(at)s (%(action)s);"
            " this link no longer applies and changed nothing.",
            reference=row.reference, actor=self.names(request).label(last["actor"]) if last else "-",
            at=self._moment(last["at_time"]) if last else "-",
            action=self._trigger_label(row.definition, last["trigger"], self.lang(request)) if last else "-",
        )  # fmt: skip
        title = self.tr(request)._("The item has moved on")
        link = f"/items/{row.reference}"
        return Page(self.page(request, "message.html", status=409, title=title, message=message, item_link=link))

    def action_context(
        self, request: Request, conn: Connection, claim: ActionClaim
    ) -> tuple[ItemRow, Definition, Person, Transition]:
        try:
            row = self.engine.item_row(conn, claim.item_id)
        except NotFound:
            raise self.refuse(
                request,
                404,
                N_("This link is not valid: it was altered or cut short. Use the link exactly as emailed."),
            ) from None
        if row.version != claim.version:
            raise self._stale(request, conn, row)
        person = self.person(conn, claim.user)
        if person is None:
            self.log_security(request, "action_link_inactive_user", user=claim.user, detail=_claim_detail(claim))
            raise self.refuse(request, 403, N_("The person this link was sent to is no longer active."))
        definition = self.engine.registry.pinned(conn, row.definition, row.definition_version)
        transition = definition.transitions_for(claim.trigger, row.state)
        if transition is None:
            raise self._stale(request, conn, row)
        return row, definition, person, transition

    def action_confirm(self, request: Request) -> Response:
        claim = self.action_claim(request, request.path_params["token"])
        with self.read() as conn:
            row, definition, person, transition = self.action_context(request, conn, claim)
            return self._confirm_page(request, conn, row, definition, person, transition, claim)

    def _confirm_page(
        self, request: Request, conn: Connection, row: ItemRow, definition: Definition, person: Person,
        transition: Transition, claim: ActionClaim, status: int = 200, error: str | None = None,
        comment: str = "",
    ) -> Response:  # fmt: skip
        snapshot = ItemSnapshot(definition, row.state, row.fields, row.holders, row.acted)
        readable = may_read_body(person, definition, row.holders, row.state)
        preview = self.previews.section(request, row, definition, readable, dest=transition.dest, decision=True)
        if error is None and claim.trigger not in available_triggers(snapshot, person):
            error = self.tr(request)._(
                "You may not do this now: %(reason)s", reason=self._why_not(request, snapshot, person, transition)
            )
            status = 403
        return self.page(
            request, "act.html", status=status, item=self._item_summary(request, conn, row, definition, person),
            action=definition.trigger_label(claim.trigger, self.lang(request)), transition=transition,
            needs_comment=transition.guard("requires_comment") is not None,
            field_inputs=self._field_inputs(definition, transition, self.lang(request)), error=error,
            comment=comment, acting_as=claim.user, preview=preview,
            attachments=attachment_section(
                person, row, definition, readable,
                self.engine.upload_policy, downloads=f"/act/{request.path_params['token']}/files", offer_changes=False,
            ),
        )  # fmt: skip

    def _why_not(self, request: Request, snapshot: ItemSnapshot, person: Person, transition: Transition) -> str:
        """The rule that would refuse this person, in words (given a comment and fields, as the form would)."""
        fields = {name: _sample_value(snapshot.definition, name) for name in _required_fields(transition)}
        try:
            decide(snapshot, transition.trigger, person, comment="-", given_fields=fields,
                   today=self.engine.today(), calendar=self.engine.calendar)  # fmt: skip
        except GongkaiError as refusal:
            return refusal.render(self.lang(request))
        return ""

    def action_fire(self, request: Request, form: FormData) -> Response:
        token = request.path_params["token"]
        claim = self.action_claim(request, token)
        comment = str(form.get("comment") or "")
        with self.read() as conn:
            row, definition, person, transition = self.action_context(request, conn, claim)
        fields = {name: str(form.get(f"field_{name}") or "") for name in _offered_fields(transition)}
        fields = {name: value for name, value in fields.items() if value}

        def mark_used(conn: Connection) -> None:
            self._mark_used(conn, claim.token_id, "action", claim.user, claim.item_id)

        try:
            result = self.engine.fire(
                claim.item_id, claim.trigger, claim.user, comment=comment or None, fields=fields,
                expected_version=claim.version, within=mark_used,
            )  # fmt: skip
        except Conflict:
            with self.read() as conn:
                raise self._stale(request, conn, self.engine.item_row(conn, claim.item_id)) from None
        except IntegrityError:
            self.log_security(request, "action_link_reused", user=claim.user, detail=_claim_detail(claim))
            raise self.refuse(request, 410, N_("This link was used already; each link works once.")) from None
        except (NotPermitted, TransitionNotAllowed, InvalidInput) as refusal:
            with self.read() as conn:
                return self._confirm_page(
                    request, conn, row, definition, person, transition, claim, status=422,
                    error=render_error(refusal, self.lang(request)), comment=comment,
                )  # fmt: skip
        log.info("action link: %s %s by %s", result.row.reference, claim.trigger, claim.user)
        state_label = definition.states[result.to_state].label.in_lang(self.lang(request))
        return self.page(
            request, "message.html", title=self.tr(request)._("Done"),
            message=self.tr(request)._(
                "%(reference)s: %(action)s done; the item is now in “%(state)s”.", reference=result.row.reference,
                action=definition.trigger_label(claim.trigger, self.lang(request)), state=state_label,
            ),
            item_link=f"/items/{result.row.reference}",
        )  # fmt: skip

    # ---- pages for signed-in people ------------------------------------------------------------

    def _item_summary(
        self, request: Request, conn: Connection, row: ItemRow, definition: Definition, person: Person
    ) -> dict[str, Any]:
        lang = self.lang(request)
        today = self.engine.today()
        due = self.engine.current_due(conn, row.id)
        revisions = queries.item_revisions(conn, row.id)
        readable = may_read_body(person, definition, row.holders, row.state)
        diff, basis = None, None
        if readable:
            diff, basis = self._changes(request, conn, row, revisions)
        return {
            "row": row,
            "public": public_status(public_item(conn, row.id)),
            "definition_label": definition.label.in_lang(lang),
            "state_label": definition.states[row.state].label.in_lang(lang),
            "due": due,
            "days_left": working_days_left(self.engine.calendar, today, due) if due else None,
            "readable": readable,
            "diff": diff,
            "diff_basis": basis,
            "fields": [
                (spec.label.in_lang(lang), self._field_shown(spec, row.fields.get(name), request))
                for name, spec in definition.fields.items()
                if row.fields.get(name) not in (None, "")
            ],
        }

    def _changes(
        self, request: Request, conn: Connection, row: ItemRow, revisions: list[Any]
    ) -> tuple[list[Any] | None, str]:
        """What changed since the last decision in this state (a reviewer sees what changed since their
        review), else since the previous revision; a first draft shows whole."""
        decided = queries.last_decision_in(conn, row.id, row.state)
        if decided is not None:
            when = self._moment(decided.at)
            if decided.content_hash == row.content_hash:
                return None, self.tr(request)._(
                    "The body has not changed since %(who)s decided at %(when)s.",
                    who=self.names(request).label(decided.actor), when=when,
                )  # fmt: skip
            old = queries.body_with_hash(conn, row.id, decided.content_hash)
            if old is not None:
                return collapse(body_diff(old, row.body), context=3), self.tr(request)._(
                    "Changes since %(who)s decided (%(action)s) at %(when)s:",
                    who=self.names(request).label(decided.actor), when=when,
                    action=self._trigger_label(row.definition, decided.trigger, self.lang(request)),
                )  # fmt: skip
        if len(revisions) > 1:
            diff = collapse(body_diff(revisions[-2].body, row.body), context=3)
            return diff, self.tr(request)._("Changes since revision %(n)s:", n=revisions[-2].revision)
        return body_diff("", row.body), self.tr(request)._("First time at this step; the whole body:")

    def item_page(
        self, request: Request, status: int = 200, assignment_error: tuple[str, str] | None = None
    ) -> Response:
        lang = self.lang(request)
        with self.read() as conn:
            person = self.signed_in(request, conn)
            row, definition = self.visible_item(request, conn, person, request.path_params["ref"])
            history = queries.item_history(conn, row.id)
            revisions = queries.item_revisions(conn, row.id)
            summary = self._item_summary(request, conn, row, definition, person)
            roles = self.assigning.choices(conn, row, definition, person, lang, assignment_error)
            channel_jobs = item_jobs(conn, row.id)
        _, deadlines = self.engine.deadlines(row.id)  # its own transaction: not inside another one on SQLite
        preview = self.previews.section(request, row, definition, summary["readable"])
        snapshot = ItemSnapshot(definition, row.state, row.fields, row.holders, row.acted)
        read_only = bool(person.roles & AUDIT_ROLES) and not (person.roles - AUDIT_ROLES)
        triggers = [] if read_only else available_triggers(snapshot, person)
        visited = {h.to_state for h in history}
        assigned = request.query_params.get("assigned") if status == 200 else None
        return self.page(
            request, "item.html", status=status, item=summary, roles=roles, assignment_error=assignment_error,
            assigned=next((r for r in roles if r.role == assigned), None),
            chain=chain_svg(definition, row.state, lang, visited=visited), preview=preview,
            deadlines=deadlines, history=history, read_only=read_only, item_definition=definition,
            channel_jobs=channel_jobs,
            may_edit=not read_only and may_edit(snapshot, person),
            attachments=attachment_section(person, row, definition, summary["readable"], self.engine.upload_policy),
            revisions=_with_diffs(revisions) if summary["readable"] else [],
            actions=[
                {
                    "trigger": t, "label": definition.trigger_label(t, lang),
                    "needs_comment": (tr := definition.transitions_for(t, row.state)) is not None
                    and tr.guard("requires_comment") is not None,
                    "fields": self._field_inputs(definition, tr, lang) if tr else [],
                }
                for t in triggers
            ],
            state_label=lambda s: definition.states[s].label.in_lang(lang) if s in definition.states else (s or ""),
        )  # fmt: skip

    def visible_item(self, request: Request, conn: Connection, person: Person, ref: str) -> tuple[ItemRow, Definition]:
        try:
            row = self.engine.item_row(conn, ref)
        except NotFound:
            raise Page(
                self.page(request, "message.html", status=404, title=self.tr(request)._("No such page or item."))
            ) from None
        definition = self.engine.registry.pinned(conn, row.definition, row.definition_version)
        if not may_see(person, definition, row.holders):
            self.log_security(request, "item_forbidden", user=person.name, subject=row.reference)
            # The same answer as an unknown item: a reference tells nothing to someone without a role on it.
            raise Page(
                self.page(request, "message.html", status=404, title=self.tr(request)._("No such page or item."))
            )
        return row, definition

    def item_fire(self, request: Request, form: FormData) -> Response:
        trigger = str(form.get("trigger") or "")
        comment = str(form.get("comment") or "")
        version_text = str(form.get("version") or "")
        with self.read() as conn:
            person = self.signed_in(request, conn)
            row, definition = self.visible_item(request, conn, person, request.path_params["ref"])
        transition = definition.transitions_for(trigger, row.state)
        names = _offered_fields(transition) if transition else []
        fields = {n: str(form.get(f"field_{n}") or "") for n in names}
        try:
            self.engine.fire(
                row.id, trigger, person.name, comment=comment or None,
                fields={n: v for n, v in fields.items() if v},
                expected_version=int(version_text) if version_text.isdigit() else row.version,
            )  # fmt: skip
        except Conflict:
            with self.read() as conn:
                raise self._stale(request, conn, self.engine.item_row(conn, row.id)) from None
        except GongkaiError as refusal:
            return self.page(
                request, "message.html", status=422, title=self.tr(request)._("This link cannot be used"),
                message=render_error(refusal, self.lang(request)), item_link=f"/items/{row.reference}",
            )  # fmt: skip
        return RedirectResponse(f"/items/{row.reference}", status_code=303)

    def _field_inputs(self, definition: Definition, transition: Transition | None, lang: str) -> list[dict[str, Any]]:
        if transition is None:
            return []
        inputs = []
        required = _required_fields(transition)
        for name in _offered_fields(transition):
            spec = definition.fields.get(name)
            if spec is None:
                continue
            inputs.append(
                {
                    "name": name, "label": spec.label.in_lang(lang), "type": spec.type,
                    "choices": [(c, spec.choice_label(c, lang)) for c in spec.choices],
                    "required": name in required, "help": spec.help.in_lang(lang) if spec.help else "",
                }
            )  # fmt: skip
        return inputs

    # ---- auditors and the office ---------------------------------------------------------------

    def require(self, request: Request, person: Person, roles: frozenset[str]) -> None:
        if not person.roles & roles:
            self.log_security(request, "page_forbidden", user=person.name, subject=request.url.path)
            raise Page(
                self.page(request, "message.html", status=403, title=self.tr(request)._("You may not see this page."))
            )

    def outbox_page(self, request: Request) -> Response:
        with self.read() as conn:
            person = self.signed_in(request, conn)
            self.require(request, person, OUTBOX_ROLES)
            messages = list_messages(conn, [PENDING, SENDING, FAILED])
        notice = None
        requeued = request.query_params.get("requeued")
        if requeued and requeued.isdigit():
            notice = self.tr(request)._("Message #%(id)s queued again.", id=requeued)
        return self.page(request, "outbox.html", messages=messages, notice=notice)

    def outbox_retry(self, request: Request, _form: FormData) -> Response:
        with self.read() as conn:
            person = self.signed_in(request, conn)
            self.require(request, person, OUTBOX_ROLES)
        message_id = int(request.path_params["id"])
        try:
            requeue_failed(self.engine.db, message_id, self.clock())
        except GongkaiError as refusal:
            return self.page(
                request, "message.html", status=422, title=self.tr(request)._("This link cannot be used"),
                message=render_error(refusal, self.lang(request)),
            )  # fmt: skip
        log.info("outbox: message %d queued again by %s", message_id, person.name)
        return RedirectResponse(f"/outbox?requeued={message_id}", status_code=303)


def _with_diffs(revisions: list[Any]) -> list[dict[str, Any]]:
    """Each revision with what changed from the one before it (the first: its whole text)."""
    shown = []
    previous = ""
    for revision in revisions:
        diff = collapse(body_diff(previous, revision.body), context=2)
        shown.append({"revision": revision.revision, "updated_at": revision.updated_at, "body": revision.body,
                      "diff": diff, "first": not previous and revision.revision == revisions[0].revision})  # fmt: skip
        previous = revision.body
    return shown


def _required_fields(transition: Transition) -> list[str]:
    guard = transition.guard("requires_field")
    if guard is None:
        return []
    params = guard.params
    return [params] if isinstance(params, str) else [str(p) for p in params or ()]


def _offered_fields(transition: Transition) -> list[str]:
    """The fields a fire's form offers: those its guard requires, then the optional ones it declares."""
    return list(fields_taken(transition))


def _sample_value(definition: Definition, name: str) -> str:
    spec = definition.fields.get(name)
    if spec is None:
        return "-"
    if spec.choices:
        return spec.choices[0]
    return {"date": "2000-01-01", "datetime": "2000-01-01T00:00"}.get(spec.type, "-")


def _claim_detail(claim: ActionClaim) -> dict[str, Any]:
    return {"item_id": claim.item_id, "trigger": claim.trigger, "version": claim.version}


def _safe_next(value: str | None) -> str:
    """Only a path on this site (no scheme, no //host): never an open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def create_app(
    settings: Settings,
    engine: WorkflowEngine,
    mail: MailSettings,
    clock: Callable[[], dt.datetime] = utc_now,
) -> Starlette:
    from workflow.wiring import tokens_for

    return WebApp(settings, engine, mail, tokens_for(settings), clock).asgi()


def app_from_env() -> Starlette:
    """The application as configured by the environment: ``gongkai web --workers N`` starts one per process."""
    from workflow.wiring import open_engine

    settings = Settings.from_env()
    mail = MailSettings.from_env()
    return create_app(settings, open_engine(settings, mail=mail), mail)

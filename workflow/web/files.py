"""Attachments on the web pages: the list on the item page, downloads, adding and removing files.

Who may download is who may read the body (:func:`workflow.web.access.may_read_body`, the item
page's rule); who may add or remove is who may edit now (the core's ``decide_edit``, asked, never
re-derived). Every change goes through ``WorkflowEngine.attach`` / ``detach``.

:class:`UploadForms` reads a multipart form with the office's size limit enforced while the body
arrives (a request larger than the files it may carry is cut off unread; each file is spooled to a
temporary file beyond 1 MB, never held whole in memory) and turns its files into the engine's
:class:`~workflow.core.attachments.Upload` objects: the create and edit forms use it too.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.types import Message

from workflow.core.attachments import Attachment, Upload, attachments_of
from workflow.core.authoring import may_edit as core_may_edit
from workflow.core.decisions import ItemSnapshot, Person
from workflow.core.definition import Definition
from workflow.core.errors import Conflict, GongkaiError, InvalidInput, NotFound, render_error
from workflow.core.i18n import N_
from workflow.core.uploads import MB, UploadPolicy, human_size
from workflow.store.hot import ItemRow
from workflow.store.models import ItemRevision
from workflow.web.access import AUDIT_ROLES, may_read_body
from workflow.web.shell import FormHandler, WebShell

log = logging.getLogger("gongkai.web")

FILE_FIELD = "files"
"""The name of the file input of every form that uploads."""
MAX_FILES_PER_FORM = 5
FORM_SLACK = 1 * MB
"""Room for a form's other fields and the multipart framing, beside its files."""
CHUNK = 64 * 1024
SHA256 = re.compile(r"^[0-9a-f]{64}$")
TOO_LARGE = N_("The upload is too large: %(size)s; at most %(count)s files of %(limit)s MB each. Nothing was saved.")


class UploadTooLarge(Exception):
    """The request body passed what its files may add up to; reading stopped there."""

    def __init__(self, received: int) -> None:
        super().__init__(received)
        self.received = received


@dataclass(frozen=True)
class UploadForms:
    """Reads forms that carry files, with the size limit enforced while reading."""

    policy: UploadPolicy
    max_files: int = MAX_FILES_PER_FORM

    @property
    def max_request(self) -> int:
        return self.policy.max_bytes * self.max_files + FORM_SLACK

    async def read(self, request: Request) -> FormData:
        """The posted form; :class:`UploadTooLarge` as soon as the body passes :attr:`max_request`
        (at once when its ``Content-Length`` says so), :class:`InvalidInput` for more files than allowed."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_request:
            raise UploadTooLarge(int(declared))
        received = 0
        receive = request.receive

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_request:
                    raise UploadTooLarge(received)
            return message

        limited_request = Request(request.scope, limited)
        try:
            return await limited_request.form(max_files=self.max_files, max_fields=50)
        except HTTPException as refused:  # Starlette's answer to a malformed form or too many files
            raise InvalidInput("upload.form", detail=refused.detail) from None

    def posted(self, web: WebShell, handler: FormHandler) -> Callable[[Request], Awaitable[Response]]:
        """Like ``WebShell.posted``, for a form with files: read with the limit on the event loop, then the
        CSRF check and ``handler`` in the thread pool; the form's temporary files are closed after."""

        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            try:
                form = await self.read(request)
            except UploadTooLarge as too_large:
                return await run_in_threadpool(self._too_large, web, request, too_large.received)
            except InvalidInput as refused:
                return await run_in_threadpool(self._unreadable, web, request, refused)
            try:
                return await run_in_threadpool(web.with_checked_form, handler, request, form)
            finally:
                await form.close()

        return endpoint

    def _too_large(self, web: WebShell, request: Request, received: int) -> Response:
        tr = web.tr(request)
        return web.page(
            request, "message.html", status=413, title=tr._("The upload is too large"),
            message=tr._(TOO_LARGE, size=human_size(received), count=self.max_files, limit=self.policy.max_mb),
        )  # fmt: skip

    def _unreadable(self, web: WebShell, request: Request, refused: InvalidInput) -> Response:
        return web.page(
            request, "message.html", status=400, title=web.tr(request)._("The upload was not accepted"),
            message=render_error(refused, web.lang(request)),
        )  # fmt: skip


def uploads_in(form: FormData, field: str = FILE_FIELD) -> list[Upload]:
    """The files a form carries under ``field``, as the engine takes them (an empty file input sends
    a part without a name: left out)."""
    found = []
    for value in form.getlist(field):
        if isinstance(value, UploadFile) and (value.filename or value.size):
            found.append(Upload(value.filename or "", value.file))
    return found


def content_disposition(name: str) -> str:
    """``attachment`` with the original name: an ASCII ``filename`` for old clients and RFC 6266 / 5987
    ``filename*=UTF-8''...`` with the real one (Chinese names arrive intact)."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    fallback = _ascii(stem)
    if not any(c.isalnum() for c in fallback):
        fallback = "attachment"
    return f"attachment; filename=\"{fallback}{dot}{_ascii(extension)}\"; filename*=UTF-8''{quote(name, safe='')}"


def _ascii(text: str) -> str:
    return "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in text)


def may_edit(person: Person, row: ItemRow, definition: Definition) -> bool:
    """Whether the core would let this person edit the item now (the attachment forms show only then)."""
    if person.roles & AUDIT_ROLES and not person.roles - AUDIT_ROLES:
        return False
    return core_may_edit(ItemSnapshot(definition, row.state, row.fields, row.holders, row.acted), person)


def attachment_section(
    person: Person,
    row: ItemRow,
    definition: Definition,
    readable: bool,
    policy: UploadPolicy,
    *,
    downloads: str | None = None,
    offer_changes: bool = True,
) -> dict[str, Any]:
    """What a page shows of the attachments (``_attachments.html``); ``downloads`` is where the files are
    fetched from (the item's own path by default; an action link's on its confirm page)."""
    return {
        "reference": row.reference,
        "downloads": downloads or f"/items/{row.reference}/files",
        "version": row.version,
        "readable": readable,
        "files": [shown(a) for a in attachments_of(row.meta)] if readable else [],
        "editable": offer_changes and readable and may_edit(person, row, definition),
        "max_files": MAX_FILES_PER_FORM,
        "max_mb": policy.max_mb,
        "types": policy.allowed(),
        "accept": ",".join(f".{extension}" for extension in policy.types),
    }


def shown(attachment: Attachment) -> dict[str, Any]:
    return {**attachment.to_json(), "human_size": human_size(attachment.size), "short": attachment.sha256[:12]}


class FilePages:
    """The handlers; registered in ``WebShell.asgi()``."""

    def __init__(self, web: WebShell) -> None:
        self.web = web
        self.forms = UploadForms(web.engine.upload_policy)

    def download(self, request: Request) -> Response:
        """``GET /items/{ref}/files/{sha256}``: the file, to whoever may read the body."""
        web = self.web
        with web.read() as conn:
            person = web.signed_in(request, conn)
            row, definition = web.visible_item(request, conn, person, request.path_params["ref"])
            return self._serve(request, conn, person, row, definition)

    def download_by_link(self, request: Request) -> Response:
        """``GET /act/{token}/files/{sha256}``: a file of the item an action link is about, to the person it
        was sent to, while the link is good (unused, unexpired, the item unchanged): the reviewer opens the
        very files they clear without signing in."""
        web = self.web
        claim = web.action_claim(request, request.path_params["token"])
        with web.read() as conn:
            row, definition, person, _transition = web.action_context(request, conn, claim)
            return self._serve(request, conn, person, row, definition)

    def _serve(
        self, request: Request, conn: Connection, person: Person, row: ItemRow, definition: Definition
    ) -> Response:
        web = self.web
        sha256 = request.path_params["sha256"]
        if not may_read_body(person, definition, row.holders, row.state):
            web.log_security(request, "file_forbidden", user=person.name, subject=row.reference)
            return web.page(
                request, "message.html", status=403,
                title=web.tr(request)._("You may not download this file."),
                message=web.tr(request)._(
                    "Before publication only the drafter, the reviewers and the leader see the body and its files."
                ),
                item_link=f"/items/{row.reference}",
            )  # fmt: skip
        attachment = _attached(conn, row, sha256) if SHA256.match(sha256) else None
        if attachment is None or web.engine.files is None:
            return self._missing(request, row.reference)
        try:
            stream = web.engine.files.open(attachment.sha256)
        except NotFound:
            log.error("attachment %s of %s is missing from the file store", attachment.sha256, row.reference)
            return self._missing(request, row.reference)
        return StreamingResponse(
            _chunks(stream), media_type=attachment.media_type,
            headers={
                "content-disposition": content_disposition(attachment.name),
                "content-length": str(attachment.size),
                "x-content-type-options": "nosniff",
            },
        )  # fmt: skip

    def _missing(self, request: Request, reference: str) -> Response:
        return self.web.page(
            request, "message.html", status=404, title=self.web.tr(request)._("No such file on this item."),
            item_link=f"/items/{reference}",
        )  # fmt: skip

    def attach(self, request: Request, form: FormData) -> Response:
        """``POST /items/{ref}/attach``: add the chosen files; on a refusal the form again, the error beside it."""
        uploads = uploads_in(form)

        def attach(row: ItemRow, person: Person) -> None:
            if not uploads:
                raise InvalidInput("upload.none")
            self.web.engine.attach(row.id, person.name, uploads)

        return self._change(request, form, attach)

    def detach(self, request: Request, form: FormData) -> Response:
        """``POST /items/{ref}/detach``: remove one attachment (its hash in the form)."""

        def detach(row: ItemRow, person: Person) -> None:
            self.web.engine.detach(row.id, person.name, str(form.get("sha256") or ""))

        return self._change(request, form, detach)

    def _change(self, request: Request, form: FormData, change: Callable[[ItemRow, Person], None]) -> Response:
        """One change of the attachments, for the version the form was drawn from; back to the item, or the
        form again with the refusal beside the file input."""
        web = self.web
        with web.read() as conn:
            person = web.signed_in(request, conn)
            row, _ = web.visible_item(request, conn, person, request.path_params["ref"])
        try:
            self._check_version(form, row)
            change(row, person)
        except Conflict:
            return self._again(request, person, row.reference, web.tr(request)._(
                "Someone changed the item meanwhile; nothing was saved. Check it and choose the files again."
            ), status=409)  # fmt: skip
        except GongkaiError as refusal:
            return self._again(request, person, row.reference, render_error(refusal, web.lang(request)))
        return RedirectResponse(f"/items/{row.reference}#attachments-h", status_code=303)

    def back_to_item(self, request: Request) -> Response:
        """A GET of the form's address (the language switch on an error page returns there): the item."""
        return RedirectResponse(f"/items/{quote(request.path_params['ref'], safe='')}", status_code=303)

    @staticmethod
    def _check_version(form: FormData, row: ItemRow) -> None:
        """The page the person saw must still be the item's: a change meanwhile is a Conflict."""
        version = str(form.get("version") or "")
        if version.isdigit() and int(version) != row.version:
            raise Conflict("conflict.moved", reference=row.reference)

    def _again(self, request: Request, person: Person, reference: str, error: str, status: int = 422) -> Response:
        """The attachments of the item and the form once more, with what was wrong beside the file input."""
        web = self.web
        with web.read() as conn:
            row = web.engine.item_row(conn, reference)
            definition = web.engine.registry.pinned(conn, row.definition, row.definition_version)
        readable = may_read_body(person, definition, row.holders, row.state)
        return web.page(
            request, "attach.html", status=status, row=row, error=error,
            attachments=attachment_section(person, row, definition, readable, self.forms.policy),
        )  # fmt: skip


def _attached(conn: Connection, row: ItemRow, sha256: str) -> Attachment | None:
    """The attachment ``sha256`` of this item: in its current revision, else in an earlier one."""
    for attachment in attachments_of(row.meta):
        if attachment.sha256 == sha256:
            return attachment
    metas = conn.execute(
        select(ItemRevision.meta)
        .where(ItemRevision.item_id == row.id, ItemRevision.meta.is_not(None))
        .order_by(ItemRevision.revision.desc())
    ).scalars()
    for meta in metas:
        for attachment in attachments_of(meta):
            if attachment.sha256 == sha256:
                return attachment
    return None


def _chunks(stream: Any) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(CHUNK):
            yield chunk

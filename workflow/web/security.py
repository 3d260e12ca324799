"""Security headers on every response, the security log (written and read), and the sign-in throttle."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Engine, Row, Table, func, insert, or_, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workflow.core.i18n import N_
from workflow.store.db import reading
from workflow.store.models import SecurityEvent

security_log = cast(Table, SecurityEvent.__table__)

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    # Action and sign-in links carry their token in the path: it must never leave in a Referer.
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]

SECURITY_EVENTS = {
    "signin_requested": N_("Sign-in link asked for"),
    "signin_throttled": N_("Sign-in refused: too many requests"),
    "signed_in": N_("Signed in"),
    "signin_link_expired": N_("Expired sign-in link"),
    "signin_link_invalid": N_("Altered or cut sign-in link"),
    "signin_link_reused": N_("Sign-in link used again"),
    "action_link_expired": N_("Expired action link"),
    "action_link_invalid": N_("Altered or cut action link"),
    "action_link_reused": N_("Action link used again"),
    "action_link_other_user": N_("Action link of another person"),
    "action_link_inactive_user": N_("Action link of a deactivated person"),
    "csrf_refused": N_("Form refused (expired or forged)"),
    "item_forbidden": N_("Item refused"),
    "create_forbidden": N_("New item refused"),
    "edit_forbidden": N_("Editing refused"),
    "page_forbidden": N_("Page refused"),
}
"""The events the web application records, with what the administrator's page calls them."""

SIGNIN_WINDOW = dt.timedelta(minutes=15)
SIGNIN_PER_ADDRESS = 3


class SecurityHeaders:
    """Pure ASGI middleware: the same headers on every HTTP response, pages and errors alike."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in dict(HEADERS)]
                headers += HEADERS
                if not scope["path"].startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def record(
    db: Engine,
    event: str,
    *,
    now: dt.datetime,
    user: str | None = None,
    client: str | None = None,
    subject: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """One row of the security log, in its own transaction (a refused request changes nothing else)."""
    with db.begin() as conn:
        conn.execute(
            insert(security_log).values(
                at=now, event=event, user_name=user, client=(client or "")[:64] or None,
                subject=(subject or "")[:254] or None, detail=detail,
            )
        )  # fmt: skip


def signin_throttled(db: Engine, client: str | None, address: str, now: dt.datetime, per_client: int) -> bool:
    """Too many sign-in requests from this client (more than ``per_client``), or for this address, within the
    window."""
    since = now - SIGNIN_WINDOW
    with reading(db) as conn:
        by_client, by_address = conn.execute(
            select(
                func.count().filter(security_log.c.client == client),
                func.count().filter(security_log.c.subject == address),
            ).where(
                security_log.c.event == "signin_requested",
                security_log.c.at >= since,
                or_(security_log.c.client == client, security_log.c.subject == address),
            )
        ).one()
    return int(by_client) >= per_client or int(by_address) >= SIGNIN_PER_ADDRESS


@dataclass(frozen=True)
class SecurityFilter:
    event: str | None = None
    user: str | None = None


def security_events(
    conn: Connection, wanted: SecurityFilter, *, offset: int, limit: int
) -> tuple[list[Row[Any]], list[str]]:
    """Rows of the security log, newest first, matching the filter; and every event recorded (for choosing)."""
    query = select(security_log)
    if wanted.event:
        query = query.where(security_log.c.event == wanted.event)
    if wanted.user:
        query = query.where(security_log.c.user_name == wanted.user)
    rows = list(conn.execute(query.order_by(security_log.c.id.desc()).offset(offset).limit(limit)))
    recorded = list(conn.execute(select(security_log.c.event).distinct().order_by(security_log.c.event)).scalars())
    return rows, recorded

"""The outbox: emails written in the transaction that caused them, claimed and sent after the commit.

A row's life: ``pending`` -> ``sending`` (claimed by one worker, under a lease) -> ``sent``,
or back to ``pending`` (retry later, with backoff) or ``failed`` (5xx, or too many
attempts; ``gongkai outbox retry`` puts it back). A worker that dies mid-batch leaves its
rows ``sending``; once their lease runs out another worker claims them again. Delivery is
therefore at least once, and a resend carries the same Message-ID.

Claims are one statement: ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)``
on PostgreSQL, the same under ``BEGIN IMMEDIATE`` on SQLite (which ignores FOR UPDATE).
Every later change is fenced by the claim (owner and lease end): a worker whose rows were
taken over changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
import uuid
from collections.abc import Collection
from dataclasses import dataclass, fields
from typing import Any, cast

from sqlalchemy import Connection, Engine, Row, Table, Update, and_, or_, select, update

from notifications.render import ActionLinker, RenderedMessage, header_safe
from notifications.transport import OutgoingEmail
from workflow.core.errors import InvalidInput, NotFound, TransitionNotAllowed
from workflow.store.db import reading
from workflow.store.models import OutboxMessage
from workflow.store.sql import insert_if_absent, settle_claim

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
SKIPPED = "skipped"
"""Not sent, on purpose: a new-task notice whose item moved on before it went out (``last_error`` says why)."""
STATUSES = (PENDING, SENDING, SENT, FAILED, SKIPPED)
"""Stored in the database: chosen once, never renamed."""

MESSAGE_ID_DOMAIN = "gongkai"
DEFAULT_BATCH = 50
DEFAULT_LEASE_SECONDS = 300
"""Long enough for a whole batch over a slow server; a dead worker's rows wait this long."""
ERROR_LIMIT = 2000

outbox = cast(Table, OutboxMessage.__table__)


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again: exponential backoff from ``base_delay``, capped, at most ``max_attempts`` tries."""

    base_delay: dt.timedelta = dt.timedelta(minutes=1)
    max_delay: dt.timedelta = dt.timedelta(hours=1)
    max_attempts: int = 10

    def delay(self, attempts: int) -> dt.timedelta:
        """The wait after the ``attempts``-th failed try (1, 2, 4... times the base, capped)."""
        exponent = max(attempts - 1, 0)
        if exponent >= 32:
            return self.max_delay
        delay: dt.timedelta = self.base_delay * (2**exponent)
        return min(delay, self.max_delay)

    def next_attempt(self, attempts: int, *, permanent: bool, now: dt.datetime) -> dt.datetime | None:
        """When to try again after ``attempts`` tries, the last one failed; None: give up (mark failed)."""
        if permanent or attempts >= self.max_attempts:
            return None
        return now + self.delay(attempts)


@dataclass(frozen=True)
class ClaimedMessage:
    """A row this worker holds a lease on; pass it back to :func:`complete`, :func:`retry_later`, :func:`fail`."""

    id: int
    message_id: str
    event: str
    item_id: int | None
    recipient: str
    subject: str
    body_text: str
    body_html: str
    attempts: int
    """Tries started, this one included."""
    created_at: dt.datetime
    lease_owner: str
    lease_until: dt.datetime
    context: dict[str, Any] | None = None
    """Set when the row was written inside a transition: the email is rendered now, from it."""

    def email(self, linker: ActionLinker | None = None) -> OutgoingEmail:
        """The email to send; a deferred one is rendered now, its action links made by ``linker``."""
        subject, text, html = self.subject, self.body_text, self.body_html
        if self.context is not None:
            from notifications.render import render_context

            rendered = render_context(self.context, linker)
            subject, text, html = header_safe(rendered.subject), rendered.text, rendered.html
        return OutgoingEmail(
            message_id=self.message_id,
            recipient=self.recipient,
            subject=subject,
            text=text,
            html=html,
            date=self.created_at,
            event=self.event,
        )


@dataclass(frozen=True)
class OutboxEntry:
    """A row as listed by ``gongkai outbox list``."""

    id: int
    message_id: str
    event: str
    item_id: int | None
    recipient: str
    subject: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    lease_owner: str | None
    lease_until: dt.datetime | None
    last_error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None


def message_id_for(dedupe_key: str) -> str:
    """The Message-ID of a row: derived from its dedupe key, so it is the same however often it is written."""
    return f"<{hashlib.sha256(dedupe_key.encode('utf-8')).hexdigest()[:32]}@{MESSAGE_ID_DOMAIN}>"


def dedupe_key_for(key: str, recipient: str) -> str:
    """The stored dedupe key: the caller's key for the event, per recipient."""
    return f"{key}|{recipient.lower()}"


def clean_recipient(recipient: str) -> str:
    """One bare address (``name@example.gov.cn``); anything that could add a header or a recipient is refused."""
    address = recipient.strip()
    local, at, domain = address.rpartition("@")
    if (
        not at
        or not local
        or "." not in domain.strip(".")
        or len(address) > 254
        or any(c.isspace() or c in ',;<>"()[]\\' or ord(c) < 32 for c in address)
    ):
        raise InvalidInput("outbox.bad_recipient", recipient=header_safe(recipient)[:80])
    return address


def new_owner() -> str:
    """A lease owner name for one worker process: host, pid and a random suffix."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def dead_here(owner: str) -> bool:
    """An owner (see ``new_owner``) that was a process of this machine and no longer runs: it was killed."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname()[:80] or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def release_dead_claims(db: Engine) -> int:
    """Messages claimed by a killed worker of this machine go back to pending now, not when its lease ends.

    The one in flight when it died may go a second time, with the same Message-ID; the
    attempt it counted stays counted.
    """
    with reading(db) as conn:
        owners = conn.execute(select(outbox.c.lease_owner).where(outbox.c.status == SENDING).distinct()).scalars().all()
    released = 0
    for owner in owners:
        if owner is None or not dead_here(owner):
            continue
        with db.begin() as conn:
            released += conn.execute(
                update(outbox)
                .where(outbox.c.status == SENDING, outbox.c.lease_owner == owner)
                .values(status=PENDING, lease_owner=None, lease_until=None)
            ).rowcount
    return released


def enqueue(
    conn: Connection,
    *,
    key: str,
    event: str,
    recipient: str,
    message: RenderedMessage,
    now: dt.datetime,
    item_id: int | None = None,
) -> bool:
    """Write one email into the outbox, in the caller's transaction; False when it is already there.

    ``key`` names what the email is about, e.g. ``new_task:42:7`` (item 42, its version 7)
    or ``reminder:42:statutory_reply:2026-03-09:before_1``; the recipient is added to it,
    so one key may go to several people. Writing the same key and recipient again is a
    no-op, and the Message-ID follows from the key.
    """
    values = outbox_values(key=key, event=event, recipient=recipient, message=message, now=now, item_id=item_id)
    return insert_if_absent(conn, outbox, values, ["dedupe_key"])


def deferred_values(
    *, key: str, event: str, recipient: str, subject: str, context: dict[str, Any], now: dt.datetime, item_id: int
) -> dict[str, Any]:
    """A row whose email is rendered when it is sent (``context``), for writes inside a transition.

    ``subject`` is what ``gongkai outbox list`` shows until then.
    """
    placeholder = RenderedMessage(subject=subject, text="", html="")
    values = outbox_values(key=key, event=event, recipient=recipient, message=placeholder, now=now, item_id=item_id)
    values["context"] = context
    return values


def outbox_values(
    *, key: str, event: str, recipient: str, message: RenderedMessage, now: dt.datetime, item_id: int | None
) -> dict[str, Any]:
    """The row :func:`enqueue` writes (also written by the engine's hot path)."""
    address = clean_recipient(recipient)
    dedupe_key = dedupe_key_for(key, address)
    if len(dedupe_key) > 255 or len(event) > 40:
        raise InvalidInput("outbox.key_too_long", key=dedupe_key[:80])
    return {
        "message_id": message_id_for(dedupe_key),
        "dedupe_key": dedupe_key,
        "event": event,
        "item_id": item_id,
        "recipient": address,
        "subject": header_safe(message.subject),
        "body_text": message.text,
        "body_html": message.html,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "lease_owner": None,
        "lease_until": None,
        "last_error": None,
        "created_at": now,
        "sent_at": None,
        "context": None,
    }


_CLAIMED_COLUMNS = (
    outbox.c.id,
    outbox.c.message_id,
    outbox.c.event,
    outbox.c.item_id,
    outbox.c.recipient,
    outbox.c.subject,
    outbox.c.body_text,
    outbox.c.body_html,
    outbox.c.attempts,
    outbox.c.created_at,
    outbox.c.lease_owner,
    outbox.c.lease_until,
    outbox.c.context,
)


def claim_statement(
    owner: str, now: dt.datetime, limit: int, lease_seconds: float, wall: dt.datetime | None = None
) -> Update:
    """The one statement that claims a batch: due pending rows and rows whose lease ran out.

    Due means due as of ``now`` (a pass's ``--at``); leases run on ``wall``, the real clock,
    so a pass dated in the future cannot hold messages for days, nor one dated in the past
    take over messages another worker is sending this minute.
    """
    wall = wall or dt.datetime.now(dt.UTC)
    due = or_(
        and_(outbox.c.status == PENDING, outbox.c.next_attempt_at <= now),
        and_(outbox.c.status == SENDING, outbox.c.lease_until <= wall),
    )
    candidates = (
        select(outbox.c.id)
        .where(due)
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (
        update(outbox)
        .where(outbox.c.id.in_(candidates))
        .values(
            status=SENDING,
            lease_owner=owner,
            lease_until=wall + dt.timedelta(seconds=lease_seconds),
            attempts=outbox.c.attempts + 1,
        )
        .returning(*_CLAIMED_COLUMNS)
    )


def claim_batch(
    db: Engine,
    owner: str,
    now: dt.datetime,
    limit: int = DEFAULT_BATCH,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    *,
    wall: dt.datetime | None = None,
) -> list[ClaimedMessage]:
    """Lease up to ``limit`` rows due by ``now`` to ``owner`` for ``lease_seconds`` of real time (``wall``).

    Rows another worker holds are skipped (PostgreSQL) or waited for (SQLite, one
    writer at a time), so no row is claimed twice while its lease runs.
    """
    if not owner or len(owner) > 128:
        raise InvalidInput("outbox.bad_owner", owner=owner[:80])
    with db.begin() as conn:
        rows = conn.execute(claim_statement(owner, now, limit, lease_seconds, wall)).all()
    return sorted((_claimed(row) for row in rows), key=lambda m: m.id)


def _claimed(row: Row[Any]) -> ClaimedMessage:
    assert row.lease_owner is not None and row.lease_until is not None
    return ClaimedMessage(
        id=row.id,
        message_id=row.message_id,
        event=row.event,
        item_id=row.item_id,
        recipient=row.recipient,
        subject=row.subject,
        body_text=row.body_text,
        body_html=row.body_html,
        attempts=row.attempts,
        created_at=row.created_at,
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
        context=row.context,
    )


def _settle(db: Engine, message: ClaimedMessage, **values: Any) -> bool:
    """Apply ``values`` if the row is still under this very claim; True when it was."""
    with db.begin() as conn:
        return settle_claim(conn, outbox, message.id, SENDING, message.lease_owner, message.lease_until, values)


def complete(db: Engine, message: ClaimedMessage, now: dt.datetime) -> bool:
    """Mark a claimed message sent; False (nothing changed) when the claim was taken over."""
    return _settle(db, message, status=SENT, sent_at=now)


def skip(db: Engine, message: ClaimedMessage, reason: str) -> bool:
    """Settle a claimed message as not to be sent (it would only mislead); False when the claim was taken over."""
    return _settle(db, message, status=SKIPPED, last_error=reason[:ERROR_LIMIT])


def retry_later(db: Engine, message: ClaimedMessage, error: str, at: dt.datetime) -> bool:
    """Put a claimed message back to pending, due at ``at``; False when the claim was taken over."""
    return _settle(db, message, status=PENDING, next_attempt_at=at, last_error=error[:ERROR_LIMIT])


def release(db: Engine, message: ClaimedMessage, at: dt.datetime) -> bool:
    """Give back a claimed message that was never tried (the connection broke first): no attempt counted."""
    return _settle(db, message, status=PENDING, next_attempt_at=at, attempts=outbox.c.attempts - 1)


def fail(db: Engine, message: ClaimedMessage, error: str) -> bool:
    """Mark a claimed message failed for good; False when the claim was taken over."""
    return _settle(db, message, status=FAILED, last_error=error[:ERROR_LIMIT])


def list_messages(conn: Connection, statuses: Collection[str] | None = None, limit: int = 200) -> list[OutboxEntry]:
    """Rows in ``statuses`` (all when None), oldest first, at most ``limit``."""
    columns = [outbox.c[column.name] for column in fields(OutboxEntry)]
    query = select(*columns).order_by(outbox.c.id).limit(limit)
    if statuses is not None:
        query = query.where(outbox.c.status.in_(list(statuses)))
    return [OutboxEntry(**row._asdict()) for row in conn.execute(query)]


def requeue_failed(db: Engine, message_row_id: int, now: dt.datetime) -> None:
    """A failed message back to pending, due now, with its attempts reset (``gongkai outbox retry``)."""
    with db.begin() as conn:
        changed = conn.execute(
            update(outbox)
            .where(outbox.c.id == message_row_id, outbox.c.status == FAILED)
            .values(status=PENDING, attempts=0, next_attempt_at=now, lease_owner=None, lease_until=None)
        ).rowcount
        if changed == 1:
            return
        status = conn.execute(select(outbox.c.status).where(outbox.c.id == message_row_id)).scalar_one_or_none()
    if status is None:
        raise NotFound("outbox.not_found", id=message_row_id)
    raise TransitionNotAllowed("outbox.not_failed", id=message_row_id, status=status)

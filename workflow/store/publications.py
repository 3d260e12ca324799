"""The public side of items: ``publications`` (what the public sees) and ``publication_jobs`` (the channels' work).

The engine writes both in the transaction of the move that causes them; the site builder and the
channels read them. Reads return :class:`workflow.core.publication.PublicItem`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any, cast

from sqlalchemy import Connection, Table, select, update

from workflow.core.publication import CURRENT, ENDS_FROM, PublicItem, job_key
from workflow.store.models import Publication, PublicationJob
from workflow.store.sql import insert_if_absent

publications = cast(Table, Publication.__table__)
publication_jobs = cast(Table, PublicationJob.__table__)

PENDING = "pending"
RUNNING = "running"
DONE = "done"
FAILED = "failed"


def record_publication(
    conn: Connection,
    *,
    item_id: int,
    reference: str,
    index_number: str,
    category: str | None,
    title: str,
    body: str,
    fields: dict[str, Any],
    meta: dict[str, Any] | None,
    revision: int,
    content_hash: str,
    expires_at: dt.datetime | None,
    now: dt.datetime,
) -> None:
    """Write what the public now sees of an item: its first publication, or its republication (修订).

    Runs after the item's conditional update, so no other transaction writes this item's row.
    """
    values: dict[str, Any] = {
        "reference": reference, "index_number": index_number, "category": category, "title": title, "body": body,
        "fields": fields, "meta": meta, "revision": revision, "content_hash": content_hash, "published_at": now,
        "expires_at": expires_at, "status": CURRENT, "status_at": now,
    }  # fmt: skip
    changed = conn.execute(update(publications).where(publications.c.item_id == item_id).values(**values)).rowcount
    if changed == 0:
        conn.execute(publications.insert().values(item_id=item_id, first_published_at=now, **values))


def end_publication(conn: Connection, item_id: int, status: str, now: dt.datetime) -> bool:
    """Mark a publication withdrawn, expired or repealed; False when the item was not public in a status that may
    end so (a current one; for a withdrawal, an archived one too: :data:`ENDS_FROM`)."""
    changed = conn.execute(
        update(publications)
        .where(publications.c.item_id == item_id, publications.c.status.in_(ENDS_FROM[status]))
        .values(status=status, status_at=now)
    ).rowcount
    return bool(changed)


def set_expiry(conn: Connection, item_id: int, expires_at: dt.datetime | None) -> None:
    """A leader set or changed 有效期至 of a current publication."""
    conn.execute(
        update(publications)
        .where(publications.c.item_id == item_id, publications.c.status == CURRENT)
        .values(expires_at=expires_at)
    )


def enqueue_jobs(
    conn: Connection,
    *,
    item_id: int,
    channels: Iterable[str],
    event: str,
    version: int,
    revision: int,
    now: dt.datetime,
) -> list[str]:
    """One pending job per channel for this event; the keys written (an existing key is left alone)."""
    written = []
    for channel in channels:
        key = job_key(item_id, channel, event, version)
        values = {
            "key": key, "item_id": item_id, "channel": channel, "event": event, "revision": revision,
            "status": PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now,
        }  # fmt: skip
        if insert_if_absent(conn, publication_jobs, values, ["key"]):
            written.append(key)
    return written


def public_item(conn: Connection, item_id: int) -> PublicItem | None:
    row = conn.execute(select(publications).where(publications.c.item_id == item_id)).mappings().first()
    return PublicItem.of(dict(row)) if row is not None else None


def public_items(conn: Connection, *, batch: int = 1000) -> Iterator[PublicItem]:
    """Every public item (withdrawn ones too), oldest first publication first, read in batches."""
    after: tuple[dt.datetime, int] | None = None
    while True:
        query = select(publications).order_by(publications.c.first_published_at, publications.c.item_id).limit(batch)
        if after is not None:
            moment, item_id = after
            query = query.where(
                (publications.c.first_published_at > moment)
                | ((publications.c.first_published_at == moment) & (publications.c.item_id > item_id))
            )
        rows = conn.execute(query).mappings().all()
        if not rows:
            return
        for row in rows:
            yield PublicItem.of(dict(row))
        last = rows[-1]
        after = (last["first_published_at"], last["item_id"])

"""The county's unified platform: one signed JSON POST per public event (``GONGKAI_WEBHOOK_URL``).

The document (schema ``gongkai.publication/1``; a new major number for any change a receiver could
trip on) is a JSON object, UTF-8, keys sorted, no insignificant whitespace:

- ``schema`` ``"gongkai.publication/1"``; ``event`` ``publish`` | ``withdraw`` | ``expire`` | ``repeal``;
- ``status`` ``current`` | ``withdrawn`` | ``expired`` | ``repealed`` and ``status_at``: the item's public
  status *when the document was sent* (a retried older event carries the newer status; a receiver keeps
  the document with the latest ``status_at``);
- ``index_number`` (索引号), ``reference`` (the office's own), ``revision``, ``title``, ``body`` (Markdown),
  ``body_html`` (the same, rendered and sanitised as every reader sees it);
- ``organ`` ``{name, code}`` (发布机构), ``category`` ``{code, name}`` or null (公开目录), ``doc_number`` (文号)
  or null, ``subjects`` (主题词, a list), ``fields`` (the item's own fields);
- ``first_published_at``, ``published_at``, ``revised_at`` (null unless republished: 修订), ``expires_at``
  (有效期至, or null), ``status_at``: ISO 8601 with the office's offset;
- ``attachments`` ``[{name, sha256, size, media_type}]``; ``url``: the item's page on the public site.

Headers: ``Content-Type: application/json; charset=utf-8``; ``Idempotency-Key``: the job's key, the same
on every retry of one event (a receiver that has seen it answers 2xx and changes nothing);
``X-Gongkai-Timestamp``: seconds since the Unix epoch when signed; ``X-Gongkai-Signature``:
``sha256=`` + the lower-case hex HMAC-SHA-256, keyed with ``GONGKAI_WEBHOOK_SECRET`` (UTF-8), of the
bytes ``TIMESTAMP + "." + BODY`` (the header's decimal text, a full stop, then the raw body exactly as
sent). A receiver recomputes it over the raw body and refuses a stale timestamp.

Answers: 2xx delivered; 5xx, 408, 429, a timeout, a refused or dropped connection are tried again
later; a redirect or any other 4xx fails at once (a wrong address or a refused document does not
mend itself).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import ssl
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from workflow.clock import utc_now
from workflow.core.definition import Catalog
from workflow.core.markup import render_body
from workflow.core.office import Office
from workflow.core.publication import PublicItem, item_url
from workflow.publishing.channels.base import ChannelError, ChannelJob

SCHEMA = "gongkai.publication/1"
DEFAULT_TIMEOUT = 15.0
"""Seconds for connecting and for each read of the answer."""
RETRIED_STATUSES = frozenset({408, 429})


def document(job: ChannelJob, item: PublicItem, office: Office, catalog: Catalog, zone: dt.tzinfo) -> dict[str, Any]:
    """The JSON document of one job (see the module's docstring)."""

    def moment(value: dt.datetime | None) -> str | None:
        return value.astimezone(zone).isoformat() if value is not None else None

    category = catalog.find(item.category) if item.category else None
    return {
        "schema": SCHEMA,
        "event": job.event,
        "status": item.status,
        "index_number": item.index_number,
        "reference": item.reference,
        "revision": item.revision,
        "title": item.title,
        "body": item.body,
        "body_html": render_body(item.body),
        "organ": {"name": office.organ.zh, "code": office.code},
        "category": {"code": category.code, "name": category.label.zh} if category else None,
        "doc_number": item.doc_number,
        "subjects": list(item.subjects),
        "fields": dict(item.fields),
        "first_published_at": moment(item.first_published_at),
        "published_at": moment(item.published_at),
        "revised_at": moment(item.revised_at),
        "expires_at": moment(item.expires_at),
        "status_at": moment(item.status_at),
        "attachments": [a.to_json() for a in item.attachments],
        "url": item_url(office.base_url, item.reference),
    }


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Gongkai-Signature`` value: ``sha256=`` + hex HMAC-SHA-256 of ``timestamp + "." + body``."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class WebhookChannel:
    """POSTs each job's document to the county platform, signed; see the module's docstring."""

    name = "webhook"

    def __init__(
        self,
        url: str | None,
        secret: str | None,
        office: Office,
        catalog: Catalog,
        zone: dt.tzinfo,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.url = url
        self.secret = secret
        self.office = office
        self.catalog = catalog
        self.zone = zone
        self.timeout = timeout
        self.clock = clock

    def perform(self, job: ChannelJob, item: PublicItem) -> str:
        if not self.url:
            raise ChannelError("GONGKAI_WEBHOOK_URL is not set: the county platform's address is unknown", retry=False)
        if not self.secret:
            raise ChannelError("GONGKAI_WEBHOOK_SECRET is not set: the document cannot be signed", retry=False)
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ChannelError(f"GONGKAI_WEBHOOK_URL is not an http(s) address: {self.url}", retry=False)
        body = json.dumps(
            document(job, item, self.office, self.catalog, self.zone),
            ensure_ascii=False, sort_keys=True, separators=(",", ":"),
        ).encode("utf-8")  # fmt: skip
        timestamp = str(int(self.clock().timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": job.key,
            "X-Gongkai-Timestamp": timestamp,
            "X-Gongkai-Signature": signature(self.secret, timestamp, body),
            "User-Agent": "gongkai-webhook/1",
        }
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout)
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read(500).decode("utf-8", "replace").strip()
        except (OSError, http.client.HTTPException) as error:  # refused, timed out, dropped, garbled
            raise ChannelError(f"POST {self.url}: {type(error).__name__}: {error}") from None
        finally:
            connection.close()
        status = response.status
        if 200 <= status < 300:
            return f"HTTP {status} from {parts.hostname}"
        text = f"POST {self.url}: HTTP {status} {response.reason}" + (f": {answer[:200]}" if answer else "")
        raise ChannelError(text, retry=status >= 500 or status in RETRIED_STATUSES)

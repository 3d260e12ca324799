"""The tables. Column names of ``audit_log`` are a contract: auditors query them with SQL."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC on every database (SQLite stores no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, dt.datetime: UTCDateTime}


class DefinitionVersion(Base):
    """Every version of every definition an item ever started on, with its source text."""

    __tablename__ = "definition_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    source_path: Mapped[str] = mapped_column(Text)
    source_text: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[dt.datetime]


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime]
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
    """One daily email listing all pending items instead of single notices and reminders."""
    display_name: Mapped[str | None] = mapped_column(String(64))
    """How the office knows the person (张伟); empty shows the login name."""


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class Delegation(Base):
    """A person away names a substitute for a period (both dates included)."""

    __tablename__ = "delegations"
    __table_args__ = (
        Index("ix_delegations_substitute", "substitute_id", "starts_on", "ends_on"),
        # Who stands in for a holder today: asked on every new-task notice and reminder.
        Index("ix_delegations_principal", "principal_id", "ends_on", "starts_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    substitute_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime]


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        Index("ix_items_definition_state", "definition", "state"),
        Index("ix_items_created_by", "created_by", "id"),  # the inbox's "items I created"
        Index("ux_items_index_number", "index_number", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    definition: Mapped[str] = mapped_column(String(64))
    definition_version: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    """Bumped on every change; updates are conditional on it (one winner per race)."""
    revision: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    fields: Mapped[dict[str, Any]]
    holders: Mapped[dict[str, Any]]
    """Role -> names assigned on this item; a role absent here is open to anyone holding it."""
    acted: Mapped[dict[str, Any]]
    """Trigger -> [[actor, principal], ...]: last firing, or every vote of a quorum."""
    content_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    meta: Mapped[dict[str, Any] | None]
    """文号 ``doc_number``, 主题词 ``subjects`` and ``attachments`` ([{name, sha256, size, media_type}]),
    covered by ``content_hash``; empty keys are left out (and an item without any hashes as before)."""
    index_number: Mapped[str | None] = mapped_column(String(64))
    """索引号, given in the transaction of the item's first publication and kept through withdrawal and
    revision (never reused: the counter behind it only goes up)."""
    published_at: Mapped[dt.datetime | None]
    """When the item was last published (its latest move into ``published``)."""


class ItemRevision(Base):
    """The text of each revision as it stands (the current one) or stood (earlier ones)."""

    __tablename__ = "item_revisions"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime]
    meta: Mapped[dict[str, Any] | None]


class StoredFile(Base):
    """A file kept content-addressed in the file store: ``gongkai files verify`` rehashes each."""

    __tablename__ = "stored_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(100))
    stored_at: Mapped[dt.datetime]
    stored_by: Mapped[str] = mapped_column(String(64))


class ReferenceCounter(Base):
    __tablename__ = "reference_counters"

    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class AuditEntry(Base):
    """One append-only row per action; ``hash`` is an HMAC over the row and ``prev_hash``.

    An action on an item fills ``item_id``, ``definition``, ``definition_version``, ``to_state`` and
    ``content_hash``; a change to a person (``trigger`` ``person.add``, ``person.roles``...) leaves
    them empty and names the person in ``person``. Both kinds share one chain.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_item", "item_id", "seq"),
        Index("ix_audit_log_person", "person", "seq"),
        # The inbox's "items I acted on": rows with the person as actor, or as the one stood in for.
        Index("ix_audit_log_actor", "actor", "item_id"),
        Index("ix_audit_log_on_behalf_of", "on_behalf_of", "item_id"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    item_id: Mapped[int | None] = mapped_column(Integer)
    definition: Mapped[str | None] = mapped_column(String(64))
    definition_version: Mapped[str | None] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(64))
    to_state: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    on_behalf_of: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    at: Mapped[dt.datetime]
    comment: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[str] = mapped_column(Text)
    """Canonical JSON of the fields this action changed."""
    details: Mapped[str] = mapped_column(Text)
    """Canonical JSON of what else the action records (late marks, quorum votes, assignment)."""
    content_hash: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    person: Mapped[str | None] = mapped_column(String(64))
    """Whom a people change is about; empty on item rows."""


class AuditHead(Base):
    """The chain's last (seq, hash): one row, locked by each writer so the chain never forks."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class Deadline(Base):
    """One deadline of one item as last computed: its clock, status and due date."""

    __tablename__ = "deadlines"
    __table_args__ = (
        UniqueConstraint("item_id", "kind"),
        Index("ix_deadlines_due", "applies_now", "due_at"),
        Index("ix_deadlines_item", "item_id", "applies_now", "due_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    kind: Mapped[str] = mapped_column(String(80))
    """The policy's name: ``statutory_reply``, ``state:confidentiality_review``..."""
    clock: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    applies_now: Mapped[bool] = mapped_column(Boolean)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    due_at: Mapped[dt.datetime | None]
    """The end of the due day in the office's time zone, as UTC: overdue after this instant."""
    met_on: Mapped[dt.date | None] = mapped_column(Date)
    paused_days: Mapped[int] = mapped_column(Integer)
    extension_days: Mapped[int] = mapped_column(Integer)
    calendar_version: Mapped[str] = mapped_column(String(80))
    computed_at: Mapped[dt.datetime]


class OutboxMessage(Base):
    """One email to one recipient, written in the transaction that caused it and sent after the commit.

    ``status`` is one of ``pending``, ``sending`` (claimed under a lease), ``sent``, ``failed``.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "next_attempt_at"),
        Index("ix_outbox_lease", "status", "lease_until"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(100), unique=True)
    """``<hash of dedupe_key@gongkai>``: fixed when the row is written, the same on every resend."""
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    event: Mapped[str] = mapped_column(String(40))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    """Delivery attempts started (counted when claimed, so a message that kills its worker ends too)."""
    next_attempt_at: Mapped[dt.datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    context: Mapped[dict[str, Any] | None]
    """What to render, when the row was written inside a transition: rendered when it is sent."""


class Reminder(Base):
    """A reminder raised once: its key (item, deadline, kind, due date, day) is unique."""

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    deadline_kind: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    due_on: Mapped[dt.date] = mapped_column(Date)
    messages: Mapped[int] = mapped_column(Integer)
    raised_at: Mapped[dt.datetime]


class WorkerLease(Base):
    """Who runs a role among the workers (on SQLite: the one worker) and until when."""

    __tablename__ = "worker_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    until: Mapped[dt.datetime]
    last_pass_at: Mapped[dt.datetime | None]
    last_pass: Mapped[dict[str, Any] | None]


class UsedToken(Base):
    """A one-time token (an action link, a sign-in link) that has been used: a second use is refused."""

    __tablename__ = "used_tokens"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    user_name: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[int | None] = mapped_column(Integer)
    used_at: Mapped[dt.datetime]


class SecurityEvent(Base):
    """The web application's security log: refused links, sign-ins, throttled requests.

    Not the audit chain, which holds transitions only.
    """

    __tablename__ = "security_log"
    __table_args__ = (Index("ix_security_log_event", "event", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime]
    event: Mapped[str] = mapped_column(String(40))
    user_name: Mapped[str | None] = mapped_column(String(64))
    client: Mapped[str | None] = mapped_column(String(64))
    """The client's address, as the server saw it."""
    subject: Mapped[str | None] = mapped_column(String(254))
    """What it was about: an email address asked for, an item reference."""
    detail: Mapped[dict[str, Any] | None]


class BodySnapshot(Base):
    """A body as it was before an edit replaced it: what a reviewer saw, for the diff since their review."""

    __tablename__ = "body_snapshots"
    __table_args__ = (UniqueConstraint("item_id", "content_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[dt.datetime]


class Publication(Base):
    """What the public sees of an item: the content it was last published with, and whether it is current.

    Written by the engine in the transaction that publishes (and rewritten on republication after a
    revision), and updated in the one that withdraws or expires it; the site and the channels read
    only this table, so a revision in progress never shows until it is published in its turn.
    ``status`` is ``current``, ``expired`` (已失效, kept in the archive) or ``withdrawn`` (已撤回).
    """

    __tablename__ = "publications"
    __table_args__ = (Index("ix_publications_category", "category", "status", "first_published_at"),)

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    reference: Mapped[str] = mapped_column(String(32))
    index_number: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    fields: Mapped[dict[str, Any]]
    meta: Mapped[dict[str, Any] | None]
    revision: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    first_published_at: Mapped[dt.datetime]
    published_at: Mapped[dt.datetime]
    """The latest publication: later than ``first_published_at`` once a revision was republished (修订)."""
    expires_at: Mapped[dt.datetime | None]
    """有效期至 (the item's ``unpublish_at``): the worker expires it then."""
    status: Mapped[str] = mapped_column(String(16))
    status_at: Mapped[dt.datetime]
    """When ``status`` was last set (the date a withdrawal or an expiry shows)."""


class PublicationJob(Base):
    """One channel's work for one public event of an item, written with the event and done by the worker.

    ``event`` is ``publish``, ``withdraw`` or ``expire``; ``status`` is ``pending``, ``running``
    (claimed under a lease), ``done`` or ``failed`` (given up after the last attempt; shown until
    retried by hand). ``key`` is the idempotency key the channel carries (the webhook's header).
    """

    __tablename__ = "publication_jobs"
    __table_args__ = (
        Index("ix_publication_jobs_pending", "status", "next_attempt_at"),
        Index("ix_publication_jobs_item", "item_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    channel: Mapped[str] = mapped_column(String(20))
    event: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[dt.datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    """What the channel made or was told: the files written, the HTTP status."""
    created_at: Mapped[dt.datetime]
    done_at: Mapped[dt.datetime | None]

"""Wiring from settings: the database engine, the registry and the workflow engine."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine

from notifications.notices import Notifier
from notifications.settings import MailSettings
from workflow.clock import Clock, utc_now
from workflow.core.calendar import load_calendar
from workflow.core.loader import load_definitions
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.store.db import make_engine
from workflow.store.files import FolderFileStore
from workflow.store.registry import DefinitionRegistry
from workflow.tokens import Tokens


@dataclass(frozen=True)
class InitReport:
    definitions: dict[str, str]
    """Name -> version of each definition loaded."""
    new_versions: list[str]


def open_database(settings: Settings) -> Engine:
    return make_engine(settings.database_url, busy_timeout_ms=settings.db_busy_timeout_ms)


def initialise(settings: Settings, db: Engine | None = None) -> InitReport:
    """Create or upgrade the schema, then validate and register every bundled definition."""
    db = db or open_database(settings)
    definitions = load_definitions(settings.definitions_dir)
    registry = DefinitionRegistry(settings.definitions_dir)
    registry.catalog()
    load_calendar(settings.definitions_dir)
    from workflow.store.migrate import upgrade  # alembic is heavy; only init needs it

    upgrade(db)
    new: list[str] = []
    with db.begin() as conn:
        for definition in definitions.values():
            if registry.register(conn, definition, utc_now()):
                new.append(definition.name)
    return InitReport({d.name: d.version for d in definitions.values()}, new)


def open_engine(
    settings: Settings, db: Engine | None = None, *, mail: MailSettings, clock: Clock = utc_now
) -> WorkflowEngine:
    """The engine; without an audit key it reads, and refuses to write.

    Transitions write their new-task emails to the outbox, linking to ``mail.base_url``.
    Everything the engine dates reads ``clock``: one worker pass ``--at`` a moment passes
    ``workflow.clock.fixed(moment)``.
    """
    return WorkflowEngine(
        db or open_database(settings),
        DefinitionRegistry(settings.definitions_dir),
        settings.require_audit_key() if settings.audit_key is not None else None,
        timezone=settings.timezone,
        calendar=load_calendar(settings.definitions_dir),
        notifier=Notifier(mail, settings.lang, signer=link_signer(settings)),
        clock=clock,
        files=FolderFileStore(settings.files_folder),
        upload_policy=settings.upload_policy(),
    )


def link_signer(settings: Settings) -> Tokens | None:
    """Action links in emails are signed with ``GONGKAI_SECRET_KEY``; without one, emails link to item pages."""
    return tokens_for(settings) if settings.secret_key else None


def tokens_for(settings: Settings) -> Tokens:
    """The signer of links, sessions and forms, with the office's validity periods."""
    return Tokens(
        settings.require_secret_key(),
        action_max_age=dt.timedelta(days=settings.action_link_days),
        session_max_age=dt.timedelta(hours=settings.session_hours),
    )

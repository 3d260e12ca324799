"""What a database driver error means for the person waiting: busy, a lost race, or an unusable database.

The one place that reads driver errors; the command line and the web pages both ask it, so the same
error is the same answer everywhere (exit code and line in the CLI, status and page on the web).
"""

from __future__ import annotations

import enum
import sqlite3

import psycopg
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from workflow.core.errors import Busy, ConfigurationError, Conflict, GongkaiError

DRIVER_ERRORS: tuple[type[Exception], ...] = (DBAPIError, PoolTimeout, sqlite3.Error, psycopg.Error)
"""The exceptions :func:`classify` understands: driver errors as SQLAlchemy wraps them, no pooled
connection free in time, and the drivers' own (the hot path of ``fire`` runs on the raw cursor)."""

BUSY_SQLSTATES = frozenset(
    {
        "55P03",  # lock_not_available: lock_timeout ran out
        "57014",  # query_canceled: statement_timeout ran out
        "40001",  # serialization_failure: another transaction changed what this one read
        "40P01",  # deadlock_detected: PostgreSQL aborted this side of a deadlock
    }
)
"""PostgreSQL errors after which the same request, sent again a moment later, will most likely succeed."""

SQLITE_BUSY_NAMES = ("SQLITE_BUSY", "SQLITE_LOCKED")
SQLITE_BUSY_MESSAGES = ("database is locked", "database table is locked")


class Fault(enum.Enum):
    BUSY = "busy"
    """Another transaction held a lock past the busy timeout: nothing was changed, try again shortly."""
    RACE = "race"
    """Someone else wrote the same thing first (a unique key, a foreign key): nothing was changed."""
    UNUSABLE = "unusable"
    """The database cannot be used (down, missing, not initialised, a broken schema)."""


def classify(error: Exception) -> Fault:
    """The kind of a driver error (an exception of :data:`DRIVER_ERRORS`)."""
    if isinstance(error, PoolTimeout):
        return Fault.BUSY
    driver = getattr(error, "orig", None) or error
    if isinstance(error, IntegrityError) or isinstance(driver, sqlite3.IntegrityError | psycopg.IntegrityError):
        return Fault.RACE
    if getattr(driver, "sqlstate", None) in BUSY_SQLSTATES:
        return Fault.BUSY
    name = getattr(driver, "sqlite_errorname", None)
    if isinstance(name, str) and name.startswith(SQLITE_BUSY_NAMES):
        return Fault.BUSY
    if any(message in detail(error).lower() for message in SQLITE_BUSY_MESSAGES):
        return Fault.BUSY
    return Fault.UNUSABLE


def detail(error: Exception) -> str:
    """The driver's first line, without SQLAlchemy's statement and parameters (they may hold item text)."""
    driver = getattr(error, "orig", None) or error
    lines = str(driver).strip().splitlines()
    return lines[0].strip() if lines else type(driver).__name__


def database_error(error: Exception) -> GongkaiError:
    """A driver error as one of ours: Busy (try again), Conflict (a lost race), or ConfigurationError."""
    fault = classify(error)
    if fault is Fault.BUSY:
        return Busy("busy.database", detail=detail(error))
    if fault is Fault.RACE:
        return Conflict("conflict.database", detail=detail(error))
    return ConfigurationError("config.database_unusable", detail=detail(error))

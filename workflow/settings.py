"""Configuration: one frozen object read from the environment at the entry points."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from workflow.core.errors import ConfigurationError
from workflow.core.uploads import DEFAULT_MAX_MB, DEFAULT_TYPES, KNOWN_TYPES, MB, UploadPolicy

DEFAULT_DATABASE_FILE = "gongkai.db"
MIN_AUDIT_KEY_LENGTH = 32
LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class Settings:
    database_url: str
    definitions_dir: Path
    audit_key: str | None
    lang: str = "zh"
    timezone: str = "Asia/Shanghai"
    secret_key: str | None = None
    """``GONGKAI_SECRET_KEY`` (or ``_FILE``): signs action links, sign-in links, sessions and forms."""
    action_link_days: int = 7
    """``GONGKAI_ACTION_LINK_DAYS``: how long a decision link in an email stays valid."""
    session_hours: int = 8
    """``GONGKAI_SESSION_HOURS``: how long a web sign-in lasts."""
    security_log_days: int = 365
    """``GONGKAI_SECURITY_LOG_DAYS``: how long the web security log is kept (at least 180 days)."""
    db_busy_timeout_ms: int = 10_000
    """``GONGKAI_DB_BUSY_TIMEOUT_MS``: how long a write waits for a lock another one holds before it gives
    up and changes nothing (SQLite's busy timeout, PostgreSQL's ``lock_timeout``); the web then answers
    503 "busy, try again"."""
    worker_interval: int = 60
    """``GONGKAI_WORKER_INTERVAL``: seconds between the worker's passes (``run_worker.py`` without ``--once``)."""
    worker_batch: int = 50
    """``GONGKAI_WORKER_BATCH``: emails claimed (and sent over one SMTP connection) at a time; a pass claims
    batch after batch while mail is due and its budget lasts."""
    worker_budget_seconds: int = 300
    """``GONGKAI_WORKER_BUDGET_SECONDS``: how long one pass keeps sending what is due before it leaves the rest
    to the next pass (so a backlog run from cron drains in one pass, and a pass still ends)."""
    signin_per_client: int = 30
    """``GONGKAI_SIGNIN_PER_CLIENT``: sign-in requests one client address may make in 15 minutes (an office
    behind one router is one address: every clerk signing in at 8:30 counts against it)."""
    database_named: bool = True
    """False when ``GONGKAI_DATABASE_URL`` was not set and ``database_url`` is the default file (the demo then
    uses its own folder)."""
    files_dir: Path | None = None
    """``GONGKAI_FILES_DIR``: where attachments are kept; None: :attr:`files_folder` chooses."""
    file_types: tuple[str, ...] = DEFAULT_TYPES
    """``GONGKAI_FILE_TYPES``: the extensions that may be attached (each one gongkai can check)."""
    file_max_mb: int = DEFAULT_MAX_MB
    """``GONGKAI_FILE_MAX_MB``: the largest attachment, in megabytes."""
    site_dir: Path = Path("site")
    """``GONGKAI_SITE_DIR``: where the public catalogue site is built (a symlink swapped to each full build)."""
    channels_dir: Path = Path("channels")
    """``GONGKAI_CHANNELS_DIR``: where the notice-board PDFs and broadcast scripts are written."""
    webhook_url: str | None = None
    """``GONGKAI_WEBHOOK_URL``: the county platform's address for the webhook channel (unset: the channel fails
    its jobs with that reason, shown in ``gongkai publication status``)."""
    webhook_secret: str | None = None
    compliance_check: bool = True
    """``GONGKAI_COMPLIANCE_CHECK`` (``0`` turns it off): the worker runs the compliance check daily and emails the
    auditors what is new."""
    """``GONGKAI_WEBHOOK_SECRET`` (or ``_FILE``): the key of the webhook's HMAC-SHA-256 signature."""
    anchor_file: Path | None = None
    """``GONGKAI_ANCHOR_FILE``: the worker appends the day's audit anchor there as one JSON line (unset: the
    anchor is only emailed to the auditors). Keep it outside the database and its backups."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        lang = env.get("GONGKAI_LANG", "zh").strip().lower() or "zh"
        if lang not in LANGUAGES:
            raise ConfigurationError("config.bad_lang", value=lang)
        named_url = env.get("GONGKAI_DATABASE_URL") or None
        database_url = named_url or f"sqlite:///{DEFAULT_DATABASE_FILE}"
        definitions_dir = Path(env.get("GONGKAI_DEFINITIONS_DIR") or "definitions")
        audit_key = env.get("GONGKAI_AUDIT_KEY") or None
        key_file = env.get("GONGKAI_AUDIT_KEY_FILE")
        if audit_key is None and key_file:
            audit_key = read_key_file(Path(key_file))
        return cls(
            database_url=database_url,
            definitions_dir=definitions_dir,
            audit_key=audit_key,
            lang=lang,
            timezone=env.get("GONGKAI_TIMEZONE") or "Asia/Shanghai",
            secret_key=_secret(env),
            action_link_days=_positive(env, "GONGKAI_ACTION_LINK_DAYS", 7),
            session_hours=_positive(env, "GONGKAI_SESSION_HOURS", 8),
            security_log_days=_security_log_days(env),
            db_busy_timeout_ms=_positive(env, "GONGKAI_DB_BUSY_TIMEOUT_MS", 10_000),
            worker_interval=_positive(env, "GONGKAI_WORKER_INTERVAL", 60),
            worker_batch=_positive(env, "GONGKAI_WORKER_BATCH", 50),
            worker_budget_seconds=_positive(env, "GONGKAI_WORKER_BUDGET_SECONDS", 300),
            signin_per_client=_positive(env, "GONGKAI_SIGNIN_PER_CLIENT", 30),
            database_named=named_url is not None,
            files_dir=Path(env["GONGKAI_FILES_DIR"].strip()) if (env.get("GONGKAI_FILES_DIR") or "").strip() else None,
            file_types=_file_types(env),
            file_max_mb=_file_max_mb(env),
            site_dir=_path(env, "GONGKAI_SITE_DIR", "site"),
            channels_dir=_path(env, "GONGKAI_CHANNELS_DIR", "channels"),
            webhook_url=(env.get("GONGKAI_WEBHOOK_URL") or "").strip() or None,
            webhook_secret=_webhook_secret(env),
            compliance_check=(env.get("GONGKAI_COMPLIANCE_CHECK") or "1").strip().lower()
            not in ("0", "false", "no", "off"),
            anchor_file=Path(env["GONGKAI_ANCHOR_FILE"].strip())
            if (env.get("GONGKAI_ANCHOR_FILE") or "").strip()
            else None,
        )

    @property
    def files_folder(self) -> Path:
        """Where attachments are kept: ``GONGKAI_FILES_DIR``, else a ``files`` folder beside the SQLite
        database file (``demo-office/files`` in the demo), else ``files`` in the working directory."""
        if self.files_dir is not None:
            return self.files_dir
        prefix = "sqlite:///"
        database = self.database_url[len(prefix) :].split("?", 1)[0] if self.database_url.startswith(prefix) else ""
        if database and database != ":memory:":
            return Path(database).parent / "files"
        return Path("files")

    def upload_policy(self) -> UploadPolicy:
        return UploadPolicy(types=self.file_types, max_bytes=self.file_max_mb * MB)

    @staticmethod
    def lang_for_errors(environ: Mapping[str, str] | None = None) -> str:
        """The language to report a configuration error in when :meth:`from_env` itself failed:
        ``GONGKAI_LANG`` when it names a language gongkai speaks, else Chinese."""
        env = os.environ if environ is None else environ
        lang = env.get("GONGKAI_LANG", "").strip().lower()
        return lang if lang in LANGUAGES else "zh"

    def require_audit_key(self) -> bytes:
        """The HMAC key of the audit chain; refuses a missing or short one."""
        key = self.audit_key
        if key is None:
            raise ConfigurationError("config.no_audit_key")
        if len(key) < MIN_AUDIT_KEY_LENGTH:
            raise ConfigurationError("config.short_audit_key", minimum=MIN_AUDIT_KEY_LENGTH, length=len(key))
        return key.encode("utf-8")

    def require_secret_key(self) -> str:
        """The web application's signing secret; refuses a missing or short one."""
        key = self.secret_key
        if key is None:
            raise ConfigurationError("config.no_secret_key")
        if len(key) < MIN_AUDIT_KEY_LENGTH:
            raise ConfigurationError("config.short_secret_key", minimum=MIN_AUDIT_KEY_LENGTH, length=len(key))
        return key


def _path(env: Mapping[str, str], name: str, default: str) -> Path:
    return Path((env.get(name) or "").strip() or default)


def _webhook_secret(env: Mapping[str, str]) -> str | None:
    secret = env.get("GONGKAI_WEBHOOK_SECRET") or None
    key_file = env.get("GONGKAI_WEBHOOK_SECRET_FILE")
    if secret is None and key_file:
        secret = read_key_file(Path(key_file))
    return secret


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    text = (env.get(name) or "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ConfigurationError("config.not_positive", name=name, value=text)
    return int(text)


MIN_SECURITY_LOG_DAYS = 180
"""Network logs are kept no less than six months (Cybersecurity Law of the PRC, art. 21)."""


def _security_log_days(env: Mapping[str, str]) -> int:
    days = _positive(env, "GONGKAI_SECURITY_LOG_DAYS", 365)
    if days < MIN_SECURITY_LOG_DAYS:
        raise ConfigurationError("config.security_log_too_short", days=days, minimum=MIN_SECURITY_LOG_DAYS)
    return days


MAX_FILE_MB = 2048


def _file_types(env: Mapping[str, str]) -> tuple[str, ...]:
    text = env.get("GONGKAI_FILE_TYPES")
    if text is None:
        return DEFAULT_TYPES
    types: list[str] = []
    for part in text.split(","):
        name = part.strip().lower().lstrip(".")
        if not name:
            continue
        if name not in KNOWN_TYPES:
            raise ConfigurationError("config.unknown_file_type", value=part.strip(), known=", ".join(KNOWN_TYPES))
        if name not in types:
            types.append(name)
    if not types:
        raise ConfigurationError("config.no_file_types")
    return tuple(types)


def _file_max_mb(env: Mapping[str, str]) -> int:
    text = (env.get("GONGKAI_FILE_MAX_MB") or "").strip()
    if not text:
        return DEFAULT_MAX_MB
    if not text.isdigit() or not 1 <= int(text) <= MAX_FILE_MB:
        raise ConfigurationError("config.file_max_mb", value=text, maximum=MAX_FILE_MB)
    return int(text)


def _secret(env: Mapping[str, str]) -> str | None:
    key = env.get("GONGKAI_SECRET_KEY") or None
    key_file = env.get("GONGKAI_SECRET_KEY_FILE")
    if key is None and key_file:
        key = read_key_file(Path(key_file))
    return key


def read_key_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError("config.unreadable_key_file", path=str(path), detail=str(error)) from None

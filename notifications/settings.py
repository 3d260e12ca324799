"""Mail configuration: one frozen object read from the environment at the entry points."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from notifications.render import check_web_url
from notifications.transport import (
    DEFAULT_MAIL_FROM,
    FolderTransport,
    SmtpTransport,
    Transport,
    envelope_address,
    parse_smtp_url,
    redact_url,
)
from workflow.core.errors import ConfigurationError

DEFAULT_MAIL_DIR = "mail"
DEFAULT_BASE_URL = "http://localhost:8000"


@dataclass(frozen=True)
class MailSettings:
    smtp_url: str | None
    """``GONGKAI_SMTP_URL``; without it, emails are written as ``.eml`` files into ``mail_dir``."""
    mail_from: str = DEFAULT_MAIL_FROM
    """``GONGKAI_MAIL_FROM``: an address, or ``Name <address>``."""
    mail_dir: Path = Path(DEFAULT_MAIL_DIR)
    """``GONGKAI_MAIL_DIR``: the folder of the folder transport."""
    base_url: str = DEFAULT_BASE_URL
    """``GONGKAI_BASE_URL``: the web interface, for links in emails."""

    def __repr__(self) -> str:  # the SMTP URL may carry a password
        smtp = redact_url(self.smtp_url) if self.smtp_url else None
        return (
            f"MailSettings(smtp_url={smtp!r}, mail_from={self.mail_from!r}, "
            f"mail_dir={self.mail_dir!r}, base_url={self.base_url!r})"
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MailSettings:
        """Read and check the mail settings; a malformed value fails here, loudly."""
        env = os.environ if environ is None else environ
        settings = cls(
            smtp_url=env.get("GONGKAI_SMTP_URL", "").strip() or None,
            mail_from=env.get("GONGKAI_MAIL_FROM", "").strip() or DEFAULT_MAIL_FROM,
            mail_dir=Path(env.get("GONGKAI_MAIL_DIR", "").strip() or DEFAULT_MAIL_DIR),
            base_url=env.get("GONGKAI_BASE_URL", "").strip() or DEFAULT_BASE_URL,
        )
        settings.check()
        return settings

    def check(self) -> None:
        if self.smtp_url:
            parse_smtp_url(self.smtp_url)
        address = envelope_address(self.mail_from)
        if "@" not in address or any(c in self.mail_from for c in "\r\n"):
            raise ConfigurationError("config.bad_mail_from", value=self.mail_from)
        check_web_url(self.base_url)


def transport_for(settings: MailSettings) -> Transport:
    """SMTP when ``GONGKAI_SMTP_URL`` is set, otherwise ``.eml`` files in ``GONGKAI_MAIL_DIR``."""
    if settings.smtp_url:
        return SmtpTransport.from_url(settings.smtp_url, sender=settings.mail_from)
    return FolderTransport(settings.mail_dir, sender=settings.mail_from)

"""Transports: how a rendered email leaves gongkai (SMTP, or ``.eml`` files in a folder).

A transport sends a batch over one connection::

    with transport:                 # open() ... close()
        for email in batch:
            transport.send(email)   # raises a DeliveryError for this email only

A :class:`TemporaryDeliveryError` (SMTP 4xx, a connection that failed or dropped) is
retried later; a :class:`PermanentDeliveryError` (SMTP 5xx for this recipient, a message
that cannot be built) fails the message. ``connection_lost`` says the rest of the batch
cannot go over this connection either.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import smtplib
import ssl
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from types import TracebackType
from typing import Literal
from urllib.parse import unquote, urlsplit

from notifications.render import header_safe
from workflow.core.errors import ConfigurationError, GongkaiError

DEFAULT_MAIL_FROM = "gongkai@localhost"
SMTP_TIMEOUT_SECONDS = 30.0

Security = Literal["plain", "starttls", "tls"]
SCHEMES: dict[str, tuple[Security, int]] = {
    "smtp": ("plain", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("tls", 465),
}


class DeliveryError(GongkaiError):
    """An email could not be delivered this time."""

    key = "delivery.failed"
    permanent = False

    def __init__(self, detail: str, *, connection_lost: bool = False) -> None:
        super().__init__(self.key, detail=detail)
        self.detail = detail
        self.connection_lost = connection_lost


class TemporaryDeliveryError(DeliveryError):
    """The server said 'try later' (4xx), or could not be reached: retry with backoff."""

    key = "delivery.temporary"


class PermanentDeliveryError(DeliveryError):
    """The server refused this message for good (5xx), or it cannot be built: do not retry."""

    key = "delivery.permanent"
    permanent = True


@dataclass(frozen=True)
class OutgoingEmail:
    """One email to one recipient, as stored in the outbox."""

    message_id: str
    """``<...@gongkai>``, fixed when the outbox row was written: a resend carries the same one."""
    recipient: str
    subject: str
    text: str
    html: str
    date: dt.datetime
    """When the message was written (the outbox row's ``created_at``), not when it is sent."""
    event: str = ""


def build_email(email: OutgoingEmail, sender: str) -> EmailMessage:
    """The MIME message: text and HTML alternatives, with the outbox row's Message-ID and date."""
    message = EmailMessage()
    message["From"] = header_safe(sender)
    message["To"] = header_safe(email.recipient)
    message["Subject"] = header_safe(email.subject)
    message["Date"] = format_datetime(email.date.astimezone(dt.UTC))
    message["Message-ID"] = header_safe(email.message_id)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to us
    message["X-Auto-Response-Suppress"] = "All"
    if email.event:
        message["X-Gongkai-Event"] = header_safe(email.event)
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


def envelope_address(sender: str) -> str:
    """The bare address of a From value such as ``公开 <gongkai@example.gov.cn>``."""
    return parseaddr(sender)[1]


class Transport(ABC):
    """Sends emails, a batch over one connection.

    Use as a context manager (``open()`` on enter, ``close()`` on exit) or call the
    three methods yourself. ``send`` raises a :class:`DeliveryError` when this email was
    not accepted; any other exception is a bug. Implementations: :class:`SmtpTransport`,
    :class:`FolderTransport`.
    """

    def open(self) -> None:  # noqa: B027 (a transport without a connection needs no open)
        """Connect; raises :class:`TemporaryDeliveryError` with ``connection_lost`` when it cannot."""

    @abstractmethod
    def send(self, email: OutgoingEmail) -> None:
        """Hand one email over; returns when it was accepted, raises a DeliveryError when not."""

    def close(self) -> None:  # noqa: B027
        """Disconnect; never raises."""

    def __enter__(self) -> Transport:
        self.open()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


@dataclass(frozen=True)
class SmtpEndpoint:
    """Where and how to reach the SMTP server, parsed from ``GONGKAI_SMTP_URL``."""

    security: Security
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***``: safe for messages and logs."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return "***" if ":" in url and "@" in url else url
    netloc, slash, path = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    if not at:
        return url
    user, colon, _password = userinfo.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{hostport}{slash}{path}"


def parse_smtp_url(url: str) -> SmtpEndpoint:
    """``smtp://host:port``, ``smtp+starttls://user:password@host:587`` or ``smtps://user:password@host:465``.

    User and password are percent-decoded (``%40`` for ``@``) and must be ASCII (smtplib
    cannot send others). A password is refused on plain ``smtp://``, which would send it
    unencrypted.
    """
    shown = redact_url(url)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ConfigurationError("config.bad_smtp_url", url=shown) from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ConfigurationError("config.bad_smtp_scheme", url=shown, allowed=", ".join(f"{s}://" for s in SCHEMES))
    if not parts.hostname or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigurationError("config.bad_smtp_url", url=shown)
    security, default_port = SCHEMES[scheme]
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password and security == "plain":
        raise ConfigurationError("config.smtp_password_in_clear", url=shown)
    if not (username or "").isascii() or not (password or "").isascii():  # smtplib's AUTH encodes ASCII only
        raise ConfigurationError("config.smtp_credentials_not_ascii", url=shown)
    return SmtpEndpoint(security, parts.hostname, port or default_port, username, password)


class SmtpTransport(Transport):
    """SMTP over one connection per batch: plain, STARTTLS or implicit TLS (smtplib)."""

    def __init__(
        self,
        endpoint: SmtpEndpoint,
        *,
        sender: str = DEFAULT_MAIL_FROM,
        timeout: float = SMTP_TIMEOUT_SECONDS,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.sender = sender
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.local_hostname = local_hostname
        self._smtp: smtplib.SMTP | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        sender: str = DEFAULT_MAIL_FROM,
        timeout: float = SMTP_TIMEOUT_SECONDS,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> SmtpTransport:
        return cls(
            parse_smtp_url(url), sender=sender, timeout=timeout, ssl_context=ssl_context, local_hostname=local_hostname
        )

    def open(self) -> None:
        if self._smtp is not None:
            return
        endpoint = self.endpoint
        # Loading the system's CA certificates costs milliseconds: only for TLS.
        context = (self.ssl_context or ssl.create_default_context()) if endpoint.security != "plain" else None
        smtp: smtplib.SMTP | None = None
        try:
            if endpoint.security == "tls":
                smtp = smtplib.SMTP_SSL(
                    endpoint.host, endpoint.port, self.local_hostname, timeout=self.timeout, context=context
                )
            else:
                smtp = smtplib.SMTP(endpoint.host, endpoint.port, self.local_hostname, timeout=self.timeout)
            smtp.ehlo()
            if endpoint.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if endpoint.username:
                smtp.login(endpoint.username, endpoint.password or "")
        except (smtplib.SMTPException, OSError) as error:
            if smtp is not None:
                _quit(smtp)
            raise TemporaryDeliveryError(
                f"{endpoint.host}:{endpoint.port}: {_describe(error)}", connection_lost=True
            ) from None
        self._smtp = smtp

    def send(self, email: OutgoingEmail) -> None:
        try:
            message = build_email(email, self.sender)
        except (ValueError, TypeError) as error:
            raise PermanentDeliveryError(f"cannot build the message: {error}") from None
        self.open()
        smtp = self._smtp
        assert smtp is not None
        try:
            refused = smtp.send_message(message, envelope_address(self.sender), [email.recipient])
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = error.recipients.get(email.recipient, next(iter(error.recipients.values()), (0, b"")))
            raise self._by_code(code, reply, email.recipient) from None
        except smtplib.SMTPNotSupportedError as error:  # e.g. an internationalised address, no SMTPUTF8
            raise PermanentDeliveryError(_describe(error)) from None
        except smtplib.SMTPResponseException as error:  # sender refused, data refused, 421
            raise self._by_code(error.smtp_code, error.smtp_error, email.recipient) from None
        except (smtplib.SMTPException, OSError) as error:  # disconnected, timeout, reset
            self._drop()
            raise TemporaryDeliveryError(_describe(error), connection_lost=True) from None
        if email.recipient in refused:  # smtplib raises instead when every recipient is refused
            code, reply = refused[email.recipient]
            raise self._by_code(code, reply, email.recipient)

    def close(self) -> None:
        if self._smtp is not None:
            _quit(self._smtp)
            self._smtp = None

    def _by_code(self, code: int, reply: bytes | str, recipient: str) -> DeliveryError:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        detail = f"{recipient}: {code} {header_safe(text)}"
        if code == 421:  # the server is closing the connection
            self._drop()
            return TemporaryDeliveryError(detail, connection_lost=True)
        if 500 <= code < 600:
            return PermanentDeliveryError(detail)
        return TemporaryDeliveryError(detail)

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _describe(error: BaseException) -> str:
    text = header_safe(str(error))
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]")


class FolderTransport(Transport):
    """Writes each email as an ``.eml`` file into a folder: for development and offices without SMTP.

    The file is named after the date and Message-ID, so a resend overwrites the same file.
    """

    def __init__(self, folder: Path, *, sender: str = DEFAULT_MAIL_FROM) -> None:
        self.folder = Path(folder)
        self.sender = sender

    def open(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise TemporaryDeliveryError(f"{self.folder}: {_describe(error)}", connection_lost=True) from None

    def path_for(self, email: OutgoingEmail) -> Path:
        stem = _UNSAFE_FILENAME.sub("_", email.message_id.strip("<>"))
        return self.folder / f"{email.date.astimezone(dt.UTC):%Y%m%dT%H%M%S}-{stem}.eml"

    def send(self, email: OutgoingEmail) -> None:
        try:
            data = bytes(build_email(email, self.sender))
        except (ValueError, TypeError) as error:
            raise PermanentDeliveryError(f"cannot build the message: {error}") from None
        target = self.path_for(email)
        temporary: str | None = None
        try:
            with tempfile.NamedTemporaryFile(dir=self.folder, prefix=".", suffix=".tmp", delete=False) as handle:
                temporary = handle.name
                handle.write(data)
            os.replace(temporary, target)  # readers never see half a file
        except OSError as error:
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)
            raise TemporaryDeliveryError(f"{target}: {_describe(error)}", connection_lost=True) from None

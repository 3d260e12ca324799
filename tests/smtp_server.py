"""A real SMTP server for tests (aiosmtpd on 127.0.0.1) that records what it accepts.

Recipients decide the server's answer, so retry and failure paths are real SMTP replies:
``tempfail...@`` gets ``451`` (try later), ``reject...@`` gets ``550`` (no such user),
``drop...@`` gets ``421`` (the server closes the connection); everything else is accepted.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

REPLIES = {
    "tempfail": "451 4.7.1 Try again later",
    "reject": "550 5.1.1 No such user here",
    "drop": "421 4.3.2 Service shutting down",
}


@dataclass(frozen=True)
class Received:
    mail_from: str
    recipients: list[str]
    message: EmailMessage
    peer: Any
    """The client's (host, port): one value per SMTP connection."""

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


class RecordingHandler:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.logins: list[tuple[str, str]] = []
        self.delay = 0.0

    def reset(self) -> None:
        with self.lock:
            self.received.clear()
            self.logins.clear()

    def message_ids(self) -> list[str]:
        with self.lock:
            return [r.message_id for r in self.received]

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        for prefix, reply in REPLIES.items():
            if address.startswith(prefix):
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)  # a slow server, so a test can stop a sender mid-batch
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, session.peer))
        return "250 2.0.0 Accepted"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        with self.lock:
            self.logins.append((auth_data.login.decode("utf-8"), auth_data.password.decode("utf-8")))
        return AuthResult(success=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server(
    *, auth: bool = False, port: int | None = None, **options: Any
) -> Iterator[tuple[RecordingHandler, int]]:
    """Start a recording server on ``port`` (a free one by default); yields the handler and the port.

    ``auth`` accepts any login and records it; ``options`` go to aiosmtpd's SMTP class.
    """
    handler = RecordingHandler()
    if auth:
        options["authenticator"] = handler.authenticate
    controller = Controller(handler, hostname="127.0.0.1", port=port or free_port(), **options)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def connections_to(listener: socket.socket) -> int:
    """How many connections wait in a :func:`silent_listener`'s backlog (they are closed as counted)."""
    count = 0
    while True:
        try:
            accepted, _ = listener.accept()
        except BlockingIOError:
            return count
        accepted.close()
        count += 1


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


def self_signed(folder: Path) -> Certificate | None:
    """A certificate for 127.0.0.1 made with the openssl command; None when there is none."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return Certificate(cert, key)


# ---- fixtures (registered in conftest.py): one server per test module, emptied before each test ----


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[RecordingHandler, int]]:
    with smtp_server() as running:
        yield running


@pytest.fixture
def mail(server: tuple[RecordingHandler, int]) -> RecordingHandler:
    """The module's SMTP server's mailbox, emptied for this test."""
    server[0].reset()
    return server[0]


@pytest.fixture
def mailbox(mail: RecordingHandler) -> RecordingHandler:
    return mail


@pytest.fixture
def silent_listener() -> Iterator[socket.socket]:
    """A port that takes TCP connections into its backlog but never answers: any connection attempt
    shows in :func:`connections_to` (and an SMTP client would wait for a greeting until its timeout)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        sock.setblocking(False)
        yield sock

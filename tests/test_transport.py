"""Transports against a real SMTP server (aiosmtpd on 127.0.0.1) and a real folder."""

from __future__ import annotations

import datetime as dt
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from notifications.settings import MailSettings, transport_for
from notifications.transport import (
    FolderTransport,
    OutgoingEmail,
    PermanentDeliveryError,
    SmtpEndpoint,
    SmtpTransport,
    TemporaryDeliveryError,
    parse_smtp_url,
    redact_url,
)
from tests.smtp_server import Certificate, RecordingHandler, free_port, self_signed, smtp_server
from workflow.core.errors import ConfigurationError

WRITTEN = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def email(n: int = 1, recipient: str = "reviewer@town.example.gov.cn", **changes: str) -> OutgoingEmail:
    values = {
        "message_id": f"<{n:032x}@gongkai>",
        "recipient": recipient,
        "subject": f"【待办】GK-2026-{n:04d} 保密审查 截止 2026-03-09：预算公开",
        "text": f"第 {n} 封\n正文",
        "html": f"<p>第 {n} 封</p>",
        "event": "new_task",
    }
    values.update(changes)
    return OutgoingEmail(date=WRITTEN, **values)  # type: ignore[arg-type]


@pytest.fixture
def smtp(server: tuple[RecordingHandler, int]) -> SmtpTransport:
    return SmtpTransport.from_url(f"smtp://127.0.0.1:{server[1]}", local_hostname="localhost", timeout=5)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    made = self_signed(tmp_path_factory.mktemp("tls"))
    if made is None:
        pytest.skip("no openssl command to make a test certificate")
    return made


# ---- URLs ----------------------------------------------------------------------------------


def test_smtp_urls() -> None:
    assert parse_smtp_url("smtp://mail.example.gov.cn") == SmtpEndpoint("plain", "mail.example.gov.cn", 25)
    assert parse_smtp_url("smtp://127.0.0.1:2525") == SmtpEndpoint("plain", "127.0.0.1", 2525)
    starttls = parse_smtp_url("smtp+starttls://gk%40town.gov.cn:p%3Aw%2Fd%20x@mail.example.gov.cn")
    assert starttls == SmtpEndpoint("starttls", "mail.example.gov.cn", 587, "gk@town.gov.cn", "p:w/d x")
    assert parse_smtp_url("smtps://gk:secret@mail.example.gov.cn:1465") == SmtpEndpoint(
        "tls", "mail.example.gov.cn", 1465, "gk", "secret"
    )
    assert parse_smtp_url("SMTPS://gk:secret@mail.example.gov.cn").port == 465
    assert "secret" not in repr(parse_smtp_url("smtps://gk:secret@mail.example.gov.cn"))


@pytest.mark.parametrize(
    "url",
    [
        "http://gk:s3cret-pw@mail.example.gov.cn",
        "smtp+ssl://gk:s3cret-pw@mail.example.gov.cn",
        "smtps://gk:s3cret-pw@mail.example.gov.cn:notaport",
        "smtps://gk:s3cret-pw@:465",
        "smtps://gk:s3cret-pw@mail.example.gov.cn/path",
        "smtp://gk:s3cret-pw@mail.example.gov.cn",
        "smtps://gk:s3cret-pw%C3%A9@mail.example.gov.cn",
        "mail.example.gov.cn",
    ],
)
def test_bad_smtp_urls_are_named_without_the_password(url: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        parse_smtp_url(url)
    for lang in ("zh", "en"):
        text = raised.value.render(lang)
        assert "s3cret-pw" not in text
        if "@" in url:
            assert "gk:***@" in text


def test_redact_url() -> None:
    assert redact_url("smtps://u:p%40ss@h:465") == "smtps://u:***@h:465"
    assert redact_url("smtp://h:25") == "smtp://h:25"
    assert redact_url("smtp://user@h") == "smtp://user@h"


def test_mail_settings_choose_the_transport(tmp_path: Path) -> None:
    folder = MailSettings.from_env({"GONGKAI_MAIL_DIR": str(tmp_path / "out")})
    assert folder.mail_from == "gongkai@localhost" and folder.smtp_url is None
    transport = transport_for(folder)
    assert isinstance(transport, FolderTransport) and transport.folder == tmp_path / "out"
    smtp = MailSettings.from_env(
        {"GONGKAI_SMTP_URL": "smtps://gk:topsecret@mail.example.gov.cn", "GONGKAI_MAIL_FROM": "公开 <gk@town.gov.cn>"}
    )
    assert isinstance(transport_for(smtp), SmtpTransport)
    assert "topsecret" not in repr(smtp)
    for bad in ({"GONGKAI_MAIL_FROM": "nobody"}, {"GONGKAI_BASE_URL": "javascript:x"}, {"GONGKAI_SMTP_URL": "ftp://x"}):
        with pytest.raises(ConfigurationError):
            MailSettings.from_env(bad)


# ---- SMTP ----------------------------------------------------------------------------------


def test_a_batch_goes_over_one_connection(smtp: SmtpTransport, mail: RecordingHandler) -> None:
    with smtp:
        for n in range(1, 4):
            smtp.send(email(n))
    assert mail.message_ids() == [f"<{n:032x}@gongkai>" for n in range(1, 4)]
    assert len({r.peer for r in mail.received}) == 1
    first = mail.received[0]
    assert first.mail_from == "gongkai@localhost" and first.recipients == ["reviewer@town.example.gov.cn"]
    assert_well_formed(first.message, email(1))


def assert_well_formed(message: EmailMessage, sent: OutgoingEmail) -> None:
    assert message["Message-ID"] == sent.message_id
    assert message["Subject"] == sent.subject
    assert message["To"] == sent.recipient
    assert message["From"] == "gongkai@localhost"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"].datetime == WRITTEN
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content().replace("\r\n", "\n") == sent.text + "\n"  # CRLF on the wire
    assert html.get_content().replace("\r\n", "\n") == sent.html + "\n"


def test_header_injection_is_flattened(smtp: SmtpTransport, mail: RecordingHandler) -> None:
    with smtp:
        smtp.send(email(subject="标题\r\nBcc: attacker@evil.example\r\n\r\n<html>"))
    message = mail.received[0].message
    assert message["Bcc"] is None
    assert message["Subject"] == "标题 Bcc: attacker@evil.example <html>"
    assert mail.received[0].recipients == ["reviewer@town.example.gov.cn"]


def test_refusals_per_recipient(smtp: SmtpTransport, mail: RecordingHandler) -> None:
    with smtp:
        with pytest.raises(PermanentDeliveryError) as permanent:
            smtp.send(email(1, "reject-me@town.example.gov.cn"))
        assert "550" in permanent.value.detail and not permanent.value.connection_lost
        with pytest.raises(TemporaryDeliveryError) as temporary:
            smtp.send(email(2, "tempfail@town.example.gov.cn"))
        assert "451" in temporary.value.detail and not temporary.value.connection_lost
        smtp.send(email(3))  # the same connection still works after both refusals
    assert mail.message_ids() == [f"<{3:032x}@gongkai>"]


def test_a_421_drops_the_connection_and_the_next_send_reconnects(smtp: SmtpTransport, mail: RecordingHandler) -> None:
    with smtp:
        with pytest.raises(TemporaryDeliveryError) as dropped:
            smtp.send(email(1, "drop@town.example.gov.cn"))
        assert dropped.value.connection_lost
        smtp.send(email(2))
    assert mail.message_ids() == [f"<{2:032x}@gongkai>"]


def test_no_server_is_a_temporary_error_without_the_password() -> None:
    port = free_port()
    transport = SmtpTransport.from_url(f"smtps://gk:hunter2@127.0.0.1:{port}", timeout=2)
    with pytest.raises(TemporaryDeliveryError) as raised:
        transport.open()
    assert raised.value.connection_lost
    assert "hunter2" not in raised.value.render("en") and f"127.0.0.1:{port}" in raised.value.detail
    transport.close()


def test_starttls_with_login(certificate: Certificate) -> None:
    with smtp_server(auth=True, tls_context=certificate.server_context(), require_starttls=True) as (handler, port):
        transport = SmtpTransport.from_url(
            f"smtp+starttls://gk%40town.gov.cn:p%3Aw%2Fd@127.0.0.1:{port}",
            ssl_context=certificate.client_context(),
            local_hostname="localhost",
            timeout=5,
        )
        with transport:
            transport.send(email(1))
        assert handler.logins == [("gk@town.gov.cn", "p:w/d")]
        assert handler.message_ids() == [f"<{1:032x}@gongkai>"]


def test_implicit_tls_with_login(certificate: Certificate) -> None:
    options = {"ssl_context": certificate.server_context(), "auth_require_tls": False}
    with smtp_server(auth=True, **options) as (handler, port):
        transport = SmtpTransport.from_url(
            f"smtps://gk:s%3Acret@127.0.0.1:{port}", ssl_context=certificate.client_context(), timeout=5
        )
        with transport:
            transport.send(email(1))
        assert handler.logins == [("gk", "s:cret")]
        assert handler.message_ids() == [f"<{1:032x}@gongkai>"]


def test_an_untrusted_certificate_is_refused(certificate: Certificate) -> None:
    with smtp_server(tls_context=certificate.server_context(), require_starttls=True) as (_handler, port):
        transport = SmtpTransport.from_url(f"smtp+starttls://127.0.0.1:{port}", timeout=5)  # system CAs only
        with pytest.raises(TemporaryDeliveryError) as raised:
            transport.open()
        assert "SSL" in raised.value.detail


# ---- folder --------------------------------------------------------------------------------


def test_folder_transport_writes_parseable_eml_files(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    transport = FolderTransport(folder, sender="公开 <gk@town.gov.cn>")
    with transport:
        transport.send(email(1))
        transport.send(email(2, subject="第二封"))
        transport.send(email(1))  # a resend writes the same file again
    files = sorted(folder.iterdir())
    assert [f.suffix for f in files] == [".eml", ".eml"], "no temporary files are left behind"
    parsed = [BytesParser(policy=policy.default).parsebytes(f.read_bytes()) for f in files]
    assert sorted(str(m["Message-ID"]) for m in parsed) == [f"<{1:032x}@gongkai>", f"<{2:032x}@gongkai>"]
    first = next(m for m in parsed if m["Message-ID"] == f"<{1:032x}@gongkai>")
    assert isinstance(first, EmailMessage)
    assert first["From"].addresses[0].display_name == "公开"
    assert first["From"].addresses[0].addr_spec == "gk@town.gov.cn"
    assert first["Subject"] == email(1).subject
    plain = first.get_body(("plain",))
    assert plain is not None and plain.get_content() == "第 1 封\n正文\n"
    assert transport.path_for(email(1)).name.startswith("20260302T020000-")

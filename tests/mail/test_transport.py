"""Delivery: the file outbox and a real SMTP round trip against aiosmtpd."""

from __future__ import annotations

import email
import email.policy
import os
import stat
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.mail.conftest import PASSWORD, USER, ServerFactory
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.errors import InvalidInput
from tutela.mail import (
    FileOutbox,
    MailDeliveryFailed,
    OutboundMail,
    SmtpMailer,
    build_message,
    mailer_from_settings,
    marketing_headers,
    render_mail,
)

TOKEN = "1.c3ViamVjdDpBYmNkZWZnaGlqa2xtbm9wcXJzdHV2.1798761600.Zm9vYmFyYmF6cXV1eGZvb2Jh"
HTTPS = f"https://privacy.example.org/consent/unsubscribe/{TOKEN}"
MAILTO = f"mailto:unsubscribe@example.org?subject=unsubscribe-{TOKEN}"


def newsletter(clock: FrozenClock, to: str = "anna@example.org") -> EmailMessage:
    subject, text, html = render_mail(
        "newsletter_sample",
        language="de",
        context={"controller": "Beispiel GmbH", "unsubscribe_url": HTTPS},
        category="marketing",
    )
    mail = OutboundMail(
        to=to,
        subject=subject,
        text=text,
        html=html,
        headers=marketing_headers(https_url=HTTPS, mailto=MAILTO),
        category="marketing",
    )
    return build_message(
        mail,
        sender="Beispiel GmbH <news@example.org>",
        message_id_domain="example.org",
        clock=clock,
    )


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> dict[str, str]:
    found = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            assert isinstance(part, EmailMessage)
            found[part.get_content_type()] = str(part.get_content())
    return found


def test_file_outbox_writes_a_private_readable_eml(tmp_path: Path, clock: FrozenClock) -> None:
    outbox = FileOutbox(tmp_path / "outbox")
    message = newsletter(clock)
    message_id = outbox.send(message)
    assert message_id == message["Message-ID"]
    files = list((tmp_path / "outbox").iterdir())
    assert len(files) == 1
    [path] = files
    assert path.name.startswith("20260302T090000Z-")
    assert path.name.endswith("@example.org.eml")
    assert path == outbox.path_for(message)
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    stored = parse(path.read_bytes())
    assert stored["Message-ID"] == message_id
    assert stored["To"] == "anna@example.org"
    assert stored["List-Unsubscribe"] == f"<{HTTPS}>, <{MAILTO}>"
    assert stored["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert stored["Subject"] == "Neuigkeiten von Beispiel GmbH"
    assert "Beispielausgabe unseres Newsletters" in parts(stored)["text/plain"]


def test_file_outbox_refuses_messages_without_id_and_reports_unwritable_folders(
    tmp_path: Path, clock: FrozenClock
) -> None:
    with pytest.raises(InvalidInput, match="Message-ID"):
        FileOutbox(tmp_path).send(EmailMessage())
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(MailDeliveryFailed, match="cannot be written") as caught:
        FileOutbox(blocker / "outbox").send(newsletter(clock))
    assert caught.value.extra["field"] == "outbox_dir"
    assert list(tmp_path.iterdir()) == [blocker]


def test_mailer_from_settings_picks_smtp_only_when_configured(tmp_path: Path) -> None:
    outbox = mailer_from_settings(Settings(data_dir=tmp_path))
    assert isinstance(outbox, FileOutbox)
    assert outbox.directory == tmp_path / "outbox"
    smtp = mailer_from_settings(Settings(data_dir=tmp_path, smtp_host="mail.example.org"))
    assert isinstance(smtp, SmtpMailer)
    assert smtp.port == 587
    assert smtp.security == "starttls"


@pytest.mark.promise("P04")
def test_smtp_round_trip_keeps_both_parts_and_the_unsubscribe_headers(
    smtp_server: ServerFactory, tmp_path: Path, clock: FrozenClock
) -> None:
    server = smtp_server()
    settings = Settings(
        data_dir=tmp_path, smtp_host=server.host, smtp_port=server.port, smtp_security="none"
    )
    message = newsletter(clock)
    message_id = SmtpMailer(settings, timeout=5).send(message)
    assert message_id == message["Message-ID"]
    [received] = server.inbox.messages
    assert received.rcpt_tos == ["anna@example.org"]
    assert received.mail_from == "news@example.org"
    delivered = parse(received.data)
    assert delivered["Message-ID"] == message_id
    assert delivered["List-Unsubscribe"] == f"<{HTTPS}>, <{MAILTO}>"
    assert delivered["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The URIs travel verbatim (folded between them), never as RFC 2047 encoded words.
    assert f"List-Unsubscribe: <{HTTPS}>,\r\n <{MAILTO}>\r\n".encode() in received.data
    assert delivered.get_content_type() == "multipart/alternative"
    body = parts(delivered)
    assert set(body) == {"text/plain", "text/html"}
    assert HTTPS in body["text/plain"]
    assert f'href="{HTTPS}"' in body["text/html"]


def test_smtp_with_starttls_and_login(
    smtp_server: ServerFactory, tmp_path: Path, clock: FrozenClock
) -> None:
    server = smtp_server(tls=True, login=True)
    settings = Settings(
        data_dir=tmp_path,
        smtp_host=server.host,
        smtp_port=server.port,
        smtp_security="starttls",
        smtp_username=USER,
        smtp_password=PASSWORD,
    )
    mailer = SmtpMailer(settings, timeout=5, tls_context=server.client_context)
    mailer.send(newsletter(clock))
    assert len(server.inbox.messages) == 1
    wrong = settings.model_copy(update={"smtp_password": None})
    with pytest.raises(MailDeliveryFailed, match="refused the login") as caught:
        SmtpMailer(wrong, timeout=5, tls_context=server.client_context).send(newsletter(clock))
    assert "TUTELA_SMTP_PASSWORD" in caught.value.detail


def test_starttls_with_an_untrusted_certificate_fails_clearly(
    smtp_server: ServerFactory, tmp_path: Path, clock: FrozenClock
) -> None:
    server = smtp_server(tls=True)
    settings = Settings(data_dir=tmp_path, smtp_host=server.host, smtp_port=server.port)
    with pytest.raises(MailDeliveryFailed, match="TLS handshake"):
        SmtpMailer(settings, timeout=5).send(newsletter(clock))
    assert server.inbox.messages == []


def test_starttls_required_but_not_offered(
    smtp_server: ServerFactory, tmp_path: Path, clock: FrozenClock
) -> None:
    server = smtp_server()
    settings = Settings(data_dir=tmp_path, smtp_host=server.host, smtp_port=server.port)
    with pytest.raises(MailDeliveryFailed, match="does not offer STARTTLS"):
        SmtpMailer(settings, timeout=5).send(newsletter(clock))


def test_refused_recipient_and_unreachable_server(
    smtp_server: ServerFactory, tmp_path: Path, clock: FrozenClock
) -> None:
    server = smtp_server()
    server.inbox.refuse = True
    settings = Settings(
        data_dir=tmp_path, smtp_host=server.host, smtp_port=server.port, smtp_security="none"
    )
    with pytest.raises(
        MailDeliveryFailed, match=r"refused the recipient \(codes \[550\]\)"
    ) as caught:
        SmtpMailer(settings, timeout=5).send(newsletter(clock))
    assert caught.value.extra["permanent"] is True
    assert "anna@example.org" not in caught.value.detail
    closed = settings.model_copy(update={"smtp_port": 1})
    with pytest.raises(MailDeliveryFailed, match="could not be reached") as caught:
        SmtpMailer(closed, timeout=5).send(newsletter(clock))
    assert caught.value.detail.startswith("The mail server 127.0.0.1:1 ")
    assert caught.value.status == 502


def test_smtp_mailer_needs_a_host(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        SmtpMailer(Settings(data_dir=tmp_path))
    assert caught.value.extra["field"] == "smtp_host"

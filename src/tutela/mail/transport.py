"""Where mail goes: an SMTP server, or ``.eml`` files in an outbox folder.

:func:`mailer_from_settings` picks SMTP when ``TUTELA_SMTP_HOST`` is set and
otherwise the file outbox in the data directory, so a fresh installation works
offline and every mail it would send can be read as a file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import os
import re
import secrets
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Final, Protocol

from tutela.config import Settings
from tutela.errors import InvalidInput
from tutela.mail.errors import MailDeliveryFailed

__all__ = ["FileOutbox", "Mailer", "SmtpMailer", "mailer_from_settings"]

DEFAULT_TIMEOUT: Final = 30.0
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._@-]+")


class Mailer(Protocol):
    """Sends one finished message; returns its Message-ID."""

    def send(self, message: EmailMessage) -> str: ...


def _message_id(message: EmailMessage) -> str:
    value = message.get("Message-ID")
    if not value:
        raise InvalidInput(
            "message: the message has no Message-ID; build it with build_message().",
            field="message",
        )
    return str(value).strip()


class SmtpMailer:
    """Delivers through the SMTP server in the settings (STARTTLS, implicit TLS or plain)."""

    def __init__(
        self,
        settings: Settings,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        """``tls_context`` replaces the system's trusted certificates (e.g. a private CA)."""
        if not settings.smtp_host:
            raise InvalidInput(
                "smtp_host: no SMTP server is configured; set TUTELA_SMTP_HOST or use the "
                "file outbox.",
                field="smtp_host",
            )
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.security = settings.smtp_security
        self.username = settings.smtp_username
        password = settings.smtp_password
        self._password = password.get_secret_value() if password is not None else None
        self.timeout = timeout
        self._tls_context = tls_context

    def __repr__(self) -> str:
        return f"SmtpMailer({self.host}:{self.port}, {self.security})"

    def _connect(self) -> smtplib.SMTP:
        context = self._tls_context or ssl.create_default_context()
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            client.ehlo()
            if self.security == "starttls":
                client.starttls(context=context)
                client.ehlo()
        except BaseException:
            client.close()
            raise
        return client

    def send(self, message: EmailMessage) -> str:
        message_id = _message_id(message)
        try:
            with self._connect() as client:
                if self.username:
                    client.login(self.username, self._password or "")
                client.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise self._failed(
                f"refused the login of {self.username!r} ({exc.smtp_code}); check "
                "TUTELA_SMTP_USERNAME and TUTELA_SMTP_PASSWORD"
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            raise self._failed(
                f"refused the recipient (codes {codes}); check the address",
                permanent=True,
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise self._failed(
                f"answered {exc.smtp_code} {_reply(exc.smtp_error)}",
                permanent=500 <= exc.smtp_code < 600,
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise self._failed(
                "does not offer STARTTLS; set TUTELA_SMTP_SECURITY=tls for implicit TLS or "
                "=none for a local relay"
            ) from None
        except TimeoutError:
            raise self._failed(
                f"did not answer within {self.timeout:g} seconds; check TUTELA_SMTP_HOST "
                "and TUTELA_SMTP_PORT"
            ) from None
        except ssl.SSLError as exc:
            raise self._failed(
                f"failed the TLS handshake ({exc.reason or exc}); check TUTELA_SMTP_SECURITY "
                "and the server's certificate"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise self._failed(
                f"could not be reached ({exc.__class__.__name__}: {exc}); check "
                "TUTELA_SMTP_HOST and TUTELA_SMTP_PORT"
            ) from None
        return message_id

    def _failed(self, what: str, *, permanent: bool = False) -> MailDeliveryFailed:
        return MailDeliveryFailed(
            f"The mail server {self.host}:{self.port} {what}.",
            field="smtp_host",
            permanent=permanent,
        )


def _reply(error: bytes | str) -> str:
    text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
    return " ".join(text.split())[:200]


class FileOutbox:
    """Writes each message as ``<UTC timestamp>-<Message-ID>.eml`` into ``directory``.

    Files appear atomically (written to a hidden temporary file, then renamed)
    and are readable by the owner only, since they hold personal data.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"FileOutbox({str(self.directory)!r})"

    def path_for(self, message: EmailMessage) -> Path:
        """Where ``message`` is (or will be) stored."""
        message_id = _message_id(message)
        stamp = "00000000T000000Z"
        date = message.get("Date")
        if date:
            try:
                moment = email.utils.parsedate_to_datetime(str(date))
            except (TypeError, ValueError):
                moment = None
            if moment is not None and moment.tzinfo is not None:
                stamp = moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        name = _UNSAFE.sub("_", message_id.strip("<>"))[:150] or "message"
        return self.directory / f"{stamp}-{name}.eml"

    def send(self, message: EmailMessage) -> str:
        message_id = _message_id(message)
        target = self.path_for(message)
        temporary = self.directory / f".{target.name}.{secrets.token_hex(6)}.tmp"
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), 0o600)
                handle.write(message.as_bytes())
                handle.flush()
                os.fsync(handle.fileno())
            temporary.replace(target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
            raise MailDeliveryFailed(
                f"The mail outbox {self.directory} cannot be written "
                f"({exc.strerror or exc}); make it writable for the Tutela user or "
                "configure TUTELA_SMTP_HOST.",
                field="outbox_dir",
            ) from None
        return message_id


def mailer_from_settings(settings: Settings) -> Mailer:
    """SMTP when ``smtp_host`` is set, otherwise the file outbox under ``outbox_dir``."""
    if settings.smtp_host:
        return SmtpMailer(settings)
    return FileOutbox(settings.outbox_dir)

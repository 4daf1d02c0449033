"""How this process delivers mail: the mailer, the sender and the vault for queued mail.

The job worker cannot be handed these per job, so the process that runs the
worker installs one :class:`MailDelivery` at start-up (``tutela serve``,
``tutela worker``, or a test)::

    install_delivery(delivery_from_settings(settings, vault=SubjectVault(master_key)))

Nothing is installed at import time; a ``mail.send`` job that runs before
installation fails with a clear error and is retried later.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from tutela.clock import Clock
from tutela.config import Settings
from tutela.errors import ConfigurationError
from tutela.mail.message import OutboundMail, build_message, sender_domain
from tutela.mail.transport import Mailer, mailer_from_settings

__all__ = [
    "MailDelivery",
    "MessageVault",
    "delivery_from_settings",
    "install_delivery",
    "installed_delivery",
    "send_now",
]


class MessageVault(Protocol):
    """Seals queued mail under a key of its recipient (``tutela.subjects.SubjectVault``).

    ``open`` returns ``None`` when the recipient is gone or erased: the mail
    must then not be sent.
    """

    def seal(
        self, session: Session, *, owner_id: int, plaintext: bytes, context: bytes
    ) -> bytes: ...

    def open(
        self, session: Session, *, owner_id: int, blob: bytes, context: bytes
    ) -> bytes | None: ...


@dataclass(frozen=True, kw_only=True)
class MailDelivery:
    """Everything the ``mail.send`` job needs to send a queued mail."""

    mailer: Mailer
    vault: MessageVault
    sender: str
    message_id_domain: str


def delivery_from_settings(settings: Settings, *, vault: MessageVault) -> MailDelivery:
    """The mailer from the settings, ``mail_from`` as sender and its domain for Message-IDs."""
    return MailDelivery(
        mailer=mailer_from_settings(settings),
        vault=vault,
        sender=settings.mail_from,
        message_id_domain=sender_domain(settings.mail_from),
    )


_lock = threading.Lock()
_installed: MailDelivery | None = None


def install_delivery(delivery: MailDelivery | None) -> MailDelivery | None:
    """Make ``delivery`` the one the ``mail.send`` job uses; return the previous one."""
    global _installed
    with _lock:
        previous, _installed = _installed, delivery
    return previous


def installed_delivery() -> MailDelivery:
    """The installed delivery; :class:`ConfigurationError` when none is."""
    delivery = _installed
    if delivery is None:
        raise ConfigurationError(
            "No mail delivery is installed in this process, so queued mail cannot be sent; "
            "call tutela.mail.install_delivery(...) when starting the worker."
        )
    return delivery


def send_now(
    mail: OutboundMail, *, mailer: Mailer, sender: str, clock: Clock, message_id: str | None = None
) -> str:
    """Build and send one mail at once (no queue); return its Message-ID.

    For mail outside any transaction, such as a test mail from the command
    line; domain code queues mail with :func:`tutela.mail.enqueue_mail` instead.
    """
    message = build_message(
        mail,
        sender=sender,
        message_id_domain=sender_domain(sender),
        clock=clock,
        message_id=message_id,
    )
    return mailer.send(message)

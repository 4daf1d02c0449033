"""Outbound mail: render (German/English), unsubscribe headers, SMTP or file outbox, queue.

Importing this package registers the ``mail.send`` job handler on
:data:`tutela.jobs.registry`.
"""

from tutela.mail.delivery import (
    MailDelivery,
    MessageVault,
    delivery_from_settings,
    install_delivery,
    installed_delivery,
    send_now,
)
from tutela.mail.errors import MailDeliveryFailed, UnsubscribeMissing
from tutela.mail.jobs import JOB_KIND, enqueue_mail, send_queued_mail
from tutela.mail.message import (
    Category,
    OutboundMail,
    build_message,
    marketing_headers,
    new_message_id,
    require_unsubscribe,
    sender_domain,
    unsubscribe_uris,
)
from tutela.mail.render import render_mail
from tutela.mail.transport import FileOutbox, Mailer, SmtpMailer, mailer_from_settings

__all__ = [
    "JOB_KIND",
    "Category",
    "FileOutbox",
    "MailDelivery",
    "MailDeliveryFailed",
    "Mailer",
    "MessageVault",
    "OutboundMail",
    "SmtpMailer",
    "UnsubscribeMissing",
    "build_message",
    "delivery_from_settings",
    "enqueue_mail",
    "install_delivery",
    "installed_delivery",
    "mailer_from_settings",
    "marketing_headers",
    "new_message_id",
    "render_mail",
    "require_unsubscribe",
    "send_now",
    "send_queued_mail",
    "sender_domain",
    "unsubscribe_uris",
]

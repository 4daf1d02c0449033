"""Queued mail: enqueue in the caller's transaction, send from the ``mail.send`` job.

A rendered mail holds personal data (the address, often a name or a link for
one person), and job payloads sit in the database until the job is purged. So
the payload keeps only ids and the mail *sealed* under the recipient's own
key by a :class:`~tutela.mail.delivery.MessageVault`::

    {"recipient_id": 42, "message_id": "<…@example.org>", "category": "transactional",
     "sealed": "<base64 of AES-GCM ciphertext>"}

Erasing the recipient destroys the key, so mail still waiting for an erased
person cannot be read or sent; the job then records ``mail.discarded`` and
ends. The Message-ID is fixed at enqueue time and reused by every retry, so a
receiver can recognise a duplicate if a send succeeded but its job did not
commit.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Final

from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.clock import Clock
from tutela.errors import IntegrityError, InvalidInput
from tutela.jobs import JobContext, enqueue, registry
from tutela.mail.delivery import MessageVault, installed_delivery
from tutela.mail.events import MailDiscarded, MailSent
from tutela.mail.message import OutboundMail, build_message, new_message_id, require_unsubscribe

__all__ = ["JOB_KIND", "enqueue_mail", "send_queued_mail"]

JOB_KIND: Final = "mail.send"
ACTOR: Final = "system"
_CONTEXT: Final = b"tutela/v1/mail-job\x00"


def _context(message_id: str) -> bytes:
    return _CONTEXT + message_id.encode("ascii")


def _serialise(mail: OutboundMail) -> bytes:
    data = {
        "to": mail.to,
        "subject": mail.subject,
        "text": mail.text,
        "html": mail.html,
        "headers": dict(mail.headers),
        "category": mail.category,
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _deserialise(raw: bytes) -> OutboundMail:
    data: dict[str, Any] = json.loads(raw.decode("utf-8"))
    return OutboundMail(
        to=str(data["to"]),
        subject=str(data["subject"]),
        text=str(data["text"]),
        html=None if data.get("html") is None else str(data["html"]),
        headers={str(k): str(v) for k, v in dict(data.get("headers") or {}).items()},
        category="marketing" if data.get("category") == "marketing" else "transactional",
    )


def enqueue_mail(
    session: Session,
    *,
    mail: OutboundMail,
    recipient_id: int,
    vault: MessageVault,
    clock: Clock,
    message_id_domain: str,
    idempotency_key: str | None = None,
) -> str:
    """Queue ``mail`` to subject ``recipient_id`` in the caller's transaction.

    Returns the Message-ID the mail will carry (also on retries).

    The mail is checked now (a marketing mail without the one-click headers is
    refused before anything is stored). With an ``idempotency_key`` that was
    used before, nothing new is queued and the first mail's Message-ID is returned.
    """
    if mail.category == "marketing":
        require_unsubscribe(mail.headers)
    message_id = new_message_id(message_id_domain)
    sealed = vault.seal(
        session, owner_id=recipient_id, plaintext=_serialise(mail), context=_context(message_id)
    )
    payload = {
        "recipient_id": recipient_id,
        "message_id": message_id,
        "category": mail.category,
        "sealed": base64.b64encode(sealed).decode("ascii"),
    }
    job = enqueue(
        session, kind=JOB_KIND, payload=payload, clock=clock, idempotency_key=idempotency_key
    )
    return str(job.data.get("message_id", message_id))


def _read_payload(payload: dict[str, Any]) -> tuple[int, str, bytes]:
    try:
        recipient_id = int(payload["recipient_id"])
        message_id = str(payload["message_id"])
        sealed = base64.b64decode(str(payload["sealed"]), validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise InvalidInput(
            f"The {JOB_KIND} job payload is malformed ({exc.__class__.__name__}); queue mail "
            "with tutela.mail.enqueue_mail()."
        ) from None
    return recipient_id, message_id, sealed


@registry.handler(JOB_KIND)
def send_queued_mail(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    """Open the sealed mail, send it with the installed delivery and record the outcome."""
    delivery = installed_delivery()
    recipient_id, message_id, sealed = _read_payload(payload)
    plaintext = delivery.vault.open(
        session, owner_id=recipient_id, blob=sealed, context=_context(message_id)
    )
    if plaintext is None:
        event: MailDiscarded | MailSent = MailDiscarded(
            job_id=ctx.job_id, recipient_id=recipient_id, message_id=message_id
        )
        emit(session, event, actor=ACTOR, clock=ctx.clock)
        return
    try:
        mail = _deserialise(plaintext)
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(
            f"The queued mail of job {ctx.job_id} cannot be read back ({exc.__class__.__name__})."
        ) from None
    message = build_message(
        mail,
        sender=delivery.sender,
        message_id_domain=delivery.message_id_domain,
        clock=ctx.clock,
        message_id=message_id,
    )
    delivery.mailer.send(message)
    event = MailSent(
        job_id=ctx.job_id, recipient_id=recipient_id, message_id=message_id, category=mail.category
    )
    emit(session, event, actor=ACTOR, clock=ctx.clock)

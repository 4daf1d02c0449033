"""The confirmation mail of a double opt-in sign-up: its link, its template version, its queueing.

The mail (template ``doi_confirm``, no advertising) carries a link with a signed
token (purpose ``doi``) naming the subject's public id and the purpose. What the
grant's proof keeps of it — Message-ID, template version, the digest of the
token, never the token — is returned by :func:`queue_confirmation_mail`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Final

from sqlalchemy.orm import Session

from tutela.clock import Clock
from tutela.config import Settings
from tutela.consent.notice import LANGUAGES
from tutela.crypto import MasterKey, sign_token, token_digest
from tutela.errors import InvalidInput
from tutela.i18n import TEMPLATE_DIR, catalog_path
from tutela.mail import OutboundMail, enqueue_mail, render_mail, sender_domain
from tutela.policy.models import Purpose
from tutela.subjects import Subject, SubjectVault

__all__ = [
    "LINK_PURPOSE",
    "TEMPLATE",
    "check_language",
    "confirmation_url",
    "queue_confirmation_mail",
    "template_version",
]

LINK_PURPOSE: Final = "doi"
TEMPLATE: Final = "doi_confirm"
_DAY: Final = dt.timedelta(days=1)


def check_language(language: str) -> None:
    """:class:`InvalidInput` naming ``language`` unless the mail can be sent in it."""
    if language not in LANGUAGES:
        raise InvalidInput(
            f"language: {language!r} is not offered; use de or en.", field="language"
        )


def confirmation_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/newsletter/confirm/{token}"


def template_version(language: str) -> str:
    """SHA-256 over the confirmation templates and the mail catalog of ``language``."""
    digest = hashlib.sha256()
    paths = [TEMPLATE_DIR / "email" / f"{TEMPLATE}.{kind}.j2" for kind in ("txt", "html")]
    for path in [*paths, catalog_path(language, "email")]:
        digest.update(path.name.encode("utf-8") + b"\x00")
        digest.update(path.read_bytes() if path.is_file() else b"")
    return digest.hexdigest()


def queue_confirmation_mail(
    session: Session,
    *,
    subject: Subject,
    address: str,
    purpose: Purpose,
    controller: str,
    language: str,
    expiry: dt.timedelta,
    resend_interval: dt.timedelta,
    master: MasterKey,
    clock: Clock,
    settings: Settings,
) -> dict[str, str]:
    """Queue the confirmation mail with a fresh link; return what the proof keeps of it.

    Within one ``resend_interval`` the mail's idempotency key is the same, so a
    repeated run queues no second mail.
    """
    now = clock.now()
    expires_at = now + expiry
    named = f"{subject.public_id}:{purpose.id}"
    token = sign_token(master, purpose=LINK_PURPOSE, subject=named, expires_at=expires_at)
    context = {
        "controller": controller,
        "list_name": purpose.name.get(language),
        "confirm_url": confirmation_url(settings.base_url, token),
        "expires_at": expires_at,
        "valid_days": max(1, round(expiry / _DAY)),
    }
    subject_line, text, html = render_mail(
        TEMPLATE, language=language, context=context, category="transactional"
    )
    mail = OutboundMail(to=address, subject=subject_line, text=text, html=html)
    bucket = int(now.timestamp() // resend_interval.total_seconds())
    message_id = enqueue_mail(
        session,
        mail=mail,
        recipient_id=subject.id,
        vault=SubjectVault(master),
        clock=clock,
        message_id_domain=sender_domain(settings.mail_from),
        idempotency_key=f"doi-mail:{subject.public_id}:{purpose.id}:{bucket}",
    )
    return {
        "message_id": message_id,
        "template": TEMPLATE,
        "template_version": template_version(language),
        "queued_at": now.isoformat(),
        "link_expires_at": expires_at.isoformat(),
        "token_id": token_digest(token),
    }

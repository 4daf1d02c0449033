"""Double opt-in: sign up, confirm by mail, and forget what was never confirmed.

A sign-up (opt-in 1) records ``given`` in the ledger with its proof — channel,
form address, the hash of the purpose text shown in that language, the policy
version, shortened IP and user agent — and queues one neutral confirmation
mail (template ``doi_confirm``, no advertising) in the same transaction. Its
Message-ID, template version and the digest of the link's token go into the
grant's proof; the ``mail.sent`` audit entry with the same Message-ID records
when it left (the mail: :mod:`tutela.consent.doi_mail`). The link carries a
signed token naming the subject's public id and the purpose; a POST on the
confirmation page records ``confirmed`` (opt-in 2, :mod:`tutela.consent.doi_confirmation`).

Public forms do not call :func:`sign_up` themselves: they answer at once and
leave it to a job (:mod:`tutela.consent.sign_up_queue`), so the time an answer
takes does not tell whether the address is known.

Repeating a sign-up sends nothing while the grant is pending and the resend
limit (one mail per :data:`RESEND_INTERVAL`, :data:`MAILS_PER_DAY` a day) is
reached, nothing for an active subscription and nothing for a suppressed
address; the caller answers all of these alike, so the answer reveals nothing.

Each sign-up also queues a ``consent.doi_expire`` job due when its link
expires: a grant still unconfirmed then is recorded as ``expired``, and a
subject that exists only because of that sign-up is erased.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tutela.clock import Clock
from tutela.config import Settings
from tutela.consent.checks import check
from tutela.consent.declarations import (
    CurrentPolicy,
    current_policy,
    policy_version,
    purpose_of,
)
from tutela.consent.doi_confirmation import (
    ConfirmOutcome,
    DoiLink,
    UnknownLink,
    confirm,
    link_subject,
    peek,
)
from tutela.consent.doi_mail import (
    LINK_PURPOSE,
    check_language,
    confirmation_url,
    queue_confirmation_mail,
)
from tutela.consent.ledger import record
from tutela.consent.models import ConsentEvent
from tutela.consent.notice import notice_hash
from tutela.consent.proof import Proof
from tutela.consent.suppression import is_suppressed, scopes_for
from tutela.consent.terms import Action, Channel, Reason
from tutela.crypto import MasterKey
from tutela.errors import InvalidInput
from tutela.jobs import enqueue
from tutela.policy.models import Purpose
from tutela.subjects import IdentityKind, find_subject, get_or_create_subject, index_of, normalize

__all__ = [
    "DEFAULT_EXPIRY",
    "EXPIRE_JOB",
    "LINK_PURPOSE",
    "MAILS_PER_DAY",
    "RESEND_INTERVAL",
    "ConfirmOutcome",
    "DoiLink",
    "SignUpOutcome",
    "SignUpStatus",
    "UnknownLink",
    "check_language",
    "confirm",
    "confirmation_url",
    "doi_purpose",
    "link_subject",
    "peek",
    "sign_up",
]

DEFAULT_EXPIRY: Final = dt.timedelta(days=7)
RESEND_INTERVAL: Final = dt.timedelta(minutes=10)
MAILS_PER_DAY: Final = 3
EXPIRE_JOB: Final = "consent.doi_expire"
SYSTEM_ACTOR: Final = "system:consent.doi_expire"
_DAY: Final = dt.timedelta(days=1)
_SIGN_UP_ONLY: Final = (Action.GIVEN.value, Action.EXPIRED.value)
_OWN_TABLES: Final = frozenset(
    {"subjects", "subject_identities", "subject_keys", "consent_events", "consent_state"}
)


class SignUpStatus(StrEnum):
    """What a sign-up did; callers answer every status with the same text."""

    MAIL_QUEUED = "mail_queued"
    THROTTLED = "throttled"
    ALREADY_ACTIVE = "already_active"
    SUPPRESSED = "suppressed"


@dataclass(frozen=True, slots=True)
class SignUpOutcome:
    status: SignUpStatus
    subject_id: int | None = None
    message_id: str | None = None
    expires_at: dt.datetime | None = None


def doi_purpose(policy: CurrentPolicy, purpose_id: str) -> Purpose:
    """The purpose ``purpose_id`` of ``policy`` if it takes sign-ups with double opt-in."""
    purpose = purpose_of(policy, purpose_id)
    if not purpose.needs_double_opt_in:
        raise InvalidInput(
            f"purpose: {purpose.id!r} is not a list with double opt-in, so it takes no sign-ups "
            "here; use a purpose whose declaration asks for double opt-in.",
            field="purpose",
            purpose=purpose.id,
        )
    return purpose


def _recent_grants(
    session: Session, *, subject_id: int, purpose_id: str, now: dt.datetime
) -> tuple[int, dt.datetime | None]:
    """How many grants (each with its mail) the last day saw, and the latest one."""
    count, latest = session.execute(
        select(func.count(), func.max(ConsentEvent.occurred_at)).where(
            ConsentEvent.subject_id == subject_id,
            ConsentEvent.purpose_id == purpose_id,
            ConsentEvent.action == Action.GIVEN.value,
            ConsentEvent.occurred_at > now - _DAY,
        )
    ).one()
    return int(count or 0), latest


def _held_back(
    session: Session,
    *,
    address: str,
    policy: CurrentPolicy,
    purpose: Purpose,
    master: MasterKey,
    clock: Clock,
) -> SignUpOutcome | None:
    """Why no mail may go to ``address`` now, or ``None`` when one may."""
    index = index_of(master, IdentityKind.EMAIL, address)
    scopes = scopes_for(purpose)
    if is_suppressed(session, scopes=scopes, kind=IdentityKind.EMAIL.value, index=index):
        return SignUpOutcome(SignUpStatus.SUPPRESSED)
    known = find_subject(session, kind=IdentityKind.EMAIL, value=address, master=master)
    if known is None:
        return None
    decision = check(
        session,
        purpose_id=purpose.id,
        master=master,
        clock=clock,
        declaration=policy.declaration,
        subject=known,
    )
    if decision.allowed:
        return SignUpOutcome(SignUpStatus.ALREADY_ACTIVE, subject_id=known.id)
    if decision.reason in (Reason.SUPPRESSED, Reason.OBJECTED):
        return SignUpOutcome(SignUpStatus.SUPPRESSED, subject_id=known.id)
    now = clock.now()
    count, latest = _recent_grants(session, subject_id=known.id, purpose_id=purpose.id, now=now)
    if count >= MAILS_PER_DAY or (latest is not None and latest > now - RESEND_INTERVAL):
        return SignUpOutcome(SignUpStatus.THROTTLED, subject_id=known.id)
    return None


def _shown(
    session: Session, policy: CurrentPolicy, purpose: Purpose, number: int | None
) -> tuple[CurrentPolicy, Purpose]:
    """Version ``number`` and its text of ``purpose`` if it holds it, else ``policy``'s."""
    shown = None if number in (None, policy.number) else policy_version(session, int(number))
    text = shown.declaration.purpose(purpose.id) if shown is not None else None
    if shown is None or text is None:
        return policy, purpose
    return shown, text


def sign_up(
    session: Session,
    *,
    email: str,
    purpose_id: str,
    language: str,
    master: MasterKey,
    clock: Clock,
    settings: Settings,
    actor: str,
    channel: Channel | str = Channel.WEB_FORM,
    ip: str | None = None,
    user_agent: str | None = None,
    form_url: str | None = None,
    expiry: dt.timedelta = DEFAULT_EXPIRY,
    shown_version: int | None = None,
) -> SignUpOutcome:
    """Record opt-in 1 for ``email`` and queue the confirmation mail (see the module text).

    ``shown_version`` names the published version whose text the person saw; the
    grant is recorded against it while it still holds the purpose (by default,
    and otherwise, against the version in effect).

    Raises :class:`NotFound` for a purpose the declaration in effect lacks,
    :class:`InvalidInput` (naming the field) for a purpose without double
    opt-in, an invalid address or language, and :class:`Conflict` when no
    declaration is in effect.
    """
    check_language(language)
    policy = current_policy(session, clock=clock)
    purpose = doi_purpose(policy, purpose_id)
    shown, shown_text = _shown(session, policy, purpose, shown_version)
    address = normalize(IdentityKind.EMAIL, email)
    held = _held_back(
        session, address=address, policy=policy, purpose=purpose, master=master, clock=clock
    )
    if held is not None:
        return held
    subject, _created = get_or_create_subject(
        session, kind=IdentityKind.EMAIL, value=address, master=master, clock=clock, actor=actor
    )
    expires_at = clock.now() + expiry
    mail_proof = queue_confirmation_mail(
        session,
        subject=subject,
        address=address,
        purpose=purpose,
        controller=policy.declaration.controller.name,
        language=language,
        expiry=expiry,
        resend_interval=RESEND_INTERVAL,
        master=master,
        clock=clock,
        settings=settings,
    )
    proof = Proof(
        channel=channel,
        language=language,
        notice_hash=notice_hash(shown_text, language),
        ip=ip,
        user_agent=user_agent,
        form_url=form_url,
        extra={"double_opt_in": "sign_up", "checkbox": "ticked", "confirmation_mail": mail_proof},
    )
    event = record(
        session,
        subject=subject,
        purpose_id=purpose.id,
        action=Action.GIVEN,
        proof=proof,
        master=master,
        clock=clock,
        actor=actor,
        policy=shown,
    )
    payload = {"subject_id": subject.id, "purpose_id": purpose.id}
    enqueue(
        session,
        kind=EXPIRE_JOB,
        payload={**payload, "expiry_seconds": int(expiry.total_seconds())},
        clock=clock,
        idempotency_key=f"{EXPIRE_JOB}:{event.sequence}",
        run_after=expires_at,
        max_attempts=20,
    )
    message_id = str(mail_proof["message_id"])
    return SignUpOutcome(SignUpStatus.MAIL_QUEUED, subject.id, message_id, expires_at)

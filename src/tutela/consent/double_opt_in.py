"""Double opt-in: sign up, confirm by mail, and forget what was never confirmed.

A sign-up (opt-in 1) records ``given`` in the ledger with its proof — channel,
form address, the hash of the purpose text shown in that language, the policy
version, shortened IP and user agent — and queues one neutral confirmation
mail (template ``doi_confirm``, no advertising) in the same transaction. Its
Message-ID, template version and the digest of the link's token go into the
grant's proof; the ``mail.sent`` audit entry with the same Message-ID records
when it left. The link carries a signed token (purpose ``doi``) naming the
subject's public id and the purpose; a POST on the confirmation page records
``confirmed`` (opt-in 2) with the token's digest, never the token itself.

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
import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tutela.clock import Clock
from tutela.config import Settings
from tutela.consent.checks import check
from tutela.consent.declarations import CurrentPolicy, current_policy, purpose_of
from tutela.consent.ledger import events_of, open_proof, record
from tutela.consent.models import ConsentEvent
from tutela.consent.notice import LANGUAGES, notice_hash
from tutela.consent.proof import Proof
from tutela.consent.state import read_state
from tutela.consent.suppression import is_suppressed, scopes_for
from tutela.consent.terms import Action, Channel, Reason
from tutela.crypto import MasterKey, sign_token, token_digest, verify_token
from tutela.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    VerificationFailed,
)
from tutela.i18n import TEMPLATE_DIR, catalog_path
from tutela.jobs import enqueue
from tutela.mail import OutboundMail, enqueue_mail, render_mail, sender_domain
from tutela.policy.models import Purpose
from tutela.subjects import (
    IdentityKind,
    Subject,
    SubjectVault,
    find_subject,
    get_or_create_subject,
    index_of,
    normalize,
    subject_by_public_id,
)

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
    "confirm",
    "confirmation_url",
    "link_subject",
    "peek",
    "sign_up",
]

LINK_PURPOSE: Final = "doi"
DEFAULT_EXPIRY: Final = dt.timedelta(days=7)
RESEND_INTERVAL: Final = dt.timedelta(minutes=10)
MAILS_PER_DAY: Final = 3
EXPIRE_JOB: Final = "consent.doi_expire"
SYSTEM_ACTOR: Final = "system:consent.doi_expire"
TEMPLATE: Final = "doi_confirm"
_DAY: Final = dt.timedelta(days=1)
_GRANTED: Final = (Action.GIVEN.value, Action.CONFIRMED.value)
_SIGN_UP_ONLY: Final = (Action.GIVEN.value, Action.EXPIRED.value)
_OWN_TABLES: Final = frozenset(
    {"subjects", "subject_identities", "subject_keys", "consent_events", "consent_state"}
)


class UnknownLink(NotFound):
    """A link token that is malformed, forged, expired, foreign or no longer applies.

    Every such case raises this with the same text, so no answer tells them apart.
    """

    code = "unknown-link"
    title = "The link is not valid"

    def __init__(self) -> None:
        super().__init__(
            "This link is not valid or no longer applies; sign up again to get a new one."
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


@dataclass(frozen=True, slots=True)
class DoiLink:
    """What a valid confirmation link points to."""

    subject: Subject
    purpose: Purpose
    confirmed: bool


@dataclass(frozen=True, slots=True)
class ConfirmOutcome:
    purpose: Purpose
    newly_confirmed: bool
    sequence: int | None = None


def _doi_purpose(policy: CurrentPolicy, purpose_id: str) -> Purpose:
    purpose = purpose_of(policy, purpose_id)
    if not purpose.needs_double_opt_in:
        raise InvalidInput(
            f"purpose: {purpose.id!r} is not a list with double opt-in, so it takes no sign-ups "
            "here; use a purpose whose declaration asks for double opt-in.",
            field="purpose",
            purpose=purpose.id,
        )
    return purpose


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise InvalidInput(
            f"language: {language!r} is not offered; use de or en.", field="language"
        )


def confirmation_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/newsletter/confirm/{token}"


def _template_version(language: str) -> str:
    """SHA-256 over the confirmation templates and the mail catalog of ``language``."""
    digest = hashlib.sha256()
    paths = [TEMPLATE_DIR / "email" / f"{TEMPLATE}.{kind}.j2" for kind in ("txt", "html")]
    for path in [*paths, catalog_path(language, "email")]:
        digest.update(path.name.encode("utf-8") + b"\x00")
        digest.update(path.read_bytes() if path.is_file() else b"")
    return digest.hexdigest()


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
) -> SignUpOutcome:
    """Record opt-in 1 for ``email`` and queue the confirmation mail (see the module text).

    Raises :class:`NotFound` for a purpose the declaration in effect lacks,
    :class:`InvalidInput` (naming the field) for a purpose without double
    opt-in, an invalid address or language, and :class:`Conflict` when no
    declaration is in effect.
    """
    _check_language(language)
    policy = current_policy(session, clock=clock)
    purpose = _doi_purpose(policy, purpose_id)
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
    mail_proof = _queue_mail(
        session,
        subject=subject,
        address=address,
        purpose=purpose,
        controller=policy.declaration.controller.name,
        language=language,
        expiry=expiry,
        master=master,
        clock=clock,
        settings=settings,
    )
    proof = Proof(
        channel=channel,
        language=language,
        notice_hash=notice_hash(purpose, language),
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
        policy=policy,
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


def _queue_mail(
    session: Session,
    *,
    subject: Subject,
    address: str,
    purpose: Purpose,
    controller: str,
    language: str,
    expiry: dt.timedelta,
    master: MasterKey,
    clock: Clock,
    settings: Settings,
) -> dict[str, str]:
    """Queue the confirmation mail with a fresh link; return what the proof keeps of it."""
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
    bucket = int(now.timestamp() // RESEND_INTERVAL.total_seconds())
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
        "template_version": _template_version(language),
        "queued_at": now.isoformat(),
        "link_expires_at": expires_at.isoformat(),
        "token_id": token_digest(token),
    }


def link_subject(master: MasterKey, token: str, *, now: dt.datetime) -> tuple[str, str]:
    """The subject public id and purpose id a confirmation token names; :class:`UnknownLink`."""
    try:
        named = verify_token(master, token, purpose=LINK_PURPOSE, now=now)
    except VerificationFailed:
        raise UnknownLink() from None
    public_id, colon, purpose_id = named.partition(":")
    if not colon or not public_id or not purpose_id:
        raise UnknownLink()
    return public_id, purpose_id


def peek(session: Session, *, token: str, master: MasterKey, clock: Clock) -> DoiLink:
    """What a confirmation link points to, changing nothing (for the page a GET shows)."""
    public_id, purpose_id = link_subject(master, token, now=clock.now())
    subject = subject_by_public_id(session, public_id)
    if subject is None or subject.erased_at is not None:
        raise UnknownLink()
    try:
        purpose = purpose_of(current_policy(session, clock=clock), purpose_id)
    except (NotFound, Conflict):
        raise UnknownLink() from None
    state = read_state(session, subject_id=subject.id, purpose_id=purpose.id)
    if state is None or state.status not in _GRANTED:
        raise UnknownLink()
    if not _issued_for_current_grant(session, subject, purpose.id, token, master=master):
        raise UnknownLink()
    return DoiLink(subject, purpose, confirmed=state.status == Action.CONFIRMED.value)


_ENDING: Final = frozenset(
    {Action.WITHDRAWN.value, Action.REFUSED.value, Action.EXPIRED.value, Action.OBJECTED.value}
)


def _issued_for_current_grant(
    session: Session, subject: Subject, purpose_id: str, token: str, *, master: MasterKey
) -> bool:
    """Whether ``token`` was mailed for a sign-up of the current grant.

    A link from before a withdrawal (or refusal, expiry, objection) must not confirm a
    later sign-up: the proof of every ``given`` event keeps the digest of the token it
    mailed, and only those after the last ending event count.
    """
    events = [e for e in events_of(session, subject=subject) if e.purpose_id == purpose_id]
    ended = max((i for i, e in enumerate(events) if e.action in _ENDING), default=-1)
    wanted = token_digest(token)
    for event in events[ended + 1 :]:
        if event.action != Action.GIVEN.value:
            continue
        proof = open_proof(session, event=event, subject=subject, master=master)
        mail = (proof or {}).get("extra", {}).get("confirmation_mail", {})
        if isinstance(mail, dict) and mail.get("token_id") == wanted:
            return True
    return False


def confirm(
    session: Session,
    *,
    token: str,
    master: MasterKey,
    clock: Clock,
    ip: str | None = None,
    user_agent: str | None = None,
    language: str = "de",
    actor: str = "public:newsletter-confirm",
) -> ConfirmOutcome:
    """Record opt-in 2 for the grant the token names; confirming twice changes nothing.

    Every token that does not name a pending or confirmed grant raises :class:`UnknownLink`.
    """
    _check_language(language)
    link = peek(session, token=token, master=master, clock=clock)
    if link.confirmed:
        return ConfirmOutcome(link.purpose, newly_confirmed=False)
    proof = Proof(
        channel=Channel.LINK_IN_MESSAGE,
        language=language,
        ip=ip,
        user_agent=user_agent,
        extra={"double_opt_in": "confirmation", "method": "POST", "token_id": token_digest(token)},
    )
    event = record(
        session,
        subject=link.subject,
        purpose_id=link.purpose.id,
        action=Action.CONFIRMED,
        proof=proof,
        master=master,
        clock=clock,
        actor=actor,
    )
    return ConfirmOutcome(link.purpose, newly_confirmed=True, sequence=event.sequence)

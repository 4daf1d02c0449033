"""Confirming a double opt-in sign-up (opt-in 2) through the link in its mail.

The link carries a signed token (purpose ``doi``) naming the subject's public id
and the purpose. Opening it changes nothing (:func:`peek`); a POST on the
confirmation page records ``confirmed`` with the token's digest, never the token
itself (:func:`confirm`). Every token that is malformed, forged, expired,
foreign or from before the current grant raises :class:`UnknownLink` with the
same text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from tutela.clock import Clock
from tutela.consent.declarations import current_policy, purpose_of
from tutela.consent.doi_mail import LINK_PURPOSE, check_language
from tutela.consent.ledger import events_of, open_proof, record
from tutela.consent.proof import Proof
from tutela.consent.state import read_state
from tutela.consent.terms import Action, Channel
from tutela.crypto import MasterKey, token_digest, verify_token
from tutela.errors import Conflict, NotFound, VerificationFailed
from tutela.policy.models import Purpose
from tutela.subjects import Subject, subject_by_public_id

__all__ = ["ConfirmOutcome", "DoiLink", "UnknownLink", "confirm", "link_subject", "peek"]

_GRANTED: Final = (Action.GIVEN.value, Action.CONFIRMED.value)


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
    check_language(language)
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

"""Unsubscribing by link or by the mail program's button (RFC 2369, RFC 8058).

Every marketing mail names its recipient and list by an opaque signed token
(purpose ``unsubscribe``: the subject's public id and the purpose id, no
address): ``https://…/u/<token>`` for the one-click POST and the page behind
the visible link, and ``mailto:…?subject=unsubscribe-<token>`` for mail
programs without HTTP. :func:`newsletter_message` builds such a mail with
both headers and the visible link; :func:`tutela.mail.build_message` refuses
a marketing mail without them.

Stopping needs nothing but the token — no login, no identity check (Art. 7(3),
21(3) GDPR; § 7 UWG). For a consent purpose it records ``withdrawn``; for any
other purpose (existing-customer mail, legitimate interests) ``objected``,
which for direct marketing also puts the person's addresses on the
suppression list for good. Stopping twice records nothing new. Tokens do not
expire unless the caller gives them an end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any, Final
from urllib.parse import quote

from sqlalchemy.orm import Session

from tutela.clock import Clock
from tutela.consent.checks import check
from tutela.consent.declarations import CurrentPolicy, current_policy
from tutela.consent.double_opt_in import UnknownLink
from tutela.consent.ledger import record
from tutela.consent.proof import Proof
from tutela.consent.state import read_state
from tutela.consent.terms import Action, Channel
from tutela.crypto import MasterKey, sign_token, token_digest, verify_token
from tutela.errors import Conflict, VerificationFailed
from tutela.mail import OutboundMail, marketing_headers, render_mail
from tutela.policy.models import LegalBasis, Purpose
from tutela.subjects import Subject, subject_by_public_id

__all__ = [
    "LINK_PURPOSE",
    "NO_EXPIRY",
    "Preference",
    "Stopped",
    "UnsubscribeLink",
    "newsletter_message",
    "open_link",
    "preferences",
    "stop",
    "unsubscribe_mailto",
    "unsubscribe_token",
    "unsubscribe_url",
]

LINK_PURPOSE: Final = "unsubscribe"
NO_EXPIRY: Final = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
"""The end given to tokens that should work for as long as the mail is kept."""

_ENDED: Final = frozenset(
    {Action.WITHDRAWN.value, Action.REFUSED.value, Action.OBJECTED.value, Action.EXPIRED.value}
)


@dataclass(frozen=True, slots=True)
class UnsubscribeLink:
    """What a valid token names. ``subject`` is ``None`` when the person was erased."""

    subject: Subject | None
    purpose_id: str


@dataclass(frozen=True, slots=True)
class Preference:
    """One direct-marketing purpose as the preferences page shows it."""

    purpose: Purpose
    active: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Stopped:
    """What a stop request did: the purposes newly stopped (empty when all were already)."""

    purpose_ids: tuple[str, ...]
    sequences: tuple[int, ...]


def unsubscribe_token(
    master: MasterKey, *, subject: Subject, purpose_id: str, expires_at: dt.datetime | None = None
) -> str:
    """An opaque token naming ``subject`` and ``purpose_id`` (no expiry unless given)."""
    return sign_token(
        master,
        purpose=LINK_PURPOSE,
        subject=f"{subject.public_id}:{purpose_id}",
        expires_at=expires_at or NO_EXPIRY,
    )


def unsubscribe_url(base_url: str, token: str) -> str:
    """The HTTPS address of the one-click POST and of the preferences page."""
    return f"{base_url.rstrip('/')}/u/{token}"


def unsubscribe_mailto(address: str, token: str) -> str:
    """``mailto:<address>?subject=unsubscribe-<token>`` (``address`` may carry a display name)."""
    mailbox = parseaddr(address.removeprefix("mailto:"))[1] or address
    return f"mailto:{quote(mailbox, safe='@')}?subject=unsubscribe-{token}"


def newsletter_message(
    *,
    to: str,
    subject: Subject,
    purpose_id: str,
    template: str,
    language: str,
    context: Mapping[str, Any],
    master: MasterKey,
    base_url: str,
    mailto: str,
    expires_at: dt.datetime | None = None,
) -> OutboundMail:
    """A marketing mail for one recipient with ``List-Unsubscribe`` (HTTPS and mailto),
    ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` and the visible unsubscribe link.

    ``template`` is a mail template under ``templates/email/``; its context gets
    ``unsubscribe_url``. ``base_url`` must be ``https://`` (``http://`` only for localhost).
    """
    token = unsubscribe_token(master, subject=subject, purpose_id=purpose_id, expires_at=expires_at)
    url = unsubscribe_url(base_url, token)
    subject_line, text, html = render_mail(
        template,
        language=language,
        context={**context, "unsubscribe_url": url},
        category="marketing",
    )
    headers = marketing_headers(https_url=url, mailto=unsubscribe_mailto(mailto, token))
    return OutboundMail(
        to=to, subject=subject_line, text=text, html=html, headers=headers, category="marketing"
    )


def open_link(session: Session, *, token: str, master: MasterKey, clock: Clock) -> UnsubscribeLink:
    """The subject and purpose a token names; :class:`UnknownLink` for every bad token."""
    try:
        named = verify_token(master, token, purpose=LINK_PURPOSE, now=clock.now())
    except VerificationFailed:
        raise UnknownLink() from None
    public_id, colon, purpose_id = named.partition(":")
    subject = subject_by_public_id(session, public_id) if colon and purpose_id else None
    if subject is None:
        raise UnknownLink()
    return UnsubscribeLink(None if subject.erased_at is not None else subject, purpose_id)


def _policy(session: Session, clock: Clock) -> CurrentPolicy | None:
    try:
        return current_policy(session, clock=clock)
    except Conflict:
        return None


def stop_action(purpose: Purpose) -> Action:
    """How "stop" is recorded: withdrawal of a consent, otherwise an objection (Art. 21).

    An objection to direct marketing is permanent and suppresses the person's
    addresses; a withdrawn consent can be given again.
    """
    return Action.WITHDRAWN if purpose.legal_basis is LegalBasis.CONSENT else Action.OBJECTED


def _needs_event(session: Session, subject: Subject, purpose: Purpose, action: Action) -> bool:
    state = read_state(session, subject_id=subject.id, purpose_id=purpose.id)
    if state is None:
        return True
    if action is Action.OBJECTED:
        return state.status != Action.OBJECTED.value
    return state.status not in _ENDED


def stop(
    session: Session,
    *,
    token: str,
    master: MasterKey,
    clock: Clock,
    channel: Channel | str = Channel.ONE_CLICK,
    purpose_ids: Collection[str] | None = None,
    language: str = "de",
    ip: str | None = None,
    user_agent: str | None = None,
) -> Stopped:
    """Stop the token's purpose (or ``purpose_ids``) for the person the token names.

    Records ``withdrawn`` or ``objected`` (see the module text) for each purpose
    not stopped already; purposes the declaration in effect no longer has, or
    an erased person, need nothing. Raises :class:`UnknownLink` for a bad token.
    """
    link = open_link(session, token=token, master=master, clock=clock)
    policy = _policy(session, clock)
    if link.subject is None or policy is None:
        return Stopped((), ())
    wanted = [link.purpose_id] if purpose_ids is None else list(dict.fromkeys(purpose_ids))
    stopped: list[str] = []
    sequences: list[int] = []
    for purpose_id in wanted:
        purpose = policy.declaration.purpose(purpose_id)
        if purpose is None:
            continue
        action = stop_action(purpose)
        if not _needs_event(session, link.subject, purpose, action):
            continue
        proof = Proof(
            channel=channel,
            language=language,
            ip=ip,
            user_agent=user_agent,
            extra={"unsubscribe": str(channel), "token_id": token_digest(token)},
        )
        event = record(
            session,
            subject=link.subject,
            purpose_id=purpose.id,
            action=action,
            proof=proof,
            master=master,
            clock=clock,
            actor=f"subject:{link.subject.public_id}",
            policy=policy,
        )
        stopped.append(purpose.id)
        sequences.append(event.sequence)
    return Stopped(tuple(stopped), tuple(sequences))


def preferences(
    session: Session, *, token: str, master: MasterKey, clock: Clock
) -> tuple[UnsubscribeLink, list[Preference]]:
    """The token's target and where the person stands on every direct-marketing purpose.

    Changes nothing. The list is empty for an erased person or without a
    declaration in effect.
    """
    link = open_link(session, token=token, master=master, clock=clock)
    policy = _policy(session, clock)
    if link.subject is None or policy is None:
        return link, []
    found = []
    for purpose in policy.declaration.purposes:
        if not purpose.is_direct_marketing:
            continue
        decision = check(
            session,
            purpose_id=purpose.id,
            master=master,
            clock=clock,
            declaration=policy.declaration,
            subject=link.subject,
        )
        found.append(Preference(purpose, decision.allowed, decision.reason.value))
    return link, found

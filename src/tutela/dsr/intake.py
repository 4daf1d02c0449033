"""Intake: store a request from the public form, the API, staff or the operator's app.

The public request path never looks the person up (V-6): it normalises the
identity, stores its blind index and the sealed value, computes the deadlines and
queues the ``dsr.intake`` job, which looks the person up later and mails the
channel on file. So a known and an unknown person get the same answer, from the
same statements, in the same time. Requests that need no verification (V-3) are
``verified`` at once; the rest wait for the mail's link. An in-app request (signed
in, sent with the operator's key) is matched and queued for fulfilment at once.

Public submissions for one identity beyond ``dsr_submissions_per_day`` within
24 hours are stored and answered alike, but flagged: their job sends no mail and
staff see them in the queue (and may send the link after all,
:func:`tutela.dsr.verification.release_flagged`). Only unflagged public
submissions count towards the limit, so a flood never blocks longer than 24
hours after the last request that did get a mail.

A rectification may carry ``changes`` (field reference → new value,
:mod:`tutela.dsr.changes`); an in-app assertion is accepted once
(:mod:`tutela.dsr.assertion_models`).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.clock import Clock
from tutela.config import Settings
from tutela.consent.declarations import current_policy
from tutela.crypto import MasterKey
from tutela.dsr.assertion import verify_assertion
from tutela.dsr.assertion_models import spend_assertion
from tutela.dsr.changes import check_changes, details_of, scope_for_changes
from tutela.dsr.deadlines import deadlines_for
from tutela.dsr.envelope import Details, seal
from tutela.dsr.events import RequestReceived
from tutela.dsr.matching import accept_verified
from tutela.dsr.models import DsrRequest
from tutela.dsr.queue import enqueue_intake, ensure_sweep
from tutela.dsr.terms import (
    STAFF_CHANNELS,
    Assurance,
    Channel,
    Method,
    RequestType,
    Scope,
    Status,
    jurisdiction_of,
    parse_channel,
    parse_request_type,
    parse_scope,
    required_assurance,
)
from tutela.errors import Conflict, InvalidInput
from tutela.i18n import LANGUAGES
from tutela.subjects import IdentityKind, index_of, normalize
from tutela.subjects.identity import identity_kind

__all__ = [
    "PUBLIC_ACTOR",
    "Receipt",
    "controller_state",
    "record_staff_entry",
    "submit",
    "submit_in_app",
]

PUBLIC_ACTOR: Final = "public:dsr"
IN_APP_ACTOR: Final = "app:dsr"
FLAG_REPEATED: Final = "repeated_submissions"
_REFERENCE_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_REFERENCE_LENGTH: Final = 12
_PUBLIC_CHANNELS: Final = frozenset({Channel.WEB_FORM, Channel.API})
_DAY: Final = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Receipt:
    """The public answer to a submission: the same for known and unknown people."""

    reference: str
    received_at: dt.datetime
    legal_deadline: dt.date


@dataclass(frozen=True, slots=True)
class _Claim:
    request_type: RequestType
    scope: Scope
    kind: IdentityKind
    value: str
    language: str
    changes: dict[str, str] | None = None


def new_reference() -> str:
    """``DSR-`` and 12 random characters (Crockford base32, about 60 bits)."""
    body = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(_REFERENCE_LENGTH))
    return f"DSR-{body[:4]}-{body[4:8]}-{body[8:]}"


def controller_state(session: Session, *, settings: Settings, clock: Clock) -> str | None:
    """The German state whose holidays count: settings, else the declaration in effect."""
    if settings.controller_state is not None:
        return settings.controller_state
    try:
        policy = current_policy(session, clock=clock)
    except Conflict:
        return None
    state = policy.declaration.controller.address.state
    return None if state is None else str(state)


def _claim(
    *,
    request_type: RequestType | str,
    scope: Scope | str | None,
    identity_kind_name: IdentityKind | str,
    identity_value: str,
    language: str,
    settings: Settings,
    changes: Mapping[str, str] | None = None,
) -> _Claim:
    kind = parse_request_type(request_type)
    chosen = parse_scope(scope)
    required_assurance(kind, chosen)  # refuses a scope that does not fit the type
    checked = check_changes(kind, changes)
    chosen = scope_for_changes(chosen, checked)
    if language not in LANGUAGES:
        raise InvalidInput(
            f"language: answers are written in {' or '.join(LANGUAGES)}; pick one of them.",
            field="language",
        )
    member = identity_kind(identity_kind_name)
    value = normalize(
        member, identity_value, default_country_code=settings.default_phone_country_code
    )
    return _Claim(kind, chosen, member, value, language, checked)


def _recent(session: Session, claim_kind: str, index: str, since: dt.datetime) -> int:
    """Unflagged public submissions for the identity since ``since`` (flagged ones never
    count, so a flood cannot keep the person's own request flagged day after day)."""
    count = session.execute(
        select(func.count()).where(
            DsrRequest.identity_kind == claim_kind,
            DsrRequest.identity_index == index,
            DsrRequest.received_at > since,
            DsrRequest.flag.is_(None),
            DsrRequest.channel.in_([c.value for c in _PUBLIC_CHANNELS]),
        )
    ).scalar_one()
    return int(count)


def _store(
    session: Session,
    *,
    claim: _Claim,
    channel: Channel,
    received_at: dt.datetime,
    details: Details | None,
    verified_by: Method | None,
    actor: str,
    master: MasterKey,
    clock: Clock,
    settings: Settings,
) -> DsrRequest:
    """Insert the request, queue its intake job and record ``dsr.received``."""
    now = clock.now()
    index = index_of(master, claim.kind, claim.value)
    flag = None
    if channel in _PUBLIC_CHANNELS:
        recent = _recent(session, claim.kind.value, index, now - _DAY)
        if recent >= settings.dsr_submissions_per_day:
            flag = FLAG_REPEATED
    state = controller_state(session, settings=settings, clock=clock)
    dates = deadlines_for(claim.request_type, received_at, state=state)
    assurance = required_assurance(claim.request_type, claim.scope)
    if verified_by is None and assurance is Assurance.NONE:
        verified_by = Method.NOT_REQUIRED
    request = DsrRequest(
        reference=new_reference(),
        request_type=claim.request_type.value,
        jurisdiction=jurisdiction_of(claim.request_type).value,
        channel=channel.value,
        scope=claim.scope.value,
        language=claim.language,
        received_at=received_at,
        legal_deadline=dates.legal,
        target_deadline=dates.target,
        confirm_by=dates.confirm_by,
        status=(Status.RECEIVED if verified_by is None else Status.VERIFIED).value,
        required_assurance=assurance.value,
        identity_kind=claim.kind.value,
        identity_index=index,
        flag=flag,
        created_by=actor,
        verified_at=None if verified_by is None else now,
        verification_method=None if verified_by is None else verified_by.value,
    )
    seal(request, master=master, identity=claim.value, details=details)
    session.add(request)
    session.flush()
    event = RequestReceived(
        request_id=request.id,
        request_type=request.request_type,
        jurisdiction=request.jurisdiction,
        channel=request.channel,
        status=request.status,
        required_assurance=request.required_assurance,
        received_at=received_at,
        legal_deadline=dates.legal,
        flagged=flag is not None,
    )
    if channel is Channel.IN_APP:
        # signed in and verified, through the operator's key: no timing to hide (V-6 is
        # about the public channels), so the request is matched and queued at once
        accept_verified(session, request=request, clock=clock, first=event, actor=actor)
    else:
        emit(session, event, actor=actor, clock=clock)
        enqueue_intake(session, request_id=request.id, clock=clock)
    ensure_sweep(session, clock=clock)
    return request


def submit(
    session: Session,
    *,
    request_type: RequestType | str,
    identity_kind: IdentityKind | str,
    identity_value: str,
    language: str,
    master: MasterKey,
    clock: Clock,
    settings: Settings,
    channel: Channel | str = Channel.WEB_FORM,
    scope: Scope | str | None = None,
    text: str | None = None,
    contact: str | None = None,
    actor: str = PUBLIC_ACTOR,
    changes: Mapping[str, str] | None = None,
) -> Receipt:
    """Store a request from the public form or the API; the answer never tells who is known.

    ``contact`` (how the person would like to be reached) is kept sealed for staff
    but never used to send anything: answers go to the channel on file (V-2).
    ``changes`` (rectification and correction only) names the new values.
    Invalid input raises :class:`InvalidInput` naming the field.
    """
    chosen = parse_channel(channel)
    if chosen not in _PUBLIC_CHANNELS:
        raise InvalidInput(
            "channel: public submissions come from the web form or the API; staff enter "
            "requests received by email, letter, fax or phone with record_staff_entry.",
            field="channel",
        )
    claim = _claim(
        request_type=request_type,
        scope=scope,
        identity_kind_name=identity_kind,
        identity_value=identity_value,
        language=language,
        settings=settings,
        changes=changes,
    )
    request = _store(
        session,
        claim=claim,
        channel=chosen,
        received_at=clock.now(),
        details=details_of(text=text, contact=contact, changes=claim.changes),
        verified_by=None,
        actor=actor,
        master=master,
        clock=clock,
        settings=settings,
    )
    return Receipt(request.reference, request.received_at, request.legal_deadline)


def record_staff_entry(
    session: Session,
    *,
    request_type: RequestType | str,
    identity_kind: IdentityKind | str,
    identity_value: str,
    language: str,
    channel: Channel | str,
    received_at: dt.datetime,
    actor: str,
    master: MasterKey,
    clock: Clock,
    settings: Settings,
    scope: Scope | str | None = None,
    text: str | None = None,
    contact: str | None = None,
    changes: Mapping[str, str] | None = None,
) -> DsrRequest:
    """Enter a request that reached staff by email, letter, fax or phone.

    The deadlines run from ``received_at`` (the day it arrived anywhere in the
    company, not the day it was typed in); it must not lie in the future.
    Verification follows the same policy as for the web form.
    """
    chosen = parse_channel(channel)
    if chosen not in STAFF_CHANNELS:
        names = ", ".join(sorted(c.value for c in STAFF_CHANNELS))
        raise InvalidInput(
            f"channel: staff enter requests received by {names}; web and API requests "
            "enter themselves.",
            field="channel",
        )
    if received_at.tzinfo is None:
        raise InvalidInput(
            "received_at: give the time with its time zone (or as UTC).", field="received_at"
        )
    if received_at > clock.now():
        raise InvalidInput(
            "received_at: the date lies in the future; enter the day the request reached "
            "the company.",
            field="received_at",
        )
    if not actor.startswith("staff:"):
        raise InvalidInput(
            "actor: a staff entry names the staff member, such as 'staff:3'.", field="actor"
        )
    claim = _claim(
        request_type=request_type,
        scope=scope,
        identity_kind_name=identity_kind,
        identity_value=identity_value,
        language=language,
        settings=settings,
        changes=changes,
    )
    return _store(
        session,
        claim=claim,
        channel=chosen,
        received_at=received_at.astimezone(dt.UTC),
        details=details_of(text=text, contact=contact, changes=claim.changes),
        verified_by=None,
        actor=actor,
        master=master,
        clock=clock,
        settings=settings,
    )


def submit_in_app(
    session: Session,
    *,
    assertion: str,
    request_type: RequestType | str,
    language: str,
    master: MasterKey,
    clock: Clock,
    settings: Settings,
    scope: Scope | str | None = None,
    text: str | None = None,
    changes: Mapping[str, str] | None = None,
) -> Receipt:
    """Store a request of a signed-in customer, verified by the app's signed assertion (V-1).

    Raises :class:`tutela.dsr.assertion.InvalidAssertion` (saying why) for a bad
    signature, a stale sign-in or malformed claims,
    :class:`tutela.dsr.assertion.ReplayedAssertion` (409) when the assertion's
    ``jti`` was used before, and :class:`tutela.errors.ConfigurationError` when no
    signing key is configured.
    """
    key = settings.app_assertion_key
    checked = verify_assertion(
        assertion, key=None if key is None else key.get_secret_value(), now=clock.now()
    )
    claim = _claim(
        request_type=request_type,
        scope=scope,
        identity_kind_name=checked.kind,
        identity_value=checked.value,
        language=language,
        settings=settings,
        changes=changes,
    )
    spend_assertion(session, assertion=checked, clock=clock)
    request = _store(
        session,
        claim=claim,
        channel=Channel.IN_APP,
        received_at=clock.now(),
        details=details_of(text=text, contact=None, changes=claim.changes),
        verified_by=Method.ASSERTION,
        actor=IN_APP_ACTOR,
        master=master,
        clock=clock,
        settings=settings,
    )
    return Receipt(request.reference, request.received_at, request.legal_deadline)

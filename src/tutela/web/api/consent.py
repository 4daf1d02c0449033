"""The consent JSON API: record events, check one person, export receipts.

The bulk check lives in :mod:`tutela.web.api.consent_bulk` under the same prefix.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.consent import (
    Proof,
    check,
    current_policy,
    purpose_of,
    receipts,
    record,
)
from tutela.consent.events import ReceiptsExported
from tutela.crypto import MasterKey
from tutela.errors import InvalidInput, NotFound
from tutela.policy.models import ID_PATTERN
from tutela.staff.apikeys import Scope
from tutela.staff.models import ApiKey
from tutela.storage import transaction
from tutela.subjects import (
    IdentityKind,
    Subject,
    get_or_create_subject,
    subject_by_public_id,
)
from tutela.web.api.auth import PresentKey, authorize, requires, touch
from tutela.web.api.consent_schemas import CheckIn, CheckOut, DecisionOut, EventIn, EventOut
from tutela.web.api.schemas import Problem
from tutela.web.problems import PROBLEM_JSON
from tutela.web.state import AppState, app_state

__all__ = [
    "COMMON_RESPONSES",
    "ConsentReader",
    "PurposeParam",
    "master_key",
    "problem_responses",
    "router",
]

_IDENTITY_PARAMS: Final = ("email", "phone", "customer_id", "visitor_id")
_NOT_PROOF: Final = {"subject", "kind", "value", "purpose", "action", "language"}
_EVENT_FIELDS: Final = ("sequence", "action", "channel", "policy_version", "language")

ConsentReader = Annotated[ApiKey, Depends(requires(Scope.CONSENT_READ))]
ConsentWriter = Annotated[ApiKey, Depends(requires(Scope.CONSENT_WRITE))]
ConsentExporter = Annotated[ApiKey, Depends(requires(Scope.CONSENT_EXPORT))]
PurposeParam = Annotated[
    str, Query(description="Purpose id from the declaration", max_length=64, pattern=ID_PATTERN)
]


def problem_responses(*codes: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for problem+json answers with these status codes."""
    return {
        status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": text}
        for status, text in codes
    }


COMMON_RESPONSES: Final = problem_responses(
    (401, "No API key, or an unknown or revoked one"),
    (403, "The key lacks the scope the endpoint needs"),
    (404, "Unknown purpose or subject"),
    (409, "No version of the declaration is in effect"),
    (422, "A field is malformed; 'field' or 'errors' names it"),
)
router = APIRouter(prefix="/api/v1/consent", tags=["consent"], responses=COMMON_RESPONSES)


def master_key(request: Request) -> MasterKey:
    """The installation's master key (kept on the app state)."""
    return app_state(request).master_key()


def _subject_from(
    session: Session, body: EventIn, *, master: MasterKey, state: AppState, actor: str
) -> Subject:
    if body.subject is not None:
        if body.kind is not None or body.value is not None:
            raise InvalidInput(
                "subject: name the person by subject or by kind and value, not both.",
                field="subject",
            )
        return _known_subject(session, body.subject)
    if body.kind is None or body.value is None:
        raise InvalidInput(
            "kind: name the person by an identity kind and value (such as kind=email), "
            "or by subject.",
            field="kind" if body.kind is None else "value",
        )
    try:
        subject, _created = get_or_create_subject(
            session,
            kind=body.kind,
            value=body.value,
            master=master,
            clock=state.clock,
            actor=actor,
            default_country_code=state.settings.default_phone_country_code,
        )
    except InvalidInput as exc:
        raise InvalidInput(exc.detail, field="value", kind=body.kind.value) from None
    return subject


def _known_subject(session: Session, public_id: str) -> Subject:
    subject = subject_by_public_id(session, public_id)
    if subject is None:
        raise NotFound(
            "subject: there is no subject with this id; look the person up by an identity "
            "(kind and value) instead.",
            field="subject",
        )
    return subject


@router.post("/events", status_code=201, summary="Record a consent event")
def record_event(request: Request, body: EventIn, key: ConsentWriter) -> EventOut:
    """Append a grant, confirmation, refusal, withdrawal, objection or expiry to the ledger.

    An unknown identity creates the subject. The IP address is stored shortened
    (IPv4 /24, IPv6 /48) and, like the user agent, only encrypted.
    """
    state = app_state(request)
    master = master_key(request)
    actor = f"api:{key.prefix}"
    fields = body.model_dump(exclude=_NOT_PROOF)
    language = body.language or state.settings.default_language
    proof = Proof(**fields, language=language)
    with transaction(state.session_factory) as session:
        policy = current_policy(session, clock=state.clock)
        purpose_of(policy, body.purpose)
        proof = proof.checked()
        subject = _subject_from(session, body, master=master, state=state, actor=actor)
        event = record(
            session,
            subject=subject,
            purpose_id=body.purpose,
            action=body.action,
            proof=proof,
            master=master,
            clock=state.clock,
            actor=actor,
            policy=policy if body.policy_version is None else None,
        )
        decision = check(
            session,
            purpose_id=body.purpose,
            master=master,
            clock=state.clock,
            declaration=policy.declaration,
            subject=subject,
        )
        shown = {name: getattr(event, name) for name in _EVENT_FIELDS}
        return EventOut(
            **shown,
            subject=subject.public_id,
            purpose=event.purpose_id,
            occurred_at=event.occurred_at.isoformat(),
            notice_hash=event.notice_hash,
            hash=event.hash,
            decision=DecisionOut(allowed=decision.allowed, reason=decision.reason.value),
        )


def _one_identity(
    subject: str | None, identities: dict[str, str | None]
) -> tuple[str | None, IdentityKind | None, str | None]:
    given = [(name, value) for name, value in identities.items() if value is not None]
    if len(given) + (subject is not None) != 1:
        names = ", ".join(("subject", *_IDENTITY_PARAMS))
        raise InvalidInput(
            f"subject: give exactly one of {names} to name the person.", field="subject"
        )
    if subject is not None:
        return subject, None, None
    name, value = given[0]
    return None, IdentityKind(name), value


@router.get("/check", summary="May a purpose be pursued for one person?", response_model=CheckOut)
def check_one(
    request: Request,
    credentials: PresentKey,
    purpose: PurposeParam,
    subject: Annotated[str | None, Query(max_length=64)] = None,
    email: Annotated[str | None, Query(max_length=512)] = None,
    phone: Annotated[str | None, Query(max_length=512)] = None,
    customer_id: Annotated[str | None, Query(max_length=512)] = None,
    visitor_id: Annotated[str | None, Query(max_length=512)] = None,
) -> JSONResponse:
    """The decision with its reason code, read from the ledger state at this moment.

    An address in a URL ends up in proxy logs: prefer ``POST /check`` (same answer,
    the identity in the body) or ``subject=`` for identities.
    """
    identities = {"email": email, "phone": phone, "customer_id": customer_id}
    return _decide(request, credentials, purpose, subject, {**identities, "visitor_id": visitor_id})


@router.post(
    "/check", summary="May a purpose be pursued for one person? (identity in the body)",
    response_model=CheckOut,
)  # fmt: skip
def check_one_posted(request: Request, credentials: PresentKey, body: CheckIn) -> JSONResponse:
    """Like ``GET /check``, with the person named in a JSON body instead of the URL."""
    identities = {
        "email": body.email,
        "phone": body.phone,
        "customer_id": body.customer_id,
        "visitor_id": body.visitor_id,
    }
    return _decide(request, credentials, body.purpose, body.subject, identities)


def _decide(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    purpose: str,
    subject: str | None,
    identities: dict[str, str | None],
) -> JSONResponse:
    """Check the key and decide in one read transaction (the call made once per mail)."""
    state = app_state(request)
    with transaction(state.read_factory) as session:
        key, stale = authorize(session, credentials, Scope.CONSENT_READ, clock=state.clock)
        public_id, kind, value = _one_identity(subject, identities)
        master = master_key(request)
        policy = current_policy(session, clock=state.clock)
        person = None if public_id is None else _known_subject(session, public_id)
        decision = check(
            session,
            purpose_id=purpose,
            master=master,
            clock=state.clock,
            declaration=policy.declaration,
            subject=person,
            kind=kind,
            value=value,
            default_country_code=state.settings.default_phone_country_code,
        )
        number = policy.number
    if stale:
        touch(request, key)
    # A plain response: this endpoint is called once per mail, so it skips re-validating
    # its own four fields.
    return JSONResponse(
        {
            "purpose": purpose,
            "allowed": decision.allowed,
            "reason": decision.reason.value,
            "policy_version": number,
        }
    )


@router.get("/subjects/{public_id}/receipts", summary="A person's consent receipts")
def subject_receipts(request: Request, public_id: str, key: ConsentExporter) -> JSONResponse:
    """ISO/IEC TS 27560-shaped records of every purpose with events, with their history.

    They include the decrypted proof (truncated IP, user agent, form address), so they
    need the ``consent:export`` scope, and every export is written to the audit trail.
    """
    state = app_state(request)
    master = master_key(request)
    with transaction(state.session_factory) as session:
        subject = _known_subject(session, public_id[:64])
        document = receipts(session, subject=subject, master=master, clock=state.clock)
        exported = ReceiptsExported(subject_id=subject.id, records=len(document["records"]))
        emit(session, exported, actor=f"apikey:{key.prefix}", clock=state.clock)
    return JSONResponse(document)

"""The consent JSON API: record events, check one person or many, export receipts.

``POST /check-bulk`` reads newline-delimited identities (at most
:data:`MAX_BULK_LINES` lines and :data:`MAX_BULK_BYTES` bytes, else 413) and
streams one JSON line per input line as ``application/x-ndjson``: a decision,
or an error for a malformed line, while the other lines are still checked.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tutela.audit import emit
from tutela.consent import (
    BulkResult,
    CurrentPolicy,
    Proof,
    check,
    check_bulk,
    current_policy,
    purpose_of,
    receipts,
    record,
)
from tutela.consent.events import ReceiptsExported
from tutela.consent.scan import SCAN_MIN_VALUES
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
from tutela.web.api.auth import requires
from tutela.web.api.consent_schemas import CheckIn, CheckOut, DecisionOut, EventIn, EventOut
from tutela.web.api.schemas import Problem
from tutela.web.problems import PROBLEM_JSON, problem
from tutela.web.state import AppState, app_state

__all__ = ["MAX_BULK_BYTES", "MAX_BULK_LINES", "router"]

MAX_BULK_BYTES: Final = 128 * 1024 * 1024
MAX_BULK_LINES: Final = 1_000_000
NDJSON: Final = "application/x-ndjson"
_FLUSH_LINES: Final = 2000
_IDENTITY_PARAMS: Final = ("email", "phone", "customer_id", "visitor_id")
_NOT_PROOF: Final = {"subject", "kind", "value", "purpose", "action", "language"}
_EVENT_FIELDS: Final = ("sequence", "action", "channel", "policy_version", "language")

ConsentReader = Annotated[ApiKey, Depends(requires(Scope.CONSENT_READ))]
ConsentWriter = Annotated[ApiKey, Depends(requires(Scope.CONSENT_WRITE))]
ConsentExporter = Annotated[ApiKey, Depends(requires(Scope.CONSENT_EXPORT))]
PurposeParam = Annotated[
    str, Query(description="Purpose id from the declaration", max_length=64, pattern=ID_PATTERN)
]


def _problems(*codes: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": text}
        for status, text in codes
    }


router = APIRouter(
    prefix="/api/v1/consent",
    tags=["consent"],
    responses=_problems(
        (401, "No API key, or an unknown or revoked one"),
        (403, "The key lacks the scope the endpoint needs"),
        (404, "Unknown purpose or subject"),
        (409, "No version of the declaration is in effect"),
        (422, "A field is malformed; 'field' or 'errors' names it"),
    ),
)


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
    key: ConsentReader,
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
    return _decide(request, purpose, subject, {**identities, "visitor_id": visitor_id})


@router.post(
    "/check", summary="May a purpose be pursued for one person? (identity in the body)",
    response_model=CheckOut,
)  # fmt: skip
def check_one_posted(request: Request, key: ConsentReader, body: CheckIn) -> JSONResponse:
    """Like ``GET /check``, with the person named in a JSON body instead of the URL."""
    identities = {
        "email": body.email,
        "phone": body.phone,
        "customer_id": body.customer_id,
        "visitor_id": body.visitor_id,
    }
    return _decide(request, body.purpose, body.subject, identities)


def _decide(
    request: Request, purpose: str, subject: str | None, identities: dict[str, str | None]
) -> JSONResponse:
    state = app_state(request)
    public_id, kind, value = _one_identity(subject, identities)
    master = master_key(request)
    with transaction(state.read_factory) as session:
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


def _too_large(request: Request, what: str) -> Response:
    return problem(
        request,
        status=413,
        title="The request body is too large",
        detail=f"{what} accepted by a bulk check. Split the list into several requests.",
        type_="https://tutela.dev/problems/too-large",
    )


def _lines(body: bytes) -> Iterator[str]:
    for raw in io.BytesIO(body):
        yield raw.rstrip(b"\r\n").decode("utf-8", errors="replace")


def _line(result: BulkResult) -> str:
    if result.error is not None:
        return json.dumps({"line": result.line, "error": result.error}, ensure_ascii=False)
    allowed = "true" if result.allowed else "false"
    # reason codes are fixed lower-case words: no escaping needed
    return f'{{"line":{result.line},"allowed":{allowed},"reason":"{result.reason}"}}'


def _ndjson(
    state: AppState,
    *,
    body: bytes,
    lines: int,
    policy: CurrentPolicy,
    purpose: str,
    kind: IdentityKind,
    master: MasterKey,
) -> Iterator[bytes]:
    values: Iterable[str] = _lines(body)
    if lines >= SCAN_MIN_VALUES:
        values = list(values)  # lets a large request be answered by one scan
    with state.read_factory() as session, session.begin():
        results = check_bulk(
            session,
            purpose_id=purpose,
            kind=kind,
            values=values,
            master=master,
            clock=state.clock,
            declaration=policy.declaration,
            default_country_code=state.settings.default_phone_country_code,
        )
        out: list[str] = []
        for result in results:
            out.append(_line(result))
            if len(out) >= _FLUSH_LINES:
                out.append("")
                yield "\n".join(out).encode("utf-8")
                out.clear()
        if out:
            out.append("")
            yield "\n".join(out).encode("utf-8")


async def _read_body(request: Request) -> tuple[bytes, int] | Response:
    """The body and its line count, read piece by piece; 413 once it is too large."""
    limit = MAX_BULK_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return _too_large(request, f"The body has {declared} bytes; at most {limit} are")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return _too_large(request, f"The body is longer than {limit} bytes, the most")
    lines = body.count(b"\n") + (1 if body and not body.endswith(b"\n") else 0)
    if lines > MAX_BULK_LINES:
        return _too_large(request, f"The body has {lines} lines; at most {MAX_BULK_LINES} are")
    return bytes(body), lines


@router.post(
    "/check-bulk",
    summary="Check many identities of one kind for one purpose",
    response_class=StreamingResponse,
    responses={
        200: {"content": {NDJSON: {}}, "description": "One JSON object per input line"},
        **_problems((413, "More than the allowed bytes or lines")),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "One identity value per line (UTF-8), at most 1,000,000 lines.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
async def check_many(
    request: Request,
    key: ConsentReader,
    purpose: PurposeParam,
    kind: Annotated[IdentityKind, Query(description="The kind of every line")],
) -> Response:
    """Answers ``{"line": n, "allowed": …, "reason": …}`` or ``{"line": n, "error": …}``."""
    state = app_state(request)
    read = await _read_body(request)
    if isinstance(read, Response):
        return read
    body, lines = read
    master = await run_in_threadpool(master_key, request)

    def resolve() -> CurrentPolicy:
        with transaction(state.read_factory) as session:
            policy = current_policy(session, clock=state.clock)
            purpose_of(policy, purpose)
            return policy

    policy = await run_in_threadpool(resolve)
    stream = _ndjson(
        state, body=body, lines=lines, policy=policy, purpose=purpose, kind=kind, master=master
    )
    return StreamingResponse(stream, media_type=NDJSON)


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

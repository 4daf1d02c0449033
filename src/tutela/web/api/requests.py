"""``/api/v1/requests``: data-subject requests for the operator's own forms and apps.

* ``POST /api/v1/requests`` (``requests:write``) stores a request from the
  operator's form: 202 with the reference and the legal deadline, the same for
  known and unknown people (the lookup happens later, in the intake job).
* ``POST /api/v1/requests/in-app`` (``requests:write``) stores a request of a
  signed-in customer with the app's signed assertion (verified at once); each
  assertion is accepted once (a second use is 409).
* ``GET /api/v1/requests/{reference}`` (``requests:read``) is the status for
  operators: status, deadlines, outcome; no personal data. It tells operators
  what Tutela knows, including that nothing is held under an identity
  (``outcome`` ``no_data``); it is not for relaying to requesters (see
  :data:`OPERATORS_ONLY`). With ``wait=N`` it answers as soon as the status
  changes (from ``seen``, or from what it was when the call came), the request
  is closed, or after N seconds (at most 60): no polling needed.

A rectification or correction may carry ``changes``: field reference
(``customers.phone`` or ``user.contact.phone_number``) → new value
(:mod:`tutela.dsr.changes` checks them).

Bodies over :data:`MAX_JSON` bytes get 413, bad fields 422 naming the field; all
errors are problem+json.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from tutela.dsr import Receipt, get_request, submit, submit_in_app
from tutela.dsr.terms import Channel
from tutela.dsr.watch import MAX_WAIT_SECONDS, wait_for_change
from tutela.errors import TutelaError
from tutela.staff.apikeys import Scope
from tutela.staff.models import ApiKey
from tutela.storage import transaction
from tutela.web.api.auth import requires
from tutela.web.problems import problem
from tutela.web.public.request_body import read_body
from tutela.web.state import AppState, app_state

router = APIRouter(prefix="/api/v1/requests", tags=["requests"])

MAX_JSON: Final = 24_576
PROBLEMS: Final = "https://tutela.dev/problems/"
NO_STORE: Final = {"Cache-Control": "no-store"}
RequestTypeName = Literal[
    "access",
    "portability",
    "rectification",
    "erasure",
    "restriction",
    "objection",
    "consent_withdrawal",
    "know",
    "delete",
    "correct",
    "opt_out_sale_share",
    "limit_sensitive",
]
ScopeName = Literal["general", "marketing", "contact_data"]
StatusName = Literal[
    "received",
    "awaiting_verification",
    "verified",
    "in_progress",
    "completed",
    "denied",
    "expired_unverified",
]
WAIT_HELP: Final = (
    "wait: up to this many seconds (at most 60) to wait for the status to change before "
    "answering; a closed request is answered at once. Without it the answer is immediate."
)
SEEN_HELP: Final = (
    "With wait: the status you saw last; a different current status is answered at once."
)
CHANGES_HELP: Final = (
    "Rectification and correction only: field reference (table.column or a data category, "
    "at most 120 characters) → new value (one line, at most 500 characters); at most 20."
)
OPERATORS_ONLY: Final = (
    "For the operator's own systems only. The status and outcome tell whether Tutela holds "
    "data under the identity (an unknown email address is completed at once with outcome "
    "no_data, a known one waits for verification), so relaying them to whoever filed the "
    "request would reveal whether the person is known (V-6). Show requesters only the "
    "reference and the legal deadline from the 202 answer; the answer itself goes to the "
    "channel on file."
)


class RequestIn(BaseModel):
    """A request your own form collected; Tutela verifies the person by the channel on file."""

    model_config = ConfigDict(extra="forbid")

    request_type: RequestTypeName
    identity_kind: Literal["email", "phone", "customer_id"] = "email"
    identity: str = Field(max_length=512, description="The email, phone or customer number")
    language: Literal["de", "en"] = Field(default="de", description="Language of the answers")
    scope: ScopeName | None = None
    text: str | None = Field(default=None, max_length=10_000, description="What the person wrote")
    contact: str | None = Field(default=None, max_length=1_000)
    changes: dict[str, str] | None = Field(default=None, description=CHANGES_HELP)


class InAppRequestIn(BaseModel):
    """A request of a customer signed in to your app, with the app's signed assertion."""

    model_config = ConfigDict(extra="forbid")

    assertion: str = Field(max_length=4096, description="v1.<claims>.<signature>")
    request_type: RequestTypeName
    language: Literal["de", "en"] = "de"
    scope: ScopeName | None = None
    text: str | None = Field(default=None, max_length=10_000)
    changes: dict[str, str] | None = Field(default=None, description=CHANGES_HELP)


class ReceiptOut(BaseModel):
    reference: str
    received_at: dt.datetime
    legal_deadline: dt.date


class StatusOut(BaseModel):
    """Where a request stands, for operators; no identity, text or contact."""

    model_config = ConfigDict(json_schema_extra={"description": OPERATORS_ONLY})

    reference: str
    request_type: str
    jurisdiction: str
    channel: str
    status: str = Field(description="Where the request stands; operators only (see above).")
    received_at: dt.datetime
    legal_deadline: dt.date
    target_deadline: dt.date
    confirm_by: dt.date | None
    extended_until: dt.date | None
    deadline_in_force: dt.date
    verified_at: dt.datetime | None
    verification_method: str | None
    closed_at: dt.datetime | None
    outcome: str | None = Field(
        description="How it ended; no_data means nothing is held under the identity. "
        "Operators only: never relay it to a requester who has not confirmed."
    )


Writer = Annotated[ApiKey, Depends(requires(Scope.REQUESTS_WRITE))]
Reader = Annotated[ApiKey, Depends(requires(Scope.REQUESTS_READ))]
_Model = TypeVar("_Model", bound=BaseModel)


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": model.model_json_schema()}},
    }


def _too_large(request: Request) -> Response:
    return problem(
        request,
        status=413,
        title="The request body is too large",
        detail=f"body: a request is at most {MAX_JSON} bytes of JSON; shorten the text.",
        type_=PROBLEMS + "too-large",
    )


def _parse(request: Request, raw: bytes, model: type[_Model]) -> _Model | Response:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": str(e["msg"])}
            for e in exc.errors()
        ]
        fields = ", ".join(e["field"] for e in errors)
        return problem(
            request,
            status=422,
            title="The request is not valid",
            detail=f"Check {fields}: see 'errors' for what each field needs.",
            type_=PROBLEMS + "invalid-input",
            errors=errors,
        )


def _failed(request: Request, exc: TutelaError) -> Response:
    body = exc.problem()
    field = str(exc.extra.get("field", "body"))
    extra = {k: v for k, v in body.items() if k not in {"type", "title", "status", "detail"}}
    extra.setdefault("errors", [{"field": field, "message": exc.detail}])
    return problem(
        request, status=exc.status, title=exc.title, detail=exc.detail, type_=body["type"], **extra
    )


def _accepted(receipt: Receipt) -> Response:
    out = ReceiptOut(
        reference=receipt.reference,
        received_at=receipt.received_at,
        legal_deadline=receipt.legal_deadline,
    )
    return JSONResponse(out.model_dump(mode="json"), status_code=202, headers=NO_STORE)


def _store(request: Request, key: ApiKey, data: RequestIn) -> Response:
    state = app_state(request)
    try:
        with transaction(state.session_factory) as session:
            receipt = submit(
                session,
                request_type=data.request_type,
                identity_kind=data.identity_kind,
                identity_value=data.identity,
                language=data.language,
                master=state.master_key(),
                clock=state.clock,
                settings=state.settings,
                channel=Channel.API,
                scope=data.scope,
                text=data.text,
                contact=data.contact,
                actor=f"api:{key.prefix}",
                changes=data.changes,
            )
    except TutelaError as exc:
        return _failed(request, exc)
    return _accepted(receipt)


@router.post(
    "",
    summary="File a data-subject request",
    status_code=202,
    openapi_extra={"requestBody": _body(RequestIn)},
)
async def create_request(request: Request, key: Writer) -> Response:
    """Store the request; 202 with the reference and the legal deadline, the same for everyone.

    The person gets the confirmation link at the address already on file (or a
    notice that no data is held), never at an address given here.
    """
    raw = await read_body(request, MAX_JSON)
    if raw is None:
        return _too_large(request)
    parsed = _parse(request, raw, RequestIn)
    if isinstance(parsed, Response):
        return parsed
    return await run_in_threadpool(_store, request, key, parsed)


def _store_in_app(request: Request, data: InAppRequestIn) -> Response:
    state = app_state(request)
    try:
        with transaction(state.session_factory) as session:
            receipt = submit_in_app(
                session,
                assertion=data.assertion,
                request_type=data.request_type,
                language=data.language,
                master=state.master_key(),
                clock=state.clock,
                settings=state.settings,
                scope=data.scope,
                text=data.text,
                changes=data.changes,
            )
    except TutelaError as exc:
        return _failed(request, exc)
    return _accepted(receipt)


@router.post(
    "/in-app",
    summary="File a request of a signed-in customer",
    status_code=202,
    openapi_extra={"requestBody": _body(InAppRequestIn)},
)
async def create_in_app_request(request: Request, key: Writer) -> Response:
    """Store a request verified by your app's signed assertion (a fresh sign-in).

    A bad signature, a stale sign-in or a missing ``jti``/``typ`` claim is 401
    saying what to fix; an assertion used before is 409 (sign a new one per request).
    """
    raw = await read_body(request, MAX_JSON)
    if raw is None:
        return _too_large(request)
    parsed = _parse(request, raw, InAppRequestIn)
    if isinstance(parsed, Response):
        return parsed
    return await run_in_threadpool(_store_in_app, request, parsed)


@router.get(
    "/{reference}",
    summary="Where a request stands (operators only)",
    response_model=StatusOut,
    description="Status, deadlines and outcome of one request; no personal data. "
    + WAIT_HELP
    + " "
    + OPERATORS_ONLY,
)
async def request_status(
    request: Request,
    reference: str,
    key: Reader,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS, description=WAIT_HELP)] = 0,
    seen: Annotated[StatusName | None, Query(description=SEEN_HELP)] = None,
) -> Response:
    """Status, deadlines and outcome of one request, for operators (see :data:`OPERATORS_ONLY`)."""
    state = app_state(request)
    reference = reference[:40]
    try:
        if wait > 0:
            state.hear_status_changes()

            async def read() -> str:
                return await run_in_threadpool(_current_status, state, reference)

            await wait_for_change(read, seen=seen, timeout=wait)
        out = await run_in_threadpool(_status_out, state, reference)
    except TutelaError as exc:
        return _failed(request, exc)
    return JSONResponse(out.model_dump(mode="json"), headers=NO_STORE)


def _current_status(state: AppState, reference: str) -> str:
    with transaction(state.read_factory) as session:
        return get_request(session, reference=reference).status


def _status_out(state: AppState, reference: str) -> StatusOut:
    with transaction(state.read_factory) as session:
        found = get_request(session, reference=reference)
        return StatusOut(
            reference=found.reference,
            request_type=found.request_type,
            jurisdiction=found.jurisdiction,
            channel=found.channel,
            status=found.status,
            received_at=found.received_at,
            legal_deadline=found.legal_deadline,
            target_deadline=found.target_deadline,
            confirm_by=found.confirm_by,
            extended_until=found.extended_until,
            deadline_in_force=found.due_on,
            verified_at=found.verified_at,
            verification_method=found.verification_method,
            closed_at=found.closed_at,
            outcome=found.outcome,
        )

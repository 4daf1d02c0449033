"""``POST /api/v1/newsletter/subscriptions``: double opt-in sign-up for the operator's own forms.

Needs an API key with ``consent:write``; answers 202 with the same body, after the
same work, whatever the address's state (the worker carries the sign-up out), 422
naming the field for bad input, 404 for an unknown purpose.
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from tutela.consent.terms import Channel
from tutela.errors import TutelaError
from tutela.staff.apikeys import Scope
from tutela.staff.models import ApiKey
from tutela.web.api.auth import requires
from tutela.web.problems import problem
from tutela.web.public.newsletter import ACCEPTED, MAX_JSON, NO_STORE, PROBLEMS, run_sign_up
from tutela.web.public.request_body import read_body

router = APIRouter()


# ---------------------------------------------------------------- the API


class SubscriptionIn(BaseModel):
    """A sign-up your own site or shop collected; Tutela sends the confirmation mail."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=512, description="The address to sign up")
    purpose: str = Field(max_length=64, description="A purpose with double opt-in")
    language: Literal["de", "en"] = Field(default="de", description="Language of the mail")
    ip: str | None = Field(default=None, max_length=64, description="The person's IP address")
    user_agent: str | None = Field(default=None, max_length=512)
    form_url: str | None = Field(default=None, max_length=2048, description="Where they signed up")


ConsentWriter = Annotated[ApiKey, Depends(requires(Scope.CONSENT_WRITE))]
_API_BODY = {
    "required": True,
    "content": {"application/json": {"schema": SubscriptionIn.model_json_schema()}},
}


def _invalid(request: Request, errors: list[dict[str, str]], status: int = 422) -> Response:
    fields = ", ".join(e["field"] for e in errors)
    return problem(
        request,
        status=status,
        title="The request is not valid",
        detail=f"Check {fields}: see 'errors' for what each field needs.",
        type_=PROBLEMS + "invalid-input",
        errors=errors,
    )


def _parse_subscription(request: Request, raw: bytes) -> SubscriptionIn | Response:
    try:
        return SubscriptionIn.model_validate_json(raw)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": str(e["msg"])}
            for e in exc.errors()
        ]
        return _invalid(request, errors)


def _api_sign_up(request: Request, key: ApiKey, data: SubscriptionIn) -> Response:
    try:
        run_sign_up(
            request,
            email=data.email,
            purpose_id=data.purpose,
            language=data.language,
            channel=Channel.API,
            actor=f"api:{key.prefix}",
            ip=data.ip,
            user_agent=data.user_agent,
            form_url=data.form_url,
        )
    except TutelaError as exc:
        body = exc.problem()
        field = str(exc.extra.get("field", "body"))
        extra = {k: v for k, v in body.items() if k not in {"type", "title", "status", "detail"}}
        extra.setdefault("errors", [{"field": field, "message": exc.detail}])
        return problem(
            request,
            status=exc.status,
            title=exc.title,
            detail=exc.detail,
            type_=body["type"],
            **extra,
        )
    return JSONResponse(
        {"status": "accepted", "detail": ACCEPTED}, status_code=202, headers=NO_STORE
    )


@router.post(
    "/api/v1/newsletter/subscriptions",
    tags=["consent"],
    summary="Sign someone up with double opt-in",
    status_code=202,
    openapi_extra={"requestBody": _API_BODY},
)
async def api_subscribe(request: Request, key: ConsentWriter) -> Response:
    """Queue the sign-up; the worker records it and sends the confirmation mail.

    The answer is 202 with the same body whatever the address's state. An invalid
    address is 422 naming ``email``, an unknown purpose 404 naming it.
    """
    raw = await read_body(request, MAX_JSON)
    if raw is None:
        return problem(
            request,
            status=413,
            title="The request body is too large",
            detail=f"body: a sign-up is at most {MAX_JSON} bytes of JSON.",
            type_=PROBLEMS + "too-large",
        )
    parsed = _parse_subscription(request, raw)
    if isinstance(parsed, Response):
        return parsed
    return await run_in_threadpool(_api_sign_up, request, key, parsed)

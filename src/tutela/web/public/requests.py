"""The privacy center: a person files a data-subject request (no login).

``GET /requests`` shows the form (the GDPR rights, and the Californian ones
under their own heading); ``POST /requests`` stores the request through
:func:`tutela.dsr.submit` and answers with the same confirmation page for
everyone: the reference and the legal deadline, status 200, the same body and
the same work whether or not the person is known (the lookup happens later, in
the intake job, and its outcome goes only to the address on file).

The form carries a signed double-submit nonce (as the newsletter form does), and
too many submissions from one client
address within a window get a 429 that says nothing about anyone. Verification,
codes and the download live in :mod:`tutela.web.public.requests_verify`. Texts
come from the ``messages`` catalog; labels in ``public/requests_labels.html.j2``.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import threading
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from tutela.dsr import Receipt, RequestType, submit
from tutela.dsr.changes import CHANGE_TYPES, changes_from_lines
from tutela.dsr.terms import Channel, Scope
from tutela.errors import InvalidInput
from tutela.storage import transaction
from tutela.web.admin.ratelimit import LoginLimiter
from tutela.web.pages import as_language, page_language, render_page
from tutela.web.problems import PAGE_MESSAGES, error_page
from tutela.web.public.request_body import client_ip, form_text, parse_form, read_body
from tutela.web.state import AppState, app_state

router = APIRouter(include_in_schema=False)

MAX_FORM: Final = 32_768
SUBMISSIONS_PER_WINDOW: Final = 10
LIMIT_WINDOW: Final = dt.timedelta(minutes=15)
COOKIE: Final = "tutela_requests"
COOKIE_PATH: Final = "/requests"
FORM_LIFETIME: Final = 3600 * 24
NO_STORE: Final = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
GDPR_TYPES: Final = (
    RequestType.ACCESS,
    RequestType.PORTABILITY,
    RequestType.RECTIFICATION,
    RequestType.ERASURE,
    RequestType.RESTRICTION,
    RequestType.OBJECTION,
    RequestType.CONSENT_WITHDRAWAL,
)
CCPA_TYPES: Final = (
    RequestType.KNOW,
    RequestType.DELETE,
    RequestType.CORRECT,
    RequestType.OPT_OUT_SALE_SHARE,
    RequestType.LIMIT_SENSITIVE,
)
MARKETING_TYPES: Final = frozenset({RequestType.OBJECTION, RequestType.CONSENT_WITHDRAWAL})
IDENTITY_KINDS: Final = ("email", "phone")
FIELDS: Final = frozenset(
    {"request_type", "identity", "language", "text", "scope", "changes", "changes_type"}
)
"""Form errors by code; the sentences live in requests_labels.html.j2 (``changes_type``:
new values given for a request that is not a rectification or correction)."""
VALUE_LIMITS: Final = {"changes": 13_000}
"""Longer cuts than the default 12,000 characters (20 lines of field and value)."""

_limiter_lock = threading.Lock()


def limiter(request: Request) -> LoginLimiter:
    """The per-client limit on public request pages, made on first use and kept on the app."""
    state = app_state(request)
    with _limiter_lock:
        found = getattr(request.app.state, "tutela_requests_limiter", None)
        if not isinstance(found, LoginLimiter):
            found = LoginLimiter(
                clock=state.clock, limit=SUBMISSIONS_PER_WINDOW, window=LIMIT_WINDOW
            )
            request.app.state.tutela_requests_limiter = found
    return found


def throttled(request: Request, bucket: str) -> Response | None:
    """A 429 page when this client used ``bucket`` too often lately; counts this use."""
    gate = limiter(request)
    client = client_ip(request) or "unknown"
    wait = gate.retry_after(email=bucket, client=client)
    if wait is not None:
        return error_page(request, status=429, headers={"Retry-After": str(wait), **NO_STORE})
    gate.failed(email=bucket, client=client)
    return None


def page(
    request: Request,
    template: str,
    language: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> Response:
    """A privacy-center page: never cached, never leaking its address as a referrer."""
    return render_page(
        request,
        template,
        context,
        status_code=status_code,
        language=language,
        headers=dict(NO_STORE),
    )


# ---------------------------------------------------------------- the form


def _form_cookie(state: AppState, nonce: str) -> str:
    issued = str(int(state.clock.now().timestamp()))
    return f"{nonce}.{issued}.{state.sign('requests-form', f'{nonce}.{issued}')}"


def _cookie_nonce(state: AppState, request: Request) -> str | None:
    parts = request.cookies.get(COOKIE, "").split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    nonce, issued, signature = parts
    if not hmac.compare_digest(state.sign("requests-form", f"{nonce}.{issued}"), signature):
        return None
    age = state.clock.now().timestamp() - int(issued)
    return nonce if 0 <= age <= FORM_LIFETIME else None


def _form_page(
    request: Request,
    language: str,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    state = app_state(request)
    nonce = _cookie_nonce(state, request) or secrets.token_urlsafe(24)
    context = {
        "gdpr_types": [t.value for t in GDPR_TYPES],
        "ccpa_types": [t.value for t in CCPA_TYPES],
        "marketing_types": sorted(t.value for t in MARKETING_TYPES),
        "kinds": IDENTITY_KINDS,
        "form": values or {},
        "error": error,
        "csrf_token": nonce,
        "request_path": "/requests",
    }
    response = page(
        request, "public/requests_form.html.j2", language, context, status_code=status_code
    )
    response.set_cookie(
        COOKIE,
        _form_cookie(state, nonce),
        max_age=FORM_LIFETIME,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=state.settings.secure_cookies,
    )
    return response


@router.get("/requests")
def requests_form(request: Request) -> Response:
    """The privacy center's form (``?lang=de|en``)."""
    return _form_page(request, page_language(request))


def _scope(request_type: str, marketing: bool) -> str | None:
    if marketing and request_type in {t.value for t in MARKETING_TYPES}:
        return Scope.MARKETING.value
    return None


def _error_code(exc: InvalidInput, request_type: str) -> str:
    field = str(exc.extra.get("field", "identity"))
    field = "identity" if field in {"email", "phone", "kind", "default_country_code"} else field
    if field == "changes" and request_type not in {t.value for t in CHANGE_TYPES}:
        return "changes_type"
    return field if field in FIELDS else "identity"


def _received_page(request: Request, language: str, receipt: Receipt) -> Response:
    context = {
        "reference": receipt.reference,
        "deadline": receipt.legal_deadline,
        "request_path": "/requests",
    }
    return page(request, "public/requests_received.html.j2", language, context)


def _submitted(request: Request, form: FormData) -> Response:
    state = app_state(request)
    language = as_language(form_text(form, "lang")) or page_language(request)
    nonce = _cookie_nonce(state, request)
    if nonce is None or not hmac.compare_digest(nonce, form_text(form, "csrf_token")):
        return error_page(request, status=403, message=PAGE_MESSAGES["csrf-failed"])
    blocked = throttled(request, "requests-submit")
    if blocked is not None:
        return blocked
    names = ("request_type", "identity_kind", "identity", "language", "text", "marketing")
    values = {
        name: form_text(form, name)[: VALUE_LIMITS.get(name, 12_000)]
        for name in (*names, "changes")
    }
    kind = values["identity_kind"] if values["identity_kind"] in IDENTITY_KINDS else "email"
    answer_in = as_language(values["language"]) or language
    try:
        changes = changes_from_lines(values["changes"])
        with transaction(state.session_factory) as session:
            receipt = submit(
                session,
                request_type=values["request_type"],
                identity_kind=kind,
                identity_value=values["identity"],
                language=answer_in,
                master=state.master_key(),
                clock=state.clock,
                settings=state.settings,
                channel=Channel.WEB_FORM,
                scope=_scope(values["request_type"], values["marketing"] == "yes"),
                text=values["text"] or None,
                changes=changes,
            )
    except InvalidInput as exc:
        error = _error_code(exc, values["request_type"])
        return _form_page(request, language, values=values, error=error, status_code=422)
    return _received_page(request, language, receipt)


@router.post("/requests")
async def requests_submit(request: Request) -> Response:
    """File a request: the same confirmation page (reference, deadline) for everyone."""
    body = await read_body(request, MAX_FORM)
    if body is None:
        return error_page(request, status=413)
    form = await parse_form(request, body)
    return await run_in_threadpool(_submitted, request, form)

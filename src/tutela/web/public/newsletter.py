"""Newsletter sign-up with double opt-in, and one-click unsubscribe.

Pages (no login): ``GET /newsletter`` (the form), ``POST /newsletter``,
``GET|POST /newsletter/confirm/{token}`` (GET only shows a button, so mail
scanners never confirm), ``GET|POST /u/{token}`` (RFC 8058: the POST needs
no cookie, never redirects and answers 200). API: ``POST
/api/v1/newsletter/subscriptions`` with a ``consent:write`` key.

A sign-up answers 202 with the same text whatever the address's state, and
after the same work: it is only checked and queued here, and the worker carries
it out (:mod:`tutela.consent.sign_up_queue`). Every bad, expired, foreign or
unknown link token gets the same 404 page. Texts come
from the ``newsletter`` catalog through ``nl()`` in the templates.
"""

from __future__ import annotations

import functools
import hmac
import secrets
import threading
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from tutela.consent import double_opt_in as doi
from tutela.consent.declarations import current_policy
from tutela.consent.doi_expiry import install_expiry_master
from tutela.consent.sign_up_queue import QueuedSignUp, install_sign_up_master, request_sign_up
from tutela.consent.terms import Channel
from tutela.crypto import MasterKey
from tutela.errors import Conflict, InvalidInput, NotFound
from tutela.i18n import PoTranslations, catalog_path
from tutela.policy.models import Purpose
from tutela.storage import transaction
from tutela.web.admin.ratelimit import LoginLimiter
from tutela.web.pages import page_language, render_page
from tutela.web.problems import PAGE_MESSAGES, error_page
from tutela.web.public.request_body import client_ip, form_text, parse_form, read_body
from tutela.web.state import AppState, app_state

router = APIRouter()

DOMAIN: Final = "newsletter"
MAX_FORM: Final = 8192
MAX_JSON: Final = 4096
SIGN_UPS_PER_WINDOW: Final = 10
COOKIE: Final = "tutela_newsletter"
COOKIE_PATH: Final = "/newsletter"
FORM_LIFETIME: Final = 3600 * 24
PROBLEMS: Final = "https://tutela.dev/problems/"
ACCEPTED: Final = (
    "Thank you. If this address can be signed up, a mail with a confirmation link is on its "
    "way. You are signed up only once you confirm."
)
UNSUBSCRIBED: Final = "You are unsubscribed. Thank you for letting us know."
FIELD_TEXTS: Final = {
    "email": "Enter a valid email address, such as name@example.org.",
    "consent": "Tick the box if you want to receive this newsletter.",
    "language": "Choose German or English.",
}
MESSAGES: Final = (ACCEPTED, UNSUBSCRIBED, *FIELD_TEXTS.values())
"""msgids of the ``newsletter`` catalog used from Python; the templates hold the rest."""
NO_STORE: Final = {"Cache-Control": "no-store"}

# The request helpers under the names the unsubscribe pages import.
_body = read_body
_form = parse_form
_text = form_text
_client_ip = client_ip


@dataclass
class NewsletterState:
    master: MasterKey
    limiter: LoginLimiter


_state_lock = threading.Lock()


def _newsletter(request: Request) -> tuple[AppState, NewsletterState]:
    """The app state and, made on first use, the master key and the sign-up limit."""
    state = app_state(request)
    with _state_lock:
        found = getattr(request.app.state, "tutela_newsletter", None)
        if not isinstance(found, NewsletterState):
            master = state.master_key()
            install_expiry_master(master)
            install_sign_up_master(master, state.settings)
            found = NewsletterState(
                master=master,
                limiter=LoginLimiter(clock=state.clock, limit=SIGN_UPS_PER_WINDOW),
            )
            request.app.state.tutela_newsletter = found
    return state, found


@functools.cache
def _catalog(language: str) -> PoTranslations:
    return PoTranslations(catalog_path(language, DOMAIN), language=language)


def translate(message: str, language: str) -> str:
    """``message`` (an English msgid of the ``newsletter`` catalog) in ``language``."""
    return message if language == "en" else _catalog(language).gettext(message)


def _page(
    request: Request,
    template: str,
    language: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    def nl(message: str, **values: Any) -> str:
        text = translate(message, language)
        return text % values if values else text

    values = {"nl": nl, **(context or {})}
    merged = {**NO_STORE, **(headers or {})}
    return render_page(
        request, template, values, status_code=status_code, language=language, headers=merged
    )


def _not_found(request: Request, language: str, purpose: str | None = None) -> Response:
    """The one 404 page for unknown lists and for every unusable link (the body never
    repeats the token)."""
    context = {"purpose": purpose, "request_path": "/privacy"}
    return _page(request, "public/newsletter_missing.html.j2", language, context, status_code=404)


# ---------------------------------------------------------------- the sign-up form


def _doi_purposes(state: AppState) -> list[Purpose]:
    with transaction(state.read_factory) as session:
        try:
            policy = current_policy(session, clock=state.clock)
        except Conflict:
            return []
    return [p for p in policy.declaration.purposes if p.needs_double_opt_in]


def _chosen(state: AppState, wanted: str) -> Purpose | None:
    offered = _doi_purposes(state)
    if not wanted:
        return offered[0] if offered else None
    return next((p for p in offered if p.id == wanted), None)


def _form_cookie(state: AppState, nonce: str) -> str:
    issued = str(int(state.clock.now().timestamp()))
    return f"{nonce}.{issued}.{state.sign('newsletter-form', f'{nonce}.{issued}')}"


def _cookie_nonce(state: AppState, request: Request) -> str | None:
    parts = request.cookies.get(COOKIE, "").split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    nonce, issued, signature = parts
    if not hmac.compare_digest(state.sign("newsletter-form", f"{nonce}.{issued}"), signature):
        return None
    age = state.clock.now().timestamp() - int(issued)
    return nonce if 0 <= age <= FORM_LIFETIME else None


def _sign_up_form(
    request: Request,
    state: AppState,
    purpose: Purpose,
    language: str,
    *,
    email: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    nonce = _cookie_nonce(state, request) or secrets.token_urlsafe(24)
    context = {
        "purpose": purpose,
        "name": purpose.name.get(language),
        "description": purpose.description.get(language),
        "email": email,
        "errors": errors or {},
        "csrf_token": nonce,
        "request_path": "/newsletter",
    }
    response = _page(
        request, "public/newsletter_form.html.j2", language, context, status_code=status_code
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


@router.get("/newsletter", include_in_schema=False)
def newsletter_form(request: Request) -> Response:
    """The sign-up form of ``?purpose=`` (default: the first double opt-in purpose)."""
    state = app_state(request)
    language = page_language(request)
    wanted = request.query_params.get("purpose", "").strip()[:64]
    purpose = _chosen(state, wanted)
    if purpose is None:
        return _not_found(request, language, wanted or None)
    return _sign_up_form(request, state, purpose, language)


def run_sign_up(
    request: Request,
    *,
    email: str,
    purpose_id: str,
    language: str,
    channel: Channel,
    actor: str,
    ip: str | None,
    user_agent: str | None,
    form_url: str | None,
) -> QueuedSignUp:
    """Check the sign-up and queue it; the worker carries it out (the same work for any
    address, so the answer's timing does not tell whether it is known)."""
    state, news = _newsletter(request)
    with transaction(state.session_factory) as session:
        return request_sign_up(
            session,
            email=email,
            purpose_id=purpose_id,
            language=language,
            master=news.master,
            clock=state.clock,
            actor=actor,
            channel=channel,
            ip=ip,
            user_agent=user_agent,
            form_url=form_url,
        )


def _submitted(request: Request, form: FormData) -> Response:
    state, news = _newsletter(request)
    language = form_text(form, "lang") if form_text(form, "lang") in ("de", "en") else "de"
    purpose = _chosen(state, form_text(form, "purpose").strip()[:64])
    if purpose is None:
        return _not_found(request, language, form_text(form, "purpose")[:64] or None)
    nonce = _cookie_nonce(state, request)
    if nonce is None or not hmac.compare_digest(nonce, form_text(form, "csrf_token")):
        return error_page(request, status=403, message=PAGE_MESSAGES["csrf-failed"])
    email = form_text(form, "email")[:512]
    if form_text(form, "website"):  # the hidden field only robots fill in
        return _accepted_page(request, language)
    client = client_ip(request) or "unknown"
    wait = news.limiter.retry_after(email="newsletter", client=client)
    if wait is not None:
        return error_page(request, status=429, headers={"Retry-After": str(wait)})
    news.limiter.failed(email="newsletter", client=client)
    if form_text(form, "consent") != "yes":
        errors = {"consent": FIELD_TEXTS["consent"]}
        return _sign_up_form(
            request, state, purpose, language, email=email, errors=errors, status_code=422
        )
    base = state.settings.base_url.rstrip("/")
    try:
        run_sign_up(
            request,
            email=email,
            purpose_id=purpose.id,
            language=language,
            channel=Channel.WEB_FORM,
            actor="public:newsletter-form",
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
            form_url=f"{base}/newsletter?purpose={quote(purpose.id)}&lang={language}",
        )
    except (NotFound, Conflict):
        return _not_found(request, language, purpose.id)
    except InvalidInput as exc:
        field = str(exc.extra.get("field", "email"))
        field = field if field in FIELD_TEXTS else "email"
        errors = {field: FIELD_TEXTS[field]}
        return _sign_up_form(
            request, state, purpose, language, email=email, errors=errors, status_code=422
        )
    return _accepted_page(request, language)


def _accepted_page(request: Request, language: str) -> Response:
    context = {"message": ACCEPTED, "request_path": "/newsletter"}
    return _page(request, "public/newsletter_sent.html.j2", language, context, status_code=202)


@router.post("/newsletter", include_in_schema=False)
async def newsletter_submit(request: Request) -> Response:
    """Sign up from the form: 202 with the same page whatever the address's state."""
    body = await read_body(request, MAX_FORM)
    if body is None:
        return error_page(request, status=413)
    form = await parse_form(request, body)
    return await run_in_threadpool(_submitted, request, form)


# ---------------------------------------------------------------- confirmation


def _confirm_proof(state: AppState, token: str, issued: str) -> str:
    return f"{issued}.{state.sign('newsletter-confirm', f'{token}.{issued}')}"


def _proof_ok(state: AppState, token: str, submitted: str) -> bool:
    issued = submitted.partition(".")[0]
    if not issued.isdigit() or not hmac.compare_digest(
        _confirm_proof(state, token, issued), submitted
    ):
        return False
    return 0 <= state.clock.now().timestamp() - int(issued) <= FORM_LIFETIME


def _confirm_page(
    request: Request, state: AppState, token: str, language: str, name: str, step: str
) -> Response:
    issued = str(int(state.clock.now().timestamp()))
    context = {"name": name, "step": step, "proof": _confirm_proof(state, token, issued)}
    return _page(request, "public/newsletter_confirm.html.j2", language, context)


@router.get("/newsletter/confirm/{token}", include_in_schema=False)
def confirm_page(request: Request, token: str) -> Response:
    """A page with a Confirm button; opening the link changes nothing."""
    state, news = _newsletter(request)
    language = page_language(request)
    try:
        with transaction(state.read_factory) as session:
            link = doi.peek(session, token=token, master=news.master, clock=state.clock)
    except doi.UnknownLink:
        return _not_found(request, language)
    step = "already" if link.confirmed else "ask"
    return _confirm_page(request, state, token, language, link.purpose.name.get(language), step)


def _confirmed(request: Request, token: str, form: FormData) -> Response:
    state, news = _newsletter(request)
    language = page_language(request)
    try:
        doi.link_subject(news.master, token, now=state.clock.now())
        if not _proof_ok(state, token, form_text(form, "proof")):
            return error_page(request, status=403, message=PAGE_MESSAGES["csrf-failed"])
        with transaction(state.session_factory) as session:
            outcome = doi.confirm(
                session,
                token=token,
                master=news.master,
                clock=state.clock,
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent"),
                language=language,
            )
    except doi.UnknownLink:
        return _not_found(request, language)
    step = "done" if outcome.newly_confirmed else "already"
    return _confirm_page(request, state, token, language, outcome.purpose.name.get(language), step)


@router.post("/newsletter/confirm/{token}", include_in_schema=False)
async def confirm_submit(request: Request, token: str) -> Response:
    """Confirm the sign-up (opt-in 2); confirming again changes nothing."""
    body = await read_body(request, MAX_FORM)
    if body is None:
        return error_page(request, status=413)
    form = await parse_form(request, body)
    return await run_in_threadpool(_confirmed, request, token, form)

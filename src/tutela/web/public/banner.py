"""The cookie banner over HTTP: its script and stylesheet, configuration, decisions, GPC.

``/consent/banner.js`` and ``/consent/banner.css`` are the files under
``static/banner/`` with an ETag; ``/consent/config`` is the banner text and the
cookie list of the declaration in effect; ``POST /consent/decision`` logs a
visitor's choice in the consent ledger; ``/.well-known/gpc.json`` says that the
site honours Global Privacy Control; ``/demo/banner`` shows it all on one page.
Every error here answers ``application/problem+json`` naming the field.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from tutela.calendar import german_date
from tutela.consent.banner import BannerDecision, banner_config, log_decision, translate
from tutela.consent.declarations import current_policy
from tutela.crypto import MasterKey
from tutela.errors import TutelaError
from tutela.i18n import use_language
from tutela.policy.models import Declaration
from tutela.policy.versions import current_version
from tutela.storage import transaction
from tutela.web.admin.ratelimit import LoginLimiter
from tutela.web.pages import as_language, language_headers, page_language
from tutela.web.problems import problem
from tutela.web.state import AppState, app_state

router = APIRouter(include_in_schema=False)

BANNER_DIR = Path(__file__).resolve().parents[1] / "static" / "banner"
MAX_BODY = 4096
DECISIONS_PER_MINUTE = 30
ASSET_CACHE = "public, max-age=300"
OPEN_CORS = {"Access-Control-Allow-Origin": "*"}
PROBLEMS = "https://tutela.dev/problems/"
DEMO_CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
DEMO_TEXTS = {
    "title": "Cookie banner demo",
    "intro": "This page embeds the cookie banner with a single script tag. Three scripts "
    "on it are tagged with a cookie category; each runs only after you allow its "
    "category and then sets a marker cookie.",
    "ran": "Scripts that ran",
    "cookies": "Cookies of this page",
    "none": "none",
    "open": "Open privacy settings",
    "unpublished": "No declaration is in effect yet, so the banner has nothing to show. "
    "Publish one with “tutela policy publish”.",
}
FIELD_HINTS = {
    "visitor_id": "use 16 to 64 letters, digits, '-' or '_' (the script draws it at random)",
    "revision": "send the 16 hex digit revision from /consent/config",
    "language": "use de or en",
    "method": "use accept_all, reject_all, custom or gpc",
}
MESSAGES = tuple(DEMO_TEXTS.values())
"""msgids of the ``banner`` catalog used by the demo page."""


@dataclass(frozen=True)
class Current:
    number: int
    effective_on: str
    declaration: Declaration


@dataclass
class BannerState:
    master: MasterKey
    limiter: LoginLimiter


_state_lock = threading.Lock()


def _banner_state(request: Request, state: AppState) -> BannerState:
    """The master key and the decision rate limit, made on first use and kept on the app."""
    with _state_lock:
        found = getattr(request.app.state, "tutela_banner", None)
        if isinstance(found, BannerState):
            return found
        limiter = LoginLimiter(clock=state.clock, limit=DECISIONS_PER_MINUTE)
        made = BannerState(master=state.master_key(), limiter=limiter)
        request.app.state.tutela_banner = made
        return made


@functools.lru_cache(maxsize=8)
def _declaration(content_hash: str, document: str) -> Declaration:
    return Declaration.model_validate_json(document)


def _current(state: AppState) -> Current | None:
    with transaction(state.session_factory) as session:
        version = current_version(session, on=german_date(state.clock.now()))
        if version is None:
            return None
        declaration = _declaration(version.content_hash, version.document)
        return Current(version.number, version.effective_at.isoformat(), declaration)


def _unpublished(request: Request) -> Response:
    return problem(
        request,
        status=404,
        title="No declaration is in effect",
        detail="The cookie banner shows the declaration in effect, and none is yet; "
        "publish one with 'tutela policy publish'.",
        type_=PROBLEMS + "not-found",
        headers=OPEN_CORS,
    )


def _invalid(
    request: Request, field: str, message: str, *, status: int = 422, code: str = "invalid-input"
) -> Response:
    return problem(
        request,
        status=status,
        title="The request is not valid",
        detail=f"{field}: {message}",
        type_=PROBLEMS + code,
        errors=[{"field": field, "message": message}],
        headers=OPEN_CORS,
    )


@functools.lru_cache(maxsize=8)
def _asset(name: str, mtime_ns: int) -> tuple[bytes, str]:
    body = (BANNER_DIR / name).read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:24] + '"'


def _asset_response(request: Request, name: str, media_type: str) -> Response:
    path = BANNER_DIR / name
    body, etag = _asset(name, path.stat().st_mtime_ns)
    headers = {
        "ETag": etag,
        "Cache-Control": ASSET_CACHE,
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    asked = request.headers.get("if-none-match", "")
    if etag in (tag.strip().removeprefix("W/") for tag in asked.split(",")):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


@router.get("/consent/banner.js")
def banner_script(request: Request) -> Response:
    """The banner script; embed it with one ``<script src=…>`` tag."""
    return _asset_response(request, "banner.js", "text/javascript; charset=utf-8")


@router.get("/consent/banner.css")
def banner_stylesheet(request: Request) -> Response:
    return _asset_response(request, "banner.css", "text/css; charset=utf-8")


@router.get("/consent/config")
def consent_config(request: Request) -> Response:
    """Categories, cookies, texts and revision of the declaration in effect (``?lang=de|en``)."""
    asked = request.query_params.get("lang")
    language = page_language(request) if asked is None else as_language(asked)
    if language is None:
        return _invalid(request, "lang", f"{asked!r} is not a banner language; use de or en.")
    state = app_state(request)
    current = _current(state)
    if current is None:
        return _unpublished(request)
    body = dict(
        banner_config(current.declaration, language=language, policy_version=current.number)
    )
    body["signal"] = {"sec_gpc": request.headers.get("sec-gpc", "").strip() == "1"}
    headers = {**OPEN_CORS, **language_headers(language), "Cache-Control": "no-cache"}
    headers["Vary"] = "Accept-Language, Sec-GPC"
    return JSONResponse(body, headers=headers)


async def _read_body(request: Request) -> bytes | None:
    """The body, or None when it is longer than :data:`MAX_BODY`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return bytes(body)


def _too_large(request: Request) -> Response:
    return problem(
        request,
        status=413,
        title="The request body is too large",
        detail=f"body: a banner decision is at most {MAX_BODY} bytes of JSON; send only "
        "the fields the banner script sends.",
        type_=PROBLEMS + "too-large",
        headers=OPEN_CORS,
    )


def _parse(request: Request, raw: bytes) -> BannerDecision | Response:
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind not in {"application/json", "text/plain"}:
        return _invalid(
            request,
            "body",
            f"send JSON (application/json), not {kind}.",
            status=415,
            code="unsupported-media-type",
        )
    try:
        data: Any = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _invalid(request, "body", "the body is not JSON; send one JSON object.")
    if not isinstance(data, dict):
        return _invalid(request, "body", "send one JSON object with visitor_id and revision.")
    try:
        decision = BannerDecision.model_validate(data)
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "body"
            hint = FIELD_HINTS.get(field)
            message = f"{error['msg']}; {hint}" if hint else str(error["msg"])
            errors.append({"field": field, "message": message})
        fields = ", ".join(e["field"] for e in errors)
        return problem(
            request,
            status=422,
            title="The request is not valid",
            detail=f"Check {fields}: see 'errors' for what each field needs.",
            type_=PROBLEMS + "invalid-input",
            errors=errors,
            headers=OPEN_CORS,
        )
    if request.headers.get("sec-gpc", "").strip() == "1" and not decision.gpc:
        decision = decision.model_copy(update={"gpc": True})
    return decision


def _log(request: Request, decision: BannerDecision) -> Response:
    state = app_state(request)
    banner = _banner_state(request, state)
    client = request.client.host if request.client else ""
    wait = banner.limiter.retry_after(email="banner", client=client)
    if wait is not None:
        return problem(
            request,
            status=429,
            title="Too many decisions",
            detail=f"This address sent too many banner decisions; try again in {wait} seconds.",
            type_=PROBLEMS + "rate-limited",
            headers={**OPEN_CORS, "Retry-After": str(wait)},
        )
    banner.limiter.failed(email="banner", client=client)
    try:
        with transaction(state.session_factory) as session:
            log_decision(
                session,
                policy=current_policy(session, clock=state.clock),
                decision=decision,
                ip=client or None,
                user_agent=request.headers.get("user-agent"),
                page_url=request.headers.get("referer"),
                master=banner.master,
                clock=state.clock,
            )
    except TutelaError as exc:
        field = str(exc.extra.get("field", "body"))
        message = exc.detail.removeprefix(f"{field}: ")
        return _invalid(request, field, message, status=exc.status, code=exc.code)
    return Response(status_code=204, headers=OPEN_CORS)


@router.post("/consent/decision")
async def consent_decision(request: Request) -> Response:
    """Log a visitor's choice (JSON, see :class:`BannerDecision`); 204 and no cookie."""
    raw = await _read_body(request)
    if raw is None:
        return _too_large(request)
    parsed = _parse(request, raw)
    if isinstance(parsed, Response):
        return parsed
    return await run_in_threadpool(_log, request, parsed)


@router.options("/consent/decision")
def consent_decision_preflight() -> Response:
    """CORS preflight, so the banner can post from the operator's own site."""
    headers = {
        **OPEN_CORS,
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": "86400",
    }
    return Response(status_code=204, headers=headers)


@router.get("/.well-known/gpc.json")
def gpc_json(request: Request) -> Response:
    """``{"gpc": true, "lastUpdate": …}`` when the declaration in effect honours GPC."""
    current = _current(app_state(request))
    if current is None or not current.declaration.us_privacy.honours_gpc:
        return problem(
            request,
            status=404,
            title="Global Privacy Control is not declared",
            detail="The declaration in effect does not set us_privacy.honours_gpc, "
            "or no declaration is in effect.",
            type_=PROBLEMS + "not-found",
        )
    body = {"gpc": True, "lastUpdate": current.effective_on}
    return JSONResponse(body, headers={**OPEN_CORS, "Cache-Control": "public, max-age=3600"})


def _marker(declaration: Declaration | None, category: str) -> str:
    """The first declared cookie of ``category`` kept in a cookie: the demo script sets it."""
    for cookie in declaration.cookies if declaration else []:
        if cookie.category.value == category and cookie.storage == "cookie":
            return cookie.name.rstrip("*") or f"tutela_demo_{category}"
    return f"tutela_demo_{category}"


@router.get("/demo/banner")
def banner_demo(request: Request) -> Response:
    """A page with the banner and three tagged scripts, for trying it out and for tests."""
    state = app_state(request)
    language = page_language(request)
    current = _current(state)
    declaration = current.declaration if current else None
    nonce = secrets.token_urlsafe(16)
    values = {
        "lang": language,
        "other": "en" if language == "de" else "de",
        "nonce": nonce,
        "published": current is not None,
        "text": {key: translate(value, language) for key, value in DEMO_TEXTS.items()},
        "markers": {c: _marker(declaration, c) for c in ("functional", "analytics", "marketing")},
    }
    with use_language(language):
        body = state.templates.get_template("public/banner_demo.html.j2").render(values)
    headers = {
        **language_headers(language),
        "Content-Security-Policy": DEMO_CSP.format(nonce=nonce),
    }
    headers["Cache-Control"] = "no-store"
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)

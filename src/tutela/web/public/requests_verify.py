"""Confirming a request and downloading its package (no login; the token is the key).

* ``GET /requests/verify/{token}`` shows what will be confirmed and a button;
  opening the link changes nothing, so mail scanners never confirm.
  ``POST`` confirms once (:func:`tutela.dsr.consume_link`).
* ``GET|POST /requests/code``: the reference and the 6-digit code
  (:func:`tutela.dsr.consume_code`); ``POST /requests/code/send`` asks for a new
  code (:func:`tutela.dsr.request_code`) and always gets the same answer. Both
  do the same work and run the same statements for a known and an unknown
  reference, with or without a live code (V-6).
* ``GET /requests/download/{token}`` shows a page with a button; ``POST`` streams
  the zip (:mod:`tutela.dsr.package`).

A tampered, expired, used, foreign or unknown token or code gets one neutral
404 page that does not repeat the token. Every page is ``no-store`` and sends no
referrer. POSTs carry a short-lived proof signed for their token, so a foreign
page cannot submit them.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from tutela.dsr import UnknownVerification, consume_code, consume_link, peek_link, request_code
from tutela.dsr.package import PackageInfo, open_download, peek_download
from tutela.errors import Conflict, NotFound
from tutela.storage import transaction
from tutela.web.pages import page_language
from tutela.web.problems import PAGE_MESSAGES, error_page
from tutela.web.public.request_body import form_text, parse_form, read_body
from tutela.web.public.requests import MAX_FORM, NO_STORE, page, throttled
from tutela.web.state import AppState, app_state

router = APIRouter(include_in_schema=False)

PROOF_LIFETIME: Final = 3600 * 24
DOWNLOAD_ACTOR: Final = "public:dsr-download"


def _proof(state: AppState, purpose: str, token: str, issued: str) -> str:
    return f"{issued}.{state.sign(purpose, f'{token}.{issued}')}"


def new_proof(state: AppState, purpose: str, token: str) -> str:
    """A value the page's form repeats, signed for ``token`` (a CSRF proof)."""
    return _proof(state, purpose, token, str(int(state.clock.now().timestamp())))


def proof_ok(state: AppState, purpose: str, token: str, submitted: str) -> bool:
    issued = submitted.partition(".")[0]
    if not issued.isdigit():
        return False
    if not hmac.compare_digest(_proof(state, purpose, token, issued), submitted):
        return False
    return 0 <= state.clock.now().timestamp() - int(issued) <= PROOF_LIFETIME


def not_valid(request: Request, language: str) -> Response:
    """The one page for every unusable link or code."""
    context = {"request_path": "/requests"}  # the language links must not repeat the token
    return page(request, "public/requests_invalid.html.j2", language, context, status_code=404)


async def _form(request: Request) -> FormData | None:
    body = await read_body(request, MAX_FORM)
    return None if body is None else await parse_form(request, body)


# ---------------------------------------------------------------- the link


@router.get("/requests/verify/{token}")
def verify_page(request: Request, token: str) -> Response:
    """What the link confirms, and a button; nothing changes here."""
    state = app_state(request)
    language = page_language(request)
    try:
        with transaction(state.read_factory) as session:
            found = peek_link(session, token=token, clock=state.clock)
            values: dict[str, Any] = {
                "step": "ask",
                "reference": found.reference,
                "request_type": found.request_type,
                "deadline": found.due_on,
                "proof": new_proof(state, "requests-verify", token),
            }
    except UnknownVerification:
        return not_valid(request, language)
    return page(request, "public/requests_verify.html.j2", language, values)


def _confirmed(request: Request, token: str, form: FormData) -> Response:
    state = app_state(request)
    language = page_language(request)
    if not proof_ok(state, "requests-verify", token, form_text(form, "proof")):
        return error_page(request, status=403, message=PAGE_MESSAGES["csrf-failed"])
    try:
        with transaction(state.session_factory) as session:
            done = consume_link(session, token=token, clock=state.clock)
            values: dict[str, Any] = {
                "step": "done",
                "reference": done.reference,
                "request_type": done.request_type,
                "deadline": done.due_on,
            }
    except UnknownVerification:
        return not_valid(request, language)
    return page(request, "public/requests_verify.html.j2", language, values)


@router.post("/requests/verify/{token}")
async def verify_submit(request: Request, token: str) -> Response:
    """Confirm the request (once); every unusable token gets the neutral page."""
    form = await _form(request)
    if form is None:
        return error_page(request, status=413)
    return await run_in_threadpool(_confirmed, request, token, form)


# ---------------------------------------------------------------- the code


def _code_page(
    request: Request, language: str, *, step: str = "ask", reference: str = "", status: int = 200
) -> Response:
    values = {
        "step": step,
        "reference": reference,
        "proof": new_proof(app_state(request), "requests-code", "code"),
        "request_path": "/requests/code",
    }
    return page(request, "public/requests_code.html.j2", language, values, status_code=status)


@router.get("/requests/code")
def code_page(request: Request) -> Response:
    """Enter the reference and the code from the mail, or ask for a new code."""
    return _code_page(request, page_language(request))


def _code_checked(request: Request, form: FormData) -> Response:
    state = app_state(request)
    language = page_language(request)
    if not proof_ok(state, "requests-code", "code", form_text(form, "proof")):
        return error_page(request, status=403, message=PAGE_MESSAGES["csrf-failed"])
    blocked = throttled(request, "requests-code")
    if blocked is not None:
        return blocked
    reference = form_text(form, "reference").strip()[:40]
    values: dict[str, Any] | None = None
    with transaction(state.session_factory) as session:
        done = consume_code(
            session,
            reference=reference,
            code=form_text(form, "code")[:32],
            master=state.master_key(),
            clock=state.clock,
        )
        if done is not None:
            values = {
                "step": "done",
                "reference": done.reference,
                "request_type": done.request_type,
                "deadline": done.due_on,
            }
    if values is None:
        return _code_page(request, language, step="wrong", reference=reference, status=422)
    return page(request, "public/requests_verify.html.j2", language, values)


@router.post("/requests/code")
async def code_submit(request: Request) -> Response:
    """Check a code; a wrong one and an unknown reference get the same answer."""
    form = await _form(request)
    if form is None:
        return error_page(request, status=413)
    return await run_in_threadpool(_code_checked, request, form)


def _code_sent(request: Request, form: FormData) -> Response:
    state = app_state(request)
    language = page_language(request)
    if not proof_ok(state, "requests-code", "code", form_text(form, "proof")):
        return error_page(request, status=403, message=PAGE_MESSAGES["csrf-failed"])
    blocked = throttled(request, "requests-code")
    if blocked is not None:
        return blocked
    reference = form_text(form, "reference").strip()[:40]
    with transaction(state.session_factory) as session:
        request_code(session, reference=reference, clock=state.clock)
    return _code_page(request, language, step="sent", reference=reference)


@router.post("/requests/code/send")
async def code_send(request: Request) -> Response:
    """Ask for a new code; the answer never tells whether the reference exists."""
    form = await _form(request)
    if form is None:
        return error_page(request, status=413)
    return await run_in_threadpool(_code_sent, request, form)


# ---------------------------------------------------------------- the download


@router.get("/requests/download/{token}")
def download_page(request: Request, token: str) -> Response:
    """The package's reference, size and expiry, and a button; nothing is downloaded here."""
    state = app_state(request)
    language = page_language(request)
    try:
        with transaction(state.read_factory) as session:
            info = peek_download(session, token=token, clock=state.clock)
    except (NotFound, Conflict):
        return not_valid(request, language)
    values = {"info": info, "proof": new_proof(state, "requests-download", token)}
    return page(request, "public/requests_download.html.j2", language, values)


def _streamed(request: Request, token: str, form: FormData) -> Response:
    state = app_state(request)
    language = page_language(request)
    if not proof_ok(state, "requests-download", token, form_text(form, "proof")):
        return error_page(request, status=403, message=PAGE_MESSAGES["csrf-failed"])
    try:
        with transaction(state.session_factory) as session:
            info, chunks = open_download(
                session, token=token, clock=state.clock, actor=DOWNLOAD_ACTOR
            )
            first = list(_head(chunks))
    except (NotFound, Conflict):
        return not_valid(request, language)
    name = _file_name(info)
    headers = {
        **NO_STORE,
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(_rest(first, chunks), media_type="application/zip", headers=headers)


def _head(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The first chunk (so a broken package fails before the answer starts)."""
    for chunk in chunks:
        yield chunk
        return


def _rest(first: list[bytes], chunks: Iterator[bytes]) -> Iterator[bytes]:
    yield from first
    yield from chunks


def _file_name(info: PackageInfo) -> str:
    safe = "".join(c for c in info.download_name if c.isalnum() or c in "-.")
    return safe or "request.zip"


@router.post("/requests/download/{token}")
async def download_submit(request: Request, token: str) -> Response:
    """Stream the package as a zip."""
    form = await _form(request)
    if form is None:
        return error_page(request, status=413)
    return await run_in_threadpool(_streamed, request, token, form)

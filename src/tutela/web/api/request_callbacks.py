"""``POST /api/v1/requests/callbacks/{store}``: processors report the status of a request.

No API key: the processor signs the raw body with the webhook store's shared
secret (``X-Tutela-Signature: t=<unix>,v1=<hex>``, see
:mod:`tutela.connectors.builtin.webhook_message`). An unknown store, a store that
is not a webhook, a wrong signature and a stale timestamp all get the same 401, so
the endpoint tells an outsider nothing about which stores exist. Bodies over
:data:`MAX_CALLBACK` bytes get 413. The work is done by
:func:`tutela.dsr.processors.record_processor_status`.
"""

from __future__ import annotations

import logging
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from tutela.connectors import Connector
from tutela.connectors.builtin.webhook import WebhookConnector
from tutela.connectors.builtin.webhook_message import (
    SIGNATURE_HEADER,
    CallbackRejected,
    CallbackStatus,
)
from tutela.dsr.processors import record_processor_status
from tutela.dsr.stores import load_stores
from tutela.errors import TutelaError
from tutela.storage import transaction
from tutela.web.problems import problem
from tutela.web.public.request_body import read_body
from tutela.web.state import AppState, app_state

__all__ = ["MAX_CALLBACK", "router"]

MAX_CALLBACK: Final = 65_536
PROBLEMS: Final = "https://tutela.dev/problems/"
NO_STORE: Final = {"Cache-Control": "no-store"}

router = APIRouter(prefix="/api/v1/requests", tags=["requests"])
log = logging.getLogger(__name__)


def _store(state: AppState, name: str) -> WebhookConnector | None:
    try:
        stores: tuple[Connector, ...] = load_stores(state.settings, master=state.master_key())
    except TutelaError as error:
        log.warning("callback for store %r: the stores file cannot be read (%s)", name, error)
        return None
    found = next((store for store in stores if store.name == name), None)
    return found if isinstance(found, WebhookConnector) else None


def _rejected(request: Request) -> Response:
    return problem(
        request,
        status=401,
        type_=PROBLEMS + "callback-rejected",
        title="The callback was not accepted",
        detail=(
            f"Sign the raw body with the store's shared secret and send it in {SIGNATURE_HEADER} "
            "as t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<body>'>, within five minutes."
        ),
        headers=NO_STORE,
    )


def _record(state: AppState, store: str, status: CallbackStatus) -> bool:
    with transaction(state.session_factory) as session:
        found = record_processor_status(
            session,
            store=store,
            subject_request_id=status.subject_request_id,
            status=status.request_status,
            clock=state.clock,
        )
    return found is not None


@router.post(
    "/callbacks/{store}",
    summary="A processor reports the status of a request (signed, no API key)",
    status_code=200,
)
async def processor_callback(request: Request, store: str) -> Response:
    """Record a processor's ``request_status``; ``completed`` may complete the request."""
    state = app_state(request)
    body = await read_body(request, MAX_CALLBACK)
    if body is None:
        return problem(
            request,
            status=413,
            type_=PROBLEMS + "too-large",
            detail=f"A callback body may have at most {MAX_CALLBACK} bytes; send the status only.",
        )
    connector = await run_in_threadpool(_store, state, store)
    header = request.headers.get(SIGNATURE_HEADER, "")
    if connector is None:
        return _rejected(request)
    try:
        status = connector.verify_callback(body, header, now=state.clock.now())
    except CallbackRejected as error:
        log.info("callback for store %r refused: %s", store, error.detail)
        return _rejected(request)
    known = await run_in_threadpool(_record, state, store, status)
    if not known:
        return problem(
            request,
            status=404,
            type_=PROBLEMS + "unknown-request",
            detail=(
                "subject_request_id: no open request waits for this store under this id; "
                "check that the id is the one Tutela sent."
            ),
            headers=NO_STORE,
        )
    content = {
        "subject_request_id": status.subject_request_id,
        "request_status": status.request_status,
        "recorded": True,
    }
    return JSONResponse(content, headers=NO_STORE)

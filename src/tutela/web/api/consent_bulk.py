"""``POST /api/v1/consent/check-bulk``: many identities of one kind for one purpose.

The body holds newline-delimited identities (at most :data:`MAX_BULK_LINES`
lines and :data:`MAX_BULK_BYTES` bytes, else 413); the answer streams one JSON
line per input line as ``application/x-ndjson``: a decision, or an error for a
malformed line, while the other lines are still checked.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from typing import Annotated, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from tutela.consent import BulkResult, CurrentPolicy, check_bulk, current_policy, purpose_of
from tutela.consent.scan import SCAN_MIN_VALUES
from tutela.crypto import MasterKey
from tutela.storage import transaction
from tutela.subjects import IdentityKind
from tutela.web.api.consent import (
    COMMON_RESPONSES,
    ConsentReader,
    PurposeParam,
    master_key,
    problem_responses,
)
from tutela.web.problems import problem
from tutela.web.state import AppState, app_state

__all__ = ["MAX_BULK_BYTES", "MAX_BULK_LINES", "router"]

MAX_BULK_BYTES: Final = 128 * 1024 * 1024
MAX_BULK_LINES: Final = 1_000_000
NDJSON: Final = "application/x-ndjson"
_FLUSH_LINES: Final = 2000

router = APIRouter(prefix="/api/v1/consent", tags=["consent"], responses=COMMON_RESPONSES)


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
        **problem_responses((413, "More than the allowed bytes or lines")),
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

"""Processors confirming their part of a request (webhook stores, OpenDSR callbacks).

A webhook store that accepted a request leaves it open: its entry in
``store_results`` is ``partial`` with the task "waiting for <processor> to confirm
request <id>", and the request stays ``in_progress``. When the processor reports
``completed`` (by a signed callback or when polled), :func:`record_processor_status`
marks that entry done and audits it (:class:`ProcessorConfirmed`). Once every store
is done and nothing else is left, it queues the ``dsr.fulfil`` job again rather than
closing the request itself: the handler of the request's type runs once more (the
webhook store now answers from the processor's status without sending the request
again) and finishes the request the ordinary way — for an erasure that is the
crypto-shredding of Tutela's own data, the Art. 19 list and the answer mail.
``cancelled`` marks the entry failed, so staff see that the processor will not act.
``pending`` and ``in_progress`` change nothing.

The processor's ``subject_request_id`` is derived from the request reference (or,
for work done outside a named request, from the store's secret and the person),
and it appears in the entry's task, so no extra column is needed to find it.
"""

from __future__ import annotations

import json
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.clock import Clock
from tutela.dsr.events import ProcessorConfirmed
from tutela.dsr.fulfilment import FULFIL_ATTEMPTS, FULFIL_JOB
from tutela.dsr.models import DsrRequest
from tutela.dsr.terms import Status
from tutela.jobs import enqueue

__all__ = ["CANCELLED", "COMPLETED", "record_processor_status"]

COMPLETED: Final = "completed"
CANCELLED: Final = "cancelled"
MAX_ERROR: Final = 500
_ID_LENGTH: Final = 36


def _mentions(entry: dict[str, Any], request_id: str) -> bool:
    texts = [entry.get("task") or ""]
    texts.extend(item.get("reason") or "" for item in entry.get("outcomes", []))
    return any(request_id in text for text in texts)


def _find(
    session: Session, store: str, request_id: str
) -> tuple[DsrRequest, dict[str, Any], dict[str, Any]] | None:
    if len(request_id) != _ID_LENGTH or not all(c in "0123456789abcdef-" for c in request_id):
        return None  # an id Tutela never sends; also keeps LIKE patterns literal
    candidates = session.scalars(
        select(DsrRequest)
        .where(
            DsrRequest.status == Status.IN_PROGRESS.value,
            DsrRequest.store_results.contains(request_id),
        )
        .order_by(DsrRequest.id)
        .with_for_update()  # a fulfilment run writing store_results finishes first
        .execution_options(populate_existing=True)
    ).all()
    for request in candidates:
        data = json.loads(request.store_results or "{}")
        for entry in data.get("stores", []):
            if entry.get("store") == store and _mentions(entry, request_id):
                return request, data, entry
    return None


def _confirm(entry: dict[str, Any], request_id: str) -> None:
    entry.update(status="done", task=None, error=None, retryable=False)
    for item in entry.get("outcomes", []):
        if item.get("action") == "not_handled" and request_id in (item.get("reason") or ""):
            item.update(action="task", reason=f"{item.get('table')} confirmed request {request_id}")


def _reasons(data: dict[str, Any]) -> str | None:
    reasons = [
        f"{entry.get('store')} failed: {entry.get('error')}"
        for entry in data.get("stores", [])
        if entry.get("status") == "failed"
    ]
    left = data.get("unhandled", [])
    if left:
        reasons.append("not handled: " + ", ".join(left))
    return ("; ".join(reasons))[:MAX_ERROR] or None


def record_processor_status(
    session: Session, *, store: str, subject_request_id: str, status: str, clock: Clock
) -> DsrRequest | None:
    """Record what a processor said about a request; the request, or ``None`` if unknown.

    Only ``completed`` and ``cancelled`` write anything (one update and one audit
    entry, plus one ``dsr.fulfil`` job when it was the last open store). Reporting
    the same status twice changes nothing the second time.
    """
    request_id = subject_request_id.strip().lower()
    found = _find(session, store, request_id)
    if found is None:
        return None
    request, data, entry = found
    if status not in (COMPLETED, CANCELLED):
        return request
    wanted = "done" if status == COMPLETED else "failed"
    if entry.get("status") == wanted:
        return request
    if status == COMPLETED:
        _confirm(entry, request_id)
        prefix = f"{store}."
        data["unhandled"] = [
            name for name in data.get("unhandled", []) if not name.startswith(prefix)
        ]
    else:
        entry.update(
            status="failed",
            error=f"the processor cancelled request {request_id}; staff must follow up",
            retryable=False,
        )
    request.store_results = json.dumps(
        data, ensure_ascii=False, separators=(",", ":"), sort_keys=True
    )
    request.last_error = _reasons(data)
    event = ProcessorConfirmed(request_id=request.id, store=store, status=status)
    logged = emit(session, event, actor=f"processor:{store}", clock=clock)
    settled = all(item.get("status") == "done" for item in data.get("stores", []))
    if status == COMPLETED and settled and not data.get("unhandled"):
        # A key of its own per confirmation: the first run's key must not swallow this one.
        enqueue(
            session,
            kind=FULFIL_JOB,
            payload={"request_id": request.id},
            clock=clock,
            idempotency_key=f"{FULFIL_JOB}:{request.id}:settled:{logged.sequence}",
            max_attempts=FULFIL_ATTEMPTS,
        )
    return request

"""Carrying out verified requests across the connected stores: the dispatch.

When a request is verified (or needs no verification), :func:`enqueue_fulfilment`
queues one ``dsr.fulfil`` job for it in the same transaction. The job hands a
:class:`Fulfilment` to the handler registered for the request's type; handlers
live in their own modules (access packages, erasure runs …) and register with
:func:`handles`. A handler moves the request on (``start``, ``complete``) itself;
when a store is down it raises :class:`StoreUnavailable`, the job is retried, and
the request stays ``in_progress`` with the error visible — never ``completed``.
An erasure or a change of contact data first waits out the grace period after
its verification (:func:`grace_until`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from tutela.audit import entries
from tutela.clock import Clock
from tutela.config import Settings
from tutela.connectors import Connector
from tutela.dsr.events import NoticeSent
from tutela.dsr.models import DsrRequest
from tutela.dsr.notices import DsrRuntime
from tutela.dsr.queue import Notice
from tutela.dsr.terms import Assurance, RequestType, Status, required_assurance
from tutela.errors import ConfigurationError
from tutela.jobs import enqueue

__all__ = [
    "FULFIL_JOB",
    "Fulfilment",
    "Handler",
    "alert_overdue",
    "enqueue_fulfilment",
    "grace_until",
    "handler_for",
    "handles",
]

FULFIL_JOB: Final = "dsr.fulfil"
FULFIL_ATTEMPTS: Final = 20
"""A store that is down for a while must not end the request: retries back off for hours."""
ALERT_PENDING_RECHECK: Final = dt.timedelta(minutes=5)
"""How long an erasure waits before it looks again for its change alert."""
ALERT_OVERDUE: Final = dt.timedelta(hours=1)
"""After this long without the change alert, the waiting request says so to staff."""


@dataclass(frozen=True, kw_only=True)
class Fulfilment:
    """Everything a handler needs for one request, inside the job's transaction."""

    session: Session
    request: DsrRequest
    stores: Sequence[Connector]
    runtime: DsrRuntime
    clock: Clock
    today: dt.date
    """The controller's (German) date, for holds and restriction periods."""


Handler = Callable[[Fulfilment], None]
_handlers: dict[RequestType, Handler] = {}


def handles(*types: RequestType) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of ``types`` (one handler per type)."""

    def register(handler: Handler) -> Handler:
        for request_type in types:
            known = _handlers.get(request_type)
            if known is not None and known is not handler:
                raise ConfigurationError(
                    f"Requests of type {request_type.value} already have a handler "
                    f"({known.__module__}.{known.__qualname__}); register one only."
                )
            _handlers[request_type] = handler
        return handler

    return register


def handler_for(request_type: RequestType | str) -> Handler | None:
    """The registered handler, or ``None`` (staff then carry the request out by hand)."""
    return _handlers.get(RequestType(request_type))


def grace_until(
    session: Session, request: DsrRequest, *, settings: Settings, now: dt.datetime
) -> dt.datetime | None:
    """Until when a verified erasure or contact-data change waits, or ``None`` to go ahead.

    V-3 alerts the address on file when such a request is confirmed; the
    ``dsr_change_grace_hours`` after the alert went out give that person time to
    stop it (staff deny the request). While the alert has not been sent yet, the
    request waits :data:`ALERT_PENDING_RECHECK` at a time. Without an address on
    file to alert, the period counts from the verification. Other types, and
    requests staff have started, go at once.
    """
    if settings.dsr_change_grace_hours == 0 or request.verified_at is None:
        return None
    if request.status != Status.VERIFIED.value:
        return None
    if required_assurance(request.request_type, request.scope) is not Assurance.CHANNEL_AND_NOTICE:
        return None
    alert = _change_alert(session, request)
    if alert is None:
        return now + ALERT_PENDING_RECHECK
    sent_at, delivered = alert
    start = sent_at if delivered else request.verified_at
    until = start + dt.timedelta(hours=settings.dsr_change_grace_hours)
    return until if now < until else None


def alert_overdue(session: Session, request: DsrRequest, *, now: dt.datetime) -> bool:
    """Whether the change alert has still not been recorded :data:`ALERT_OVERDUE` after
    the verification (the mail server down for long, the notice job dead)."""
    if request.verified_at is None or now - request.verified_at < ALERT_OVERDUE:
        return False
    return _change_alert(session, request) is None


def _change_alert(session: Session, request: DsrRequest) -> tuple[dt.datetime, bool] | None:
    """When the change alert was recorded, and whether it reached an address (or ``None``)."""
    found = entries(session, action=NoticeSent.action, target=f"dsr:{request.id}", limit=50)
    for entry in found:  # newest first
        payload = json.loads(entry.payload)
        if payload.get("notice") == Notice.CHANGE_ALERT.value:
            return entry.occurred_at, bool(payload.get("delivered"))
    return None


def enqueue_fulfilment(session: Session, *, request_id: int, clock: Clock) -> None:
    """Queue the fulfilment of a verified request (once per request)."""
    enqueue(
        session,
        kind=FULFIL_JOB,
        payload={"request_id": request_id},
        clock=clock,
        idempotency_key=f"{FULFIL_JOB}:{request_id}",
        max_attempts=FULFIL_ATTEMPTS,
    )

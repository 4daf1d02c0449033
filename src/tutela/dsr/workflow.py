"""The life of a request: legal moves, extension, denial, completion and the deadline queue.

::

    received ─► awaiting_verification ─► verified ─► in_progress ─► completed
        │                │                  │             └───────► denied
        │                └─► expired_unverified (V-7)     (any open status ─► denied)
        └─► verified (no verification needed / in-app assertion)
        └─► completed (no data held under an unknown address)

An illegal move raises :class:`Conflict` naming the request, its status and what
to do instead. Every move emits an event on ``dsr:<id>``; notices to the person
are queued in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tutela.audit import AuditEntry, emit, entries
from tutela.calendar import german_date
from tutela.clock import Clock
from tutela.config import Settings
from tutela.dsr.deadlines import deadlines_for, receipt_date
from tutela.dsr.events import (
    RequestCompleted,
    RequestDenied,
    RequestExpired,
    RequestExtended,
    RequestStarted,
    RequestVerified,
    request_target,
)
from tutela.dsr.fulfilment import enqueue_fulfilment
from tutela.dsr.intake import controller_state
from tutela.dsr.models import DsrRequest
from tutela.dsr.queue import Notice, enqueue_notice
from tutela.dsr.terms import (
    OPEN_STATUSES,
    SYSTEM_ACTOR,
    Assurance,
    Jurisdiction,
    Method,
    Outcome,
    RequestType,
    Status,
    required_assurance,
)
from tutela.errors import Conflict, InvalidInput, NotFound

__all__ = [
    "NEAR_DUE_DAYS",
    "SYSTEM_ACTOR",
    "DueRequest",
    "close_without_data",
    "complete",
    "deny",
    "due",
    "expire_unverified",
    "extend",
    "get_request",
    "mark_verified",
    "move",
    "start",
    "timeline",
]

NEAR_DUE_DAYS: Final = 7
MAX_REASON: Final = 2000

_NEXT: Final[dict[Status, frozenset[Status]]] = {
    Status.RECEIVED: frozenset(
        {
            Status.AWAITING_VERIFICATION,
            Status.VERIFIED,
            Status.COMPLETED,
            Status.DENIED,
            Status.EXPIRED_UNVERIFIED,
        }
    ),
    Status.AWAITING_VERIFICATION: frozenset(
        {Status.VERIFIED, Status.DENIED, Status.EXPIRED_UNVERIFIED}
    ),
    Status.VERIFIED: frozenset({Status.IN_PROGRESS, Status.COMPLETED, Status.DENIED}),
    Status.IN_PROGRESS: frozenset({Status.COMPLETED, Status.DENIED}),
}
_HINTS: Final = {
    Status.VERIFIED: "only a request waiting for verification can be verified",
    Status.IN_PROGRESS: "verify the person first; only a verified request can be started",
    Status.COMPLETED: "verify the person first; an unverified request cannot be completed",
    Status.DENIED: "only an open request can be refused",
    Status.EXPIRED_UNVERIFIED: "only an unverified request can expire",
    Status.AWAITING_VERIFICATION: "only a received request can wait for verification",
}


@dataclass(frozen=True, slots=True)
class DueRequest:
    """An open request in the queue with where it stands against its deadline."""

    request: DsrRequest
    due_on: dt.date
    days_left: int
    near_due: bool
    overdue: bool


def get_request(session: Session, *, reference: str, lock: bool = False) -> DsrRequest:
    """The request with this reference; :class:`NotFound` otherwise.

    ``lock`` takes the row lock for the transaction (PostgreSQL), so a staff action
    and a running fulfilment of the same request take turns instead of overwriting
    each other's status.
    """
    query = select(DsrRequest).where(DsrRequest.reference == reference.strip().upper())
    if lock:
        query = query.with_for_update()
    request = session.scalars(query.execution_options(populate_existing=True)).one_or_none()
    if request is None:
        raise NotFound(
            "reference: there is no request with this reference; check it against the "
            "confirmation (it looks like DSR-XXXX-XXXX-XXXX).",
            field="reference",
        )
    return request


def timeline(session: Session, *, request: DsrRequest, limit: int = 500) -> list[AuditEntry]:
    """The request's audit entries, oldest first (its timeline)."""
    found = entries(session, target=request_target(request.id), limit=limit)
    return sorted(found, key=lambda entry: entry.sequence)


def _conflict(request: DsrRequest, to: Status) -> Conflict:
    current = request.status
    hint = "it is closed already" if request.closed_at is not None else _HINTS[to]
    return Conflict(
        f"request {request.reference}: it is {current}, so it cannot become {to.value} ({hint}).",
        reference=request.reference,
        status=current,
    )


def move(request: DsrRequest, to: Status) -> None:
    """Change the status, or :class:`Conflict` when the move is not allowed."""
    if to not in _NEXT.get(Status(request.status), frozenset()):
        raise _conflict(request, to)
    request.status = to.value


def _reason(reason: str, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(
            f"reason: say why the request is {what}; the person is told this reason.",
            field="reason",
        )
    if len(text) > MAX_REASON:
        raise InvalidInput(
            f"reason: at most {MAX_REASON} characters; summarise the reason.", field="reason"
        )
    return text


def _close(request: DsrRequest, to: Status, outcome: Outcome, now: dt.datetime) -> None:
    move(request, to)
    request.closed_at = now
    request.outcome = outcome.value


def mark_verified(
    session: Session,
    *,
    request: DsrRequest,
    method: Method,
    actor: str,
    clock: Clock,
    verification_id: int | None = None,
) -> None:
    """Record that the requester proved the identity; tell the old channel where V-3 asks."""
    move(request, Status.VERIFIED)
    request.verified_at = clock.now()
    request.verification_method = method.value
    policy = required_assurance(request.request_type, request.scope)
    if policy is Assurance.CHANNEL_AND_NOTICE:  # by type, even if staff lowered the level
        enqueue_notice(session, request_id=request.id, notice=Notice.CHANGE_ALERT, clock=clock)
    event = RequestVerified(
        request_id=request.id, method=method.value, verification_id=verification_id
    )
    emit(session, event, actor=actor, clock=clock)
    enqueue_fulfilment(session, request_id=request.id, clock=clock)


def start(
    session: Session, *, request: DsrRequest, actor: str, clock: Clock, reason: str | None = None
) -> None:
    """A verified request is being worked on (``in_progress``); staff say why in ``reason``."""
    move(request, Status.IN_PROGRESS)
    event = RequestStarted(request_id=request.id)
    emit(session, event, actor=actor, clock=clock, reason=reason)


def complete(
    session: Session,
    *,
    request: DsrRequest,
    actor: str,
    clock: Clock,
    outcome: Outcome | str = Outcome.FULFILLED,
    event: RequestCompleted | None = None,
    reason: str | None = None,
) -> None:
    """Close a verified request as answered: ``fulfilled``, ``partially_fulfilled``, ``no_data``.

    ``event`` replaces the plain completion entry with a richer one (same action).
    """
    chosen = Outcome(outcome)
    if chosen not in (Outcome.FULFILLED, Outcome.PARTIALLY_FULFILLED, Outcome.NO_DATA):
        raise InvalidInput(
            "outcome: a completed request is fulfilled, partially_fulfilled or no_data; "
            "use deny() to refuse it.",
            field="outcome",
        )
    if request.status not in (Status.VERIFIED.value, Status.IN_PROGRESS.value):
        raise _conflict(request, Status.COMPLETED)
    _close(request, Status.COMPLETED, chosen, clock.now())
    if event is None:
        event = RequestCompleted(request_id=request.id, outcome=chosen.value)
    emit(session, event, actor=actor, clock=clock, reason=reason)


def close_without_data(session: Session, *, request: DsrRequest, actor: str, clock: Clock) -> None:
    """Answer a request for an address Tutela holds nothing under (Art. 15 negative answer)."""
    if request.status != Status.RECEIVED.value:
        raise _conflict(request, Status.COMPLETED)
    _close(request, Status.COMPLETED, Outcome.NO_DATA, clock.now())
    event = RequestCompleted(request_id=request.id, outcome=Outcome.NO_DATA.value)
    emit(session, event, actor=actor, clock=clock)


def deny(session: Session, *, request: DsrRequest, reason: str, actor: str, clock: Clock) -> None:
    """Refuse an open request; the notice gives ``reason`` and the right to complain (12(4))."""
    text = _reason(reason, "refused")
    _close(request, Status.DENIED, Outcome.DENIED, clock.now())
    request.outcome_reason = text
    enqueue_notice(session, request_id=request.id, notice=Notice.DENIED, clock=clock)
    emit(session, RequestDenied(request_id=request.id), actor=actor, clock=clock, reason=text)


def _today(request: DsrRequest, now: dt.datetime) -> dt.date:
    return receipt_date(now, Jurisdiction(request.jurisdiction))


def extend(
    session: Session,
    *,
    request: DsrRequest,
    reason: str,
    actor: str,
    clock: Clock,
    settings: Settings,
    until: dt.date | None = None,
) -> dt.date:
    """Extend the deadline once, with reasons told to the person within the first period.

    GDPR: up to two further months, at most to the earlier of receipt + 3 months and
    the first deadline + 2 months. CCPA: 45 further days (90 in all). ``until``
    may set an earlier date. Returns the new deadline.
    """
    text = _reason(reason, "extended")
    if not request.is_open:
        raise Conflict(
            f"request {request.reference}: it is closed ({request.status}); nothing to extend.",
            reference=request.reference,
        )
    if request.extended_until is not None:
        raise Conflict(
            f"request {request.reference}: it was extended already, to "
            f"{request.extended_until.isoformat()}; the law allows one extension.",
            reference=request.reference,
        )
    today = _today(request, clock.now())
    if today > request.legal_deadline:
        raise Conflict(
            f"request {request.reference}: the first deadline passed on "
            f"{request.legal_deadline.isoformat()}; an extension must be sent before it ends.",
            reference=request.reference,
        )
    state = controller_state(session, settings=settings, clock=clock)
    dates = deadlines_for(RequestType(request.request_type), request.received_at, state=state)
    limit = dates.extension_limit
    if limit is None:
        raise Conflict(
            f"request {request.reference}: {request.request_type} requests cannot be extended "
            "(an opt-out must be honoured within 15 business days).",
            reference=request.reference,
        )
    new_date = limit if until is None else until
    if not request.legal_deadline < new_date <= limit:
        raise InvalidInput(
            f"until: choose a day after {request.legal_deadline.isoformat()} and not after "
            f"{limit.isoformat()}.",
            field="until",
        )
    request.extended_until = new_date
    request.extension_reason = text
    enqueue_notice(session, request_id=request.id, notice=Notice.EXTENDED, clock=clock)
    event = RequestExtended(
        request_id=request.id, legal_deadline=request.legal_deadline, extended_until=new_date
    )
    emit(session, event, actor=actor, clock=clock, reason=text)
    return new_date


_DUE = func.coalesce(DsrRequest.extended_until, DsrRequest.legal_deadline)


def due(session: Session, *, clock: Clock, limit: int = 200) -> list[DueRequest]:
    """Open requests, the most urgent first (by the deadline in force, then by age)."""
    rows = session.scalars(
        select(DsrRequest)
        .where(DsrRequest.status.in_([s.value for s in OPEN_STATUSES]))
        .order_by(_DUE, DsrRequest.id)
        .limit(limit)
    ).all()
    now = clock.now()
    result: list[DueRequest] = []
    for request in rows:
        today = _today(request, now)
        left = (request.due_on - today).days
        overdue = left < 0
        near = not overdue and (left <= NEAR_DUE_DAYS or today >= request.target_deadline)
        result.append(DueRequest(request, request.due_on, left, near, overdue))
    return result


def expire_unverified(session: Session, *, clock: Clock, actor: str = SYSTEM_ACTOR) -> int:
    """Close requests whose identity was not confirmed by their deadline (V-7); return how many.

    Run on the deadline day, so the Art. 12(4) notice (identity not confirmed, what
    would have been needed, the right to complain) still goes out in time. Requests
    flagged as repeated submissions expire without a notice: they may not come
    from the person at all, and the notices would repeat the flood.
    """
    waiting = (Status.RECEIVED.value, Status.AWAITING_VERIFICATION.value)
    now = clock.now()
    latest_today = german_date(now)  # never earlier than the Californian date
    candidates = session.scalars(
        select(DsrRequest)
        .where(DsrRequest.status.in_(waiting), latest_today >= _DUE)
        .order_by(_DUE, DsrRequest.id)
    ).all()
    expired = 0
    for request in candidates:
        if _today(request, now) < request.due_on:
            continue
        _close(request, Status.EXPIRED_UNVERIFIED, Outcome.UNVERIFIED, now)
        if request.flag is None:  # a flagged flood gets no second wave of mail
            enqueue_notice(session, request_id=request.id, notice=Notice.UNVERIFIED, clock=clock)
        emit(session, RequestExpired(request_id=request.id), actor=actor, clock=clock)
        expired += 1
    return expired

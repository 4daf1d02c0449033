"""The ``dsr.fulfil`` job: hand a verified request to the handler of its type.

Importing this module registers the job and the handlers shipped with Tutela
(access packages). A request whose type has no handler stays ``verified`` in
the staff queue (logged, no extra audit row). When a store is down or answers with
an error, the job's work rolls back, the request is marked ``in_progress`` with
``last_error`` in a short transaction of its own, and the error is raised again
so the job is retried later. The stores that already answered and the sealed
answer address are recorded by :mod:`tutela.dsr.progress` whenever the job's work
rolls back, so the retry does not ask those stores again.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Final

from sqlalchemy.orm import Session

import tutela.dsr.erasure as _erasure
import tutela.dsr.objection as _objection
import tutela.dsr.package as _package
import tutela.dsr.restriction as _restriction
from tutela.audit import emit
from tutela.calendar import german_date
from tutela.clock import Clock
from tutela.connectors import StoreError, StoreUnavailable
from tutela.connectors.builtin.webhook_message import on_behalf_of
from tutela.dsr.envelope import open_details
from tutela.dsr.events import ScopeRaised
from tutela.dsr.fulfilment import (
    ALERT_PENDING_RECHECK,
    FULFIL_JOB,
    Fulfilment,
    alert_overdue,
    grace_until,
    handler_for,
)
from tutela.dsr.jobs import installed_runtime
from tutela.dsr.models import DsrRequest
from tutela.dsr.notices import DsrRuntime
from tutela.dsr.queue import Notice, enqueue_notice
from tutela.dsr.rectify import screen_changes
from tutela.dsr.terms import Assurance, RequestType, Scope, Status
from tutela.dsr.workflow import SYSTEM_ACTOR, start
from tutela.errors import InvalidInput
from tutela.jobs import JobContext, Postpone, registry

__all__ = ["fulfil_job", "run_fulfilment"]

MAX_ERROR: Final = 1000
ALERT_MISSING: Final = (
    "Waiting for the change alert to the address on file, which has not gone out for over "
    "an hour: check the mail settings and the request's dsr.notice job. The request runs "
    "once the alert is sent and the grace period has passed; deny it to stop it."
)
_READY: Final = (Status.VERIFIED.value, Status.IN_PROGRESS.value)
_HANDLERS: Final = (  # importing their modules registers them
    _package.fulfil_access,
    _erasure.fulfil_erasure,
    _erasure.fulfil_rectification,
    _restriction.fulfil_restriction,
    _objection.fulfil_objection,
)

log = logging.getLogger(__name__)


def run_fulfilment(session: Session, *, request_id: int, runtime: DsrRuntime, clock: Clock) -> None:
    """Carry out one verified request (see the module text); a store error is raised."""
    # the row lock makes staff actions (deny, notes) wait for this run, and a second
    # fulfil job of the same request wait and then see the request's new status
    request = session.get(DsrRequest, request_id, with_for_update=True, populate_existing=True)
    if request is None or request.status not in _READY:
        return
    handler = handler_for(request.request_type)
    if handler is None:
        # The status (verified) already puts it in the staff queue; no audit row needed.
        log.info(
            "request %s: no automatic handler for %s; it waits for staff",
            request.id,
            request.request_type,
        )
        return
    found = _contact_data_found(request, runtime)
    if found:  # V-3: alert the address on file first, then wait like any contact change
        raise_scope = functools.partial(
            _raise_scope, request_id=request_id, fields=found, clock=clock
        )
        why = f"request {request.id}: contact data found, the change alert goes out first"
        raise Postpone(clock.now() + ALERT_PENDING_RECHECK, why, then=raise_scope)
    until = grace_until(session, request, settings=runtime.settings, now=clock.now())
    if until is not None:  # V-3's alert went out; the person may still stop it
        note = None
        if alert_overdue(session, request, now=clock.now()):
            note = functools.partial(_note, request_id=request_id, text=ALERT_MISSING)
        why = f"request {request.id}: grace period after the change alert"
        raise Postpone(until, why, then=note)
    fulfilment = Fulfilment(
        session=session,
        request=request,
        stores=runtime.stores,
        runtime=runtime,
        clock=clock,
        today=german_date(clock.now()),
    )
    try:
        # Processors (webhook stores) get the request's stable id and submission time.
        with on_behalf_of(request.reference, submitted=request.received_at):
            handler(fulfilment)
    except (StoreUnavailable, StoreError) as error:
        _record_error(session, request_id=request_id, error=error, clock=clock)
        raise


_RECTIFICATIONS: Final = (RequestType.RECTIFICATION.value, RequestType.CORRECT.value)


def _contact_data_found(request: DsrRequest, runtime: DsrRuntime) -> tuple[str, ...]:
    """The changes of a rectification filed without the contact-data scope that the stores'
    datasets show to be contact data (empty: nothing to raise).

    Intake guesses the scope from the references' words; the datasets know better. Only a
    request that has not started is raised: one staff started keeps its scope, and such
    changes wait for staff in the answer.
    """
    if request.request_type not in _RECTIFICATIONS or request.scope == Scope.CONTACT_DATA:
        return ()
    if request.status != Status.VERIFIED.value:
        return ()
    details = open_details(request, master=runtime.master)
    if details is None or not details.changes:
        return ()
    screened = screen_changes(runtime.stores, dict(details.changes), request.scope)
    return tuple(screened.needs_alert)


def _raise_scope(
    session: Session, *, request_id: int, fields: tuple[str, ...], clock: Clock
) -> None:
    """Make the request a contact-data change and alert the address on file (own transaction)."""
    request = session.get(DsrRequest, request_id, with_for_update=True, populate_existing=True)
    if request is None or request.status != Status.VERIFIED.value:
        return
    if request.scope == Scope.CONTACT_DATA:
        return
    request.scope = Scope.CONTACT_DATA.value
    request.required_assurance = Assurance.CHANNEL_AND_NOTICE.value
    enqueue_notice(session, request_id=request.id, notice=Notice.CHANGE_ALERT, clock=clock)
    event = ScopeRaised(request_id=request.id, scope=Scope.CONTACT_DATA.value, fields=fields)
    emit(session, event, actor=SYSTEM_ACTOR, clock=clock)


def _note(session: Session, *, request_id: int, text: str) -> None:
    """Show ``text`` as the request's last error while it waits (in the job's own transaction)."""
    request = session.get(DsrRequest, request_id, with_for_update=True, populate_existing=True)
    if request is not None and request.status in _READY and request.last_error != text:
        request.last_error = text


def _record_error(session: Session, *, request_id: int, error: Exception, clock: Clock) -> None:
    """Roll the job's work back and note the error on the request in a transaction of its own."""
    bind = session.get_bind()
    session.rollback()
    text = str(error)[:MAX_ERROR] or type(error).__name__
    with Session(bind=bind) as own, own.begin():
        request = own.get(DsrRequest, request_id, with_for_update=True, populate_existing=True)
        if request is None or request.status not in _READY:
            return
        if request.status == Status.VERIFIED.value:
            start(own, request=request, actor=SYSTEM_ACTOR, clock=clock)
        request.last_error = text


def _request_id(payload: dict[str, Any]) -> int:
    try:
        return int(payload["request_id"])
    except (KeyError, TypeError, ValueError):
        raise InvalidInput(
            f"The {FULFIL_JOB} job payload needs a request_id; queue it with "
            "tutela.dsr.fulfilment.enqueue_fulfilment."
        ) from None


@registry.handler(FULFIL_JOB)
def fulfil_job(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    run_fulfilment(
        session, request_id=_request_id(payload), runtime=installed_runtime(), clock=ctx.clock
    )

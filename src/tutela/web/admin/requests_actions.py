"""What staff do with a request: deny, extend, start or complete by hand, lower the required
assurance, add a note, and close a manual task (confirmed with evidence, or not done with
the reason). Entering a request that came by email, letter, fax or phone lives in
:mod:`tutela.web.admin.requests_entry` (its routes are part of this router).

Every action is a POST with the session's form token and a stated reason (the
reason lands in the audit trail; staff are told to keep personal data out of
it). Starting and completing by hand is only for request types without an
automatic handler (:func:`tutela.dsr.fulfilment.handler_for`). Lowering the
required assurance needs two different people (V-5): the first asks
(``handle_requests``), a second approves (``approve_assurance``). Closing a manual
task needs ``handle_requests``; the evidence or reason must not name the person
(it stays in the audit trail, see :mod:`tutela.dsr.tasks`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.clock import Clock
from tutela.dsr import (
    Assurance,
    DsrApproval,
    DsrRequest,
    complete,
    deny,
    extend,
    get_request,
    lower_assurance,
    start,
)
from tutela.dsr.events import RequestNoted
from tutela.dsr.fulfilment import handler_for
from tutela.dsr.tasks import confirm_task, task_not_done
from tutela.dsr.verification import release_flagged
from tutela.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tutela.staff.roles import Permission
from tutela.staff.service import staff_actor
from tutela.storage import transaction
from tutela.web.admin.auth import StaffContext, current_staff
from tutela.web.admin.csrf import check_session_token
from tutela.web.admin.requests import done_redirect, request_view
from tutela.web.admin.requests_entry import router as entry_router
from tutela.web.state import app_state

router = APIRouter(prefix="/admin/requests", include_in_schema=False)
Staff = Annotated[StaffContext, Depends(current_staff)]
FormText = Annotated[str, Form()]

MAX_REASON: Final = 2000
MAX_STORE: Final = 64
TASK_FIELDS: Final = {"evidence": "evidence", "reason": "task_reason", "store": "task_store"}
LOCK_WAIT: Final = "5s"
"""How long a staff action waits for a running fulfilment of the same request."""
ACTION_FIELDS: Final = frozenset({"reason", "until", "to", "outcome"})
Action = Callable[[Session, DsrRequest], None]


class ActionError(Exception):
    def __init__(self, code: str, detail: str | None = None, status: int = 422) -> None:
        super().__init__(code)
        self.code, self.detail, self.status = code, detail, status


def _reason(text: str) -> str:
    cleaned = (text or "").strip()
    if not cleaned or len(cleaned) > MAX_REASON:
        raise ActionError("reason")
    return cleaned


def _note(
    session: Session, found: DsrRequest, staff: StaffContext, clock: Clock, topic: str, text: str
) -> None:
    event = RequestNoted(request_id=found.id, staff_id=staff.staff.id, topic=topic)
    emit(session, event, actor=staff_actor(staff.staff), clock=clock, reason=text)


def _run(
    request: Request,
    staff: StaffContext,
    reference: str,
    csrf_token: str,
    form: dict[str, str],
    what: str,
    action: Action,
) -> Response:
    check_session_token(staff.staff_session, csrf_token)
    state = app_state(request)
    try:
        with transaction(state.session_factory) as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
            found = get_request(session, reference=reference[:40], lock=True)
            action(session, found)
            reference = found.reference
    except OperationalError:  # a fulfilment run holds the request longer than LOCK_WAIT
        detail = "Tutela is carrying the request out right now; reload the page in a minute."
        return request_view(
            request, staff, reference, error="conflict", detail=detail, form=form, status=409
        )
    except ActionError as exc:
        return request_view(
            request,
            staff,
            reference,
            error=exc.code,
            detail=exc.detail,
            form=form,
            status=exc.status,
        )
    except InvalidInput as exc:
        field = str(exc.extra.get("field", "reason"))
        code = field if field in ACTION_FIELDS else "reason"
        return request_view(request, staff, reference, error=code, form=form, status=422)
    except Conflict as exc:
        return request_view(
            request, staff, reference, error="conflict", detail=exc.detail, form=form, status=409
        )
    except PermissionDenied as exc:
        return request_view(
            request, staff, reference, error="deciders", detail=exc.detail, form=form, status=403
        )
    return done_redirect(request, reference, what)


# --- the actions on one request ---------------------------------------------------------------


@router.post("/{reference}/deny")
def deny_request(
    request: Request, staff: Staff, reference: str, reason: FormText = "", csrf_token: FormText = ""
) -> Response:
    """Refuse the request; the person is told the reason and the right to complain."""
    staff.require(Permission.HANDLE_REQUESTS)
    clock = app_state(request).clock

    def act(session: Session, found: DsrRequest) -> None:
        deny(
            session,
            request=found,
            reason=_reason(reason),
            actor=staff_actor(staff.staff),
            clock=clock,
        )

    return _run(request, staff, reference, csrf_token, {"deny_reason": reason}, "denied", act)


@router.post("/{reference}/release")
def release_request(
    request: Request, staff: Staff, reference: str, reason: FormText = "", csrf_token: FormText = ""
) -> Response:
    """Send the link after all for a request held as one of too many submissions."""
    staff.require(Permission.HANDLE_REQUESTS)
    clock = app_state(request).clock

    def act(session: Session, found: DsrRequest) -> None:
        release_flagged(
            session,
            request=found,
            staff_id=staff.staff.id,
            actor=staff_actor(staff.staff),
            reason=_reason(reason),
            clock=clock,
        )

    form = {"release_reason": reason}
    return _run(request, staff, reference, csrf_token, form, "released", act)


@router.post("/{reference}/extend")
def extend_request(
    request: Request,
    staff: Staff,
    reference: str,
    reason: FormText = "",
    until: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Extend the deadline once; the person gets the reason and the new date."""
    staff.require(Permission.HANDLE_REQUESTS)
    state = app_state(request)

    def act(session: Session, found: DsrRequest) -> None:
        text = _reason(reason)
        day = None
        if until.strip():
            try:
                day = dt.date.fromisoformat(until.strip())
            except ValueError:
                raise ActionError("until") from None
        extend(
            session,
            request=found,
            reason=text,
            actor=staff_actor(staff.staff),
            clock=state.clock,
            settings=state.settings,
            until=day,
        )

    form = {"extend_reason": reason, "until": until}
    return _run(request, staff, reference, csrf_token, form, "extended", act)


def _by_hand(found: DsrRequest) -> None:
    if handler_for(found.request_type) is not None:
        raise ActionError("automatic", status=409)


@router.post("/{reference}/start")
def start_request(
    request: Request, staff: Staff, reference: str, reason: FormText = "", csrf_token: FormText = ""
) -> Response:
    """Mark a request without an automatic handler as being worked on."""
    staff.require(Permission.HANDLE_REQUESTS)
    clock = app_state(request).clock

    def act(session: Session, found: DsrRequest) -> None:
        text = _reason(reason)
        _by_hand(found)
        start(session, request=found, actor=staff_actor(staff.staff), clock=clock, reason=text)

    return _run(request, staff, reference, csrf_token, {"start_reason": reason}, "started", act)


@router.post("/{reference}/complete")
def complete_request(
    request: Request,
    staff: Staff,
    reference: str,
    reason: FormText = "",
    outcome: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Close a request without an automatic handler as answered."""
    staff.require(Permission.HANDLE_REQUESTS)
    clock = app_state(request).clock

    def act(session: Session, found: DsrRequest) -> None:
        text = _reason(reason)
        if outcome not in ("fulfilled", "partially_fulfilled", "no_data"):
            raise ActionError("outcome")
        _by_hand(found)
        actor = staff_actor(staff.staff)
        complete(session, request=found, actor=actor, clock=clock, outcome=outcome, reason=text)

    form = {"complete_reason": reason, "outcome": outcome}
    return _run(request, staff, reference, csrf_token, form, "completed", act)


def _asked_by_other(session: Session, found: DsrRequest, staff_id: int) -> bool:
    pending = session.scalars(
        select(DsrApproval.requested_by).where(
            DsrApproval.request_id == found.id, DsrApproval.approved_by.is_(None)
        )
    ).all()
    return any(asker != staff_id for asker in pending)


@router.post("/{reference}/lower")
def lower_request_assurance(
    request: Request,
    staff: Staff,
    reference: str,
    to: FormText = "",
    reason: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Ask for a lower required assurance, or approve another staff member's wish (V-5)."""
    if not staff.may(Permission.APPROVE_ASSURANCE):
        staff.require(Permission.HANDLE_REQUESTS)
    clock = app_state(request).clock
    outcome = {"what": "lowering_asked"}

    def act(session: Session, found: DsrRequest) -> None:
        text = _reason(reason)
        if to not in {level.value for level in Assurance}:
            raise ActionError("to")
        if _asked_by_other(session, found, staff.staff.id):
            staff.require(Permission.APPROVE_ASSURANCE)
        else:
            staff.require(Permission.HANDLE_REQUESTS)
        result = lower_assurance(
            session, request=found, to=to, reason=text, staff_id=staff.staff.id, clock=clock
        )
        outcome["what"] = f"lowering_{result.value}"

    form = {"lower_reason": reason, "to": to}
    answer = _run(request, staff, reference, csrf_token, form, "lowering", act)
    if answer.status_code == 303:
        return done_redirect(request, reference[:40], outcome["what"])
    return answer


@router.post("/{reference}/note")
def add_note(
    request: Request, staff: Staff, reference: str, note: FormText = "", csrf_token: FormText = ""
) -> Response:
    """A note on the request: an audit entry with the note as its reason."""
    staff.require(Permission.HANDLE_REQUESTS)
    clock = app_state(request).clock

    def act(session: Session, found: DsrRequest) -> None:
        _note(session, found, staff, clock, "note", _reason(note))

    return _run(request, staff, reference, csrf_token, {"note": note}, "noted", act)


# --- manual tasks -----------------------------------------------------------------------------


def _task_error(exc: InvalidInput | NotFound) -> ActionError:
    """The page's error code for a refused task: the field, or text that names the person."""
    field = str(exc.extra.get("field", "evidence"))
    if exc.extra.get("problem") == "personal_data":
        return ActionError("personal_data")
    return ActionError(TASK_FIELDS.get(field, "evidence"))


def _close_task(
    request: Request,
    staff: StaffContext,
    reference: str,
    csrf_token: str,
    form: dict[str, str],
    what: str,
    close: Callable[..., object],
    **text: str,
) -> Response:
    """Confirm a manual task or mark it not done (``close``), with the staff's ``text``."""
    staff.require(Permission.HANDLE_REQUESTS)
    state = app_state(request)

    def act(session: Session, found: DsrRequest) -> None:
        try:
            close(
                session,
                request=found,
                store=form["task_store"].strip()[:MAX_STORE],
                actor=staff_actor(staff.staff),
                master=state.master_key(),
                clock=state.clock,
                **text,
            )
        except (InvalidInput, NotFound) as exc:
            raise _task_error(exc) from None

    return _run(request, staff, reference, csrf_token, form, what, act)


@router.post("/{reference}/tasks/confirm")
def confirm_manual_task(
    request: Request,
    staff: Staff,
    reference: str,
    store: FormText = "",
    evidence: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Staff did a manual task: the evidence says what was done and where."""
    form = {"task_store": store, "evidence": evidence}
    return _close_task(
        request, staff, reference, csrf_token, form, "task_confirmed", confirm_task,
        evidence=evidence,
    )  # fmt: skip


@router.post("/{reference}/tasks/not-done")
def manual_task_not_done(
    request: Request,
    staff: Staff,
    reference: str,
    store: FormText = "",
    reason: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """A manual task cannot be done; the reason is told to the person in the answer."""
    form = {"task_store": store, "task_reason": reason}
    return _close_task(
        request, staff, reference, csrf_token, form, "task_not_done", task_not_done, reason=reason
    )


router.include_router(entry_router)  # after the routes above; before /{reference} pages

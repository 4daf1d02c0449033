"""What staff do with a request: deny, extend, start or complete by hand, lower the required
assurance, add a note, and enter a request that came by email, letter, fax or phone.

Every action is a POST with the session's form token and a stated reason (the
reason lands in the audit trail; staff are told to keep personal data out of
it). Starting and completing by hand is only for request types without an
automatic handler (:func:`tutela.dsr.fulfilment.handler_for`). Lowering the
required assurance needs two different people (V-5): the first asks
(``handle_requests``), a second approves (``approve_assurance``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Final
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.calendar import german_date
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
    record_staff_entry,
    start,
)
from tutela.dsr.events import RequestNoted
from tutela.dsr.fulfilment import handler_for
from tutela.errors import Conflict, InvalidInput, PermissionDenied
from tutela.staff.roles import Permission
from tutela.staff.service import staff_actor
from tutela.storage import transaction
from tutela.web.admin.auth import StaffContext, current_staff
from tutela.web.admin.consent import console_page
from tutela.web.admin.csrf import check_session_token
from tutela.web.admin.requests import STAFF_CHANNELS, request_view
from tutela.web.public.requests import CCPA_TYPES, GDPR_TYPES
from tutela.web.state import app_state

router = APIRouter(prefix="/admin/requests", include_in_schema=False)
Staff = Annotated[StaffContext, Depends(current_staff)]
FormText = Annotated[str, Form()]

MAX_REASON: Final = 2000
BERLIN: Final = ZoneInfo("Europe/Berlin")
ENTRY_KINDS: Final = ("email", "phone", "customer_id")
ENTRY_FIELDS: Final = frozenset(
    {"request_type", "identity", "language", "channel", "received_at", "text", "scope"}
)
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


def _done(request: Request, reference: str, what: str) -> Response:
    lang = request.query_params.get("lang", "")
    suffix = f"&lang={lang}" if lang in ("de", "en") else ""
    return RedirectResponse(f"/admin/requests/{reference}?done={what}{suffix}", status_code=303)


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
            found = get_request(session, reference=reference[:40])
            action(session, found)
            reference = found.reference
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
    return _done(request, reference, what)


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
        return _done(request, reference[:40], outcome["what"])
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


# --- a request that reached staff -------------------------------------------------------------


def _entry_page(
    request: Request,
    staff: StaffContext,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    values = {
        "gdpr_types": [t.value for t in GDPR_TYPES],
        "ccpa_types": [t.value for t in CCPA_TYPES],
        "kinds": ENTRY_KINDS,
        "channels": STAFF_CHANNELS,
        "today": german_date(app_state(request).clock.now()).isoformat(),
        "form": form or {},
        "error": error,
    }
    return console_page(request, "admin/requests_new.html.j2", staff, values, status)


@router.get("/new")
def entry_form(request: Request, staff: Staff) -> Response:
    """The form for a request received by email, letter, fax or phone."""
    staff.require(Permission.HANDLE_REQUESTS)
    return _entry_page(request, staff)


def _received_at(text: str, now: dt.datetime) -> dt.datetime:
    """The start of the German day the request arrived (the deadline counts from that day)."""
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ActionError("received_at") from None
    if day > german_date(now):
        raise ActionError("received_at")
    return min(dt.datetime.combine(day, dt.time(0, 0), tzinfo=BERLIN).astimezone(dt.UTC), now)


@router.post("/new")
def enter_request(
    request: Request,
    staff: Staff,
    request_type: FormText = "",
    identity_kind: FormText = "email",
    identity: FormText = "",
    language: FormText = "de",
    channel: FormText = "",
    received: FormText = "",
    text: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Store the request with the day it reached the company; verification follows as usual."""
    staff.require(Permission.HANDLE_REQUESTS)
    check_session_token(staff.staff_session, csrf_token)
    state = app_state(request)
    form = {
        "request_type": request_type,
        "identity_kind": identity_kind,
        "language": language,
        "channel": channel,
        "received": received,
        "text": text,
    }
    try:
        received_at = _received_at(received, state.clock.now())
        kind = identity_kind if identity_kind in ENTRY_KINDS else "email"
        with transaction(state.session_factory) as session:
            stored = record_staff_entry(
                session,
                request_type=request_type,
                identity_kind=kind,
                identity_value=identity,
                language=language,
                channel=channel,
                received_at=received_at,
                actor=staff_actor(staff.staff),
                master=state.master_key(),
                clock=state.clock,
                settings=state.settings,
                text=text or None,
            )
            reference = stored.reference
    except ActionError as exc:
        return _entry_page(request, staff, form=form, error=exc.code, status=422)
    except InvalidInput as exc:
        field = str(exc.extra.get("field", "identity"))
        field = "identity" if field in {"email", "phone", "customer_id", "kind"} else field
        error = field if field in ENTRY_FIELDS else "identity"
        return _entry_page(request, staff, form=form, error=error, status=422)
    return _done(request, reference, "entered")

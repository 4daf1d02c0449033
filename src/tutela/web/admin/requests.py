"""The admin console's request pages: the queue and one request.

``/admin/requests`` lists open requests by the deadline in force
(:func:`tutela.dsr.due`), marking near-due and overdue ones in words.
``/admin/requests/{reference}`` shows the request's status, deadlines, the last
run per store (``store_results``), why the last attempt failed (``last_error``),
pending approvals, the manual tasks that wait for staff (:mod:`tutela.dsr.tasks`)
and the timeline (the audit trail's entries on ``dsr:<id>``).

The identity and what the person wrote are sealed; they open only after staff
chose a reason from the fixed list (:mod:`tutela.staff.access`). The opening is
written to the trail (``dsr.details_opened``) and answered with a short-lived
grant signed for this staff session and this request, as on the consent pages.
Once an erasure is answered they are shredded: the page says so and offers no
opening. The actions live in :mod:`tutela.web.admin.requests_actions`.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.calendar import german_date
from tutela.dsr import (
    Assurance,
    DsrApproval,
    DsrRequest,
    due,
    get_request,
    open_details,
    open_identity,
    timeline,
)
from tutela.dsr.events import RequestDetailsOpened
from tutela.dsr.fulfilment import handler_for
from tutela.dsr.progress import ANSWER_TO
from tutela.dsr.tasks import tasks_of
from tutela.dsr.workflow import NEAR_DUE_DAYS
from tutela.errors import InvalidInput
from tutela.i18n import gettext
from tutela.staff.access import REASON_LABELS, state_reason
from tutela.staff.roles import Permission
from tutela.staff.service import staff_actor
from tutela.storage import transaction
from tutela.web.admin.auth import StaffContext, current_staff
from tutela.web.admin.consent import console_page
from tutela.web.admin.csrf import check_session_token
from tutela.web.pages import page_language
from tutela.web.state import AppState, app_state

router = APIRouter(prefix="/admin/requests", include_in_schema=False)
Staff = Annotated[StaffContext, Depends(current_staff)]
FormText = Annotated[str, Form()]

GRANT_COOKIE: Final = "tutela_request_grant"
GRANT_LIFETIME: Final = dt.timedelta(minutes=10)
OUTCOMES: Final = ("fulfilled", "partially_fulfilled", "no_data")
ACCESS_TYPES: Final = ("access", "portability", "know")
STAFF_CHANNELS: Final = ("email", "letter", "fax", "phone")
MESSAGES: Final = tuple(REASON_LABELS.values())
"""msgids used from Python; the templates hold the rest."""


# --- the grant to see the sealed details -------------------------------------------------------


def _grant_body(staff: StaffContext, reference: str, issued: str) -> str:
    return f"{staff.staff_session.id}.{reference}.{issued}"


def set_grant(state: AppState, response: Response, staff: StaffContext, reference: str) -> None:
    issued = str(int(state.clock.now().timestamp()))
    signature = state.sign("request-grant", _grant_body(staff, reference, issued))
    response.set_cookie(
        GRANT_COOKIE,
        f"{reference}.{issued}.{signature}",
        max_age=int(GRANT_LIFETIME.total_seconds()),
        path="/admin/requests",
        httponly=True,
        samesite="strict",
        secure=state.settings.secure_cookies,
    )


def granted(request: Request, staff: StaffContext, reference: str) -> bool:
    """Whether this session stated a reason for this request within the grant's lifetime."""
    state = app_state(request)
    parts = request.cookies.get(GRANT_COOKIE, "").split(".")
    if len(parts) != 3 or parts[0] != reference or not parts[1].isdigit():
        return False
    expected = state.sign("request-grant", _grant_body(staff, reference, parts[1]))
    if not hmac.compare_digest(expected.encode(), parts[2].encode()):
        return False
    age = state.clock.now().timestamp() - int(parts[1])
    return 0 <= age <= GRANT_LIFETIME.total_seconds()


def done_redirect(request: Request, reference: str, what: str) -> Response:
    """Back to the request's page after an action, saying what was done."""
    lang = request.query_params.get("lang", "")
    suffix = f"&lang={lang}" if lang in ("de", "en") else ""
    return RedirectResponse(f"/admin/requests/{reference}?done={what}{suffix}", status_code=303)


# --- what the pages show -----------------------------------------------------------------------


def standing(found: DsrRequest, today: dt.date) -> dict[str, Any]:
    """Days left against the deadline in force, and whether it is near or past (open only)."""
    left = (found.due_on - today).days
    open_ = found.is_open
    overdue = open_ and left < 0
    near = open_ and not overdue and (left <= NEAR_DUE_DAYS or today >= found.target_deadline)
    return {"days_left": left, "overdue": overdue, "near_due": near}


def _store_results(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(data, dict) and data.get(ANSWER_TO) is not None:
        data[ANSWER_TO] = "(sealed)"
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True)


def sealed_gone(found: DsrRequest) -> bool:
    """Whether the request's sealed identity and details were shredded (after an erasure)."""
    return found.wrapped_key is None and found.identity_sealed is None


def handed_separately(found: DsrRequest) -> list[str]:
    """Stores an access copy left to staff (a manual store's task), by name."""
    if found.request_type not in ACCESS_TYPES or not found.store_results:
        return []
    try:
        data = json.loads(found.store_results)
    except ValueError:
        return []
    entries = data if isinstance(data, list) else []
    return [str(e.get("store")) for e in entries if isinstance(e, dict) and e.get("task")]


def _pending(session: Session, request_id: int) -> list[DsrApproval]:
    return list(
        session.scalars(
            select(DsrApproval)
            .where(DsrApproval.request_id == request_id, DsrApproval.approved_by.is_(None))
            .order_by(DsrApproval.id)
        )
    )


def _lower_levels(found: DsrRequest) -> list[str]:
    current = Assurance(found.required_assurance)
    return [a.value for a in Assurance if a.rank < current.rank]


def request_view(
    request: Request,
    staff: StaffContext,
    reference: str,
    *,
    error: str | None = None,
    detail: str | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The page of one request (also re-shown with an error after a failed action)."""
    state = app_state(request)
    show_details = granted(request, staff, reference)
    with transaction(state.read_factory) as session:
        found = get_request(session, reference=reference)
        entries = timeline(session, request=found)
        pending = _pending(session, found.id)
        identity = details = None
        gone = sealed_gone(found)
        if show_details and not gone:
            identity = open_identity(found, master=state.master_key())
            details = open_details(found, master=state.master_key())
    today = german_date(state.clock.now())
    values: dict[str, Any] = {
        "r": found,
        "standing": standing(found, today),
        "store_results": _store_results(found.store_results),
        "entries": entries,
        "pending": pending,
        "lower_levels": _lower_levels(found),
        "automatic": handler_for(found.request_type) is not None,
        "outcomes": OUTCOMES,
        "show_details": show_details and not gone,
        "sealed_gone": gone,
        "tasks": tasks_of(found),
        "handed_separately": handed_separately(found),
        "identity": identity,
        "details": details,
        "reasons": _reasons(page_language(request)),
        "may_handle": staff.may(Permission.HANDLE_REQUESTS),
        "may_approve": staff.may(Permission.APPROVE_ASSURANCE),
        "may_open": staff.may(Permission.OPEN_SUBJECT_RECORDS),
        "error": error,
        "error_detail": detail,
        "done": request.query_params.get("done", "")[:32],
        "form": form or {},
        "today": today.isoformat(),
    }
    return console_page(request, "admin/requests_detail.html.j2", staff, values, status)


def _reasons(language: str) -> list[tuple[str, str]]:
    return [
        (code.value, gettext(label, domain="messages", language=language))
        for code, label in REASON_LABELS.items()
    ]


# --- routes ------------------------------------------------------------------------------------


@router.get("")
def queue(request: Request, staff: Staff) -> Response:
    """Open requests, the most urgent first."""
    staff.require(Permission.VIEW_REQUESTS)
    state = app_state(request)
    with transaction(state.read_factory) as session:
        rows = due(session, clock=state.clock)
    values = {
        "rows": rows,
        "may_handle": staff.may(Permission.HANDLE_REQUESTS),
        "near_days": NEAR_DUE_DAYS,
    }
    return console_page(request, "admin/requests_queue.html.j2", staff, values, 200)


@router.get("/{reference}")
def request_page(request: Request, staff: Staff, reference: str) -> Response:
    """One request: status, deadlines, store results, approvals, timeline and actions."""
    staff.require(Permission.VIEW_REQUESTS)
    return request_view(request, staff, reference[:40])


@router.post("/{reference}/open")
def open_request_details(
    request: Request,
    staff: Staff,
    reference: str,
    reason: FormText = "",
    note: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Record why the identity and free text are opened, then show them for a few minutes."""
    staff.require(Permission.VIEW_REQUESTS)
    staff.require(Permission.OPEN_SUBJECT_RECORDS)
    check_session_token(staff.staff_session, csrf_token)
    state = app_state(request)
    form = {"reason": reason, "note": note}
    try:
        statement = state_reason(reason, note)  # a support ticket needs its id in the note
        code = statement.reason
        with transaction(state.session_factory) as session:
            found = get_request(session, reference=reference[:40])
            if sealed_gone(found):  # nothing to open: no entry in the trail
                raise InvalidInput("the details were shredded", field="sealed_gone")
            event = RequestDetailsOpened(
                request_id=found.id, staff_id=staff.staff.id, reason=code.value
            )
            stated = statement.stated
            emit(session, event, actor=staff_actor(staff.staff), clock=state.clock, reason=stated)
            reference = found.reference
    except InvalidInput as exc:
        field = str(exc.extra.get("field", "reason"))
        if field == "sealed_gone":
            return request_view(request, staff, reference[:40], error=field, status=409)
        error, detail = ("open_note", exc.detail) if field == "note" else ("open_reason", None)
        return request_view(
            request, staff, reference[:40], error=error, detail=detail, form=form, status=422
        )
    lang = request.query_params.get("lang", "")
    suffix = f"?lang={lang}" if lang in ("de", "en") else ""
    response = RedirectResponse(f"/admin/requests/{reference}{suffix}", status_code=303)
    set_grant(state, response, staff, reference)
    return response

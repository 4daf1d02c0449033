"""The admin console's consent pages.

``/admin/consent`` shows counts per purpose and the size of the suppression
list, and finds a person by e-mail address, phone number or customer number
(through the blind index, never a plaintext search). The person's records open
only after staff chose a reason from the fixed list: the opening is written to
the audit trail (``staff.subject_opened``) and answered with a short-lived
grant, signed for this staff session and this person, that the person view,
the receipts download and the withdrawal form require. The person view's
address holds only the subject's public id. Error codes and labels become
sentences in ``templates/admin/consent_labels.html.j2``. The suppression list
page lives in :mod:`tutela.web.admin.suppressions`.
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from tutela.calendar import german_date
from tutela.consent import Action, Channel, CurrentPolicy, Proof, receipts, record
from tutela.consent.unsubscribe import stop_action
from tutela.crypto import MasterKey
from tutela.errors import InvalidInput, NotFound
from tutela.i18n import gettext
from tutela.staff.access import REASON_LABELS, record_access, state_reason
from tutela.staff.roles import Permission
from tutela.staff.service import staff_actor
from tutela.storage import transaction
from tutela.subjects import (
    IdentityKind,
    Subject,
    find_subject,
    subject_by_public_id,
)
from tutela.web.admin.auth import StaffContext, current_staff
from tutela.web.admin.consent_records import (
    counts,
    current_or_none,
    person_records,
    suppression_total,
)
from tutela.web.admin.csrf import check_session_token
from tutela.web.admin.routes import role_labels
from tutela.web.pages import page_language, render_page
from tutela.web.state import AppState, app_state

router = APIRouter(prefix="/admin/consent", include_in_schema=False)
Staff = Annotated[StaffContext, Depends(current_staff)]
FormText = Annotated[str, Form()]

GRANT_COOKIE = "tutela_consent_grant"
GRANT_LIFETIME = dt.timedelta(minutes=10)
MAX_WITHDRAWAL_NOTE = 500
ALL_MARKETING = "all_direct_marketing"
SEARCH_KINDS = tuple(
    k.value for k in (IdentityKind.EMAIL, IdentityKind.PHONE, IdentityKind.CUSTOMER_ID)
)
STAFF_CHANNELS = tuple(c.value for c in (Channel.EMAIL, Channel.LETTER, Channel.FAX, Channel.PHONE))
STATUSES = tuple(a.value for a in Action)
MESSAGES = tuple(REASON_LABELS.values())
"""msgids used from Python; the templates hold the rest."""


class FormError(Exception):
    """A form field to fix; ``code`` names the sentence in consent_labels.html.j2."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _master(request: Request, state: AppState) -> MasterKey:
    """The installation's master key (kept on the app state)."""
    return state.master_key()


def console_page(
    request: Request, template: str, staff: StaffContext, values: dict[str, Any], status: int
) -> Response:
    """A consent page: the staff member, form token and role label, then ``values``."""
    language = page_language(request)
    labels = role_labels(language)
    context: dict[str, Any] = {
        "staff": staff.staff,
        "csrf_token": staff.csrf_token,
        "role_label": labels.get(staff.staff.role, staff.staff.role),
        "may_manage_staff": staff.may(Permission.MANAGE_STAFF),
    }
    context.update(values)
    return render_page(request, template, context, status_code=status, language=language)


# --- the access grant -------------------------------------------------------------------------


def _grant_body(staff: StaffContext, public_id: str, reason: str, issued: str) -> str:
    return f"{staff.staff_session.id}.{public_id}.{reason}.{issued}"


def _set_grant(
    state: AppState, response: Response, staff: StaffContext, public_id: str, reason: str
) -> None:
    issued = str(int(state.clock.now().timestamp()))
    signature = state.sign("consent-grant", _grant_body(staff, public_id, reason, issued))
    response.set_cookie(
        GRANT_COOKIE,
        f"{public_id}.{reason}.{issued}.{signature}",
        max_age=int(GRANT_LIFETIME.total_seconds()),
        path="/admin/consent",
        httponly=True,
        samesite="strict",
        secure=state.settings.secure_cookies,
    )


def _granted(request: Request, staff: StaffContext, public_id: str) -> bool:
    """Whether this session chose a reason for this person within the grant's lifetime."""
    state = app_state(request)
    parts = request.cookies.get(GRANT_COOKIE, "").split(".")
    if len(parts) != 4 or parts[0] != public_id or not parts[2].isdigit():
        return False
    _public_id, reason, issued, signature = parts
    expected = state.sign("consent-grant", _grant_body(staff, public_id, reason, issued))
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return False
    age = state.clock.now().timestamp() - int(issued)
    return 0 <= age <= GRANT_LIFETIME.total_seconds()


def _need_reason() -> Response:
    return RedirectResponse("/admin/consent?reason_needed=1", status_code=303)


# --- the overview and opening a person --------------------------------------------------------


def _overview(
    request: Request,
    staff: StaffContext,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    state = app_state(request)
    language = page_language(request)
    with transaction(state.read_factory) as session:
        policy = current_or_none(session, clock=state.clock)
        rows = counts(session, policy=policy, language=language)
        suppressions = suppression_total(session)
    labels = REASON_LABELS.items()
    values = {
        "counts": rows,
        "statuses": STATUSES,
        "suppressions": suppressions,
        "kinds": SEARCH_KINDS,
        "reasons": [(r.value, gettext(t, domain="messages", language=language)) for r, t in labels],
        "may_open": staff.may(Permission.OPEN_SUBJECT_RECORDS),
        "error": error,
        "reason_needed": bool(request.query_params.get("reason_needed")),
        "form": form or {},
    }
    return console_page(request, "admin/consent_overview.html.j2", staff, values, status)


@router.get("")
def overview(request: Request, staff: Staff) -> Response:
    staff.require(Permission.VIEW_CONSENT)
    return _overview(request, staff)


@router.post("/open")
def open_person(
    request: Request,
    staff: Staff,
    kind: FormText = "email",
    value: FormText = "",
    reason: FormText = "",
    note: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Check the form, find the person by blind index, record why, then show the records."""
    staff.require(Permission.OPEN_SUBJECT_RECORDS)
    check_session_token(staff.staff_session, csrf_token)
    state = app_state(request)
    form = {"kind": kind, "reason": reason, "note": note}
    try:
        if kind not in SEARCH_KINDS:  # everything is checked before anyone is looked up
            raise FormError("kind")
        code = state_reason(reason, note).reason  # a support ticket needs its id in the note
        with transaction(state.session_factory) as session:
            subject = find_subject(
                session,
                kind=kind,
                value=value,
                master=_master(request, state),
                default_country_code=state.settings.default_phone_country_code,
            )
            if subject is None:
                raise FormError("unknown_person")
            record_access(
                session,
                subject_id=subject.id,
                reason=code,
                actor=staff_actor(staff.staff),
                staff_id=staff.staff.id,
                note=note,
                clock=state.clock,
            )
            public_id = subject.public_id
    except InvalidInput as exc:
        return _overview(request, staff, error=str(exc.extra.get("field")), form=form, status=422)
    except FormError as exc:
        status = 404 if exc.code == "unknown_person" else 422
        return _overview(request, staff, error=exc.code, form=form, status=status)
    response = RedirectResponse(f"/admin/consent/people/{public_id}", status_code=303)
    _set_grant(state, response, staff, public_id, code.value)
    return response


# --- one person -------------------------------------------------------------------------------


def _load(session: Session, public_id: str) -> Subject:
    subject = subject_by_public_id(session, public_id)
    if subject is None:
        raise NotFound("public_id: there is no person with this id.", field="public_id")
    return subject


def _person_page(
    request: Request,
    staff: StaffContext,
    public_id: str,
    *,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    state = app_state(request)
    master = _master(request, state)
    with transaction(state.read_factory) as session:
        values = person_records(
            session,
            subject=_load(session, public_id),
            master=master,
            clock=state.clock,
            language=page_language(request),
        )
    values.update(
        channels=STAFF_CHANNELS,
        today=german_date(state.clock.now()).isoformat(),
        all_marketing=ALL_MARKETING,
        may_record=staff.may(Permission.RECORD_WITHDRAWALS),
        may_export=staff.may(Permission.EXPORT_CONSENT_RECEIPTS),
        recorded=bool(request.query_params.get("recorded")),
        error=error,
        form=form or {},
    )
    return console_page(request, "admin/consent_person.html.j2", staff, values, status)


@router.get("/people/{public_id}")
def person(request: Request, staff: Staff, public_id: str) -> Response:
    staff.require(Permission.OPEN_SUBJECT_RECORDS)
    if not _granted(request, staff, public_id):
        return _need_reason()
    return _person_page(request, staff, public_id)


@router.get("/people/{public_id}/receipts.json")
def person_receipts(request: Request, staff: Staff, public_id: str) -> Response:
    """The person's consent records as ISO/IEC TS 27560-shaped JSON, as a download."""
    staff.require(Permission.EXPORT_CONSENT_RECEIPTS)
    if not _granted(request, staff, public_id):
        return _need_reason()
    state = app_state(request)
    master = _master(request, state)
    with transaction(state.read_factory) as session:
        subject = _load(session, public_id)
        document = receipts(session, subject=subject, master=master, clock=state.clock)
    disposition = f'attachment; filename="consent-receipts-{public_id}.json"'
    return JSONResponse(document, headers={"Content-Disposition": disposition})


def _received(text: str, today: dt.date) -> dt.date:
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise FormError("received") from None
    if day > today:
        raise FormError("received")
    return day


def _targets(policy: CurrentPolicy | None, purposes: list[str]) -> list[tuple[str, Action]]:
    """(purpose, action) pairs: withdrawals, or objections to every direct-marketing purpose."""
    if policy is None:
        raise FormError("policy")
    declaration = policy.declaration
    if ALL_MARKETING in purposes:
        return [(p.id, Action.OBJECTED) for p in declaration.purposes if p.is_direct_marketing]
    chosen = [declaration.purpose(pid) for pid in dict.fromkeys(purposes)]
    found = [p for p in chosen if p is not None]
    if not chosen or len(found) != len(chosen):
        raise FormError("purpose")
    return [(p.id, stop_action(p)) for p in found]


@router.post("/people/{public_id}/withdrawals")
def record_withdrawal(
    request: Request,
    staff: Staff,
    public_id: str,
    channel: FormText = "",
    received: FormText = "",
    purpose: Annotated[list[str] | None, Form()] = None,
    note: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Record a withdrawal (or an objection to all direct marketing) that reached staff."""
    staff.require(Permission.RECORD_WITHDRAWALS)
    check_session_token(staff.staff_session, csrf_token)
    if not _granted(request, staff, public_id):
        return _need_reason()
    state = app_state(request)
    chosen = purpose or []
    form = {"channel": channel, "received": received, "purposes": chosen, "note": note}
    actor = staff_actor(staff.staff)
    try:
        if channel not in STAFF_CHANNELS:
            raise FormError("channel")
        day = _received(received, german_date(state.clock.now()))
        if len(note.strip()) > MAX_WITHDRAWAL_NOTE:
            raise FormError("withdrawal_note")
        extra = {"received_on": day.isoformat(), "entered_by": actor}
        if note.strip():
            extra["note"] = note.strip()
        proof = Proof(channel=channel, language=state.settings.default_language, extra=extra)
        master = _master(request, state)
        with transaction(state.session_factory) as session:
            subject = _load(session, public_id)
            policy = current_or_none(session, clock=state.clock)
            for purpose_id, action in _targets(policy, chosen):
                record(
                    session,
                    subject=subject,
                    purpose_id=purpose_id,
                    action=action,
                    proof=proof,
                    master=master,
                    clock=state.clock,
                    actor=actor,
                )
    except FormError as exc:
        return _person_page(request, staff, public_id, error=exc.code, form=form, status=422)
    return RedirectResponse(f"/admin/consent/people/{public_id}?recorded=1", status_code=303)

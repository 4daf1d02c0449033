"""The admin console's suppression list page.

``/admin/consent/suppressions`` lists the entries (kind, scope, reason, date;
the list holds no addresses, only keyed fingerprints). Staff who may record
withdrawals put an address on the list and lift one, each with a reason that
goes into the audit trail; every staff member who sees consent may look up
whether an address is listed. Addresses arrive only in POST bodies (never in a
URL), and the page shows an address back only masked (``a***@example.org``).
Error and outcome codes become sentences in the page's template.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tutela.consent import Suppression
from tutela.consent.suppression import (
    MAX_STAFF_REASON,
    check_scope,
    lift_suppression,
    listing_of,
    masked,
    scope_choices,
    suppress_address,
)
from tutela.errors import InvalidInput
from tutela.policy.models import Declaration
from tutela.staff.roles import Permission
from tutela.staff.service import staff_actor
from tutela.storage import transaction
from tutela.web.admin.auth import StaffContext, current_staff
from tutela.web.admin.consent import SEARCH_KINDS, console_page
from tutela.web.admin.consent_records import current_or_none, suppression_total
from tutela.web.admin.csrf import check_session_token
from tutela.web.pages import page_language
from tutela.web.state import app_state

router = APIRouter(prefix="/admin/consent/suppressions", include_in_schema=False)
Staff = Annotated[StaffContext, Depends(current_staff)]
FormText = Annotated[str, Form()]

PAGE_SIZE = 100
TEMPLATE = "admin/consent_suppressions.html.j2"
REASON_ISSUES = {"too_long": "reason_length", "address": "reason_address"}
"""The service's reason problems → the page's error codes (a missing reason is caught first)."""


class FormError(Exception):
    """A field to fix; ``code`` names the sentence in the page's template."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _declaration(session: Session, request: Request) -> Declaration | None:
    policy = current_or_none(session, clock=app_state(request).clock)
    return policy.declaration if policy is not None else None


def _page(
    request: Request,
    staff: StaffContext,
    *,
    page: int = 1,
    outcome: dict[str, Any] | None = None,
    error: str | None = None,
    section: str | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    state = app_state(request)
    language = page_language(request)
    with transaction(state.read_factory) as session:
        total = suppression_total(session)
        query = (
            select(Suppression)
            .order_by(Suppression.created_at.desc(), Suppression.id.desc())
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        )
        rows = list(session.scalars(query))
        listed = sorted(str(s) for s in session.scalars(select(Suppression.scope).distinct()))
        declaration = _declaration(session, request)
    choices = scope_choices(declaration)
    names = {p.id: p.name.get(language) for p in declaration.purposes} if declaration else {}
    values = {
        "rows": rows,
        "total": total,
        "page": page,
        "has_next": page * PAGE_SIZE < total,
        "kinds": SEARCH_KINDS,
        "scope_choices": choices,
        "lift_choices": list(dict.fromkeys((*choices, *listed))),
        "scope_names": names,
        "max_reason": MAX_STAFF_REASON,
        "may_change": staff.may(Permission.RECORD_WITHDRAWALS),
        "may_lift": staff.may(Permission.LIFT_SUPPRESSIONS),
        "outcome": outcome,
        "error": error,
        "section": section,
        "form": form or {},
    }
    return console_page(request, TEMPLATE, staff, values, status)


@router.get("")
def suppressions(request: Request, staff: Staff, page: int = 1) -> Response:
    """The suppression list: kind, scope, reason and date; never an address."""
    staff.require(Permission.VIEW_CONSENT)
    return _page(request, staff, page=max(page, 1))


def _checked(kind: str, value: str, reason: str | None, missing: str) -> str:
    """The masked address, once kind, address and (when asked for) reason are usable."""
    if kind not in SEARCH_KINDS:
        raise FormError("kind")
    if reason is not None and not reason.strip():
        raise FormError(missing)
    return masked(kind, value)


def _refused(
    request: Request, staff: StaffContext, section: str, code: str, form: dict[str, str]
) -> Response:
    if code == "reason_address":
        form = {**form, "reason": ""}  # the reason held the address: do not show it again
    return _page(request, staff, error=code, section=section, form=form, status=422)


def _code(exc: InvalidInput) -> str:
    field = str(exc.extra.get("field"))
    if field == "reason":
        return REASON_ISSUES.get(str(exc.extra.get("issue")), "reason_length")
    return field


@router.post("/add")
def add(
    request: Request,
    staff: Staff,
    kind: FormText = "email",
    value: FormText = "",
    scope: FormText = "",
    reason: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Put an address (known to Tutela or not) on the list for a scope, with a reason."""
    staff.require(Permission.RECORD_WITHDRAWALS)
    check_session_token(staff.staff_session, csrf_token)
    state = app_state(request)
    form = {"kind": kind, "scope": scope, "reason": reason}
    try:
        shown = _checked(kind, value, reason, "add_reason")
        with transaction(state.session_factory) as session:
            chosen = check_scope(scope, choices=scope_choices(_declaration(session, request)))
            added = suppress_address(
                session,
                kind=kind,
                value=value,
                scope=chosen,
                master=state.master_key(),
                clock=state.clock,
                actor=staff_actor(staff.staff),
                reason=reason,
                default_country_code=state.settings.default_phone_country_code,
            )
    except InvalidInput as exc:
        return _refused(request, staff, "add", _code(exc), form)
    except FormError as exc:
        return _refused(request, staff, "add", exc.code, form)
    outcome = {"code": "added" if added else "already", "address": shown, "scope": chosen}
    return _page(request, staff, outcome=outcome)


@router.post("/lift")
def lift(
    request: Request,
    staff: Staff,
    kind: FormText = "email",
    value: FormText = "",
    scope: FormText = "",
    reason: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Take an address off the list for a scope; a deliberate decision with a reason."""
    staff.require(Permission.LIFT_SUPPRESSIONS)
    check_session_token(staff.staff_session, csrf_token)
    state = app_state(request)
    form = {"kind": kind, "scope": scope, "reason": reason}
    code = state.settings.default_phone_country_code
    try:
        shown = _checked(kind, value, reason, "lift_reason")
        master = state.master_key()
        with transaction(state.session_factory) as session:
            listing = listing_of(
                session, kind=kind, value=value, master=master, default_country_code=code
            )
            choices = (*scope_choices(_declaration(session, request)), *listing.own)
            chosen = check_scope(scope, choices=choices)
            removed = lift_suppression(
                session,
                kind=kind,
                value=value,
                scope=chosen,
                master=master,
                clock=state.clock,
                actor=staff_actor(staff.staff),
                reason=reason,
                default_country_code=code,
            )
    except InvalidInput as exc:
        return _refused(request, staff, "lift", _code(exc), form)
    except FormError as exc:
        return _refused(request, staff, "lift", exc.code, form)
    outcome = {
        "code": "lifted" if removed else "not_listed",
        "address": shown,
        "scope": chosen,
        "still_covered": chosen in listing.through_person,
    }
    return _page(request, staff, outcome=outcome)


@router.post("/lookup")
def lookup(
    request: Request,
    staff: Staff,
    kind: FormText = "email",
    value: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Is an address listed, and for which scopes (itself, or through its person)?"""
    staff.require(Permission.VIEW_CONSENT)
    check_session_token(staff.staff_session, csrf_token)
    state = app_state(request)
    try:
        shown = _checked(kind, value, None, "")
        with transaction(state.read_factory) as session:
            listing = listing_of(
                session,
                kind=kind,
                value=value,
                master=state.master_key(),
                default_country_code=state.settings.default_phone_country_code,
            )
    except InvalidInput as exc:
        return _refused(request, staff, "lookup", _code(exc), {"kind": kind})
    except FormError as exc:
        return _refused(request, staff, "lookup", exc.code, {"kind": kind})
    outcome = {
        "code": "listed" if listing.listed else "unlisted",
        "address": shown,
        "own": listing.own,
        "through": listing.through_person,
    }
    return _page(request, staff, outcome=outcome)

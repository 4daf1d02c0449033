"""Staff entering a request that reached them by email, letter, fax or phone.

The form asks for the type, the identity the person gave, the language of the
answers, the channel and the day the request arrived (the deadline counts from
that day); verification then follows as for any request. The routes are part of
the actions router (:mod:`tutela.web.admin.requests_actions`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Final
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from tutela.calendar import german_date
from tutela.dsr import record_staff_entry
from tutela.errors import InvalidInput
from tutela.staff.roles import Permission
from tutela.staff.service import staff_actor
from tutela.storage import transaction
from tutela.web.admin.auth import StaffContext, current_staff
from tutela.web.admin.consent import console_page
from tutela.web.admin.csrf import check_session_token
from tutela.web.admin.requests import STAFF_CHANNELS, done_redirect
from tutela.web.public.requests import CCPA_TYPES, GDPR_TYPES
from tutela.web.state import app_state

router = APIRouter(include_in_schema=False)
"""Paths below /admin/requests: the actions router includes this one under its prefix."""
Staff = Annotated[StaffContext, Depends(current_staff)]
FormText = Annotated[str, Form()]

BERLIN: Final = ZoneInfo("Europe/Berlin")
ENTRY_KINDS: Final = ("email", "phone", "customer_id")
ENTRY_FIELDS: Final = frozenset(
    {"request_type", "identity", "language", "channel", "received_at", "text", "scope"}
)


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
        raise InvalidInput("received_at: not a date", field="received_at") from None
    if day > german_date(now):
        raise InvalidInput("received_at: in the future", field="received_at")
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
    except InvalidInput as exc:
        field = str(exc.extra.get("field", "identity"))
        field = "identity" if field in {"email", "phone", "customer_id", "kind"} else field
        error = field if field in ENTRY_FIELDS else "identity"
        return _entry_page(request, staff, form=form, error=error, status=422)
    return done_redirect(request, reference, "entered")

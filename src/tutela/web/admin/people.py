"""The admin console's person lookup (``/admin/people``) and access log (``/admin/accesses``).

``/admin/people`` finds one person's records in the connected stores. The form
asks what to search by (e-mail address, phone number or customer number), the
value, a reason from the fixed list and a note (required; for a support ticket
its id; never the person's address or number). Everything is checked before
anyone is looked up. Then the opening is written to the audit trail
(``staff.records_looked_up``, naming ``subject:<id>`` or a keyed digest, never the
value) and committed, and only then are the stores read
(:mod:`tutela.dsr.lookup`, read only, deny-list applied) and the records shown
per store and table. A known and an unknown person get the same page. Each staff
member may look up :data:`LOOKUP_LIMIT` people per :data:`LOOKUP_WINDOW`
(counted in the trail, so it holds across processes): enough for support work,
too few to read out a store.

``/admin/accesses`` is the data protection officer's page: every opening of a
person's records (consent records, store records, request details) for a period
— by default the last 30 days — counted per staff member and reason and listed
with reason, note and target; ``/admin/accesses.csv`` downloads the list.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from tutela.calendar import german_date
from tutela.connectors import Connector, IdentitySet
from tutela.consent.staff_text import masked
from tutela.dsr.lookup import (
    SEARCH_KINDS,
    StoreRecords,
    check_search,
    check_statement,
    find_person,
    read_records,
    record_opening,
)
from tutela.dsr.package_zip import neutralise
from tutela.dsr.stores import load_stores
from tutela.errors import InvalidInput, TutelaError
from tutela.i18n import gettext
from tutela.staff.access import MAX_NOTE, REASON_LABELS, AccessReason
from tutela.staff.access_log import (
    LIST_LIMIT,
    AccessLog,
    access_log,
    default_period,
    lookups_since,
    staff_choices,
)
from tutela.staff.roles import Permission
from tutela.staff.service import staff_actor
from tutela.storage import transaction
from tutela.web.admin.auth import StaffContext, current_staff
from tutela.web.admin.consent import console_page
from tutela.web.admin.csrf import check_session_token
from tutela.web.pages import page_language
from tutela.web.state import app_state

__all__ = ["LOOKUP_LIMIT", "LOOKUP_WINDOW", "MESSAGES", "router"]

router = APIRouter(include_in_schema=False)
Staff = Annotated[StaffContext, Depends(current_staff)]
FormText = Annotated[str, Form()]

LOOKUP_LIMIT: Final = 30
LOOKUP_WINDOW: Final = dt.timedelta(minutes=10)
KINDS: Final = tuple(kind.value for kind in SEARCH_KINDS)
NO_STORE: Final = {"Cache-Control": "no-store"}
CSV_COLUMNS: Final = (
    "occurred_at",
    "actor",
    "staff_id",
    "staff_name",
    "opened",
    "reason",
    "note",
    "target",
)
CSV_LIMIT: Final = 1_000_000
"""Rows of one CSV download (a year of accesses stays far below it)."""
MESSAGES: Final = tuple(REASON_LABELS.values())
"""msgids used from Python; the templates hold the rest."""


def _reasons(language: str) -> list[tuple[str, str]]:
    return [
        (code.value, gettext(label, domain="messages", language=language))
        for code, label in REASON_LABELS.items()
    ]


def _reason_label(code: str, language: str) -> str:
    """The label of a stored reason code (an unknown code is shown as it is)."""
    try:
        label = REASON_LABELS[AccessReason(code)]
    except ValueError:
        return code
    return gettext(label, domain="messages", language=language)


def _error_code(error: InvalidInput) -> str:
    """The sentence of ``templates/admin/people_labels.html.j2`` for a refused form."""
    field = str(error.extra.get("field", "kind"))
    if field == "note":
        return f"note_{error.extra.get('issue', 'missing')}"
    return field


# --- the person lookup -------------------------------------------------------------------------


def _people_page(
    request: Request,
    staff: StaffContext,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    results: tuple[StoreRecords, ...] | None = None,
    searched: str | None = None,
    status: int = 200,
) -> Response:
    values: dict[str, Any] = {
        "kinds": KINDS,
        "reasons": _reasons(page_language(request)),
        "max_note": MAX_NOTE,
        "may_view_accesses": staff.may(Permission.VIEW_AUDIT),
        "error": error,
        "form": form or {},
        "results": results,
        "searched": searched,
    }
    response = console_page(request, "admin/people.html.j2", staff, values, status)
    response.headers.update(NO_STORE)
    return response


@router.get("/admin/people")
def people(request: Request, staff: Staff) -> Response:
    """The search form."""
    staff.require(Permission.OPEN_SUBJECT_RECORDS)
    return _people_page(request, staff)


def _refused(
    request: Request, staff: StaffContext, error: InvalidInput, form: dict[str, str]
) -> Response:
    """The form again with the sentence to fix; a note that names the person is not echoed."""
    code = _error_code(error)
    if code == "note_personal_data":
        form = {**form, "note": ""}
    return _people_page(request, staff, error=code, form=form, status=422)


def _close(stores: tuple[Connector, ...]) -> None:
    for store in stores:
        store.close()


@router.post("/admin/people")
def look_up(
    request: Request,
    staff: Staff,
    kind: FormText = "email",
    value: FormText = "",
    reason: FormText = "",
    note: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Check the form, write the opening to the trail and commit, then read the stores."""
    staff.require(Permission.OPEN_SUBJECT_RECORDS)
    check_session_token(staff.staff_session, csrf_token)
    state = app_state(request)
    form = {"kind": kind, "reason": reason, "note": note}  # the value is never echoed
    country = state.settings.default_phone_country_code
    try:  # everything is checked before anyone is looked up
        normalized = check_search(kind, value, default_country_code=country)
        check_statement(reason, note, identities=IdentitySet.from_pairs([(kind, normalized)]))
    except InvalidInput as error:
        return _refused(request, staff, error, form)
    actor = staff_actor(staff.staff)
    with transaction(state.read_factory) as session:
        used = lookups_since(session, actor=actor, since=state.clock.now() - LOOKUP_WINDOW)
    if used >= LOOKUP_LIMIT:
        return _people_page(request, staff, error="limit", form=form, status=429)
    master = state.master_key()
    try:
        stores = load_stores(state.settings, master=master)
    except TutelaError:
        return _people_page(request, staff, error="stores", form=form, status=503)
    try:
        with transaction(state.session_factory) as session:
            person = find_person(
                session, kind=kind, value=normalized, master=master, default_country_code=country
            )
            record_opening(
                session,
                person=person,
                reason=reason,
                note=note,
                actor=actor,
                clock=state.clock,
                staff_id=staff.staff.id,
            )
        results = read_records(stores, person.identities)  # only after the commit
    except InvalidInput as error:  # the note names another identity of the person
        return _refused(request, staff, error, form)
    finally:
        _close(stores)
    shown = masked(kind, normalized, default_country_code=country)
    return _people_page(request, staff, results=results, searched=shown, form={"kind": kind})


# --- the access log ----------------------------------------------------------------------------


def _day(text: str, fallback: dt.date) -> dt.date:
    if not text.strip():
        return fallback
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            "start: enter the days as YYYY-MM-DD, such as 2026-03-01.", field="start"
        ) from None


def _staff_filter(text: str) -> int | None:
    if not text.strip():
        return None
    if not text.strip().isdigit():
        raise InvalidInput("staff: choose a staff member from the list.", field="staff")
    return int(text.strip())


def _log(
    request: Request, start: str, end: str, member: str, *, limit: int = LIST_LIMIT
) -> tuple[AccessLog, int | None]:
    state = app_state(request)
    first, last = default_period(german_date(state.clock.now()))
    staff_id = _staff_filter(member)
    with transaction(state.read_factory) as session:
        found = access_log(
            session, start=_day(start, first), end=_day(end, last), staff_id=staff_id, limit=limit
        )
    return found, staff_id


@router.get("/admin/accesses")
def accesses(
    request: Request,
    staff: Staff,
    start: str = "",
    end: str = "",
    member: Annotated[str, Query(alias="staff")] = "",
) -> Response:
    """Openings of people's records per staff member and period (DPO and admins)."""
    staff.require(Permission.VIEW_AUDIT)
    state = app_state(request)
    language = page_language(request)
    values: dict[str, Any] = {
        "log": None,
        "names": {},
        "error": None,
        "filters": {"start": start[:10], "end": end[:10], "staff": member[:12]},
        "reason_labels": {code: _reason_label(code, language) for code in AccessReason},
    }
    status = 200
    try:
        found, staff_id = _log(request, start, end, member)
    except InvalidInput as error:
        values["error"] = str(error.extra.get("field", "start"))
        status = 422
    else:
        values["log"] = found
        values["names"] = {total.actor: total.name for total in found.staff}
        values["filters"] = {
            "start": found.start.isoformat(),
            "end": found.end.isoformat(),
            "staff": "" if staff_id is None else str(staff_id),
        }
        values["reason_labels"].update(
            {code: _reason_label(code, language) for code in found.by_reason}
        )
    with transaction(state.read_factory) as session:
        values["choices"] = staff_choices(session)
    response = console_page(request, "admin/accesses.html.j2", staff, values, status)
    response.headers.update(NO_STORE)
    return response


@router.get("/admin/accesses.csv")
def accesses_csv(
    request: Request,
    staff: Staff,
    start: str = "",
    end: str = "",
    member: Annotated[str, Query(alias="staff")] = "",
) -> Response:
    """The period's openings as CSV (every entry, newest first; no formulas run)."""
    staff.require(Permission.VIEW_AUDIT)
    try:
        found, _staff_id = _log(request, start, end, member, limit=CSV_LIMIT)
    except InvalidInput as error:
        return Response(error.detail, status_code=422, media_type="text/plain")
    names = {total.actor: total.name or "" for total in found.staff}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for access in found.entries:
        writer.writerow(
            [
                neutralise(value)
                for value in (
                    access.occurred_at.astimezone(dt.UTC).isoformat(),
                    access.actor,
                    access.staff_id,
                    names.get(access.actor, ""),
                    access.what,
                    access.reason,
                    access.note,
                    access.target,
                )
            ]
        )
    name = f"accesses-{found.start.isoformat()}-{found.end.isoformat()}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', **NO_STORE}
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)

"""The admin console's retention report: recent sweeps, their counts per rule, legal holds.

``/admin/retention`` lists the newest sweeps (``?limit=`` up to 50): for each rule
the rows it found at the start (before), erased, still matching at the end
(after), kept by a statutory hold (until when) or a legal hold, still referred to
by other rows, rows marked restricted, and any error or refusal. Below them the
legal holds in force. The page shows counts, rule and table names only, never a
value of a swept row; a hold on a person shows the subject number, not the
person's identity, and a record-set hold the column and the value or range it was
placed with — never a personal or identifying column, which holds refuse. The DPO
and administrators see it (the same people who read the audit trail).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tutela.calendar import german_date
from tutela.retention import list_holds, recent_runs
from tutela.staff.roles import Permission
from tutela.storage import transaction
from tutela.web.admin.auth import StaffContext, current_staff
from tutela.web.admin.consent import console_page
from tutela.web.state import app_state

__all__ = ["PERMISSION", "router"]

router = APIRouter(prefix="/admin/retention", include_in_schema=False)
Staff = Annotated[StaffContext, Depends(current_staff)]
PERMISSION = Permission.VIEW_AUDIT
"""Who sees the report: the DPO and administrators."""
TEMPLATE = "admin/retention.html.j2"
MAX_RUNS = 50


@router.get("")
def retention_page(request: Request, staff: Staff, limit: int = 10) -> Response:
    """Recent sweeps with before/after counts per rule, what holds kept, and the holds."""
    staff.require(PERMISSION)
    state = app_state(request)
    today = german_date(state.clock.now())
    with transaction(state.read_factory) as session:
        reports = recent_runs(session, limit=min(max(limit, 1), MAX_RUNS))
        holds = [hold for hold in list_holds(session) if hold.active_on(today)]
    values = {"reports": reports, "holds": holds}
    return console_page(request, TEMPLATE, staff, values, 200)

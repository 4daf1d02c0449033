"""The console page of policy-change notices: per version, how many were sent or failed.

Counts only: the page never lists a recipient. Anyone who may see the published
versions may see it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tutela.calendar import german_date
from tutela.notices import overview
from tutela.staff.roles import Permission
from tutela.storage import transaction
from tutela.web.admin.auth import StaffContext, current_staff
from tutela.web.admin.consent import console_page
from tutela.web.state import app_state

router = APIRouter(prefix="/admin/notices", include_in_schema=False)
Staff = Annotated[StaffContext, Depends(current_staff)]


@router.get("")
def notices_page(request: Request, staff: Staff) -> Response:
    """Each version's notices: state, last sending day, recipients, sent, failed, open."""
    staff.require(Permission.VIEW_VERSIONS)
    state = app_state(request)
    today = german_date(state.clock.now())
    with transaction(state.read_factory) as session:
        rows = overview(session, today=today)
    return console_page(request, "admin/notices.html.j2", staff, {"rows": rows}, 200)

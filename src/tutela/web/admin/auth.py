"""The staff session cookie and the dependency that turns it into a staff member."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fastapi import Request, Response

from tutela.staff.models import StaffSession, StaffUser
from tutela.staff.roles import Permission, allows, require
from tutela.staff.service import session_for_token
from tutela.storage import transaction
from tutela.web.admin.csrf import COOKIE_PATH, session_token
from tutela.web.problems import LoginRequired
from tutela.web.state import AppState, app_state

SESSION_COOKIE = "tutela_session"


@dataclass(frozen=True)
class StaffContext:
    """The logged-in staff member of one request (detached copies of the rows)."""

    staff: StaffUser
    staff_session: StaffSession

    @property
    def csrf_token(self) -> str:
        return session_token(self.staff_session)

    def may(self, permission: Permission) -> bool:
        return allows(self.staff.role, permission)

    def require(self, permission: Permission) -> None:
        require(self.staff.role, permission)


def session_lifetime(state: AppState) -> dt.timedelta:
    return dt.timedelta(hours=state.settings.session_hours)


def set_session_cookie(state: AppState, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(session_lifetime(state).total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=state.settings.secure_cookies,
    )


def clear_session_cookie(state: AppState, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=state.settings.secure_cookies,
    )


def optional_staff(request: Request) -> StaffContext | None:
    """The live staff session of the request's cookie, if any (refreshing last_seen)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    state = app_state(request)
    with transaction(state.session_factory) as session:
        row = session_for_token(session, token=token, clock=state.clock)
        if row is None:
            return None
        staff = row.staff
    return StaffContext(staff=staff, staff_session=row)


def current_staff(request: Request) -> StaffContext:
    """Dependency for admin pages: the staff member, or a redirect to the login page."""
    context = optional_staff(request)
    if context is None:
        raise LoginRequired(request.url.path)
    return context

"""The admin console: login, logout, overview, published versions and staff accounts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from tutela.calendar import german_date
from tutela.errors import VerificationFailed
from tutela.i18n import gettext
from tutela.staff.roles import Permission, Role
from tutela.staff.service import (
    check_credentials,
    close_session,
    complete_login,
    find_staff,
    list_staff,
    normalize_email,
    open_session,
    record_failed_login,
    session_for_token,
)
from tutela.storage import transaction
from tutela.web.admin.auth import (
    SESSION_COOKIE,
    StaffContext,
    clear_session_cookie,
    current_staff,
    optional_staff,
    session_lifetime,
    set_session_cookie,
)
from tutela.web.admin.csrf import (
    check_login_token,
    check_session_token,
    clear_login_cookie,
    issue_login_token,
    set_login_cookie,
)
from tutela.web.pages import page_language, render_page
from tutela.web.problems import LoginRequired
from tutela.web.published import situation, version_rows
from tutela.web.state import app_state

router = APIRouter(prefix="/admin", include_in_schema=False)
Staff = Annotated[StaffContext, Depends(current_staff)]
FormText = Annotated[str, Form()]

LOGIN_FAILED = "Wrong e-mail address or password"
TOO_MANY = "Too many failed attempts. Wait a few minutes and try again."
ROLE_LABELS = {
    Role.ADMIN: "Administrator",
    Role.DPO: "Data protection officer",
    Role.SUPPORT: "Support",
}
MESSAGES = (LOGIN_FAILED, TOO_MANY, *ROLE_LABELS.values())
"""msgids used from Python; the templates hold the rest."""


def role_labels(language: str) -> dict[str, str]:
    return {
        role.value: gettext(label, domain="messages", language=language)
        for role, label in ROLE_LABELS.items()
    }


def _staff_page(
    request: Request, template: str, context: StaffContext, values: dict[str, Any]
) -> Response:
    language = page_language(request)
    labels = role_labels(language)
    merged: dict[str, Any] = {
        "staff": context.staff,
        "csrf_token": context.csrf_token,
        "role_label": labels.get(context.staff.role, context.staff.role),
        "role_labels": labels,
        "may_manage_staff": context.may(Permission.MANAGE_STAFF),
    }
    merged.update(values)
    return render_page(request, template, merged, language=language)


def _login_page(
    request: Request,
    *,
    nonce: str,
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return render_page(
        request,
        "admin/login.html.j2",
        {"login_token": nonce, "error": error},
        status_code=status,
        headers=headers,
    )


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login")
def login_form(request: Request) -> Response:
    """The login form; it sets a short-lived signed cookie the form must repeat."""
    if optional_staff(request) is not None:
        return RedirectResponse("/admin", status_code=303)
    state = app_state(request)
    nonce, cookie = issue_login_token(state)
    response = _login_page(request, nonce=nonce)
    set_login_cookie(state, response, cookie)
    return response


@router.post("/login")
def login(
    request: Request,
    email: FormText = "",
    password: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Check the form token, the rate limit and the credentials, then open a session."""
    state = app_state(request)
    nonce = check_login_token(state, request, csrf_token)
    client = _client(request)
    wait = state.login_limiter.retry_after(email=email, client=client)
    if wait is not None:
        return _login_page(
            request, nonce=nonce, error=TOO_MANY, status=429, headers={"Retry-After": str(wait)}
        )
    # The slow password hash runs in a read-only session: it holds no write lock.
    with transaction(state.read_factory) as session:
        user = check_credentials(session, email=email, password=password)
        known = user or find_staff(session, email=normalize_email(email))
        staff_id = None if known is None else known.id
    if user is None:
        with transaction(state.session_factory) as session:
            record_failed_login(session, staff_id=staff_id, clock=state.clock)
        state.login_limiter.failed(email=email, client=client)
        return _login_page(request, nonce=nonce, error=LOGIN_FAILED, status=401)
    try:
        with transaction(state.session_factory) as session:
            user = complete_login(session, staff_id=user.id, password=password, clock=state.clock)
            token, _row = open_session(
                session, staff=user, lifetime=session_lifetime(state), clock=state.clock
            )
    except VerificationFailed:
        state.login_limiter.failed(email=email, client=client)
        return _login_page(request, nonce=nonce, error=LOGIN_FAILED, status=401)
    state.login_limiter.succeeded(email=email, client=client)
    response = RedirectResponse("/admin", status_code=303)
    set_session_cookie(state, response, token)
    clear_login_cookie(state, response)
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: FormText = "") -> Response:
    """End the session (the form must carry the session's token)."""
    state = app_state(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    with transaction(state.session_factory) as session:
        row = session_for_token(session, token=token, clock=state.clock)
        if row is None:
            raise LoginRequired(request.url.path)
        check_session_token(row, csrf_token)
        close_session(session, staff_session=row, clock=state.clock)
    response = RedirectResponse("/admin/login", status_code=303)
    clear_session_cookie(state, response)
    return response


@router.get("")
def dashboard(request: Request, staff: Staff) -> Response:
    state = app_state(request)
    with transaction(state.read_factory) as session:
        now = situation(session, today=german_date(state.clock.now()))
    return _staff_page(
        request,
        "admin/dashboard.html.j2",
        staff,
        {"current": now.current, "upcoming": now.upcoming},
    )


@router.get("/versions")
def versions(request: Request, staff: Staff) -> Response:
    staff.require(Permission.VIEW_VERSIONS)
    state = app_state(request)
    with transaction(state.read_factory) as session:
        rows = version_rows(session, today=german_date(state.clock.now()))
    return _staff_page(request, "admin/versions.html.j2", staff, {"rows": rows})


@router.get("/staff")
def staff_list(request: Request, staff: Staff) -> Response:
    staff.require(Permission.MANAGE_STAFF)
    state = app_state(request)
    with transaction(state.read_factory) as session:
        members = list_staff(session)
    return _staff_page(request, "admin/staff.html.j2", staff, {"members": members})

"""CSRF protection for the admin console.

Logged-in forms carry ``HMAC(session csrf secret, purpose)``. The login form has
no session yet: it is protected by a short-lived signed pre-session cookie whose
nonce the form repeats (double submit), so a foreign site can neither read nor
forge the pair.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from fastapi import Request, Response

from tutela.errors import PermissionDenied
from tutela.staff.models import StaffSession
from tutela.web.state import AppState

FIELD = "csrf_token"
LOGIN_COOKIE = "tutela_login"
LOGIN_LIFETIME = dt.timedelta(minutes=30)
COOKIE_PATH = "/admin"


class CsrfFailed(PermissionDenied):
    """A form arrived without a valid token (HTTP 403)."""

    code = "csrf-failed"
    title = "The form could not be verified"

    def __init__(self) -> None:
        super().__init__(
            "The form is missing its security token or the token has expired; "
            "open the page again and resubmit."
        )


def session_token(staff_session: StaffSession) -> str:
    """The token forms of this session carry."""
    return hmac.new(
        staff_session.csrf_secret.encode("utf-8"), b"tutela admin form v1", hashlib.sha256
    ).hexdigest()


def check_session_token(staff_session: StaffSession, submitted: str | None) -> None:
    if not submitted or not hmac.compare_digest(session_token(staff_session), submitted):
        raise CsrfFailed()


def issue_login_token(state: AppState) -> tuple[str, str]:
    """A fresh nonce for the login form and the signed cookie value that carries it."""
    nonce = secrets.token_urlsafe(24)
    issued = str(int(state.clock.now().timestamp()))
    signature = state.sign("login", f"{nonce}.{issued}")
    return nonce, f"{nonce}.{issued}.{signature}"


def set_login_cookie(state: AppState, response: Response, value: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        value,
        max_age=int(LOGIN_LIFETIME.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=state.settings.secure_cookies,
    )


def login_nonce(state: AppState, request: Request) -> str | None:
    """The nonce of a valid, unexpired pre-session cookie (None otherwise)."""
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    parts = cookie.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    nonce, issued, signature = parts
    if not hmac.compare_digest(state.sign("login", f"{nonce}.{issued}"), signature):
        return None
    age = state.clock.now().timestamp() - int(issued)
    if age < 0 or age > LOGIN_LIFETIME.total_seconds():
        return None
    return nonce


def check_login_token(state: AppState, request: Request, submitted: str | None) -> str:
    """The nonce when the form repeats the cookie's nonce; CsrfFailed otherwise."""
    nonce = login_nonce(state, request)
    if nonce is None or not submitted or not hmac.compare_digest(nonce, submitted):
        raise CsrfFailed()
    return nonce


def clear_login_cookie(state: AppState, response: Response) -> None:
    response.delete_cookie(
        LOGIN_COOKIE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=state.settings.secure_cookies,
    )

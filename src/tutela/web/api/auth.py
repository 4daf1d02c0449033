"""Bearer API keys with scopes for the JSON API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from tutela.clock import Clock
from tutela.errors import VerificationFailed
from tutela.staff.apikeys import Scope
from tutela.staff.models import ApiKey
from tutela.staff.service import (
    KEY_FAILED,
    key_needs_touch,
    require_scope,
    touch_api_key,
    verify_api_key,
)
from tutela.storage import transaction
from tutela.web.state import app_state

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    bearerFormat="tut_<prefix>_<secret>",
    description="An API key created with `tutela apikey create`, sent as a bearer token.",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


class MissingKey(VerificationFailed):
    """No usable ``Authorization: Bearer`` header (HTTP 401 with a challenge)."""

    code = "api-key-required"
    title = "An API key is required"


async def present_key(credentials: Credentials) -> HTTPAuthorizationCredentials:
    """A dependency that answers 401 at once when no key is sent (before any validation).

    It costs no worker thread; the key itself is checked by :func:`authorize`.
    """
    if credentials is None or not credentials.credentials:
        raise MissingKey(KEY_FAILED)
    return credentials


PresentKey = Annotated[HTTPAuthorizationCredentials, Depends(present_key)]


def authorize(
    session: Session,
    credentials: HTTPAuthorizationCredentials | None,
    scope: Scope,
    *,
    clock: Clock,
) -> tuple[ApiKey, bool]:
    """The live key of the request if it carries ``scope``, and whether to touch it.

    Runs in the caller's read transaction, so an endpoint on the hot path can
    check the key and do its own reads in one transaction and one worker thread.
    """
    if credentials is None or not credentials.credentials:
        raise MissingKey(KEY_FAILED)
    key = verify_api_key(session, key=credentials.credentials, clock=clock, touch=False)
    stale = key_needs_touch(key, clock=clock)
    require_scope(key, scope)
    return key, stale


def touch(request: Request, key: ApiKey) -> None:
    """Record the key's use (a short write; :func:`authorize` says when it is due)."""
    state = app_state(request)
    with transaction(state.session_factory) as session:
        touch_api_key(session, key_id=key.id, clock=state.clock)


def requires(scope: Scope) -> Callable[[Request, HTTPAuthorizationCredentials | None], ApiKey]:
    """A dependency that admits requests whose key is live and carries ``scope``."""

    def dependency(request: Request, credentials: Credentials) -> ApiKey:
        state = app_state(request)
        with transaction(state.read_factory) as session:
            key, stale = authorize(session, credentials, scope, clock=state.clock)
        if stale:
            touch(request, key)
        return key

    return dependency

"""Bearer API keys with scopes for the JSON API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

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


def requires(scope: Scope) -> Callable[[Request, HTTPAuthorizationCredentials | None], ApiKey]:
    """A dependency that admits requests whose key is live and carries ``scope``."""

    def dependency(request: Request, credentials: Credentials) -> ApiKey:
        if credentials is None or not credentials.credentials:
            raise MissingKey(KEY_FAILED)
        state = app_state(request)
        with transaction(state.read_factory) as session:
            key = verify_api_key(
                session, key=credentials.credentials, clock=state.clock, touch=False
            )
            stale = key_needs_touch(key, clock=state.clock)
        require_scope(key, scope)
        if stale:
            with transaction(state.session_factory) as session:
                touch_api_key(session, key_id=key.id, clock=state.clock)
        return key

    return dependency

"""What the web app keeps on ``app.state``: settings, engine, sessions, clock, templates."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

import jinja2
from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tutela.clock import Clock
from tutela.config import Settings
from tutela.web.admin.ratelimit import LoginLimiter


@dataclass
class AppState:
    """Everything a request handler needs; built once by ``create_app``."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock
    templates: jinja2.Environment
    login_limiter: LoginLimiter
    signing_key: bytes = field(repr=False)

    def sign(self, purpose: str, value: str) -> str:
        """An HMAC over ``value`` bound to ``purpose`` with this app's signing key."""
        message = f"{purpose}\x00{value}".encode()
        return hmac.new(self.signing_key, message, hashlib.sha256).hexdigest()


def signing_key_for(settings: Settings) -> bytes:
    """A key for signing short-lived cookies: derived from the master key when one is set.

    Without a configured master key every process draws its own random key; a
    login form then only works against the process that served it.
    """
    if settings.master_key is not None:
        secret = settings.master_key.get_secret_value().encode("utf-8")
        return hmac.new(secret, b"tutela web signing key v1", hashlib.sha256).digest()
    return secrets.token_bytes(32)


def app_state(request: Request) -> AppState:
    state = request.app.state.tutela
    assert isinstance(state, AppState)
    return state

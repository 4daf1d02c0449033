"""What the web app keeps on ``app.state``: settings, engine, sessions, clock, templates."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass, field

import jinja2
from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tutela.clock import Clock
from tutela.config import Settings
from tutela.crypto import KEY_FILE_NAME, MasterKey, load_or_create_master_key
from tutela.dsr.watch import STATUS_BELL, STATUS_CHANNEL
from tutela.jobs.doorbell import Listener
from tutela.web.admin.ratelimit import LoginLimiter


@dataclass
class AppState:
    """Everything a request handler needs; built once by ``create_app``."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    read_factory: sessionmaker[Session]
    clock: Clock
    templates: jinja2.Environment
    login_limiter: LoginLimiter
    signing_key: bytes = field(repr=False)
    _master: MasterKey | None = field(default=None, repr=False)
    _master_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    stopping: threading.Event = field(default_factory=threading.Event, repr=False)
    _status_listener: threading.Thread | None = field(default=None, repr=False)
    _listener_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def hear_status_changes(self) -> None:
        """On PostgreSQL, hear status changes other processes commit (started once, on the
        first status wait; SQLite relies on this process's bell and a fallback read)."""
        if self.engine.dialect.name != "postgresql":
            return
        with self._listener_lock:
            if self._status_listener is None:
                self._status_listener = Listener(
                    self.engine, self.stopping, channels={STATUS_CHANNEL: STATUS_BELL}
                ).start()

    def master_key(self) -> MasterKey:
        """The installation's master key, loaded (or created) on first use and kept."""
        with self._master_lock:
            if self._master is None:
                configured = self.settings.master_key
                self._master = load_or_create_master_key(
                    self.settings.data_dir, configured.get_secret_value() if configured else None
                )
            return self._master

    def sign(self, purpose: str, value: str) -> str:
        """An HMAC over ``value`` bound to ``purpose`` with this app's signing key."""
        message = f"{purpose}\x00{value}".encode()
        return hmac.new(self.signing_key, message, hashlib.sha256).hexdigest()


def signing_key_for(settings: Settings) -> bytes:
    """A key for signing short-lived cookies, derived from the installation's master key.

    The master key comes from the settings or from the data directory's key file
    (never created here). Without either, every process draws its own random
    key; a login form then only works against the process that served it.
    """
    configured = settings.master_key.get_secret_value() if settings.master_key else None
    if configured is None and not (settings.data_dir / KEY_FILE_NAME).exists():
        return secrets.token_bytes(32)
    master = load_or_create_master_key(settings.data_dir, configured)
    return hmac.new(master.subkey("token"), b"tutela/v1/web/signing", hashlib.sha256).digest()


def app_state(request: Request) -> AppState:
    state = request.app.state.tutela
    if not isinstance(state, AppState):  # pragma: no cover - create_app always sets it
        raise TypeError("app.state.tutela is not set; build the app with create_app()")
    return state

"""The settings of a webhook store, and its shared secret read from a file.

The stores file gives either ``secret`` (inline) or ``secret_file``: a file holding
the secret on one line (a trailing newline is ignored); a relative path is resolved
next to the stores file by :mod:`tutela.dsr.stores`. Like the master key file, a
secret file that group or others may read is refused: anyone who reads it can forge
callbacks.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tutela.errors import ConfigurationError

__all__ = ["MIN_SECRET", "WebhookConfig", "parse_config", "read_secret_file", "secret_of"]

MIN_SECRET: Final = 16
MAX_SECRET: Final = 512
_LOCAL_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})


class WebhookConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    url: str = Field(min_length=1, max_length=2000)
    secret: str | None = Field(default=None, min_length=MIN_SECRET, max_length=MAX_SECRET)
    secret_file: str | None = Field(default=None, min_length=1, max_length=4096)
    timeout: float = Field(default=10.0, gt=0, le=120)
    regulation: str = Field(default="gdpr", pattern=r"^(gdpr|ccpa)$")
    callback_url: str | None = Field(default=None, max_length=2000)
    processor: str | None = Field(default=None, max_length=200)
    recipient: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _urls_and_secret(self) -> WebhookConfig:
        _check_url(self.url, "url")
        if self.callback_url is not None:
            _check_url(self.callback_url, "callback_url")
        if (self.secret is None) == (self.secret_file is None):
            raise ValueError("give exactly one of secret and secret_file")
        return self


def _check_url(url: str, field: str) -> None:
    parts = urlsplit(url)
    local = parts.scheme == "http" and (parts.hostname or "") in _LOCAL_HOSTS
    if not (parts.scheme == "https" or local) or not parts.hostname:
        raise ValueError(
            f"{field} must be an https:// address (http:// only for localhost), got {url[:80]!r}"
        )


def secret_of(parsed: WebhookConfig) -> bytes:
    """The store's secret: inline, or read from ``secret_file``."""
    if parsed.secret is not None:
        return parsed.secret.encode("utf-8")
    return read_secret_file(Path(parsed.secret_file or ""), store=parsed.name)


def _refuse(store: str, message: str) -> ConfigurationError:
    return ConfigurationError(f"The webhook store {store!r}: {message}", field="secret_file")


def read_secret_file(path: Path, *, store: str) -> bytes:
    """The secret held in ``path``; :class:`ConfigurationError` saying what to fix if not usable."""
    path = path.expanduser()
    if not path.is_file():
        raise _refuse(
            store,
            f"secret_file {path} does not exist or is not a file; create it holding the "
            "secret agreed with the processor (chmod 600), or correct the path.",
        )
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if os.name == "posix" and mode & 0o077:
            raise _refuse(
                store,
                f"secret_file {path} is readable by other users (mode {mode:o}); restrict it "
                f"with: chmod 600 {path}",
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise _refuse(
            store,
            f"secret_file {path} cannot be read ({type(error).__name__}); give the Tutela user "
            "read access to it and store the secret as UTF-8 text.",
        ) from None
    secret = text.strip("\r\n")
    if not secret.strip():
        raise _refuse(
            store, f"secret_file {path} is empty; write the secret agreed with the processor."
        )
    if not MIN_SECRET <= len(secret) <= MAX_SECRET:
        raise _refuse(
            store,
            f"the secret in secret_file {path} has {len(secret)} characters; use "
            f"{MIN_SECRET} to {MAX_SECRET} (for example: openssl rand -hex 32).",
        )
    return secret.encode("utf-8")


def parse_config(given: Mapping[str, Any]) -> WebhookConfig:
    """The settings checked; :class:`ConfigurationError` naming every bad field."""
    try:
        return WebhookConfig.model_validate(dict(given))
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc']) or 'settings'}: {item['msg']}"
            for item in error.errors()
        )
        raise ConfigurationError(
            f"The webhook connector settings are not valid ({problems}); give name, an https "
            "url and a secret (or a secret_file holding one) of at least 16 characters.",
            field="connectors",
        ) from None

"""API key format and scopes.

A key reads ``tut_<prefix>_<secret>``: the prefix is public (it names the key in
lists and logs), the secret is shown once and only its SHA-256 digest is kept.
Both parts use letters and digits only, so a double click selects the whole key.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass
from enum import StrEnum

from tutela.errors import InvalidInput

KEY_MARKER = "tut"
PREFIX_LENGTH = 12
SECRET_LENGTH = 40
PREFIX_ALPHABET = string.ascii_lowercase + string.digits
SECRET_ALPHABET = string.ascii_letters + string.digits


class Scope(StrEnum):
    POLICY_READ = "policy:read"
    POLICY_WRITE = "policy:write"
    AUDIT_READ = "audit:read"
    STAFF_ADMIN = "staff:admin"
    CONSENT_READ = "consent:read"
    CONSENT_WRITE = "consent:write"
    CONSENT_EXPORT = "consent:export"
    REQUESTS_READ = "requests:read"
    REQUESTS_WRITE = "requests:write"


@dataclass(frozen=True)
class KeyParts:
    prefix: str
    secret: str

    def __str__(self) -> str:
        return f"{KEY_MARKER}_{self.prefix}_{self.secret}"


def generate_key() -> KeyParts:
    prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    secret = "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LENGTH))
    return KeyParts(prefix=prefix, secret=secret)


def parse_key(key: str) -> KeyParts | None:
    """The parts of ``key``, or None when it is not shaped like a Tutela key."""
    pieces = key.strip().split("_")
    if len(pieces) != 3 or pieces[0] != KEY_MARKER:
        return None
    prefix, secret = pieces[1], pieces[2]
    if len(prefix) != PREFIX_LENGTH or any(c not in PREFIX_ALPHABET for c in prefix):
        return None
    if len(secret) != SECRET_LENGTH or any(c not in SECRET_ALPHABET for c in secret):
        return None
    return KeyParts(prefix=prefix, secret=secret)


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_scopes(values: list[str] | tuple[str, ...] | list[Scope]) -> list[Scope]:
    """Known scopes in a stable order; InvalidInput names an unknown one and the choices."""
    found: set[Scope] = set()
    for value in values:
        try:
            found.add(Scope(str(value).strip()))
        except ValueError:
            allowed = ", ".join(s.value for s in Scope)
            raise InvalidInput(
                f"scopes: {value!r} is not a scope; use one or more of {allowed}.",
                field="scopes",
            ) from None
    if not found:
        raise InvalidInput(
            "scopes: a key needs at least one scope, for example policy:read.", field="scopes"
        )
    return [s for s in Scope if s in found]

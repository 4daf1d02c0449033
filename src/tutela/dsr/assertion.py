"""Signed assertions: the operator's application vouches for a customer who just signed in.

V-1 (1): a logged-in customer with a *fresh* re-authentication may file a
request without a mail round trip. The application signs what it knows with a
secret shared with Tutela (``TUTELA_APP_ASSERTION_KEY``)::

    v1.<claims>.<signature>
    claims    = base64url(JSON object), without padding
    signature = base64url(HMAC-SHA256(key, b"tutela/v1/dsr-assertion\x00" + b"v1." + claims))

Claims: ``typ`` (always ``"dsr-request"``: what the token is for, signed with
the rest), ``jti`` (a random value of 16 to 128 printable ASCII characters, new
for every request, such as a UUID), ``kind`` (identity kind, such as ``email``
or ``customer_id``), ``sub`` (its value), ``auth_time`` (Unix seconds of the
customer's last password or second-factor check) and ``iat`` (Unix seconds when
signed). Tutela accepts an assertion only if the MAC matches (compared in
constant time), it was signed at most 10 minutes ago and the sign-in it reports
is at most 10 minutes old. Each ``jti`` is accepted once
(:mod:`tutela.dsr.assertion_models` records it until the assertion expires).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any, Final

from tutela.errors import ConfigurationError, VerificationFailed

__all__ = [
    "ASSERTION_TYPE",
    "FRESHNESS",
    "Assertion",
    "InvalidAssertion",
    "ReplayedAssertion",
    "sign_assertion",
    "verify_assertion",
]

FRESHNESS: Final = dt.timedelta(minutes=10)
CLOCK_SKEW: Final = dt.timedelta(seconds=60)
VERSION: Final = "v1"
ASSERTION_TYPE: Final = "dsr-request"
MAX_LENGTH: Final = 4096
JTI_LENGTHS: Final = (16, 128)
_DOMAIN: Final = b"tutela/v1/dsr-assertion\x00"
_KEY_HINT: Final = "the key configured as TUTELA_APP_ASSERTION_KEY"
_MAX_SECONDS: Final = 253_402_300_800  # 10000-01-01


class InvalidAssertion(VerificationFailed):
    """The in-app assertion was not accepted; the detail says why and what to do."""

    code = "invalid-assertion"
    title = "The sign-in assertion was not accepted"


class ReplayedAssertion(InvalidAssertion):
    """The assertion's ``jti`` was used for an earlier request."""

    status = 409
    code = "assertion-replayed"
    title = "The sign-in assertion was already used"

    def __init__(self) -> None:
        super().__init__(
            "assertion: this assertion was already used; the app must sign a new one per "
            "request (with a new random 'jti').",
            field="assertion",
        )


@dataclass(frozen=True, slots=True)
class Assertion:
    """A verified assertion: who the customer is, when they signed in, and its one-time id."""

    kind: str
    value: str
    auth_time: dt.datetime
    issued_at: dt.datetime
    jti: str

    @property
    def expires_at(self) -> dt.datetime:
        """The last moment the assertion is accepted (its ``jti`` may be forgotten after it)."""
        return self.issued_at + FRESHNESS


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: str, body: str) -> bytes:
    return hmac.new(key.encode("utf-8"), _DOMAIN + body.encode("ascii"), hashlib.sha256).digest()


def _check_key(key: str | None) -> str:
    if not key:
        raise ConfigurationError(
            "In-app requests need a shared signing key; set TUTELA_APP_ASSERTION_KEY (at least "
            "32 characters) in Tutela and in the application that signs the assertions.",
            field="app_assertion_key",
        )
    return key


def sign_assertion(
    key: str,
    *,
    kind: str,
    value: str,
    auth_time: dt.datetime,
    issued_at: dt.datetime,
    jti: str | None = None,
) -> str:
    """An assertion as the operator's application would sign it (for Python applications).

    Every call makes a new random ``jti`` unless one is given; sign one per request.
    """
    for name, moment in (("auth_time", auth_time), ("issued_at", issued_at)):
        if moment.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware.")
    claims = {
        "typ": ASSERTION_TYPE,
        "jti": secrets.token_urlsafe(24) if jti is None else jti,
        "kind": kind,
        "sub": value,
        "auth_time": int(auth_time.timestamp()),
        "iat": int(issued_at.timestamp()),
    }
    body = f"{VERSION}.{_b64(json.dumps(claims, separators=(',', ':')).encode('utf-8'))}"
    return f"{body}.{_b64(_mac(_check_key(key), body))}"


def _refuse(detail: str) -> InvalidAssertion:
    return InvalidAssertion(f"assertion: {detail}", field="assertion")


def _claims(body: str) -> dict[str, Any]:
    try:
        data = json.loads(_unb64(body.split(".", 1)[1]).decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError, IndexError):
        data = None
    if not isinstance(data, dict):
        raise _refuse("the claims are not base64url-encoded JSON; sign a JSON object.")
    return data


def _moment(claims: dict[str, Any], name: str) -> dt.datetime:
    value = claims.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < _MAX_SECONDS:
        raise _refuse(f"the claim {name!r} must be Unix seconds as a whole number.")
    return dt.datetime.fromtimestamp(value, dt.UTC)


def _jti(claims: dict[str, Any]) -> str:
    if claims.get("typ") != ASSERTION_TYPE:
        raise _refuse(
            f"the claim 'typ' must be {ASSERTION_TYPE!r}; add it to the signed claims of "
            "request assertions."
        )
    value = claims.get("jti")
    low, high = JTI_LENGTHS
    if (
        not isinstance(value, str)
        or not low <= len(value) <= high
        or not all("!" <= char <= "~" for char in value)
    ):
        raise _refuse(
            f"the claim 'jti' must be a new random value of {low} to {high} printable ASCII "
            "characters without spaces (such as a UUID), different for every request."
        )
    return value


def verify_assertion(token: str, *, key: str | None, now: dt.datetime) -> Assertion:
    """The customer a fresh, correctly signed assertion names; :class:`InvalidAssertion` if not.

    This checks the token alone; that its ``jti`` was not used before is checked
    by :func:`tutela.dsr.assertion_models.spend_assertion` when the request is stored.
    """
    secret = _check_key(key)
    if not token or len(token) > MAX_LENGTH or not token.isascii():
        raise _refuse(f"expected text of at most {MAX_LENGTH} ASCII characters.")
    body, dot, mac = token.rpartition(".")
    if not dot or not body.startswith(f"{VERSION}.") or body.count(".") != 1:
        raise _refuse("expected three parts 'v1.<claims>.<signature>' separated by dots.")
    expected = _b64(_mac(secret, body)).encode("ascii")
    if not hmac.compare_digest(expected, mac.encode("ascii")):
        raise _refuse(f"the signature does not match; sign the assertion with {_KEY_HINT}.")
    claims = _claims(body)
    jti = _jti(claims)
    kind, value = claims.get("kind"), claims.get("sub")
    if not isinstance(kind, str) or not isinstance(value, str) or not kind or not value:
        raise _refuse("the claims 'kind' and 'sub' must name the customer's identity as text.")
    auth_time, issued_at = _moment(claims, "auth_time"), _moment(claims, "iat")
    if issued_at > now + CLOCK_SKEW or auth_time > now + CLOCK_SKEW:
        raise _refuse("it is dated in the future; check the application server's clock.")
    if now - issued_at > FRESHNESS:
        raise _refuse("it was signed more than 10 minutes ago; sign a new one for each request.")
    if now - auth_time > FRESHNESS:
        minutes = int((now - auth_time).total_seconds() // 60)
        raise _refuse(
            f"the customer signed in {minutes} minutes ago; ask them to sign in again (at "
            "most 10 minutes before the request) and sign a new assertion."
        )
    return Assertion(kind=kind, value=value, auth_time=auth_time, issued_at=issued_at, jti=jti)

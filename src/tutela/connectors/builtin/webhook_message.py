"""What travels between Tutela and a processor: signed requests, statuses and callbacks.

Requests follow the shape of OpenDSR v2 (``subject_request_id``,
``subject_request_type``, ``subject_identities`` …). Both directions are signed
with the store's shared secret (HMAC-SHA256) in one header::

    X-Tutela-Signature: t=1767225600,v1=<hex of HMAC(secret, "1767225600." + body)>

The timestamp keeps an old message from being replayed: :func:`verify_callback`
refuses one older (or newer) than ``tolerance`` seconds.

The ``subject_request_id`` is derived from the Tutela request reference, so every
retry of one request sends the same id. The request workflow names the request
with :func:`on_behalf_of` while it calls the connectors.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

from tutela.connectors.identities import IdentitySet
from tutela.connectors.report import Operation
from tutela.errors import TutelaError

__all__ = [
    "API_VERSION",
    "REQUEST_ID_HEADER",
    "SIGNATURE_HEADER",
    "STATUSES",
    "BoundRequest",
    "CallbackRejected",
    "CallbackStatus",
    "bound_request",
    "on_behalf_of",
    "parse_status",
    "request_body",
    "sign",
    "subject_request_id",
    "verify_callback",
]

API_VERSION: Final = "2.0"
SIGNATURE_HEADER: Final = "X-Tutela-Signature"
REQUEST_ID_HEADER: Final = "X-Tutela-Request-Id"
STATUSES: Final = frozenset({"pending", "in_progress", "completed", "cancelled"})
REQUEST_TYPES: Final = {
    Operation.ACCESS: "access",
    Operation.ERASE: "erasure",
    Operation.RECTIFY: "rectification",
    Operation.RESTRICT: "restriction",
}
IDENTITY_TYPES: Final = {"email": "email", "customer_id": "controller_customer_id"}
_NAMESPACE: Final = b"tutela/v1/opendsr/subject_request_id\x00"
_MAX_ID: Final = 64


class CallbackRejected(TutelaError):
    """A callback whose signature, timestamp or body does not check out."""

    status = 401
    code = "callback-rejected"
    title = "The callback was not accepted"


@dataclass(frozen=True, slots=True)
class BoundRequest:
    """The Tutela request the connectors currently work for."""

    reference: str
    submitted: dt.datetime | None = None


_bound: contextvars.ContextVar[BoundRequest | None] = contextvars.ContextVar(
    "tutela_webhook_request", default=None
)


@contextmanager
def on_behalf_of(reference: str, *, submitted: dt.datetime | None = None) -> Iterator[None]:
    """Name the request webhook connectors work for inside the ``with`` block.

    ``submitted`` is when the person asked (``submitted_time``); without it the
    time of sending is used.
    """
    token = _bound.set(BoundRequest(reference=reference.strip().upper(), submitted=submitted))
    try:
        yield
    finally:
        _bound.reset(token)


def bound_request() -> BoundRequest | None:
    """The request named by the innermost :func:`on_behalf_of`, if any."""
    return _bound.get()


def _as_v4(digest: bytes) -> str:
    return str(uuid.UUID(bytes=digest[:16], version=4))


def subject_request_id(reference: str) -> str:
    """The stable OpenDSR id of a Tutela request: a lower-case version-4 UUID form."""
    key = reference.strip().upper().encode("utf-8")
    return _as_v4(hashlib.sha256(_NAMESPACE + key).digest())


def fallback_request_id(secret: bytes, operation: Operation, identities: IdentitySet) -> str:
    """The id used when no request is named: keyed by the secret, stable for one person."""
    message = operation.value.encode("ascii") + b"\x00" + identities.anchor()
    return _as_v4(hmac.new(secret, message, hashlib.sha256).digest())


def _identities(identities: IdentitySet) -> list[dict[str, str]]:
    return [
        {
            "identity_type": IDENTITY_TYPES.get(kind, kind),
            "identity_value": value,
            "identity_format": "raw",
        }
        for kind, value in identities.pairs()
    ]


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def request_body(
    *,
    request_id: str,
    operation: Operation,
    identities: IdentitySet,
    regulation: str,
    submitted: dt.datetime,
    callback_urls: tuple[str, ...],
    extension: dict[str, Any] | None = None,
) -> bytes:
    """The JSON body of ``POST {url}`` (compact, keys sorted)."""
    body: dict[str, Any] = {
        "api_version": API_VERSION,
        "regulation": regulation,
        "subject_request_id": request_id,
        "subject_request_type": REQUEST_TYPES[operation],
        "submitted_time": _rfc3339(submitted),
        "subject_identities": _identities(identities),
        "status_callback_urls": list(callback_urls),
    }
    if extension:
        body["extensions"] = {"tutela": extension}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def _mac(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(
        secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256
    ).hexdigest()


def sign(body: bytes, *, secret: bytes, now: dt.datetime) -> str:
    """The ``X-Tutela-Signature`` value for ``body`` sent at ``now``."""
    timestamp = int(now.timestamp())
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


@dataclass(frozen=True, slots=True)
class CallbackStatus:
    """Where a processor says a request stands (a status answer or a callback)."""

    subject_request_id: str
    request_status: str
    expected_completion_time: dt.datetime | None = None
    results_count: int | None = None


def _header_parts(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    macs: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1" and value:
            macs.append(value.strip().lower())
    if timestamp is None or not macs:
        raise CallbackRejected(
            f"{SIGNATURE_HEADER}: expected 't=<unix seconds>,v1=<hex HMAC-SHA256>'; sign the "
            "callback with the store's shared secret."
        )
    return timestamp, macs


def _time(value: object, name: str) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise CallbackRejected(f"{name}: give an RFC 3339 time such as 2026-03-02T09:00:00Z.")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CallbackRejected(
            f"{name}: {value[:40]!r} is not an RFC 3339 time (for example 2026-03-02T09:00:00Z)."
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def parse_status(data: object) -> CallbackStatus:
    """A status or callback body as :class:`CallbackStatus`; :class:`CallbackRejected` if not."""
    if not isinstance(data, dict):
        raise CallbackRejected("The body must be a JSON object with subject_request_id.")
    request_id = data.get("subject_request_id")
    if not isinstance(request_id, str) or not 0 < len(request_id) <= _MAX_ID:
        raise CallbackRejected("subject_request_id: give the id Tutela sent with the request.")
    status = data.get("request_status")
    if status not in STATUSES:
        raise CallbackRejected(f"request_status: use one of {', '.join(sorted(STATUSES))}.")
    count = data.get("results_count")
    return CallbackStatus(
        subject_request_id=request_id.strip().lower(),
        request_status=str(status),
        expected_completion_time=_time(
            data.get("expected_completion_time"), "expected_completion_time"
        ),
        results_count=count if isinstance(count, int) and not isinstance(count, bool) else None,
    )


def verify_callback(
    body: bytes, header: str, *, secret: bytes, now: dt.datetime, tolerance: int = 300
) -> CallbackStatus:
    """Check a callback's signature (constant time) and age, then parse it.

    Raises :class:`CallbackRejected` when the header is malformed, the signature is
    wrong, the timestamp is more than ``tolerance`` seconds from ``now`` (a replay)
    or the body is not a status object.
    """
    timestamp, macs = _header_parts(header or "")
    expected = _mac(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, given) for given in macs):
        raise CallbackRejected(
            f"{SIGNATURE_HEADER}: the signature does not match the body; sign "
            "'<t>.<raw body>' with the store's shared secret."
        )
    if abs(now.timestamp() - timestamp) > tolerance:
        raise CallbackRejected(
            f"{SIGNATURE_HEADER}: the timestamp is more than {tolerance} seconds from now; "
            "send a fresh callback (old ones are refused as replays)."
        )
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise CallbackRejected("The body is not JSON; send the status object.") from None
    return parse_status(data)

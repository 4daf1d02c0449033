"""The personal data a request carries, sealed under a key of the request's own.

A request may come from someone Tutela does not know, so its data cannot be
sealed under a subject's key, and the request path must not look the person up
(V-6). Each request therefore gets a random data key, stored wrapped by the
master key and bound to ``dsr:<reference>``. It seals the normalised identity
value and the optional details (free text, a contact the person gave); deleting
the wrapped key (:func:`shred`) makes both unreadable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from tutela.crypto import MasterKey, decrypt, encrypt, new_data_key, unwrap_key, wrap_key
from tutela.dsr.models import DsrRequest

__all__ = ["Details", "open_details", "open_identity", "seal", "shred"]

_IDENTITY: Final = b"tutela/v1/dsr\x00identity"
_DETAILS: Final = b"tutela/v1/dsr\x00details"
MAX_TEXT: Final = 10_000
MAX_CONTACT: Final = 1_000


@dataclass(frozen=True, slots=True)
class Details:
    """What the person wrote: free text and how they asked to be reached (never used to send).

    ``changes`` is what a rectification asks for: a field reference (``customers.phone``
    or a data category such as ``user.contact.phone_number``) → the new value.
    """

    text: str | None = None
    contact: str | None = None
    changes: Mapping[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text, "contact": self.contact}
        if self.changes:
            data["changes"] = dict(self.changes)
        return data


def _key_id(reference: str) -> str:
    return f"dsr:{reference}"


def seal(request: DsrRequest, *, master: MasterKey, identity: str, details: Details | None) -> None:
    """Give ``request`` its key and store ``identity`` and ``details`` sealed under it."""
    key = new_data_key()
    request.wrapped_key = wrap_key(master, key, key_id=_key_id(request.reference))
    request.identity_sealed = encrypt(key, identity.encode("utf-8"), context=_IDENTITY)
    if details is not None and (details.text or details.contact or details.changes):
        raw = json.dumps(details.to_json(), ensure_ascii=False, separators=(",", ":"))
        request.details_sealed = encrypt(key, raw.encode("utf-8"), context=_DETAILS)


def _key(request: DsrRequest, master: MasterKey) -> bytes | None:
    if request.wrapped_key is None:
        return None
    return unwrap_key(master, request.wrapped_key, key_id=_key_id(request.reference))


def open_identity(request: DsrRequest, *, master: MasterKey) -> str | None:
    """The normalised identity value the request named; ``None`` once shredded."""
    key = _key(request, master)
    if key is None or request.identity_sealed is None:
        return None
    return decrypt(key, request.identity_sealed, context=_IDENTITY).decode("utf-8")


def open_details(request: DsrRequest, *, master: MasterKey) -> Details | None:
    """The free text and contact of the request; ``None`` if there were none or they are gone."""
    key = _key(request, master)
    if key is None or request.details_sealed is None:
        return None
    data = json.loads(decrypt(key, request.details_sealed, context=_DETAILS).decode("utf-8"))
    changes = data.get("changes")
    return Details(
        text=data.get("text"),
        contact=data.get("contact"),
        changes={str(k): str(v) for k, v in changes.items()} if changes else None,
    )


def shred(request: DsrRequest) -> None:
    """Destroy the request's key and sealed values (the bookkeeping stays)."""
    request.wrapped_key = None
    request.identity_sealed = None
    request.details_sealed = None

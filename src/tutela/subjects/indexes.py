"""Blind indexes of identity values: a keyed HMAC, so lookups never need plaintext.

Both functions take values already passed through :func:`tutela.subjects.normalize`;
they give exactly what :func:`tutela.crypto.blind_index` gives for such a value.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from tutela.crypto import MasterKey, blind_index
from tutela.subjects.identity import IdentityKind, identity_kind

__all__ = ["index_many", "index_of"]


def index_of(master: MasterKey, kind: IdentityKind | str, normalized_value: str) -> str:
    """The blind index (64 hex characters) of one normalised value."""
    return blind_index(master, identity_kind(kind).value, normalized_value)


def index_many(
    master: MasterKey, kind: IdentityKind | str, normalized_values: Iterable[str]
) -> list[str]:
    """Blind indexes of many normalised values, in order (the bulk-check fast path).

    One HMAC object keyed once is copied per value, so a value costs about a
    microsecond; empty values are refused as in :func:`index_of`.
    """
    member = identity_kind(kind)
    keyed = hmac.new(master.subkey("index"), member.value.encode("ascii") + b"\x00", hashlib.sha256)
    result: list[str] = []
    append = result.append
    for value in normalized_values:
        if not value:
            raise ValueError(f"The {member.value} value is empty; nothing to index.")
        mac = keyed.copy()
        mac.update(value.encode("utf-8"))
        append(mac.hexdigest())
    return result

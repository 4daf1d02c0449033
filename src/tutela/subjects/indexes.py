"""Blind indexes of identity values: a keyed HMAC, so lookups never need plaintext.

Both functions take values already passed through :func:`tutela.subjects.normalize`;
they give exactly what :func:`tutela.crypto.blind_index` gives for such a value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, Final

from tutela.crypto import MasterKey, blind_index
from tutela.subjects.identity import IdentityKind, identity_kind

__all__ = ["index_many", "index_of"]

_BLOCK: Final = 64  # SHA-256 block size in bytes
_INNER_PAD: Final = int.from_bytes(b"\x36" * _BLOCK)
_OUTER_PAD: Final = int.from_bytes(b"\x5c" * _BLOCK)


def index_of(master: MasterKey, kind: IdentityKind | str, normalized_value: str) -> str:
    """The blind index (64 hex characters) of one normalised value."""
    return blind_index(master, identity_kind(kind).value, normalized_value)


def _pads(key: bytes, prefix: bytes) -> tuple[Any, Any]:
    """HMAC-SHA256 split into its two keyed hashes (RFC 2104), the inner one fed ``prefix``.

    Copying two plain SHA-256 states per value costs less than copying an HMAC
    object through its Python wrapper; the result is the same MAC.
    """
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    block = int.from_bytes(key.ljust(_BLOCK, b"\x00"))
    inner = hashlib.sha256((block ^ _INNER_PAD).to_bytes(_BLOCK))
    inner.update(prefix)
    outer = hashlib.sha256((block ^ _OUTER_PAD).to_bytes(_BLOCK))
    return inner, outer


def index_many(
    master: MasterKey, kind: IdentityKind | str, normalized_values: Iterable[str]
) -> list[str]:
    """Blind indexes of many normalised values, in order (the bulk-check fast path).

    The keyed hash states are prepared once and copied per value; empty values
    are refused as in :func:`index_of`.
    """
    member = identity_kind(kind)
    inner, outer = _pads(master.subkey("index"), member.value.encode("ascii") + b"\x00")
    start_inner, start_outer = inner.copy, outer.copy
    result: list[str] = []
    append = result.append
    for value in normalized_values:
        if not value:
            raise ValueError(f"The {member.value} value is empty; nothing to index.")
        mac = start_inner()
        mac.update(value.encode("utf-8"))
        final = start_outer()
        final.update(mac.digest())
        append(final.hexdigest())
    return result

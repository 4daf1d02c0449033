"""The campaign key: addresses read from connected stores are sealed under it.

People found through a connected store are not subjects of Tutela, so there is
no per-person key to seal their address under. Each campaign gets a random data
key instead, stored only wrapped by the master key (bound to ``notices:<version>``).
An address is sealed with the version and its blind index as associated data, so
a sealed value moved to another row does not open. When the campaign ends the
wrapped key is deleted, and with it every address that might be left.
"""

from __future__ import annotations

from tutela.crypto import MasterKey, decrypt, encrypt, new_data_key, unwrap_key, wrap_key

__all__ = ["new_campaign_key", "open_address", "seal_address", "unwrapped_key"]

_CONTEXT = b"tutela/v1/notice-address\x00"


def _key_id(version: int) -> str:
    return f"notices:{version}"


def _context(version: int, recipient_key: str) -> bytes:
    return _CONTEXT + f"{version}:{recipient_key}".encode("ascii")


def new_campaign_key(master: MasterKey, *, version: int) -> tuple[bytes, bytes]:
    """A fresh data key for the campaign of ``version``: ``(key, wrapped key)``."""
    key = new_data_key()
    return key, wrap_key(master, key, key_id=_key_id(version))


def unwrapped_key(master: MasterKey, wrapped: bytes, *, version: int) -> bytes:
    """The campaign's data key (raises :class:`tutela.crypto.DecryptionError` if altered)."""
    return unwrap_key(master, wrapped, key_id=_key_id(version))


def seal_address(key: bytes, address: str, *, version: int, recipient_key: str) -> bytes:
    """``address`` encrypted under the campaign key, bound to its delivery."""
    return encrypt(key, address.encode("utf-8"), context=_context(version, recipient_key))


def open_address(key: bytes, blob: bytes, *, version: int, recipient_key: str) -> str:
    """The address sealed by :func:`seal_address` for the same delivery."""
    return decrypt(key, blob, context=_context(version, recipient_key)).decode("utf-8")

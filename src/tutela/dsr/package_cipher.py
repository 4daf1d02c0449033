"""Packages at rest: AES-256-GCM in chunks under a fresh key per package.

File format (version 1)::

    b"TPKG" || 0x01 || nonce prefix (8 bytes)
    then chunks: length (4 bytes, big-endian; top bit set on the last chunk) || ciphertext

Each chunk of at most 64 KiB is sealed with the nonce ``prefix || counter`` and the
header, counter and "last" flag as associated data, so chunks cannot be
reordered, dropped or cut off unnoticed. The package key itself is sealed under
the master key's ``package`` sub-key, bound to the file name.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tutela.crypto import DecryptionError, MasterKey, decrypt, encrypt, new_data_key

__all__ = ["CHUNK", "SealedWriter", "open_key", "read_sealed", "seal_key"]

CHUNK: Final = 64 * 1024
_MAGIC: Final = b"TPKG\x01"
_PREFIX: Final = 8
_LAST: Final = 0x8000_0000
_TAMPERED: Final = (
    "The package file does not authenticate: it was altered, cut off or belongs to another "
    "key; create a new package for the request."
)


def _key_context(file_name: str) -> bytes:
    return b"tutela/v1/package-key\x00" + file_name.encode("utf-8")


def seal_key(master: MasterKey, key: bytes, *, file_name: str) -> bytes:
    """The package key sealed under the master's ``package`` sub-key, bound to ``file_name``."""
    return encrypt(master.subkey("package"), key, context=_key_context(file_name))


def open_key(master: MasterKey, sealed: bytes, *, file_name: str) -> bytes:
    return decrypt(master.subkey("package"), sealed, context=_key_context(file_name))


def _aad(header: bytes, counter: int, last: bool) -> bytes:
    return header + struct.pack(">IB", counter, 1 if last else 0)


class SealedWriter:
    """A write-only binary stream that encrypts into ``target`` chunk by chunk."""

    def __init__(self, target: BinaryIO, key: bytes | None = None) -> None:
        self.key = key if key is not None else new_data_key()
        self._aead = AESGCM(self.key)
        self._target = target
        self._header = _MAGIC + secrets.token_bytes(_PREFIX)
        self._buffer = bytearray()
        self._counter = 0
        self._closed = False
        self.plain_size = 0
        target.write(self._header)

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._closed:
            raise ValueError("The package stream is closed.")
        self._buffer += data
        self.plain_size += len(data)
        while len(self._buffer) > CHUNK:
            self._emit(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def flush(self) -> None:
        self._target.flush()

    def _emit(self, plain: bytes, *, last: bool) -> None:
        nonce = self._header[len(_MAGIC) :] + struct.pack(">I", self._counter)
        sealed = self._aead.encrypt(nonce, plain, _aad(self._header, self._counter, last))
        self._target.write(struct.pack(">I", len(sealed) | (_LAST if last else 0)) + sealed)
        self._counter += 1

    def close(self) -> None:
        """Write the last chunk (the stream is complete only after this)."""
        if self._closed:
            return
        self._emit(bytes(self._buffer), last=True)
        self._buffer.clear()
        self._closed = True
        self._target.flush()


def read_sealed(path: Path, key: bytes) -> Iterator[bytes]:
    """The decrypted bytes of a sealed file, chunk by chunk; raises on any tampering."""
    aead = AESGCM(key)
    with path.open("rb") as source:
        header = source.read(len(_MAGIC) + _PREFIX)
        if len(header) != len(_MAGIC) + _PREFIX or not header.startswith(_MAGIC):
            raise DecryptionError(_TAMPERED)
        counter = 0
        while True:
            head = source.read(4)
            if len(head) != 4:
                raise DecryptionError(_TAMPERED)
            (word,) = struct.unpack(">I", head)
            last = bool(word & _LAST)
            sealed = source.read(word & ~_LAST)
            nonce = header[len(_MAGIC) :] + struct.pack(">I", counter)
            try:
                plain = aead.decrypt(nonce, sealed, _aad(header, counter, last))
            except InvalidTag:
                raise DecryptionError(_TAMPERED) from None
            if plain:
                yield plain
            if last:
                if source.read(1):
                    raise DecryptionError(_TAMPERED)
                return
            counter += 1

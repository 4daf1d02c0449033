"""Field encryption, key wrapping, blind indexes and signed tokens.

Key hierarchy:

* One **master key** (32 bytes) per installation, from ``TUTELA_MASTER_KEY`` or the
  file ``master.key`` in the data directory. It is never used directly: HKDF-SHA256
  derives one sub-key per purpose (``wrap``, ``index``, ``token``), so a key serves
  exactly one use.
* **Data keys** (32 random bytes, one per subject) encrypt field values. They are
  stored only *wrapped*: AES-256-GCM under the ``wrap`` sub-key with the key id as
  associated data, so a wrapped key moved to another id no longer unwraps.
  Destroying a data key makes every value it encrypted unreadable (crypto-shredding).

Ciphertext format (version 1): ``0x01 || nonce (12 bytes) || ciphertext || tag (16 bytes)``.
The version byte and the caller's ``context`` are authenticated as associated data.

Tokens (version 1): ``1.<subject, base64url>.<expiry, unix seconds>.<HMAC-SHA256, base64url>``,
the MAC covering the purpose and the exact text of the first three fields.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
import stat
import unicodedata
from pathlib import Path
from typing import Final, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tutela.errors import ConfigurationError, IntegrityError, VerificationFailed

__all__ = [
    "KEY_FILE_NAME",
    "DecryptionError",
    "MasterKey",
    "blind_index",
    "decrypt",
    "encrypt",
    "load_or_create_master_key",
    "new_data_key",
    "normalize_identity",
    "random_token",
    "sign_token",
    "token_digest",
    "unwrap_key",
    "verify_token",
    "wrap_key",
]

KEY_SIZE: Final = 32
KEY_FILE_NAME: Final = "master.key"
_FORMAT_VERSION: Final = 1
_NONCE_SIZE: Final = 12
_TAG_SIZE: Final = 16
_SIGNED_FORMAT: Final = "1"
_TOKEN_MAX_LENGTH: Final = 4096
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,63}$")
_GENERATE_HINT: Final = (
    "generate one with: python -c "
    '"import base64, os; print(base64.b64encode(os.urandom(32)).decode())"'
)
_REJECTION_MESSAGE: Final = "The link or code is not valid or has expired; request a new one."

SubkeyPurpose = Literal["wrap", "index", "token", "fingerprint", "sign_up", "erasure", "package"]


class DecryptionError(IntegrityError):
    """A ciphertext did not authenticate: wrong key, wrong context or altered data."""

    code = "decryption-failed"
    title = "Encrypted data could not be read"


# ---------------------------------------------------------------- master key


class MasterKey:
    """The installation's root secret; hands out one derived sub-key per purpose."""

    __slots__ = ("_key", "_subkeys")

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise ValueError(f"A master key is {KEY_SIZE} bytes, got {len(key)}.")
        self._key = bytes(key)
        self._subkeys: dict[str, bytes] = {}

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(secrets.token_bytes(KEY_SIZE))

    @classmethod
    def from_b64(cls, text: str) -> MasterKey:
        """Parse standard or URL-safe base64 of exactly 32 bytes (ValueError otherwise)."""
        cleaned = "".join(text.split()).translate(str.maketrans("-_", "+/"))
        try:
            raw = base64.b64decode(cleaned, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("The master key is not valid base64.") from exc
        if len(raw) != KEY_SIZE:
            raise ValueError(f"The master key must decode to {KEY_SIZE} bytes, got {len(raw)}.")
        return cls(raw)

    def to_b64(self) -> str:
        return base64.b64encode(self._key).decode("ascii")

    def subkey(self, purpose: SubkeyPurpose) -> bytes:
        """The HKDF-SHA256 sub-key for one purpose (cached per instance)."""
        cached = self._subkeys.get(purpose)
        if cached is None:
            hkdf = HKDF(
                algorithm=hashes.SHA256(),
                length=KEY_SIZE,
                salt=None,
                info=b"tutela/v1/master/" + purpose.encode("ascii"),
            )
            cached = self._subkeys[purpose] = hkdf.derive(self._key)
        return cached

    @property
    def fingerprint(self) -> str:
        """A short, non-secret id of this key, to check two installations share it."""
        return self.subkey("fingerprint")[:8].hex()

    def __repr__(self) -> str:
        return f"MasterKey(fingerprint={self.fingerprint})"


def load_or_create_master_key(data_dir: Path, configured: str | None) -> MasterKey:
    """The configured master key, else the one in ``data_dir/master.key`` (created on first run).

    An existing key file is never overwritten; it must not be readable by group or others.
    """
    if configured is not None:
        try:
            return MasterKey.from_b64(configured)
        except ValueError as exc:
            raise ConfigurationError(
                f"TUTELA_MASTER_KEY is malformed ({exc}); it must be {KEY_SIZE} random bytes "
                f"encoded as base64 — {_GENERATE_HINT}.",
                field="master_key",
            ) from exc
    path = data_dir / KEY_FILE_NAME
    if path.exists():
        return _read_key_file(path)
    return _create_key_file(data_dir, path)


def _read_key_file(path: Path) -> MasterKey:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if os.name == "posix" and mode & 0o077:
            raise ConfigurationError(
                f"The master key file {path} is readable by other users (mode {mode:o}); "
                f"restrict it with: chmod 600 {path}",
                field="master_key",
            )
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"The master key file {path} cannot be read ({exc}); give the Tutela user read "
            "access to it or set TUTELA_MASTER_KEY.",
            field="master_key",
        ) from exc
    try:
        return MasterKey.from_b64(text)
    except ValueError as exc:
        raise ConfigurationError(
            f"The master key file {path} does not hold a base64 {KEY_SIZE}-byte key ({exc}); "
            "restore it from your backup — a new key cannot read data encrypted with the old one.",
            field="master_key",
        ) from exc


def _create_key_file(data_dir: Path, path: Path) -> MasterKey:
    """Write a new key to a private temporary file and link it into place (no overwrite)."""
    key = MasterKey.generate()
    temporary = data_dir / f".{KEY_FILE_NAME}.{secrets.token_hex(8)}.tmp"
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, (key.to_b64() + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temporary, path)
        except FileExistsError:
            # Another process created the key first; use that one.
            return _read_key_file(path)
        finally:
            temporary.unlink(missing_ok=True)
        _sync_directory(data_dir)
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot create the master key in {data_dir} ({exc.strerror or exc}); make the "
            "directory writable for the Tutela user or set TUTELA_MASTER_KEY.",
            field="data_dir",
        ) from exc
    return key


def _sync_directory(directory: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------- data keys and AEAD


def new_data_key() -> bytes:
    """A fresh random 32-byte data key."""
    return secrets.token_bytes(KEY_SIZE)


def _check_key(key: bytes) -> None:
    if len(key) != KEY_SIZE:
        raise ValueError(f"An encryption key is {KEY_SIZE} bytes, got {len(key)}.")


def _associated_data(context: bytes) -> bytes:
    return bytes([_FORMAT_VERSION]) + context


def encrypt(key: bytes, plaintext: bytes, *, context: bytes = b"") -> bytes:
    """AES-256-GCM with a random 96-bit nonce; ``context`` must match on decryption."""
    _check_key(key)
    nonce = secrets.token_bytes(_NONCE_SIZE)
    sealed = AESGCM(key).encrypt(nonce, plaintext, _associated_data(context))
    return bytes([_FORMAT_VERSION]) + nonce + sealed


def decrypt(key: bytes, blob: bytes, *, context: bytes = b"") -> bytes:
    """Open a value sealed by :func:`encrypt`; raises :class:`DecryptionError`."""
    _check_key(key)
    if len(blob) < 1 + _NONCE_SIZE + _TAG_SIZE or blob[0] != _FORMAT_VERSION:
        raise DecryptionError(
            "The encrypted value is truncated or in an unknown format; restore it from a backup."
        )
    nonce = blob[1 : 1 + _NONCE_SIZE]
    try:
        return AESGCM(key).decrypt(nonce, blob[1 + _NONCE_SIZE :], _associated_data(context))
    except InvalidTag as exc:
        raise DecryptionError(
            "The encrypted value does not authenticate: the key or context does not match, "
            "or the stored bytes were altered; check the configured master key."
        ) from exc


def _wrap_context(key_id: str) -> bytes:
    if not key_id:
        raise ValueError("key_id must not be empty.")
    return b"tutela/v1/data-key\x00" + key_id.encode("utf-8")


def wrap_key(master: MasterKey, data_key: bytes, *, key_id: str) -> bytes:
    """Seal a data key under the master's ``wrap`` sub-key, bound to ``key_id``."""
    _check_key(data_key)
    return encrypt(master.subkey("wrap"), data_key, context=_wrap_context(key_id))


def unwrap_key(master: MasterKey, wrapped: bytes, *, key_id: str) -> bytes:
    """Recover a data key sealed by :func:`wrap_key` for the same ``key_id``."""
    try:
        data_key = decrypt(master.subkey("wrap"), wrapped, context=_wrap_context(key_id))
    except DecryptionError as exc:
        raise DecryptionError(
            f"The data key {key_id!r} cannot be unwrapped: it was wrapped by another master key "
            "or for another id, or it was altered; configure the master key it was made with.",
            key_id=key_id,
        ) from exc
    if len(data_key) != KEY_SIZE:
        raise DecryptionError(
            f"The data key {key_id!r} has the wrong length after unwrapping; it cannot be used.",
            key_id=key_id,
        )
    return data_key


# ---------------------------------------------------------------- blind index


def _check_name(what: str, value: str) -> None:
    if not _NAME.fullmatch(value):
        raise ValueError(
            f"{what} {value!r} is not valid; use 1-64 lowercase letters, digits, '_', '.', ':' "
            "or '-', starting with a letter or digit."
        )


def normalize_identity(kind: str, value: str) -> str:
    """The canonical form of an identity value before indexing.

    All kinds: Unicode NFC and surrounding whitespace removed. ``email``: case-folded.
    ``phone``: only digits, keeping a leading ``+``.
    """
    text = unicodedata.normalize("NFC", value).strip()
    if kind == "email":
        return text.casefold()
    if kind == "phone":
        digits = "".join(ch for ch in text if ch.isascii() and ch.isdigit())
        return ("+" + digits) if text.startswith("+") and digits else digits
    return text


def blind_index(master: MasterKey, kind: str, value: str) -> str:
    """Keyed HMAC-SHA256 (hex) of the normalised value, separated by ``kind``."""
    _check_name("Identity kind", kind)
    normalized = normalize_identity(kind, value)
    if not normalized:
        raise ValueError(f"The {kind} value is empty after normalisation; nothing to index.")
    message = kind.encode("ascii") + b"\x00" + normalized.encode("utf-8")
    return hmac.new(master.subkey("index"), message, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- tokens


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _token_mac(master: MasterKey, purpose: str, body: str) -> str:
    message = b"tutela/v1/token\x00" + purpose.encode("ascii") + b"\x00" + body.encode("ascii")
    return _b64url(hmac.new(master.subkey("token"), message, hashlib.sha256).digest())


def _aware(name: str, moment: dt.datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime.")


def sign_token(master: MasterKey, *, purpose: str, subject: str, expires_at: dt.datetime) -> str:
    """A URL-safe token proving ``subject`` for ``purpose`` until ``expires_at`` (exclusive).

    The subject is signed, not encrypted: pass an opaque id, never personal data.
    """
    _check_name("Token purpose", purpose)
    _aware("expires_at", expires_at)
    expiry = int(expires_at.timestamp())
    body = f"{_SIGNED_FORMAT}.{_b64url(subject.encode('utf-8'))}.{expiry}"
    return f"{body}.{_token_mac(master, purpose, body)}"


def verify_token(master: MasterKey, token: str, *, purpose: str, now: dt.datetime) -> str:
    """The subject of a valid, unexpired token for ``purpose``.

    Every failure raises :class:`VerificationFailed` with the same message.
    """
    _check_name("Token purpose", purpose)
    _aware("now", now)
    rejected = VerificationFailed(_REJECTION_MESSAGE)
    if len(token) > _TOKEN_MAX_LENGTH or not token.isascii():
        raise rejected
    body, dot, mac = token.rpartition(".")
    expected = _token_mac(master, purpose, body) if dot else ""
    if not hmac.compare_digest(expected.encode("ascii"), mac.encode("ascii")) or not dot:
        raise rejected
    parts = body.split(".")
    if len(parts) != 3 or parts[0] != _SIGNED_FORMAT or not parts[2].isdigit():
        raise rejected
    if now.timestamp() >= int(parts[2]):
        raise rejected
    try:
        return _b64url_decode(parts[1]).decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise rejected from exc


def random_token(nbytes: int = 32) -> str:
    """An unguessable URL-safe secret (at least 16 random bytes)."""
    if nbytes < 16:
        raise ValueError(f"A random token needs at least 16 bytes, got {nbytes}.")
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """SHA-256 hex of a secret, so only its hash is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()

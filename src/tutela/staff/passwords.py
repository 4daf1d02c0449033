"""Password hashing (Argon2id) and the password policy for staff accounts."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tutela.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 1024


@cache
def hasher() -> PasswordHasher:
    """The Argon2id hasher with the library's recommended parameters."""
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    return hasher().hash("tutela-dummy-password-for-equal-timing")


def check_policy(password: str, *, email: str) -> None:
    """Raise InvalidInput (naming the field and the fix) unless ``password`` is acceptable."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(
            f"password: it has {len(password)} characters but needs at least {MIN_LENGTH}; "
            "choose a longer passphrase.",
            field="password",
        )
    if len(password) > MAX_LENGTH:
        raise InvalidInput(
            f"password: it has more than {MAX_LENGTH} characters; choose a shorter passphrase.",
            field="password",
        )
    if password.strip().lower() == email.strip().lower():
        raise InvalidInput(
            "password: it is the same as the e-mail address; choose a passphrase "
            "that nobody can guess from the account name.",
            field="password",
        )


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (False for malformed hashes)."""
    try:
        return hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than the current ones."""
    try:
        return hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def burn_time(password: str) -> None:
    """Verify against a fixed hash so that unknown accounts take as long as known ones."""
    verify_password(_dummy_hash(), password)

"""Password policy and Argon2id hashing."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from tutela.errors import InvalidInput
from tutela.staff import passwords


def test_short_password_is_refused_with_its_length() -> None:
    with pytest.raises(InvalidInput, match="password: it has 5 characters but needs at least 12"):
        passwords.check_policy("short", email="a@example.org")


def test_password_equal_to_email_is_refused() -> None:
    with pytest.raises(InvalidInput, match="same as the e-mail address"):
        passwords.check_policy("Someone@Example.org", email="someone@example.org")


def test_good_password_passes() -> None:
    passwords.check_policy("correct horse battery", email="a@example.org")


def test_hash_is_argon2id_and_verifies() -> None:
    digest = passwords.hash_password("correct horse battery")
    assert digest.startswith("$argon2id$")
    assert "correct horse" not in digest
    assert passwords.verify_password(digest, "correct horse battery")
    assert not passwords.verify_password(digest, "correct horse batterY")
    assert not passwords.verify_password("not a hash", "correct horse battery")


def test_hash_with_old_parameters_needs_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("pw-for-rehash-test")
    assert passwords.needs_rehash(weak)
    assert not passwords.needs_rehash(passwords.hash_password("pw-for-rehash-test"))

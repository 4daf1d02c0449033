"""Blind indexes: keyed, separated by kind, bulk path equal to the single path."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutela.crypto import MasterKey, blind_index
from tutela.subjects import IdentityKind, index_many, index_of, normalize


def test_index_is_the_crypto_blind_index(master: MasterKey) -> None:
    value = normalize("email", "Anna@Example.org")
    assert index_of(master, "email", value) == blind_index(master, "email", value)
    assert len(index_of(master, IdentityKind.EMAIL, value)) == 64


def test_index_depends_on_key_and_kind(master: MasterKey) -> None:
    other = MasterKey(bytes(32))
    assert index_of(master, "customer_id", "K-1") != index_of(other, "customer_id", "K-1")
    assert index_of(master, "customer_id", "K-1") != index_of(
        master, "visitor_id", "K-1" + "x" * 16
    )
    assert index_of(master, "customer_id", "x" * 16) != index_of(master, "visitor_id", "x" * 16)


@given(values=st.lists(st.text(min_size=1, max_size=30).map(str.strip).filter(bool), max_size=20))
def test_index_many_equals_index_of(values: list[str]) -> None:
    master = MasterKey(bytes(range(32)))
    normalized = [normalize("customer_id", v) for v in values if v.isprintable()]
    assert index_many(master, "customer_id", normalized) == [
        index_of(master, "customer_id", v) for v in normalized
    ]


def test_index_many_refuses_empty_values(master: MasterKey) -> None:
    with pytest.raises(ValueError, match="empty"):
        index_many(master, "email", ["a@example.org", ""])


@given(key=st.binary(min_size=32, max_size=32), value=st.text(min_size=1, max_size=80))
def test_index_many_is_the_hmac_of_kind_and_value(key: bytes, value: str) -> None:
    master = MasterKey(key)
    expected = hmac.new(
        master.subkey("index"), b"email\x00" + value.encode("utf-8"), hashlib.sha256
    ).hexdigest()
    assert index_many(master, "email", [value]) == [expected]

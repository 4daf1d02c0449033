from __future__ import annotations

import pytest

from tutela.connectors import IdentitySet
from tutela.errors import InvalidInput


def test_values_are_normalised_and_grouped_by_kind() -> None:
    ids = IdentitySet.of(
        email=" Anna@Example.COM ", phone="+49 (30) 123-45", customer_id=["42", " 42 ", ""]
    )
    assert ids.get("email") == {"anna@example.com"}
    assert ids.get("phone") == {"+493012345"}
    assert ids.get("customer_id") == {"42"}
    assert ids.get("visitor_id") == frozenset()
    assert ids.kinds() == ("customer_id", "email", "phone")
    assert bool(ids)
    assert not IdentitySet.of(email="  ")


def test_custom_kinds_and_a_stable_anchor() -> None:
    one = IdentitySet.of(loyalty_card="CH-1", email="a@example.com")
    two = IdentitySet.from_pairs([("email", "A@example.com"), ("loyalty_card", "CH-1")])
    assert one == two
    assert one.anchor() == two.anchor()
    assert one.anchor() != IdentitySet.of(email="b@example.com").anchor()


def test_the_repr_shows_no_personal_data() -> None:
    assert "example" not in repr(IdentitySet.of(email="a@example.com"))


@pytest.mark.parametrize("kind", ["Email", "1st", "e-mail", ""])
def test_invalid_kinds_are_refused_with_the_fix(kind: str) -> None:
    with pytest.raises(InvalidInput, match="lowercase letters"):
        IdentitySet.from_pairs([(kind, "x")])


def test_non_text_and_oversized_values_are_refused() -> None:
    with pytest.raises(InvalidInput, match="must be text"):
        IdentitySet.from_pairs([("customer_id", 42)])  # type: ignore[list-item]
    with pytest.raises(InvalidInput, match="longer than"):
        IdentitySet.of(email="a" * 2000)

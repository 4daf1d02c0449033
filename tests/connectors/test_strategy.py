from __future__ import annotations

import pytest

from tutela.connectors.strategy import (
    KEY_REASON,
    ColumnFacts,
    ErasureKey,
    Strategy,
    already_erased,
    default_for,
    refusal,
)
from tutela.crypto import MasterKey


def test_the_most_specific_category_default_wins() -> None:
    assert default_for("user.contact.email") is not None
    assert default_for("user.contact.email").strategies[0] is Strategy.PSEUDONYM  # type: ignore[union-attr]
    assert default_for("user.contact.address.city").strategies == (Strategy.NULL, Strategy.MASK)  # type: ignore[union-attr]
    unique = default_for("user.unique_id.pseudonymous")
    assert unique is not None
    assert unique.strategies == (Strategy.KEEP,)
    assert unique.reason == KEY_REASON
    assert default_for("system.operations") is None


@pytest.mark.parametrize(
    ("strategy", "facts", "why"),
    [
        (Strategy.NULL, ColumnFacts(nullable=False), "NOT NULL"),
        (Strategy.NULL, ColumnFacts(primary_key=True), "primary key"),
        (Strategy.MASK, ColumnFacts(text=False, type_name="INTEGER"), "holds INTEGER"),
        (Strategy.MASK, ColumnFacts(length=4), "longer than the column"),
        (Strategy.MASK, ColumnFacts(unique=True), "would collide"),
        (Strategy.HASH, ColumnFacts(length=40), "hash needs 64"),
        (Strategy.PSEUDONYM, ColumnFacts(primary_key=True, referenced=True), "break their links"),
        (Strategy.KEEP, ColumnFacts(), "needs a reason"),
    ],
)
def test_a_strategy_the_column_cannot_take_is_refused_with_the_reason(
    strategy: Strategy, facts: ColumnFacts, why: str
) -> None:
    found = refusal(strategy, facts, mask="[erased]", keyed=True, reason=None)
    assert found is not None
    assert why in found


def test_strategies_the_column_can_take() -> None:
    text = ColumnFacts(length=100)
    assert refusal(Strategy.NULL, text, mask="x", keyed=True, reason=None) is None
    assert refusal(Strategy.MASK, text, mask="x", keyed=True, reason=None) is None
    assert (
        refusal(
            Strategy.PSEUDONYM, ColumnFacts(primary_key=True), mask="x", keyed=True, reason=None
        )
        is None
    )
    assert refusal(Strategy.HASH, text, mask="x", keyed=False, reason=None) is not None
    assert refusal(Strategy.KEEP, text, mask="x", keyed=False, reason="a key") is None


def test_keyed_rewriting_is_stable_per_store_and_person() -> None:
    master = MasterKey(bytes(32))
    shop = ErasureKey.for_store(master, "shop")
    other = ErasureKey.for_store(master, "crm")
    assert shop.hash("anna@example.com") == shop.hash("anna@example.com")
    assert shop.hash("anna@example.com") != other.hash("anna@example.com")
    assert len(shop.hash("x")) == 64
    one = shop.pseudonym("anna@example.com", person=b"p1")
    assert one == shop.pseudonym("anna@example.com", person=b"p1")
    assert one != shop.pseudonym("anna@example.com", person=b"p2")
    assert one.startswith("erased-")
    assert len(one) == 23
    assert already_erased(Strategy.PSEUDONYM, one, mask="-")
    assert already_erased(Strategy.HASH, shop.hash("x"), mask="-")
    assert already_erased(Strategy.MASK, "-", mask="-")
    assert already_erased(Strategy.NULL, None, mask="-")
    assert not already_erased(Strategy.HASH, "anna@example.com", mask="-")
    assert "…" in repr(shop)
    with pytest.raises(ValueError, match="32 bytes"):
        ErasureKey(b"short")

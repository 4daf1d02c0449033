"""The API key format: generated keys parse back, anything else is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutela.errors import InvalidInput
from tutela.staff.apikeys import (
    PREFIX_LENGTH,
    SECRET_LENGTH,
    Scope,
    generate_key,
    parse_key,
    parse_scopes,
)


def test_generated_key_has_the_documented_shape() -> None:
    parts = generate_key()
    text = str(parts)
    assert text.startswith(f"tut_{parts.prefix}_")
    assert len(parts.prefix) == PREFIX_LENGTH
    assert len(parts.secret) == SECRET_LENGTH
    assert text.replace("_", "").isalnum()
    assert parse_key(text) == parts


def test_keys_differ() -> None:
    assert len({str(generate_key()) for _ in range(50)}) == 50


@given(st.text(max_size=80))
def test_random_text_is_not_a_key_unless_well_formed(text: str) -> None:
    parts = parse_key(text)
    if parts is not None:
        assert str(parts) == text.strip()


@given(st.integers(min_value=0, max_value=60))
def test_changing_one_character_keeps_or_breaks_the_shape(index: int) -> None:
    text = str(generate_key())
    position = index % len(text)
    broken = text[:position] + "!" + text[position + 1 :]
    assert parse_key(broken) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "tut_",
        "tut_abc_def",
        "xyz_" + "a" * PREFIX_LENGTH + "_" + "b" * SECRET_LENGTH,
        "tut_" + "A" * PREFIX_LENGTH + "_" + "b" * SECRET_LENGTH,
        "tut_" + "a" * PREFIX_LENGTH + "_" + "b" * (SECRET_LENGTH - 1),
        "tut_" + "a" * PREFIX_LENGTH + "_" + "b" * SECRET_LENGTH + "_x",
    ],
)
def test_malformed_keys_are_refused(text: str) -> None:
    assert parse_key(text) is None


def test_scopes_are_parsed_in_stable_order() -> None:
    assert parse_scopes(["audit:read", "policy:read", "policy:read"]) == [
        Scope.POLICY_READ,
        Scope.AUDIT_READ,
    ]


def test_unknown_scope_names_the_choices() -> None:
    with pytest.raises(InvalidInput, match=r"scopes: 'policy:delete'.*policy:read"):
        parse_scopes(["policy:delete"])
    with pytest.raises(InvalidInput, match="at least one scope"):
        parse_scopes([])

"""Signed in-app assertions: fresh sign-in, constant-time MAC, clear refusals."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.dsr.harness import APP_KEY, START
from tutela.dsr.assertion import InvalidAssertion, sign_assertion, verify_assertion
from tutela.errors import ConfigurationError

MINUTE = dt.timedelta(minutes=1)


def signed(**overrides: object) -> str:
    values: dict[str, object] = {
        "kind": "email",
        "value": "anna.beispiel@example.org",
        "auth_time": START - 2 * MINUTE,
        "issued_at": START,
    }
    values.update(overrides)
    return sign_assertion(APP_KEY, **values)  # type: ignore[arg-type]


def test_a_fresh_assertion_names_the_customer() -> None:
    checked = verify_assertion(signed(), key=APP_KEY, now=START + MINUTE)
    assert (checked.kind, checked.value) == ("email", "anna.beispiel@example.org")
    assert checked.auth_time == START - 2 * MINUTE


@pytest.mark.parametrize(
    ("token", "key", "now", "message"),
    [
        (signed(), "another-key-of-at-least-thirty-two-chars", START, "signature does not match"),
        (signed(auth_time=START - 11 * MINUTE), APP_KEY, START, "signed in 11 minutes ago"),
        (signed(), APP_KEY, START + 11 * MINUTE, "signed more than 10 minutes ago"),
        (signed(issued_at=START + 5 * MINUTE), APP_KEY, START, "in the future"),
        ("v1.e30", APP_KEY, START, "three parts"),
        ("", APP_KEY, START, "ASCII"),
        ("v2.abc.def", APP_KEY, START, "three parts"),
    ],
)
def test_refusals_say_why(token: str, key: str, now: dt.datetime, message: str) -> None:
    with pytest.raises(InvalidAssertion) as caught:
        verify_assertion(token, key=key, now=now)
    assert message in caught.value.detail
    assert caught.value.extra["field"] == "assertion"


def test_claims_must_name_an_identity() -> None:
    token = sign_assertion(APP_KEY, kind="email", value="", auth_time=START, issued_at=START)
    with pytest.raises(InvalidAssertion, match="'kind' and 'sub'"):
        verify_assertion(token, key=APP_KEY, now=START)


def test_without_a_key_the_operator_is_told_what_to_configure() -> None:
    with pytest.raises(ConfigurationError, match="TUTELA_APP_ASSERTION_KEY"):
        verify_assertion(signed(), key=None, now=START)


@given(position=st.integers(min_value=0), replacement=st.sampled_from("AQZaqz09-_."))
def test_any_changed_character_is_refused(position: int, replacement: str) -> None:
    token = signed()
    index = position % len(token)
    if token[index] == replacement:
        return
    tampered = token[:index] + replacement + token[index + 1 :]
    with pytest.raises(InvalidAssertion):
        verify_assertion(tampered, key=APP_KEY, now=START)

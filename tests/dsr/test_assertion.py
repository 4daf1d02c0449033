"""Signed in-app assertions: fresh sign-in, constant-time MAC, typed, one-time, clear refusals."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.dsr.harness import APP_KEY, START
from tutela.dsr.assertion import (
    FRESHNESS,
    InvalidAssertion,
    ReplayedAssertion,
    sign_assertion,
    verify_assertion,
)
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


def forged(claims: dict[str, object], key: str = APP_KEY) -> str:
    """A token signed as the module text describes, with any claims (to test refusals)."""
    raw = json.dumps(claims, separators=(",", ":")).encode("utf-8")
    body = "v1." + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    mac = hmac.new(key.encode(), b"tutela/v1/dsr-assertion\x00" + body.encode(), hashlib.sha256)
    return body + "." + base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


CLAIMS: dict[str, object] = {
    "typ": "dsr-request",
    "jti": "0f8e2c3a-5b7d-4e1f-9a6b-2c4d6e8f0a1b",
    "kind": "email",
    "sub": "anna.beispiel@example.org",
    "auth_time": int(START.timestamp()),
    "iat": int(START.timestamp()),
}


def test_the_documented_format_is_accepted_with_its_one_time_id() -> None:
    checked = verify_assertion(forged(CLAIMS), key=APP_KEY, now=START)
    assert checked.jti == CLAIMS["jti"]
    assert checked.expires_at == START + FRESHNESS


def test_every_signed_assertion_gets_a_new_one_time_id() -> None:
    tokens = {signed() for _ in range(20)}
    assert len(tokens) == 20
    ids = {verify_assertion(token, key=APP_KEY, now=START).jti for token in tokens}
    assert len(ids) == 20
    assert all(len(jti) >= 16 for jti in ids)
    given = verify_assertion(signed(jti="request-4711-abcdefgh"), key=APP_KEY, now=START)
    assert given.jti == "request-4711-abcdefgh"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"jti": None}, "'jti'"),
        ({"jti": "short"}, "'jti'"),
        ({"jti": "has spaces in the middle"}, "'jti'"),
        ({"jti": "x" * 129}, "'jti'"),
        ({"jti": 1234567890123456789}, "'jti'"),
        ({"typ": None}, "'typ'"),
        ({"typ": "password-reset"}, "'typ'"),
    ],
)
def test_the_type_and_a_one_time_id_are_required_and_signed(
    changes: dict[str, object], message: str
) -> None:
    claims = {**CLAIMS, **changes}
    claims = {name: value for name, value in claims.items() if value is not None}
    with pytest.raises(InvalidAssertion) as caught:
        verify_assertion(forged(claims), key=APP_KEY, now=START)
    assert message in caught.value.detail
    assert caught.value.status == 401


def test_a_replayed_assertion_is_a_409_that_says_what_to_do() -> None:
    error = ReplayedAssertion()
    assert error.status == 409
    assert error.extra["field"] == "assertion"
    assert "already used" in error.detail
    assert "sign a new one per request" in error.detail


@given(jti=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=140))
def test_any_printable_id_of_16_to_128_characters_is_accepted(jti: str) -> None:
    token = forged({**CLAIMS, "jti": jti})
    if 16 <= len(jti) <= 128:
        assert verify_assertion(token, key=APP_KEY, now=START).jti == jti
    else:
        with pytest.raises(InvalidAssertion, match="'jti'"):
            verify_assertion(token, key=APP_KEY, now=START)

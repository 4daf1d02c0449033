"""Normalising identity values: canonical forms, clear errors, idempotence."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tutela.crypto import normalize_identity
from tutela.errors import InvalidInput
from tutela.subjects import IdentityKind, normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Anna.Schmidt@Example.ORG", "anna.schmidt@example.org"),
        ("  anna@example.org\n", "anna@example.org"),
        ("STRASSE@Example.com", "strasse@example.com"),
        ("max@Müller.DE", "max@xn--mller-kva.de"),
        ("Ärger@example.de", "ärger@example.de"),
    ],
)
def test_email_is_case_folded_with_an_ascii_domain(raw: str, expected: str) -> None:
    assert normalize(IdentityKind.EMAIL, raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "   ", "anna", "anna@", "@example.org", "a b@example.org", "anna@localhost"]
)
def test_invalid_email_names_the_field(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize("email", raw)
    assert caught.value.extra["field"] == "email"
    assert caught.value.detail.startswith("email:")
    assert "name@example.org" in caught.value.detail


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+49 30 1234567", "+49301234567"),
        ("+49 (0) 30 / 123 45-67", "+49301234567"),
        ("0049 151 2345 6789", "+4915123456789"),
        ("0151 23456789", "+4915123456789"),
        ("(030) 1234567", "+49301234567"),
        ("+1 (415) 555-0100", "+14155550100"),
        ("＋４９ ３０ １２３４５６７", "+49301234567"),
    ],
)
def test_phone_becomes_e164(raw: str, expected: str) -> None:
    assert normalize("phone", raw) == expected


def test_national_phone_takes_the_configured_country_code() -> None:
    assert normalize("phone", "01 23 45 67 89", default_country_code="33") == "+33123456789"


@pytest.mark.parametrize(
    ("raw", "hint"),
    [
        ("49301234567", "country code"),
        ("+49 30 12", "8 to 15 digits"),
        ("+49 30 1234567890123456", "8 to 15 digits"),
        ("+0 30 1234567", "8 to 15 digits"),
        ("030 1234567 ext. 5", "only digits"),
        ("+49 30 123+4567", "only digits"),
    ],
)
def test_invalid_phone_says_what_is_expected(raw: str, hint: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize(IdentityKind.PHONE, raw)
    assert caught.value.extra["field"] == "phone"
    assert hint in caught.value.detail


def test_bad_default_country_code_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize("phone", "030 1234567", default_country_code="049")
    assert caught.value.extra["field"] == "default_country_code"


def test_customer_id_is_stripped_and_bounded() -> None:
    assert normalize("customer_id", "  K-10042 ") == "K-10042"
    assert normalize("customer_id", "x" * 128) == "x" * 128
    for bad in ("", "   ", "x" * 129, "K-1\n0042", "K\x00"):
        with pytest.raises(InvalidInput, match="customer_id: expected 1 to 128 printable"):
            normalize("customer_id", bad)


def test_visitor_id_is_opaque_and_url_safe() -> None:
    token = "Zq3_x-9LmN0pQrS7"
    assert normalize("visitor_id", f" {token} ") == token
    for bad in ("short", "a" * 129, "Zq3_x-9LmN0pQrS7/", "Zq3 x-9LmN0pQrS7xx"):
        with pytest.raises(InvalidInput, match="visitor_id: expected 16 to 128 URL-safe"):
            normalize("visitor_id", bad)


def test_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize("fax", "+49 30 1234567")
    assert caught.value.extra["field"] == "kind"
    assert "email, phone, customer_id, visitor_id" in caught.value.detail


def test_errors_never_repeat_the_value() -> None:
    secret = "Very.Private.Person@@example.org"
    with pytest.raises(InvalidInput) as caught:
        normalize("email", secret)
    assert secret.lower() not in caught.value.detail.lower()


def test_overlong_input_is_refused_before_parsing() -> None:
    with pytest.raises(InvalidInput, match="longer than 512"):
        normalize("email", "a" * 600 + "@example.org")


emailish = st.builds(
    lambda local, domain, tld: f"{local}@{domain}.{tld}",
    st.text(min_size=1, max_size=20),
    st.text(min_size=1, max_size=20),
    st.sampled_from(["de", "ORG", "com", "Ünï", "xn--p1ai"]),
)
phoneish = st.text(alphabet="+0123456789 -./()０１２", min_size=0, max_size=24)
visitorish = st.text(alphabet="abcXYZ019_-= ", min_size=0, max_size=40)
anything = st.one_of(st.text(max_size=60), st.emails(), emailish, phoneish, visitorish)


@pytest.mark.parametrize("kind", list(IdentityKind))
@settings(max_examples=300, deadline=None)
@given(value=anything)
def test_normalize_only_raises_invalid_input_and_is_idempotent(
    kind: IdentityKind, value: str
) -> None:
    try:
        once = normalize(kind, value)
    except InvalidInput as exc:
        field = exc.extra["field"]
    else:
        field = None
    if field is not None:
        assert field == kind.value
        return
    assert normalize(kind, once) == once
    # A fixed point of the crypto layer's own cleaning, so blind indexes agree.
    assert normalize_identity(kind.value, once) == once
    assert once

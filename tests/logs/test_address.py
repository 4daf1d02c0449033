"""One token: address shapes, masks, placeholders; properties against ``ipaddress``."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutela.logs.address import (
    OTHER,
    PLACEHOLDER,
    Kept,
    Masker,
    format_v6,
    lenient_v4_value,
    split_token,
    v4_value,
    v6_value,
)

DEFAULT = Masker(8, 96)
ANONIP = Masker(12, 84)


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (b"203.0.113.77", b"203.0.113.0"),
        (b"203.0.113.77:8080", b"203.0.113.0:8080"),
        (b"203.0.113.77]", b"203.0.113.0]"),
        (b"203.0.113.77:80]", b"203.0.113.0:80]"),
        (b"[203.0.113.77]:80", b"[203.0.113.0]:80"),
        (b"2001:db8:abcd:12:1:2:3:4", b"2001:db8::"),
        (b"[2001:DB8:ABCD:12::4]:443", b"[2001:db8::]:443"),
        (b"[2001:db8:abcd:12::4]]", b"[2001:db8::]]"),
        (b"[2001:db8:abcd:12::4]:443]", b"[2001:db8::]:443]"),
        (b"fe80::822a:a8ff:fe49:470c%eth0", b"fe80::"),
        (b"[fe80::1%eth0]:8080", b"[fe80::]:8080"),
        (b"::ffff:203.0.113.77", b"::ffff:203.0.113.0"),
        (b"[::ffff:203.0.113.77]:80", b"[::ffff:203.0.113.0]:80"),
        (b"::FFFF:CB00:714D", b"::ffff:203.0.113.0"),
        (b"::1", b"::"),
        (b"127.0.0.1", b"127.0.0.0"),
        (b"1.2.3.4:80:90", b"1.2.3.0:80:90"),
        (b"2001:0:0:1::5", b"2001::"),
        (b"0:db8::1", b"0:db8::"),
    ],
)
@pytest.mark.promise("P10")
def test_default_masks_keep_a_24_and_a_32(token: bytes, expected: bytes) -> None:
    assert DEFAULT.token(token) == expected


@pytest.mark.parametrize("token", [b"-", b"unix:", b"unix:/run/app.sock", b"unknown", b"UNKNOWN"])
def test_placeholders_hold_no_address(token: bytes) -> None:
    assert DEFAULT.token(token) == PLACEHOLDER


@pytest.mark.parametrize(
    "token",
    [
        b"no_ip_address",
        b"01.2.3.4",
        b"1.2.3",
        b"256.1.1.1",
        b"1.2.3.4,",
        b'"1.2.3.4"',
        b"for=1.2.3.4",
        b"1.2.3.4:80x",
        b"[1.2.3.4",
        b"[2001:db8::1]x",
        b"2001:db8::1%",
        b"12:34:56",
        b"",
        b"\xff\xfe",
    ],
)
def test_other_text_is_not_a_single_address(token: bytes) -> None:
    assert DEFAULT.token(token) == OTHER


def test_increment_is_added_after_masking_and_skipped_on_overflow() -> None:
    assert Masker(12, 84, increment=3).token(b"192.168.100.200") == b"192.168.96.3"
    assert Masker(12, 84, increment=284414028745874325).token(b"192.168.100.200") == (
        b"192.168.96.0"
    )
    assert Masker(8, 96, increment=1).token(b"2001:db8::5") == b"2001:db8::1"
    assert Masker(8, 96, increment=1).token(b"::ffff:1.2.3.4") == b"::ffff:1.2.3.1"


def test_skip_private_keeps_private_addresses_in_canonical_form() -> None:
    masker = Masker(8, 96, skip_private=True)
    kept = masker.token(b"192.168.100.200")
    assert kept == b"192.168.100.200"
    assert isinstance(kept, Kept)
    assert isinstance(masker.token(b"[FD00::ABCD]:80"), Kept)
    assert masker.token(b"::ffff:10.1.2.3") == b"::ffff:10.1.2.3"  # judged by its IPv4 part
    assert masker.token(b"100.64.1.2") == b"100.64.1.0"  # CGNAT is not private in Python
    assert masker.token(b"8.8.8.8") == b"8.8.8.0"


def test_split_token_keeps_what_surrounds_the_address() -> None:
    assert split_token(b"[2001:db8::1]:443]") == (b"[", 0x20010DB8 << 96 | 1, True, b"]:443]")
    assert split_token(b"1.2.3.4:80]") == (b"", 0x01020304, False, b":80]")
    assert split_token(b"[1.2.3.4]") == (b"[", 0x01020304, False, b"]")
    assert split_token(b"1.2.3.4:") == (b"", 0x01020304, False, b":")


def test_lenient_quads_allow_leading_zeros_only() -> None:
    assert lenient_v4_value(b"01.002.3.4") == 0x01020304
    assert lenient_v4_value(b"1.2.3.256") is None
    assert lenient_v4_value(b"1.2.3.4.5") is None
    assert v4_value(b"01.2.3.4") is None


# -- properties ---------------------------------------------------------------------------

v4_values = st.integers(min_value=0, max_value=(1 << 32) - 1)
v6_values = st.integers(min_value=0, max_value=(1 << 128) - 1)
v4_masks = st.integers(min_value=0, max_value=32)
v6_masks = st.integers(min_value=0, max_value=128)


def _expected_v4(value: int, mask: int) -> bytes:
    return str(ipaddress.IPv4Address(value & ~((1 << mask) - 1) & 0xFFFFFFFF)).encode()


def _expected_v6(value: int, v4mask: int, v6mask: int) -> bytes:
    if value >> 32 == 0xFFFF:
        return b"::ffff:" + _expected_v4(value & 0xFFFFFFFF, v4mask)
    return str(ipaddress.IPv6Address(value & ~((1 << v6mask) - 1) & ((1 << 128) - 1))).encode()


@given(v4_values, v4_masks)
@pytest.mark.promise("P10")
def test_ipv4_masks_match_ipaddress(value: int, mask: int) -> None:
    text = str(ipaddress.IPv4Address(value)).encode()
    assert Masker(mask, 96).token(text) == _expected_v4(value, mask)
    assert Masker(mask, 96).token(text + b":8080") == _expected_v4(value, mask) + b":8080"


@given(v6_values, v4_masks, v6_masks, st.booleans(), st.booleans())
@pytest.mark.promise("P10")
def test_ipv6_masks_match_ipaddress(
    value: int, v4mask: int, v6mask: int, upper: bool, exploded: bool
) -> None:
    address = ipaddress.IPv6Address(value)
    text = (address.exploded if exploded else str(address)).encode()
    if upper:
        text = text.upper()
    expected = _expected_v6(value, v4mask, v6mask)
    masker = Masker(v4mask, v6mask)
    assert masker.token(text) == expected
    assert masker.token(b"[" + text + b"]:443") == b"[" + expected + b"]:443"


@given(v6_values, st.from_regex(r"\A[a-zA-Z0-9]{1,8}\Z"))
def test_zone_ids_are_dropped(value: int, zone: str) -> None:
    text = str(ipaddress.IPv6Address(value)).encode() + b"%" + zone.encode()
    assert DEFAULT.token(text) == _expected_v6(value, 8, 96)


@given(v4_values)
def test_mapped_addresses_keep_their_ipv4_truncation(value: int) -> None:
    text = b"::ffff:" + str(ipaddress.IPv4Address(value)).encode()
    assert DEFAULT.token(text) == b"::ffff:" + _expected_v4(value, 8)
    assert ANONIP.token(text) == b"::ffff:" + _expected_v4(value, 12)


@given(v6_values)
def test_parsers_agree_with_ipaddress(value: int) -> None:
    assert v6_value(str(ipaddress.IPv6Address(value)).encode()) == value
    assert v6_value(ipaddress.IPv6Address(value).exploded.encode()) == value
    assert format_v6(value).encode() == _expected_v6(value, 0, 0)


@given(v4_values, v4_masks)
def test_quad_form_masks_like_the_integer_way(value: int, mask: int) -> None:
    form = Masker(mask, 96).quad_form
    assert form is not None
    octets, bits = form
    parts = str(ipaddress.IPv4Address(value)).split(".")
    text = ".".join([*parts[:octets], str(int(parts[octets]) & bits), *["0"] * (3 - octets)])
    assert text.encode() == _expected_v4(value, mask)


def test_quad_form_is_none_when_arithmetic_is_needed() -> None:
    assert Masker(8, 96, increment=1).quad_form is None
    assert Masker(8, 96, skip_private=True).quad_form is None

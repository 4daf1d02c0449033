"""Shortening IP addresses for consent proofs: IPv4 to /24, IPv6 to /48."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutela.consent.network import truncate_ip


@pytest.mark.parametrize(
    ("given_ip", "expected"),
    [
        ("203.0.113.77", "203.0.113.0"),
        (" 198.51.100.255 ", "198.51.100.0"),
        ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::"),
        ("2001:DB8:ABCD:FFFF::1", "2001:db8:abcd::"),
        ("::ffff:203.0.113.77", "203.0.113.0"),
        ("fe80::1%eth0", "fe80::"),
        ("10.0.0.0", "10.0.0.0"),
    ],
)
def test_examples(given_ip: str, expected: str) -> None:
    assert truncate_ip(given_ip) == expected


@pytest.mark.parametrize("bad", ["", " ", "not an ip", "300.1.1.1", "1.2.3", "::g", "1" * 80])
def test_malformed_input_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="IP address"):
        truncate_ip(bad)


@given(st.ip_addresses(v=4))
def test_ipv4_keeps_the_24_network_and_drops_the_host(address: ipaddress.IPv4Address) -> None:
    short = ipaddress.IPv4Address(truncate_ip(str(address)))
    assert short in ipaddress.IPv4Network(f"{address}/24", strict=False)
    assert int(short) & 0xFF == 0
    assert truncate_ip(str(short)) == str(short)


@given(st.ip_addresses(v=6))
def test_ipv6_keeps_the_48_prefix_and_drops_the_rest(address: ipaddress.IPv6Address) -> None:
    short = ipaddress.ip_address(truncate_ip(str(address)))
    if address.ipv4_mapped is not None:
        assert short == ipaddress.IPv4Address(truncate_ip(str(address.ipv4_mapped)))
        return
    assert isinstance(short, ipaddress.IPv6Address)
    assert short in ipaddress.IPv6Network(f"{address}/48", strict=False)
    assert int(short) & ((1 << 80) - 1) == 0
    assert truncate_ip(str(short)) == str(short)


@given(st.ip_addresses(v=4))
def test_mapped_ipv4_is_treated_as_ipv4(address: ipaddress.IPv4Address) -> None:
    assert truncate_ip(f"::ffff:{address}") == truncate_ip(str(address))

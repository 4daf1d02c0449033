"""Shortening IP addresses before they enter a consent proof.

IPv4 keeps its /24 network (the last octet becomes 0), IPv6 its /48 prefix (the
last 80 bits become 0); an IPv4 address mapped into IPv6 (``::ffff:a.b.c.d``)
is treated as the IPv4 address it carries. Even shortened, such an address is
pseudonymous rather than anonymous, which is why the proof holding it is
encrypted under the subject's key as well.
"""

from __future__ import annotations

import ipaddress
from typing import Final

__all__ = ["IPV4_PREFIX", "IPV6_PREFIX", "truncate_ip"]

IPV4_PREFIX: Final = 24
IPV6_PREFIX: Final = 48
_MAX_LENGTH: Final = 64


def truncate_ip(value: str) -> str:
    """``203.0.113.77`` → ``203.0.113.0``; ``2001:db8:abcd:12::1`` → ``2001:db8:abcd::``.

    A zone suffix (``%eth0``) is dropped; anything else that is not an IP
    address raises :class:`ValueError`. Truncating a truncated address returns
    it unchanged.
    """
    text = value.strip()
    if not text or len(text) > _MAX_LENGTH:
        raise ValueError("not an IP address")
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        raise ValueError("not an IP address") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = IPV4_PREFIX if address.version == 4 else IPV6_PREFIX
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return str(network.network_address)

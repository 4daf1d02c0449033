"""Find every address-looking token in a line: the fallback for lines that do not parse.

IPv4: a dotted quad not inside a longer number or dotted sequence (octets may
have leading zeros here — ``01.2.3.4`` is read as ``1.2.3.4``, never left
whole). IPv6: a run of hex groups and colons with at least two colons that
``inet_pton``/``ipaddress`` accept, not glued to letters, digits or colons, with
an optional dotted IPv4 tail; a ``%zone`` after it is left as it is. Times
(``10:20:30``), MAC addresses and ``std::name`` are not addresses.

``find_addresses`` and ``holds_full_address`` are what the statistics use to
refuse logs that still hold full addresses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from socket import AF_INET, AF_INET6, inet_pton
from typing import NamedTuple

from tutela.logs.address import Kept, Masker, format_v4, format_v6, is_private
from tutela.logs.address import lenient_v4_value as _v4
from tutela.logs.options import AnonymizeOptions

# One leading character class lets the regex engine skip non-address bytes quickly;
# the v6/v4 branches then finish the candidate (the boundaries are checked in Python).
_CANDIDATE = re.compile(
    rb"[0-9A-Fa-f:](?:"
    rb"(?P<v6>(?:(?<=:)|[0-9A-Fa-f]{0,3}:)(?:[0-9A-Fa-f]{0,4}:){1,7}"
    rb"(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]{1,4})?)"
    rb"|(?P<v4>(?<=[0-9])[0-9]{0,2}(?:\.[0-9]{1,3}){3}))"
)
_WORD = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_BEFORE6 = _WORD | frozenset(b":.")
_AFTER6 = _WORD | frozenset(b":")
_DIGITS = frozenset(b"0123456789")
_BEFORE4 = _DIGITS | frozenset(b".")


class Found(NamedTuple):
    """An address in a line: its byte span and its canonical text (full, not masked)."""

    start: int
    end: int
    address: str


class Hit(NamedTuple):
    start: int
    end: int
    value: int
    is_ipv6: bool


def hits(line: bytes) -> list[Hit]:
    """Every address in ``line`` with its span and integer value."""
    if b"." not in line and b":" not in line:
        return []
    found: list[Hit] = []
    size = len(line)
    for match in _CANDIDATE.finditer(line):
        start, end = match.span()
        if match.lastgroup == "v6":
            value = _v6_at(line, start, end, size)
            if value is not None:
                found.append(Hit(start, end, value, True))
                continue
            if line[end - 1] not in _DIGITS:
                continue
            start = line.rfind(b":", start, end) + 1  # a dotted tail may stand alone
            if line.find(b".", start, end) < 0:
                continue
        elif start and line[start - 1] in _BEFORE4:
            continue
        if end < size and (
            line[end] in _DIGITS
            or (line[end] == 46 and end + 1 < size and line[end + 1] in _DIGITS)
        ):
            continue
        quad = line[start:end]
        try:
            value4: int | None = int.from_bytes(inet_pton(AF_INET, quad.decode("ascii")), "big")
        except OSError:
            value4 = _v4(quad)  # leading zeros: still an address to hide
        if value4 is not None:
            found.append(Hit(start, end, value4, False))
    return found


def _v6_at(line: bytes, start: int, end: int, size: int) -> int | None:
    if start and line[start - 1] in _BEFORE6:
        return None
    if end < size and (
        line[end] in _AFTER6 or (line[end] == 46 and end + 1 < size and line[end + 1] in _DIGITS)
    ):
        return None
    text = line[start:end]
    if b"::" not in text and text.count(b":") != (6 if b"." in text else 7):
        return None
    try:
        return int.from_bytes(inet_pton(AF_INET6, text.decode("ascii")), "big")
    except OSError:
        return None


def find_addresses(line: bytes) -> list[Found]:
    """Every IPv4/IPv6 address in ``line``: ``(start, end, canonical address)``.

    IPv4-mapped addresses are written ``::ffff:a.b.c.d``.
    """
    return [
        Found(h.start, h.end, format_v6(h.value) if h.is_ipv6 else format_v4(h.value))
        for h in hits(line)
    ]


def is_truncated(
    address: str, *, ipv4mask: int = 8, ipv6mask: int = 96, skip_private: bool = False
) -> bool:
    """Whether ``address`` (IPv4/IPv6 text) has all of its last ``mask`` bits zero.

    A private address counts as truncated when ``skip_private`` is set (it was kept on
    purpose). Text that is not an address raises ``ValueError``.
    """
    found = hits(address.encode("ascii"))
    if len(found) != 1 or (found[0].start, found[0].end) != (0, len(address)):
        raise ValueError(f"{address!r} is not an IPv4 or IPv6 address")
    return _truncated(found[0], ipv4mask, ipv6mask, skip_private)


def _truncated(hit: Hit, ipv4mask: int, ipv6mask: int, skip_private: bool) -> bool:
    if skip_private and is_private(hit.value, hit.is_ipv6):
        return True
    if hit.is_ipv6 and hit.value >> 32 != 0xFFFF:
        return hit.value & ((1 << ipv6mask) - 1) == 0
    return hit.value & ((1 << ipv4mask) - 1) == 0


def holds_full_address(line: bytes, options: AnonymizeOptions | None = None) -> bool:
    """Whether ``line`` holds an address with host bits left under the options' masks.

    With no options our defaults apply (IPv4 /24, IPv6 /32). An increment makes
    addresses look full; check such logs with ``increment`` in mind.
    """
    opts = options or AnonymizeOptions()
    return any(
        not _truncated(hit, opts.ipv4mask, opts.ipv6mask, opts.skip_private) for hit in hits(line)
    )


def scan_mask(segment: bytes, masker: Masker) -> tuple[bytes, int, int]:
    """Mask every address in ``segment``: ``(text, masked count, kept-private count)``."""
    found = hits(segment)
    if not found:
        return segment, 0, 0
    pieces: list[bytes] = []
    pos = masked = kept = 0
    text_of: Callable[[int, bool], bytes] = masker.value
    for hit in found:
        text = text_of(hit.value, hit.is_ipv6)
        if isinstance(text, Kept):
            kept += 1
        else:
            masked += 1
        pieces.append(segment[pos : hit.start])
        pieces.append(text)
        pos = hit.end
    pieces.append(segment[pos:])
    return b"".join(pieces), masked, kept

"""One candidate token: parse an IPv4/IPv6 address in the shapes logs write, and mask it.

Accepted shapes (the anonip set plus a few): ``a.b.c.d``, ``a.b.c.d:port``,
``a.b.c.d]``, ``a.b.c.d:port]``, ``[a.b.c.d]:port``, a bare IPv6 address, ``[v6]``,
``[v6]]``, ``[v6]:port``, ``[v6]:port]``, a zone id (``fe80::1%eth0``, dropped in
the output), any letter case. Brackets and ports stay as they are; the address
itself is written in canonical form (lowercase, compressed). An IPv4-mapped IPv6
address (``::ffff:a.b.c.d``) is masked with the IPv4 mask and written
``::ffff:a.b.0.0``. ``-``, ``unknown`` and ``unix:`` (nginx's client of a unix
socket) are placeholders: they hold no address and pass unchanged.

Parsing uses ``socket.inet_pton`` (strict: four decimal octets without leading
zeros, like ``ipaddress``) and falls back to ``ipaddress`` for anything it refuses.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from socket import inet_pton
from typing import Final

PLACEHOLDER: Final = 0
"""``Masker.token`` result: a token that holds no address on purpose (``-``, ``unix:``…)."""
OTHER: Final = 1
"""``Masker.token`` result: a token that is not an address."""

_ALL4: Final = (1 << 32) - 1
_ALL6: Final = (1 << 128) - 1
_MAPPED: Final = 0xFFFF
_AF_INET: Final = socket.AF_INET
_AF_INET6: Final = socket.AF_INET6
_BRACKET: Final = 91
_BRACKET_TAIL = re.compile(rb"\](?::[0-9]*)?\]?")
_PORTS = re.compile(rb"(?::[0-9]*)+")
_PLACEHOLDERS: Final = frozenset({b"-", b"unix:", b"unknown"})
_TEXT_CACHE_LIMIT: Final = 1 << 16


class Kept(bytes):
    """A private address left unmasked (``skip_private``), in canonical form."""


def is_placeholder(token: bytes) -> bool:
    """``-``, ``unknown`` (any case), ``unix:`` and ``unix:/path``: no address inside."""
    return token in _PLACEHOLDERS or token.startswith(b"unix:") or token.lower() == b"unknown"


def v4_value(text: bytes) -> int | None:
    """The integer of a strict dotted-quad IPv4 address, or ``None``."""
    try:
        return int.from_bytes(socket.inet_pton(_AF_INET, text.decode("ascii")), "big")
    except (OSError, ValueError):
        pass
    try:
        return int(ipaddress.IPv4Address(text.decode("ascii")))
    except ValueError:
        return None


def v6_value(text: bytes) -> int | None:
    """The integer of an IPv6 address (any case, zone id allowed and ignored), or ``None``."""
    cut = text.find(b"%")
    if cut >= 0:
        if cut == len(text) - 1:
            return None
        text = text[:cut]
    try:
        return int.from_bytes(socket.inet_pton(_AF_INET6, text.decode("ascii")), "big")
    except (OSError, ValueError):
        pass
    try:
        return int(ipaddress.IPv6Address(text.decode("ascii")))
    except ValueError:
        return None


def lenient_v4_value(text: bytes) -> int | None:
    """Like ``v4_value`` but octets may have leading zeros (read as decimal, e.g. ``01.2.3.4``)."""
    parts = text.split(b".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        if not (part.isdigit() and len(part) <= 3):
            return None
        octet = int(part)
        if octet > 255:
            return None
        value = value << 8 | octet
    return value


def split_token(token: bytes) -> tuple[bytes, int, bool, bytes] | None:
    """``(head, value, is_ipv6, tail)`` of an address token, or ``None``.

    ``head`` and ``tail`` are what surrounds the address (brackets, port) and
    stay unchanged; a zone id is neither (it is dropped).
    """
    if token[:1] == b"[":
        end = token.find(b"]")
        if end < 0 or not _BRACKET_TAIL.fullmatch(token, end):
            return None
        inner = token[1:end]
        if b":" in inner:
            v6 = v6_value(inner)
            return None if v6 is None else (b"[", v6, True, token[end:])
        v4 = v4_value(inner)
        return None if v4 is None else (b"[", v4, False, token[end:])
    inner, tail = (token[:-1], b"]") if token[-1:] == b"]" else (token, b"")
    colon = inner.find(b":")
    if colon < 0:
        v4 = v4_value(inner)
        return None if v4 is None else (b"", v4, False, tail)
    if b"." in inner[:colon]:
        if not _PORTS.fullmatch(inner, colon):
            return None
        v4 = v4_value(inner[:colon])
        return None if v4 is None else (b"", v4, False, inner[colon:] + tail)
    v6 = v6_value(inner)
    return None if v6 is None else (b"", v6, True, tail)


def format_v4(value: int) -> str:
    return f"{value >> 24}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"


def format_v6(value: int) -> str:
    """Canonical IPv6 text (RFC 5952); IPv4-mapped addresses as ``::ffff:a.b.c.d``."""
    if value >> 32 == _MAPPED:
        return "::ffff:" + format_v4(value & _ALL4)
    return str(ipaddress.IPv6Address(value))


def _short_v6(high: int) -> bytes:
    """Canonical text of an IPv6 address whose low 64 bits are zero (``high``: the top 64)."""
    if high & 0xFFFF:
        return b"%x:%x:%x:%x::" % (
            high >> 48,
            high >> 32 & 0xFFFF,
            high >> 16 & 0xFFFF,
            high & 0xFFFF,
        )
    if high & 0xFFFF0000:
        return b"%x:%x:%x::" % (high >> 48, high >> 32 & 0xFFFF, high >> 16 & 0xFFFF)
    if high & 0xFFFF00000000:
        return b"%x:%x::" % (high >> 48, high >> 32 & 0xFFFF)
    return b"%x::" % (high >> 48) if high else b"::"


def is_private(value: int, is_ipv6: bool) -> bool:
    """Python's ``is_private`` table; an IPv4-mapped address is judged by its IPv4 part."""
    if is_ipv6:
        if value >> 32 == _MAPPED:
            return ipaddress.IPv4Address(value & _ALL4).is_private
        return ipaddress.IPv6Address(value).is_private
    return ipaddress.IPv4Address(value).is_private


class Masker:
    """Masks addresses: zero the last ``ipv4mask``/``ipv6mask`` bits, then add ``increment``.

    An increment that would overflow the address space is not applied (the
    masked address is kept), as anonip does. Formatted results are memoized.
    """

    __slots__ = (
        "_high6",
        "_inc",
        "_ipv4mask",
        "_keep4",
        "_keep6",
        "_octets",
        "_skip_private",
        "_text4",
        "_text6",
        "_zeros",
    )

    def __init__(
        self, ipv4mask: int, ipv6mask: int, *, increment: int = 0, skip_private: bool = False
    ) -> None:
        self._keep4 = _ALL4 ^ ((1 << ipv4mask) - 1)
        self._keep6 = _ALL6 ^ ((1 << ipv6mask) - 1)
        self._inc = increment
        self._skip_private = skip_private
        self._text4: dict[int, bytes] = {}
        self._text6: dict[int, bytes] = {}
        # masks of whole octets keep the text of the first octets as written (a strict
        # dotted quad is already canonical): no integer round trip needed
        whole = ipv4mask % 8 == 0 and not increment and not skip_private
        self._octets = 4 - ipv4mask // 8 if whole else -1
        self._zeros = b".0" * (ipv4mask // 8)
        self._ipv4mask = ipv4mask
        # a mask of 64 bits or more keeps at most four groups, followed by a run of at
        # least four zero groups: the canonical text is the kept groups and "::"
        plain = ipv6mask >= 64 and not increment and not skip_private
        self._high6 = self._keep6 >> 64 if plain else -1

    def v4(self, value: int) -> bytes:
        """The masked text of an IPv4 address (``Kept`` when private and kept)."""
        if self._skip_private and is_private(value, False):
            return Kept(format_v4(value).encode("ascii"))
        masked = value & self._keep4
        if self._inc and masked + self._inc <= _ALL4:
            masked += self._inc
        text = self._text4.get(masked)
        if text is None:
            if len(self._text4) >= _TEXT_CACHE_LIMIT:
                self._text4.clear()
            text = self._text4[masked] = format_v4(masked).encode("ascii")
        return text

    def v6(self, value: int) -> bytes:
        """The masked text of an IPv6 address; IPv4-mapped ones get the IPv4 mask."""
        if value >> 32 == _MAPPED:
            inner = self.v4(value & _ALL4)
            text = b"::ffff:" + inner
            return Kept(text) if isinstance(inner, Kept) else text
        if self._high6 >= 0:
            return _short_v6(value >> 64 & self._high6)
        if self._skip_private and is_private(value, True):
            return Kept(format_v6(value).encode("ascii"))
        masked = value & self._keep6
        if self._inc and masked + self._inc <= _ALL6:
            masked += self._inc
        known = self._text6.get(masked)
        if known is None:
            if len(self._text6) >= _TEXT_CACHE_LIMIT:
                self._text6.clear()
            known = self._text6[masked] = format_v6(masked).encode("ascii")
        return known

    def value(self, value: int, is_ipv6: bool) -> bytes:
        return self.v6(value) if is_ipv6 else self.v4(value)

    def token(self, token: bytes) -> bytes | int:
        """The replacement for a whole token, or ``PLACEHOLDER`` / ``OTHER``.

        The result is ``bytes`` for a masked address and ``Kept`` (a ``bytes``
        subclass) for a private address left as it was.
        """
        if b":" not in token:
            if b"." not in token:
                return PLACEHOLDER if is_placeholder(token) else OTHER
            try:
                packed = inet_pton(_AF_INET, token.decode("ascii"))
            except (OSError, ValueError):
                pass
            else:
                if self._octets == 3:
                    return token[: token.rfind(b".")] + self._zeros
                return self._quad(token, packed)
        elif token[0] != _BRACKET:
            try:
                packed = inet_pton(_AF_INET6, token.decode("ascii"))
            except (OSError, ValueError):
                pass
            else:
                return self.v6(int.from_bytes(packed, "big"))
        if is_placeholder(token):
            return PLACEHOLDER
        parts = split_token(token)
        if parts is None:
            return OTHER
        head, value, is_ipv6, tail = parts
        text = self.v6(value) if is_ipv6 else self.v4(value)
        result = head + text + tail
        return Kept(result) if isinstance(text, Kept) else result

    @property
    def quad_form(self) -> tuple[int, int] | None:
        """How a strict dotted quad is masked without arithmetic, or ``None`` (increment, skip).

        ``(octets, bits)``: the first ``octets`` (0-3) octets stay as written, the next one
        is ANDed with ``bits`` and the rest become ``0``. A mask of 0 gives ``(3, 255)``.
        """
        if self._inc or self._skip_private:
            return None
        kept = 32 - self._ipv4mask
        if kept == 32:
            return 3, 0xFF
        return kept // 8, (0xFF << (8 - kept % 8)) & 0xFF

    def _quad(self, token: bytes, packed: bytes) -> bytes:
        """The masked text of a strict dotted quad."""
        octets = self._octets
        if octets == 3:
            return token[: token.rfind(b".")] + self._zeros
        if octets < 0:
            return self.v4(int.from_bytes(packed, "big"))
        if octets == 0:
            return b"0.0.0.0"
        return b".".join(token.split(b".")[:octets]) + self._zeros

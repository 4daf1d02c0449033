"""Mask many fields in one go: common addresses by one regex split, the rest through a memo.

The fields are joined by ``\\n`` and cut by one ``re.split``. A strict dotted
quad is masked by the split itself: the kept octets are captured as they are,
the next octet goes through a table of its 256 values and the dropped ones are
not captured at all. An IPv6 address in canonical form with its kept groups
written out is masked the same way (the last kept group goes through a table).
Every other field is looked up in a bounded memo that ``learn`` fills, once per
distinct value. The tables only reach the text that ``learn`` would give, faster.
The pieces of the split are joined again and cut at the line breaks into the masked
fields (``texts``), or joined with the separators they came with (``mask``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any, Final

OCTET: Final = rb"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
CACHE_LIMIT: Final = 1 << 16
MARK: Final = b"\0"
"""Stands for ``", "`` between list entries (input holding a NUL byte is refused before
any field is read, so this is never text)."""
SLOW: Final = b"\0"
"""``learn``'s text for a field the engine cannot settle alone (not an address, not a
placeholder): the line needs the per-line path."""

Tally = tuple[int, int, int]
"""``(masked, kept private, passed)`` counts."""
Learn = Callable[[bytes], tuple[bytes, Tally]]
"""Text and tally of one field; the text is ``SLOW`` for a field that needs the line."""

MASKED: Final[Tally] = (1, 0, 0)
NEVER: Final = rb"(?!)()()"
"""A branch with two groups that never matches."""
NO_TABLE: Final[dict[Any, Any]] = {None: None}
"""The table of ``NEVER`` (copied before use)."""
_END: Final = rb"(?=\n|\Z)"
_ENTRY_END: Final = rb"(?=[\n\x00]|\Z)"
_PORT: Final = rb"(?=(?::[0-9]{1,5})?(?:\n|\Z))"
_ENTRY_PORT: Final = rb"(?=(?::[0-9]{1,5})?(?:[\n\x00]|\Z))"
_GROUP: Final = rb"(?:[1-9a-f][0-9a-f]{0,3}|0)"  # one IPv6 group as nginx writes it
_NON_ZERO_GROUP: Final = rb"[1-9a-f][0-9a-f]{0,3}"
_ANY_GROUP: Final = rb"[0-9A-Fa-f]{1,4}"


def quad_branch(
    form: tuple[int, int], tail: bytes = b"", stop: bytes | None = None
) -> tuple[bytes, dict[Any, Any]]:
    """``(pattern, table)`` that masks a strict dotted quad with two groups.

    ``form`` is ``Masker.quad_form``. Group one holds the kept octets (with their
    dots), group two the next octet; ``table`` maps that octet to its masked text
    followed by the zeros of the dropped octets and ``tail``. The dropped octets are
    matched but not captured. ``table[None]`` is ``None``, so mapping a column of
    group-two values with ``table.__getitem__`` leaves other lines alone. With a
    ``stop`` (the pattern of what ends the field), an IPv4-mapped IPv6 address
    written ``::ffff:a.b.c.d`` is taken too: its prefix goes into group one, and the
    IPv4 part is masked as any quad (a port after it is not allowed).
    """
    octets, bits = form
    dropped = 3 - octets
    mapped = b"" if stop is None else rb"(?:::ffff:(?=[0-9.]+(?:" + stop + b")))?"
    kept = b"(" + mapped + rb"\.".join([OCTET] * octets) + (rb"\.)" if octets else b")")
    pattern = kept + b"(" + OCTET + b")" + rb"\." * bool(dropped) + rb"\.".join([OCTET] * dropped)
    zeros = b".0" * dropped + tail
    table: dict[Any, Any] = {b"%d" % value: b"%d" % (value & bits) + zeros for value in range(256)}
    table[None] = None
    return pattern, table


class _LastGroup(dict[Any, Any]):
    """Masked text of the last kept IPv6 group, learnt on first sight.

    The keys are spellings (``0db8``, ``DB8``…), so the table is emptied when it grows
    past ``CACHE_LIMIT`` entries.

    ``lead`` goes before a group that stays non-zero (``:`` when full groups come
    before it); a group masked to zero leaves only ``::``, which closes the run of
    zero groups that starts there.
    """

    def __init__(self, keep: int, lead: bytes, tail: bytes) -> None:
        super().__init__({None: None})
        self._keep = keep
        self._lead = lead
        self._tail = b"::" + tail

    def __missing__(self, key: bytes) -> bytes:
        if len(self) > CACHE_LIMIT:
            self.clear()
            self[None] = None
        masked = int(key, 16) & self._keep
        text = self[key] = (self._lead + b"%x" % masked if masked else b"") + self._tail
        return text


def hex_branch(ipv6mask: int, tail: bytes = b"") -> tuple[bytes, dict[Any, Any]] | None:
    """``(pattern, table)`` that masks a common IPv6 address with two groups, or ``None``.

    For masks of 64 to 127 bits: an address whose full kept groups are written out in
    canonical form, the last of them not zero (so that the zero groups after the kept
    bits, at least four, are the run that ``::`` stands for). Group one holds those
    full groups as they are (without the colon after them), group two the partly kept
    group in any spelling, which ``table`` maps to ``:`` and its masked text (or to
    nothing when that is zero), then ``::`` and ``tail``. The pattern checks that the
    rest is a valid IPv6 address.
    """
    if not 64 <= ipv6mask < 128:
        return None
    bits = 128 - ipv6mask
    groups = (bits + 15) // 16
    dropped = 16 - (bits - 16 * (groups - 1))  # bits of the last kept group that go
    rest = 8 - groups
    h = _ANY_GROUP
    tails = [b"(?::%s){%d}" % (h, rest)]
    for more in range(rest):
        after = rest - 1 - more  # groups allowed after "::"
        tail_groups = b"(?:%s(?::%s){0,%d})?" % (h, h, after - 1) if after else b""
        tails.append(b"(?::%s){%d}::" % (h, more) + tail_groups)
    full, last = b"", rb"(?!0{1,4}:)" + h  # a first group of zero may start ::ffff:a.b.c.d
    if groups > 1:  # the full groups, the last of them not zero, and the colon after them
        full, last = b"(?:" + _GROUP + b":){%d}" % (groups - 2) + _NON_ZERO_GROUP, h
    pattern = (
        b"(" + full + b")" + b":" * (groups > 1) + b"(" + last + b")(?:" + b"|".join(tails) + b")"
    )
    keep = (0xFFFF << dropped) & 0xFFFF
    return pattern, _LastGroup(keep, b":" if groups > 1 else b"", tail)


def lane6(ipv6mask: int | None, tail: bytes = b"") -> tuple[bytes, dict[Any, Any]]:
    """``hex_branch`` for ``ipv6mask``, or a branch that never matches (``None``, other masks)."""
    found = hex_branch(ipv6mask, tail) if ipv6mask is not None else None
    return found or (NEVER, dict(NO_TABLE))


class Batch:
    """Masks marked fields with the quad and IPv6 tables and a memo of the rest.

    ``form`` is ``Masker.quad_form`` (``None``: no quad shortcut) and ``ipv6mask``
    the IPv6 mask (``None``: no IPv6 shortcut); ``learn`` gives the text and tally
    of any other field.
    """

    def __init__(
        self, form: tuple[int, int] | None, learn: Learn, *, ipv6mask: int | None = None
    ) -> None:
        self._octets: dict[Any, Any]
        self._last: dict[Any, Any]
        quad = entry = NEVER
        self._octets = dict(NO_TABLE)
        if form:
            quad, self._octets = quad_branch(form, stop=rb"\n|\Z")
            entry, _ = quad_branch(form, stop=rb"[\n\x00]|\Z")
        hexes, self._last = lane6(ipv6mask)
        fields = b"(?:" + quad + _PORT + b"|" + hexes + _END + rb"|([^\n]*))"
        self._fields = re.compile(rb"(\n)" + fields).split
        self._entries = re.compile(
            rb"([\n\x00])(?:" + entry + _ENTRY_PORT + b"|" + hexes + _ENTRY_END + rb"|([^\n\x00]*))"
        ).split
        self._learn = learn
        self._memo: dict[Any, Any] = {None: None}
        self._odd: dict[bytes, Tally] = {}
        self._slow: set[bytes] = set()

    def texts(self, fields: list[bytes]) -> tuple[list[bytes], Tally] | None:
        """The ``fields`` (none empty) masked, in order, and the tally; ``None`` if a field
        is ``SLOW``.
        """
        if not fields:
            return [], (0, 0, 0)
        parts: list[Any] = self._fields(b"\n" + b"\n".join(fields))
        # per field: text before (empty), "\n", kept octets, octet, kept groups, last group,
        # other field
        keys = parts[6::7]
        distinct = self.learn(keys)
        if self._slow and not self._slow.isdisjoint(distinct):
            return None
        parts[6::7] = map(self._memo.__getitem__, keys)
        parts[3::7] = map(self._octets.__getitem__, parts[3::7])
        parts[5::7] = map(self._last.__getitem__, parts[5::7])
        present = len(keys) - keys.count(None)
        texts = b"".join(filter(None, parts)).split(b"\n")
        return texts[1:], self.tally(keys, present, distinct)

    def mask(self, lists: bytes) -> tuple[bytes, Tally]:
        """Lists of fields (``", "`` between fields, ``\\n`` between lists) with every field
        replaced, and the tally. ``learn`` must not give ``SLOW`` here.
        """
        parts: list[Any] = self._entries(b"\n" + lists.replace(b", ", MARK))
        # per field: text before, separator, kept octets, octet, kept groups, last group, other
        keys = parts[6::7]
        distinct = self.learn(keys)
        parts[6::7] = map(self._memo.__getitem__, keys)
        parts[3::7] = map(self._octets.__getitem__, parts[3::7])
        parts[5::7] = map(self._last.__getitem__, parts[5::7])
        parts[1] = b""
        present = len(keys) - keys.count(None)
        text = b"".join(filter(None, parts)).replace(MARK, b", ")
        return text, self.tally(keys, present, distinct)

    def learn(self, keys: list[Any]) -> set[Any]:
        """Fill the memo for ``keys`` (``None`` entries are skipped); returns the distinct keys."""
        distinct = set(keys)
        memo = self._memo
        unseen = distinct.difference(memo)
        if not unseen:
            return distinct
        if len(memo) + len(unseen) > CACHE_LIMIT:
            memo.clear()
            memo[None] = None
            self._odd.clear()
            self._slow.clear()
            unseen = set(distinct)
            unseen.discard(None)
        learn, odd = self._learn, self._odd
        for key in unseen:
            text, tally = learn(key)
            memo[key] = text
            if tally != MASKED:
                odd[key] = tally
                if text is SLOW:
                    self._slow.add(key)
        return distinct

    def tally(self, keys: list[Any], present: int, distinct: set[Any]) -> Tally:
        """Counts for ``keys`` (``present`` of them not ``None``); a ``None`` is one masked.

        ``distinct`` is what ``learn`` returned for these keys.
        """
        masked = len(keys) - present  # the fields the regex masked
        odd = self._odd.keys() & distinct
        if not odd:
            return masked + present, 0, 0
        times: Callable[[Any], int] = Counter(keys).__getitem__ if len(odd) > 8 else keys.count
        kept = passed = 0
        for key in odd:
            one, two, three = self._odd[key]
            many = times(key)
            present -= many
            masked += one * many
            kept += two * many
            passed += three * many
        return masked + present, kept, passed

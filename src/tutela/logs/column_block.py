"""The fast path of the default mode: column 1 (and X-Forwarded-For lists) of a whole block.

One regex split of ``"\\n" + block`` cuts every line into its first column and
the rest. A first column that is a strict dotted quad is masked by the split
itself (the kept octets are captured, the next octet goes through a table of its
256 values that also brings back the zeros and the delimiter, the dropped ones
are not captured); any other first column (with its delimiter, if any) is looked
up in a memo with ``map``. Only unseen values are parsed in Python, and only
lines that need more (a first column that is not a plain address, a line without
the delimiter) run per-line code. X-Forwarded-For lists of the block are joined
and split the same way. The result equals ``Anonymizer._body`` line by line.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from itertools import compress, count, repeat
from operator import add, and_, ge, is_, itemgetter, mul, not_
from typing import Any, Final

from tutela.logs.batch import CACHE_LIMIT, NEVER, NO_TABLE, Batch, Tally, lane6, quad_branch

XFF_QUOTES: Final = 8
"""Quotes a line needs for its last quoted field to be the X-Forwarded-For list (nginx
``main``: request, referrer, user agent, forwarded-for)."""
_SLOW: Final = object()  # memo value: this column needs the per-line path
_unquote = itemgetter(slice(None, -1))


_IN_ADDRESSES: Final = frozenset(b"0123456789abcdefABCDEF.:[]%")


def splitter(delimiter: bytes) -> bool:
    """Whether the block path serves this delimiter: one byte, not a line break, and none
    that an address can hold (the shortcuts would read an address across it).
    """
    return len(delimiter) == 1 and delimiter not in b"\n\r" and delimiter[0] not in _IN_ADDRESSES


class FirstColumn:
    """Masks column 1 of whole blocks; ``slow`` handles any line the fast path cannot.

    ``form`` and ``ipv6mask`` select the regex shortcuts (see ``Batch``); ``compute``
    is ``Masker.token``; ``entries`` masks X-Forwarded-For lists (``None``: left alone).
    """

    def __init__(
        self,
        delimiter: bytes,
        form: tuple[int, int] | None,
        *,
        ipv6mask: int | None,
        compute: Callable[[bytes], bytes | int],
        slow: Callable[[bytes], bytes],
        entries: Batch | None,
    ) -> None:
        d = re.escape(delimiter)
        self._octet: dict[Any, Any]
        self._last: dict[Any, Any]
        quad, self._octet = quad_branch(form, delimiter, d) if form else (NEVER, dict(NO_TABLE))
        hexes, self._last = lane6(ipv6mask, delimiter)
        # per line: "\n", kept octets, next octet, kept groups, last group, any other first
        # column (with its delimiter)
        self._split = re.compile(
            rb"(\n)(?:" + quad + d + b"|" + hexes + d + rb"|([^\n" + d + b"]*(?:" + d + b")?))"
        ).split
        self._delimiter = delimiter
        self._compute = compute
        self._slow = slow
        self._entries = entries
        self._memo: dict[Any, Any] = {None: None}
        self._slow_keys: set[bytes] = set()  # memo keys that need the per-line path

    def block(self, block: bytes) -> tuple[bytes, int, Tally]:
        """``(anonymized block, lines, (masked, kept, passed))``.

        The counts cover the fast path only; ``slow`` counts the lines it handles.
        """
        # per line: pre, "\n", kept octets, octet, kept groups, last group, key, rest
        parts: list[Any] = self._split(b"\n" + block)
        lines = len(parts) // 7  # every line start matches
        parts[3::7] = map(self._octet.__getitem__, parts[3::7])
        parts[5::7] = map(self._last.__getitem__, parts[5::7])
        keys = parts[6::7]
        if self._learn(keys):
            results = list(map(self._memo.__getitem__, keys))
            slow = list(compress(count(), map(is_, results, repeat(_SLOW))))
            parts[6::7] = results
        else:
            parts[6::7] = map(self._memo.__getitem__, keys)
            slow = []
        for index in slow:
            at = 7 * index + 6
            parts[at] = self._slow(keys[index] + parts[at + 1])
            parts[at + 1] = b""
        masked = lines - len(slow)
        kept = passed = 0
        if self._entries is not None:
            one, kept, passed = self._lists(parts, self._entries)
            masked += one
        parts[1] = b""
        return b"".join(filter(None, parts)), lines, (masked, kept, passed)

    def _learn(self, keys: list[Any]) -> bool:
        """Fill the memo for ``keys``; whether some of them need the per-line path."""
        distinct = set(keys)
        unseen = distinct.difference(self._memo)
        if len(self._memo) + len(unseen) > CACHE_LIMIT:
            self._memo.clear()
            self._memo[None] = None
            self._slow_keys.clear()
            unseen = set(distinct)
            unseen.discard(None)
        compute, memo, delimiter = self._compute, self._memo, self._delimiter
        for key in unseen:
            result = compute(key[:-1]) if len(key) > 1 and key[-1:] == delimiter else None
            if type(result) is bytes:
                memo[key] = result + delimiter
            else:
                memo[key] = _SLOW
                self._slow_keys.add(key)
        return not self._slow_keys.isdisjoint(distinct)

    @staticmethod
    def _lists(parts: list[Any], entries: Batch) -> Tally:
        """Mask the X-Forwarded-For lists of the fast lines: ``(masked, kept, passed)``."""
        rests: list[bytes] = parts[7::7]
        # the list is the last quoted field, not "-", of a line with four or more of them
        # (the rest of a line that took the slow path is empty, so it is never chosen)
        quotes = list(map(bytes.count, rests, repeat(b'"')))
        if max(quotes) < XFF_QUOTES:
            return 0, 0, 0
        candidates = list(compress(count(), map(ge, quotes, repeat(XFF_QUOTES))))
        chosen = list(map(rests.__getitem__, candidates))
        ends = map(bytes.endswith, chosen, repeat(b'"'))
        dashes = map(bytes.endswith, chosen, repeat(b'"-"'))
        where = list(compress(candidates, map(and_, ends, map(not_, dashes))))
        if not where:
            return 0, 0, 0
        # each chosen rest as (text before the list, '"', the list) — then all lists as one text
        split = list(
            map(bytes.rpartition, map(_unquote, map(rests.__getitem__, where)), repeat(b'"'))
        )
        heads = map(itemgetter(0), split)
        text, tally = entries.mask(b"\n".join(map(itemgetter(2), split)))
        rebuilt = map(b'"'.join, zip(heads, text.split(b"\n"), repeat(b"")))
        positions = map(add, map(mul, where, repeat(7)), repeat(7))
        deque(map(parts.__setitem__, positions, rebuilt), maxlen=0)
        return tally

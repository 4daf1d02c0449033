"""The fast path of regex mode: one ``finditer`` over a whole block, the fields masked in one batch.

The user's regex (the alternatives joined by ``|``) is compiled as
``\\n(?:REGEX)`` with ``re.MULTILINE`` and run over ``"\\n" + block``: every
match starts at a line start, and the regex engine skips to the next line
start by itself. A match found that way is the match ``re.match`` finds on the
line alone, unless it runs past the line end; such a match swallows the next
line's ``\\n``, so the block then has fewer matches than lines and is left to the
per-line path (``None``), as is a block where some line does not match or
groups overlap. Regexes whose meaning depends on what lies beyond the line
(lookarounds, ``\\A``, ``\\Z``) never take this path. Only the group spans are
touched: the fields go to a ``Batch``, which puts them back between the
untouched text; a block with a field that is neither an address nor a
placeholder is left to the per-line path as well.
"""

from __future__ import annotations

import re
from typing import Final

from tutela.logs.batch import Batch, Tally

_BEYOND_THE_LINE: Final = (b"(?=", b"(?!", b"(?<", b"\\A", b"\\Z")


def block_pattern(pattern: bytes) -> re.Pattern[bytes] | None:
    """``\\n(?:pattern)`` for ``finditer`` over a block, or ``None`` when it may differ."""
    if any(token in pattern for token in _BEYOND_THE_LINE):
        return None
    try:
        return re.compile(b"\\n(?:" + pattern + b")", re.MULTILINE)
    except re.error:  # e.g. global flags such as (?i), allowed only at the very start
        return None


class RegexBlock:
    """Regex mode over whole blocks."""

    def __init__(self, pattern: re.Pattern[bytes], batch: Batch) -> None:
        self._finditer = pattern.finditer
        self._batch = batch

    def block(self, block: bytes) -> tuple[bytes, int, Tally] | None:
        """``(anonymized block, lines, (masked, kept, passed))`` or ``None`` (per-line path)."""
        text = b"\n" + block
        spans: list[int] = []
        append = spans.append
        matched = 0
        for found in self._finditer(text):
            matched += 1
            for start, end in found.regs[1:]:
                if start < end:
                    append(start)
                    append(end)
        if matched != text.count(b"\n") or spans != sorted(spans):
            return None  # a line without a match, a match past its line, overlapping groups
        if not spans:
            return block, matched, (0, 0, 0)
        starts, ends = spans[0::2], spans[1::2]
        fields = map(text.__getitem__, map(slice, starts, ends))
        between = map(text.__getitem__, map(slice, [1, *ends], [*starts, len(text)]))
        done = self._batch.fill(fields, between)
        return None if done is None else (done[0], matched, done[1])

"""The fast path of regex mode: one ``re.split`` over a whole block, the fields masked in one batch.

The user's regex is rewritten (``tiling``) as ``(\\n)(?:REGEX)`` with ``re.MULTILINE``
and groups that cover each match, and split over ``"\\n" + block``: every match
starts at a line start, and the regex engine skips to the next line start by
itself. A match found that way is the match ``re.match`` finds on the line alone,
unless it runs past the line end. The rewrite keeps negated sets from taking a
line break, so for most regexes no match can; a line without a match then leaves
its line break in the text between matches, which is checked. For the others the
lines are counted, and a block with fewer matches than lines goes to the per-line
path (``None``). A dotted quad that makes up a whole field is masked by the split
itself (the next octet goes through a table); the user's other fields go to a
``Batch`` and come back masked into their places; the rest of every line is copied
as it is. A block with a field that is neither an address nor a placeholder is
left to the per-line path as well.
"""

from __future__ import annotations

from collections import deque
from itertools import chain, compress, count
from typing import Any

from tutela.logs.batch import Batch, Tally
from tutela.logs.tiling import Tiling


class RegexBlock:
    """Regex mode over whole blocks."""

    def __init__(self, tiling: Tiling, batch: Batch, octets: dict[Any, Any]) -> None:
        self._split = tiling.split
        self._width = tiling.width
        self._fields = tiling.fields
        self._octets = tiling.octets
        self._within_line = tiling.within_line
        self._table = octets
        self._batch = batch

    def block(self, block: bytes) -> tuple[bytes, int, Tally] | None:
        """``(anonymized block, lines, (masked, kept, passed))`` or ``None`` (per-line path)."""
        text = b"\n" + block
        parts: list[Any] = self._split(text)
        width = self._width
        if self._within_line:  # a line without a match leaves its line break between matches
            lines = len(parts) // width
            if b"\n" in b"".join(filter(None, parts[0::width])):
                return None
        else:
            lines = text.count(b"\n")
            if len(parts) != 1 + lines * width:
                return None  # a line without a match, or a match past its line
        quads = 0  # the quads the split took: their next octet goes through the table
        for group in self._octets:
            column = parts[group::width]
            quads += len(column) - column.count(None)
            parts[group::width] = map(self._table.__getitem__, column)
        # the user's fields that are there and not empty go to the batch and come back
        # masked into their places
        places = list(
            chain.from_iterable(
                compress(count(group, width), parts[group::width]) for group in self._fields
            )
        )
        done = self._batch.texts(list(map(parts.__getitem__, places)))
        if done is None:
            return None
        texts, (masked, kept, passed) = done
        deque(map(parts.__setitem__, places, texts), maxlen=0)
        parts[1] = b""  # the line break put in front of the block
        return b"".join(filter(None, parts)), lines, (masked + quads, kept, passed)

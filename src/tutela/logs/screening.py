"""What a block must pass before it is anonymized: text only, UTF-8, no over-long line.

The checks run on whole blocks at memory speed (``find``, ``isascii``); only a
block that fails one of them is looked at line by line, to name the line.
"""

from __future__ import annotations

import re
from typing import Final

_BLANKS: Final = b" \t\r\x0b\x0c"  # what bytes.rstrip() removes, besides line breaks
_BLANK_BEFORE_BREAK: Final = re.compile(rb"\n(?<=[ \t\r\x0b\x0c]\n)")


def problem(block: bytes, limit: int) -> tuple[str, int] | None:
    """``(reason, 0-based line)`` of the first problem in ``block``, or ``None``."""
    where = block.find(b"\0")
    if where >= 0:
        return (
            "the line holds a NUL byte, so the input is binary, not a text log; "
            "check the file (decompress it first if it is an archive)",
            block.count(b"\n", 0, where),
        )
    if not block.isascii():
        try:
            block.decode("utf-8")
        except UnicodeDecodeError as exc:
            return (
                f"byte 0x{block[exc.start]:02x} is not UTF-8 text; convert the log to "
                "UTF-8 (e.g. iconv -f latin1 -t utf-8) or check that it is a text log",
                block.count(b"\n", 0, exc.start),
            )
    if len(block) > limit and _may_be_too_long(block, limit):
        for index, line in enumerate(block.split(b"\n")):
            if len(line) > limit:
                return too_long(len(line), limit), index
    return None


def too_long(size: int, limit: int) -> str:
    """The reason for refusing a line of ``size`` bytes."""
    return (
        f"the line is {size} bytes long, over the limit of {limit}; "
        "raise --max-line if such lines are expected, or check the input"
    )


def trailing_blanks(block: bytes) -> bool:
    """Whether some line of ``block`` ends in blanks.

    A search led by a literal byte is several times faster than one led by a set of
    bytes, so the search is for a line break, then looks back at the byte before it.
    """
    if block and block[-1] in _BLANKS:
        return True
    return _BLANK_BEFORE_BREAK.search(block) is not None


def _may_be_too_long(block: bytes, limit: int) -> bool:
    """False when no line of ``block`` is longer than ``limit`` (True: check each line).

    A line over the limit covers a whole window of ``limit // 2`` bytes that starts
    at a multiple of it, so a block with a line break in every such window has none.
    """
    step = limit // 2
    find = block.find
    starts = range(0, len(block) - step + 1, step)
    return any(find(b"\n", start, start + step) < 0 for start in starts)

"""Block checks: binary data, bad UTF-8 and over-long lines are found with their line."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutela.logs.screening import problem, trailing_blanks


@pytest.mark.parametrize(
    ("block", "line", "words"),
    [
        (b"a\nb\x00c\nd", 1, "NUL byte"),
        (b"a\n\n\xe4", 2, "not UTF-8"),
        (b"a\n" + b"x" * 81 + b"\nb", 1, "81 bytes long, over the limit of 80"),
    ],
)
def test_problems_name_the_line(block: bytes, line: int, words: str) -> None:
    found = problem(block, 80)
    assert found is not None
    assert found[1] == line
    assert words in found[0]


def test_clean_blocks_pass() -> None:
    assert problem("a\nöé\n".encode() + b"x" * 80, 80) is None


@given(st.lists(st.integers(0, 300), min_size=1, max_size=40), st.integers(80, 200))
def test_every_over_long_line_is_found(sizes: list[int], limit: int) -> None:
    block = b"\n".join(b"x" * size for size in sizes)
    found = problem(block, limit)
    longer = [index for index, size in enumerate(sizes) if size > limit]
    assert (found is None) == (not longer)
    if found is not None:
        assert found[1] == longer[0]


@given(st.lists(st.sampled_from([b"a", b"a ", b"a\t", b"", b" ", b"a\r", b"a\x0c", b"a\x1c"])))
def test_trailing_blanks_are_those_rstrip_removes(rows: list[bytes]) -> None:
    block = b"\n".join(rows)
    assert trailing_blanks(block) == any(row != row.rstrip() for row in rows)

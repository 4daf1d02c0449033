"""The tiled regex: the same matches as the user's regex, with every piece of them kept."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutela.logs.batch import quad_branch
from tutela.logs.tiling import tile

XFF = rb'^(\S+) .* "(?:-|([^",]+)(?:, ([^",]+))?(?:, ([^",]+))?)"$'
PATTERNS = [
    XFF,
    rb"^(\S+) ",
    rb"^(?:(\d+)|([a-f:]+))\b",
    rb'^([^ ]+) [^"]*"([^"]*)"',
    rb"^(\S*) (\S+)?x?",
    rb"^(?>(\S+)) (.)",
    rb"^(?:a(b)?c|(d))",
]
QUAD, OCTETS = quad_branch((2, 0xF0))


@st.composite
def lines(draw: st.DrawFn) -> bytes:
    words = st.sampled_from(
        [b"1.2.3.4", b"2001:db8::1", b"-", b"abc", b"dc", b'"x, y"', b'"-"', b"9.9.9.9:80", b""]
    )
    return b" ".join(draw(st.lists(words, min_size=1, max_size=6)))


@given(line=lines(), pattern=st.sampled_from(PATTERNS))
def test_the_pieces_join_back_to_the_line_and_the_groups_are_the_users(
    line: bytes, pattern: bytes
) -> None:
    tiling = tile(pattern)
    assert tiling is not None
    found = re.match(pattern, line)
    pieces = tiling.split(b"\n" + line)
    if found is None:
        assert len(pieces) == 1
        return
    assert len(pieces) == 1 + tiling.width
    assert b"".join(filter(None, pieces)) == b"\n" + line
    assert tuple(pieces[group] for group in tiling.fields) == found.groups()


def test_a_run_of_one_kind_takes_a_whole_quad_first() -> None:
    tiling = tile(rb"^(\S+) ", QUAD)
    assert tiling is not None
    assert tiling.octets
    (octet,) = tiling.octets
    (field,) = tiling.fields
    pieces = tiling.split(b"\n1.2.3.4 x")
    assert (pieces[octet - 1], pieces[octet], pieces[field]) == (b"1.2.", b"3", None)
    pieces = tiling.split(b"\n1.2.3.4:80 x")  # not a quad as a whole: the user's group
    assert (pieces[octet], pieces[field]) == (None, b"1.2.3.4:80")


@pytest.mark.parametrize("pattern", [rb"^([a-z]+) ", rb"^(\S+?) ", rb"^(\S{2,}) ", rb"^((?i)x)"])
def test_runs_that_cannot_hold_a_quad_or_are_not_greedy_stay_as_they_are(pattern: bytes) -> None:
    tiling = tile(pattern, QUAD)
    assert tiling is None or not tiling.octets


@pytest.mark.parametrize(
    "pattern",
    [
        rb"^(\S+) \1",  # a back-reference: the numbers change
        rb"^(?P<a>\S+) (?P=a)",
        rb"^((\S+)) ",  # a group inside a group
        rb"^(?:(\d+),)+",  # a group that repeats
        rb"^(a)?(?(1)b|c)",  # a conditional
        rb"^(\S+)(?= )",  # a lookaround may see past the line
        rb"(?i)^(\S+)",  # a global flag that is no longer at the start
        rb"^(\S+) .*|\B",  # \B matches between two line breaks, never on an empty line
        b"(?:x|" * 400 + b"(a)" + b")" * 400,  # nested too deep for the walk
    ],
)
def test_shapes_that_could_come_out_of_order_are_declined(pattern: bytes) -> None:
    assert tile(pattern) is None


@pytest.mark.parametrize(
    ("pattern", "within"),
    [
        (XFF, True),
        (rb'^([^ ]+) [^"]*"', True),
        (rb"^(\S+)\s", False),  # \s takes a line break
        (rb"^(\S+)[^\n]*\n?", False),  # a line break in the pattern
        (rb"^(\S+)(?s:.)", False),  # . under DOTALL
    ],
)
def test_patterns_that_stay_within_their_line(pattern: bytes, within: bool) -> None:
    tiling = tile(pattern)
    assert tiling is not None
    assert tiling.within_line is within


def test_a_negated_set_stops_at_the_line_end() -> None:
    """Neither line matches on its own, so neither may match in the block."""
    tiling = tile(rb'^([^ ]+) [^"]*"')
    assert tiling is not None
    assert re.match(rb'^([^ ]+) [^"]*"', b'a x\nb"') is not None  # what the user's regex does
    assert tiling.split(b'\na x\nb"') == [b'\na x\nb"']

"""Regex mode over whole blocks: byte for byte what the per-line path gives, or declined."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutela.logs import AnonymizeOptions, Anonymizer
from tutela.logs.tiling import tile

XFF = r'^(\S+) .* "(?:-|([^",]+)(?:, ([^",]+))?(?:, ([^",]+))?)"$'
REGEXES = [
    XFF,
    r"^(\S+) ",
    r"^((\S*)) ",  # nested groups: declined, the lines go one by one
    r"^(?:(\d+)|([a-f:]+))\b",
    r"(?:([\d.]+),)+",  # a repeated group
    r'"([^"]*)"$',
    r"^(\S+)[^\n]*\n?",  # may run into the next line: declined
    r'^(\S+) .* "([^"]*)"(?= )',  # a lookahead: never on the block path
    r"^(\S+)\s",  # a set that takes a line break: lines are counted
    r'^([^ ]+) [^"]*"([^"]*)"',  # negated sets that stop at the line end
    r"^(\S*) (\S+)",  # a run that may be empty
    r"([\d.:a-fA-F]+|-)\s",  # a run that takes only part of the addresses' characters
]
TAIL = b' - - [20/May/2024:10:00:00 +0200] "GET /?ip=11.2.3.45 HTTP/1.1" 200 5 "-" "agent"'


@st.composite
def clients(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["v4", "v6", "mapped", "bracket", "port", "other"]))
    value = draw(st.integers(0, (1 << 32) - 1))
    v4 = str(ipaddress.IPv4Address(value))
    v6 = ipaddress.IPv6Address(draw(st.integers(1 << 32, (1 << 128) - 1)))
    text = {
        "v4": v4,
        "v6": draw(st.sampled_from([str(v6), v6.exploded.upper()])),
        "mapped": f"::ffff:{v4}",
        "bracket": f"[{v6}]:443",
        "port": f"{v4}:8080",
        "other": draw(st.sampled_from(["-", "unix:", "unknown", "for=1.2.3.4", "x"])),
    }[kind]
    return text.encode()


@st.composite
def lines(draw: st.DrawFn, shapes: tuple[str, ...] = ("combined", "main", "odd")) -> bytes:
    shape = draw(st.sampled_from(shapes))
    client = draw(clients())
    if shape == "combined":
        return client + TAIL
    if shape == "main":
        entries = draw(st.lists(clients(), min_size=0, max_size=3))
        listed = b", ".join(entries) if entries else b"-"
        return client + TAIL + b' "' + listed + b'"'
    return draw(st.sampled_from([b"", b"no address", b"  1.2.3.4 x", b'"" ""', client]))


def _both(options: AnonymizeOptions, rows: list[bytes]) -> None:
    by_line = Anonymizer(options)
    expected = b"".join(by_line.line(row + b"\n") for row in rows)
    by_block = Anonymizer(options)
    assert by_block.block(b"\n".join(rows)) + b"\n" == expected
    assert by_block.counts == by_line.counts


SHAPES = st.sampled_from([("main",), ("combined", "main"), ("combined", "main", "odd")])


@pytest.mark.promise("P10")
@given(
    rows=SHAPES.flatmap(lambda shapes: st.lists(lines(shapes), min_size=1, max_size=25)),
    regex=st.sampled_from(REGEXES),
    anonip=st.booleans(),
    crlf=st.booleans(),
)
def test_the_block_path_equals_the_line_path(
    rows: list[bytes], regex: str, anonip: bool, crlf: bool
) -> None:
    if crlf:
        rows = [row + b"\r" for row in rows]
    options = AnonymizeOptions.anonip if anonip else AnonymizeOptions
    _both(options(regexes=(regex,)), rows)


@given(rows=st.lists(lines(), min_size=1, max_size=25))
def test_increment_and_private_addresses_take_the_memo(rows: list[bytes]) -> None:
    _both(AnonymizeOptions(regexes=(XFF,), increment=3, skip_private=True), rows)


def test_a_whole_log_takes_the_block_path() -> None:
    rows = [
        b"203.0.113.77" + TAIL + b' "-"',
        b"2001:db8:85a3:1::7" + TAIL + b' "198.51.100.7, [2001:db8::1]:443, unknown"',
        b"unix:" + TAIL + b' "10.1.2.3:5678"',
    ] * 50
    engine = Anonymizer(AnonymizeOptions.anonip(regexes=(XFF,)))
    assert engine._fast is not None
    done = engine._fast.block(b"\n".join(rows))
    assert done is not None
    text, count, (masked, kept, passed) = done
    assert count == 150
    assert (masked, kept, passed) == (250, 0, 100)
    assert text.split(b"\n")[1].endswith(b' "198.51.96.0, [2001:db8::]:443, unknown"')


@pytest.mark.parametrize(
    "rows",
    [
        [b"1.2.3.4 a", b"no match here"],  # a line without a match
        [b"1.2.3.4 a", b"x y"],  # a field that is no address: the line goes alone
    ],
)
def test_declined_blocks_still_come_out_right(rows: list[bytes]) -> None:
    engine = Anonymizer(AnonymizeOptions(regexes=(r"^([\d.x]+) ",)))
    assert engine._fast is not None
    assert engine._fast.block(b"\n".join(rows)) is None
    _both(AnonymizeOptions(regexes=(r"^([\d.x]+) ",)), rows)


@pytest.mark.parametrize(
    "pattern",
    [rb"^(\S+)(?= )", rb"^(\S+)(?! )", rb"(?<=x)(\S+)", rb"(?<!x)(\S+)", rb"\A(\S+)", rb"(\S+)\Z"],
)
def test_regexes_that_look_past_the_line_never_take_the_block_path(pattern: bytes) -> None:
    assert tile(pattern) is None


def test_global_flags_are_left_to_the_line_path() -> None:
    assert tile(rb"(?i)^(\S+) ") is None
    assert tile(rb"^(\S+) ") is not None

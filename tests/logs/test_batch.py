"""Bulk masking: the regex shortcuts give exactly what the token masker gives."""

from __future__ import annotations

import ipaddress
import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tutela.logs.address import PLACEHOLDER, Kept, Masker
from tutela.logs.batch import MASKED, SLOW, Batch, Learn, Tally, hex_branch, quad_branch

MASKS = [(8, 96), (12, 84), (0, 64), (32, 127), (25, 112), (13, 77), (16, 80), (24, 100)]


def learner(masker: Masker) -> tuple[list[bytes], Learn]:
    """``learn`` for a batch, recording what it was asked."""
    asked: list[bytes] = []

    def learn(field: bytes) -> tuple[bytes, Tally]:
        asked.append(field)
        result = masker.token(field)
        if isinstance(result, Kept):
            return result, (0, 1, 0)
        if isinstance(result, bytes):
            return result, MASKED
        if result == PLACEHOLDER:
            return field, (0, 0, 1)
        return SLOW, (0, 0, 0)

    return asked, learn


def expected(masker: Masker, field: bytes) -> bytes:
    result = masker.token(field)
    if isinstance(result, bytes):
        return result
    return field if result == PLACEHOLDER else SLOW


@st.composite
def fields(draw: st.DrawFn) -> bytes:
    """Address-like fields: valid and broken quads, every IPv6 spelling, ports, junk."""
    kind = draw(st.sampled_from(["v4", "v4-odd", "v6", "v6-odd", "mapped", "junk"]))
    if kind == "v4":
        text = str(ipaddress.IPv4Address(draw(st.integers(0, (1 << 32) - 1))))
        return (text + draw(st.sampled_from(["", ":80", ":65535", "]", ":x"]))).encode()
    if kind == "v4-odd":
        octets = draw(
            st.lists(st.sampled_from(["0", "01", "9", "255", "256", "99"]), min_size=3, max_size=5)
        )
        return ".".join(octets).encode()
    if kind in ("v6", "mapped"):
        value = draw(st.integers(0, (1 << 128) - 1))
        if kind == "mapped":
            value = 0xFFFF << 32 | value & 0xFFFFFFFF
        address = ipaddress.IPv6Address(value)
        text = draw(st.sampled_from([str(address), address.exploded, str(address).upper()]))
        return (text + draw(st.sampled_from(["", "%eth0", ":", ":1"]))).encode()
    if kind == "v6-odd":
        groups = draw(
            st.lists(
                st.sampled_from(["0", "1a", "ffff", "12345", "", "g"]), min_size=2, max_size=10
            )
        )
        return ":".join(groups).encode()
    return draw(st.sampled_from([b"-", b"unknown", b"unix:", b"x", b"", b"[::1]:443"]))


@pytest.mark.parametrize(("v4mask", "v6mask"), MASKS)
@given(rows=st.lists(fields(), min_size=1, max_size=40))
def test_texts_equal_the_token_masker(v4mask: int, v6mask: int, rows: list[bytes]) -> None:
    masker = Masker(v4mask, v6mask)
    _, learn = learner(masker)
    batch = Batch(masker.quad_form, learn, ipv6mask=v6mask)
    rows = [row for row in rows if row]  # fields taken from a match are never empty
    assume(rows)
    done = batch.texts(rows)
    wanted = [expected(masker, row) for row in rows]
    if SLOW in wanted:
        assert done is None
        return
    assert done is not None
    texts, tally = done
    assert texts == wanted
    placeholders = sum(masker.token(row) == PLACEHOLDER for row in rows)
    assert tally == (len(rows) - placeholders, 0, placeholders)


@given(lists=st.lists(st.lists(fields(), min_size=1, max_size=4), min_size=1, max_size=20))
def test_lists_keep_their_separators(lists: list[list[bytes]]) -> None:
    masker = Masker(12, 84)
    batch = Batch(masker.quad_form, lambda entry: (b"<" + entry + b">", (0, 0, 1)), ipv6mask=84)
    lists = [[entry.replace(b",", b"") for entry in entries] for entries in lists]
    text, _ = batch.mask(b"\n".join(b", ".join(entries) for entries in lists))
    rows = text.split(b"\n")
    assert len(rows) == len(lists)
    for row, entries in zip(rows, lists, strict=True):
        assert len(row.split(b", ")) == len(entries)


def test_only_unusual_fields_reach_learn_and_each_once() -> None:
    masker = Masker(12, 84)
    asked, learn = learner(masker)
    batch = Batch(masker.quad_form, learn, ipv6mask=84)
    rows = [b"198.51.100.7", b"2001:db8:85a3::8a2e:370:7334", b"unknown", b"unknown", b"::1"]
    done = batch.texts(rows * 3)
    assert done is not None
    assert sorted(asked) == [b"::1", b"unknown"]
    assert done[1] == (9, 0, 6)


def test_quad_branch_tables_every_octet() -> None:
    pattern, table = quad_branch((2, 0xF0), b" ")
    found = re.fullmatch(pattern, b"192.168.100.200")
    assert found is not None
    assert found.groups() == (b"192.168.", b"100")
    assert table[b"100"] == b"96.0 "
    assert table[None] is None
    assert len(table) == 257
    assert re.fullmatch(pattern, b"192.168.100.256") is None
    assert re.fullmatch(pattern, b"192.168.01.2") is None


@pytest.mark.parametrize("v6mask", [0, 63, 128])
def test_hex_branch_only_for_masks_of_64_to_127(v6mask: int) -> None:
    assert hex_branch(v6mask) is None


def test_hex_branch_masks_the_partly_kept_group_and_leaves_odd_spellings_to_learn() -> None:
    branch = hex_branch(84)
    assert branch is not None
    pattern, table = branch
    found = re.fullmatch(pattern, b"2001:db8:85a3::8a2e:370:7334")
    assert found is not None
    assert found.groups() == (b"2001:db8", b"85a3")
    assert table[b"85a3"] == b":85a0::"
    # a partly kept group masked to zero closes the kept groups with "::"
    found = re.fullmatch(pattern, b"2001:db8:f::1")
    assert found is not None
    assert table[found[2]] == b"::"
    # the kept groups are not written out, not canonical, or end in a zero group
    for other in (b"2001:db8::1", b"2001:0db8:85a3::1", b"2001:DB8:85a3::1", b"2001:0:5::1"):
        assert re.fullmatch(pattern, other) is None
    # not an address at all
    for other in (b"2001:db8:85a3:1:2:3:4:5:6", b"2001:db8:85a3::1::2", b"2001:db8:85a3::1.2.3.4"):
        assert re.fullmatch(pattern, other) is None


def test_hex_branch_of_one_group_never_takes_a_mapped_address() -> None:
    branch = hex_branch(120)
    assert branch is not None
    pattern, table = branch
    assert re.fullmatch(pattern, b"0:0:0:0:0:ffff:102:304") is None
    found = re.fullmatch(pattern, b"2001:db8::1")
    assert found is not None
    assert table[found[2]] == b"2000::"

"""The line and block engine: columns, regex groups, X-Forwarded-For, the fallback scanner."""

from __future__ import annotations

import io

import pytest

from tutela.errors import InvalidInput
from tutela.logs import (
    AnonymizeOptions,
    Anonymizer,
    LogInputError,
    anonymize_stream,
    find_addresses,
    holds_full_address,
    is_truncated,
)

COMBINED = (
    b'203.0.113.77 - - [20/May/2024:10:00:00 +0200] "GET /?ip=11.2.3.45 HTTP/1.1" 200 5 '
    b'"https://example.org/" "Mozilla/5.0 Chrome/124.0.0.0 Build/1.2.3.4"'
)
MAIN = COMBINED + b' "198.51.100.7, [2001:db8:1:2::9]:443, unknown, 192.0.2.1:5678"'


def run(line: bytes, **options: object) -> bytes:
    return Anonymizer(AnonymizeOptions(**options)).line(line)  # type: ignore[arg-type]


@pytest.mark.promise("P10")
def test_column_one_changes_only_the_client_address() -> None:
    assert run(COMBINED) == b"203.0.113.0" + COMBINED[len(b"203.0.113.77") :]


@pytest.mark.promise("P10")
def test_the_forwarded_for_list_of_the_main_format_is_masked() -> None:
    out = run(MAIN)
    assert out.endswith(b' "198.51.100.0, [2001:db8::]:443, unknown, 192.0.2.0:5678"')
    assert out.startswith(b"203.0.113.0 - - ")
    assert b"11.2.3.45" in out  # the request is not the client address: parsed lines keep it
    assert run(MAIN, xff=False).endswith(MAIN[MAIN.rindex(b' "') :])


def test_counts_name_what_happened() -> None:
    engine = Anonymizer()
    engine.line(MAIN)
    engine.line(b"unix: - - x")
    engine.line(b"garbage 10.9.8.7 here")
    counts = engine.counts
    assert (counts.lines, counts.addresses, counts.passed, counts.unparsed) == (3, 5, 3, 1)


def test_columns_delimiter_and_missing_columns() -> None:
    line = b"a;192.168.100.200;b;2001:db8:ff::1"
    assert run(line, columns=(2, 4), delimiter=";") == b"a;192.168.100.0;b;2001:db8::"
    # a missing column makes the line unparsed: every address in it is still masked
    assert run(b"1.2.3.4 5.6.7.8", columns=(9,)) == b"1.2.3.0 5.6.7.0"
    assert run(b"x y z", columns=(9,)) == b"x y z"


@pytest.mark.promise("P10")
def test_an_unparsed_line_passes_unchanged_only_without_addresses() -> None:
    assert run(b"no address here at all") == b"no address here at all"
    assert run(b"   foo") == b"   foo"
    out = run(b'"1.2.3.4" for=2001:db8:aa::1 [::ffff:9.8.7.6]:80 01.2.3.4')
    assert out == b'"1.2.3.0" for=2001:db8:: [::ffff:9.8.7.0]:80 1.2.3.0'


def test_replace_fills_fields_without_an_address() -> None:
    assert run(b"string;string", columns=(2,), delimiter=";", replace="0.0.0.0") == (  # noqa: S104
        b"string;0.0.0.0"
    )
    # placeholders are never replaced: they hold no address and say so
    assert run(b"- x", replace="none") == b"- x"


def test_line_endings_and_trailing_blanks_are_kept() -> None:
    assert run(b"1.2.3.4 x  \r\n") == b"1.2.3.0 x  \r\n"
    anonip = Anonymizer(AnonymizeOptions.anonip())
    assert anonip.line(b"1.2.3.4 x  \r\n") == b"1.2.0.0 x\n"
    assert anonip.line(b"   \n") == b"\n"


REGEX = r'^(\S+) .* "(?:-|([^",]+)(?:, ([^",]+))?(?:, ([^",]+))?)"$'


@pytest.mark.promise("P10")
def test_regex_mode_replaces_by_span_never_inside_a_longer_token() -> None:
    line = b'11.2.3.4 - - "GET /?ip=11.2.3.45" "11.2.3.45" "-"'
    out = run(line, regexes=(r"^(\S+) ",))
    assert out == b'11.2.3.0 - - "GET /?ip=11.2.3.45" "11.2.3.45" "-"'


def test_regex_groups_and_lists_in_one_group() -> None:
    out = run(MAIN, regexes=(REGEX,))
    assert out.startswith(b"203.0.113.0 ")
    assert out.endswith(b'"198.51.100.0, [2001:db8::]:443, unknown, 192.0.2.0:5678"')
    one_group = run(b'x "5.6.7.8, 9.10.11.12"', regexes=(r'^x "([^"]+)"',))
    assert one_group == b'x "5.6.7.0, 9.10.11.0"'
    # no match: the fallback scanner
    assert run(b"nothing 1.2.3.4", regexes=(r"^(\d+) ",)) == b"nothing 1.2.3.0"


def test_regex_excludes_columns_and_is_checked() -> None:
    with pytest.raises(InvalidInput, match="--regex cannot be combined"):
        AnonymizeOptions(regexes=("x",), columns=(1,))
    with pytest.raises(InvalidInput, match="not a valid regular expression"):
        AnonymizeOptions(regexes=(r"\9",))
    with pytest.raises(InvalidInput, match="--ipv4mask: 33 bits"):
        AnonymizeOptions(ipv4mask=33)


def _lines() -> list[bytes]:
    return [
        COMBINED,
        MAIN,
        MAIN.replace(b"203.0.113.77", b"2001:db8:abcd::1"),
        MAIN.replace(b"203.0.113.77", b"unix:"),
        MAIN.replace(b"203.0.113.77", b"-"),
        COMBINED.replace(b"203.0.113.77", b"::ffff:1.2.3.4"),
        COMBINED.replace(b"203.0.113.77", b"[2001:DB8::7]:443"),
        COMBINED.replace(b"203.0.113.77 ", b""),
        b"",
        b"1.2.3.4",
        b" leading blank 1.2.3.4",
        MAIN.replace(b'"198.51.100.7', b'"for=198.51.100.7'),
        MAIN.replace(b", unknown", b",unknown,1.1.1.1"),
        b'5.6.7.8 "a" "b" "c" "-"',
        MAIN + b"\r",
        b"1.2.3.4 a\rb  ",
    ]


@pytest.mark.parametrize(
    "options",
    [
        AnonymizeOptions(),
        AnonymizeOptions(xff=False),
        AnonymizeOptions.anonip(),
        AnonymizeOptions(ipv4mask=11, ipv6mask=83, increment=2),
        AnonymizeOptions(skip_private=True),
        AnonymizeOptions(regexes=(REGEX,)),
        AnonymizeOptions(regexes=(r"^((\S*)) ", r"^()$")),
        AnonymizeOptions(columns=(1, 3)),
    ],
)
def test_block_path_equals_line_path(options: AnonymizeOptions) -> None:
    lines = _lines() * 3
    by_line = Anonymizer(options)
    expected = b"".join(by_line.line(line + b"\n") for line in lines)
    by_block = Anonymizer(options)
    assert by_block.block(b"\n".join(lines)) + b"\n" == expected
    assert by_block.counts == by_line.counts


@pytest.mark.parametrize("delimiter", [":", "f", "1", ".", "a", ";"])
def test_a_delimiter_that_addresses_may_hold_reads_the_same_by_block(delimiter: str) -> None:
    """Column 1 ends at the first delimiter, even inside what would be an address."""
    lines = [
        b"::ffff:1.2.3.4" + delimiter.encode() + b"x",
        b"21.2.3.41" + delimiter.encode() + b"x",
        b"1.2.3.4.x",
        b"2001:db8:1f::1" + delimiter.encode() + b"y",
        b"5.6.7.8" + delimiter.encode() + b"z",
    ] * 3
    options = AnonymizeOptions(delimiter=delimiter)
    by_line = Anonymizer(options)
    expected = b"".join(by_line.line(line + b"\n") for line in lines)
    by_block = Anonymizer(options)
    assert by_block.block(b"\n".join(lines)) + b"\n" == expected
    assert by_block.counts == by_line.counts


def test_find_addresses_reports_spans_and_canonical_text() -> None:
    found = find_addresses(b"a 1.2.3.4 [2001:DB8::1]:80 ::ffff:5.6.7.8 10:20:30 std::x 1.2.3.4.5")
    assert [(f.start, f.end, f.address) for f in found] == [
        (2, 9, "1.2.3.4"),
        (11, 22, "2001:db8::1"),
        (27, 41, "::ffff:5.6.7.8"),
    ]


@pytest.mark.promise("P10")
def test_holds_full_address_checks_the_host_bits() -> None:
    clean = MAIN.replace(b"11.2.3.45", b"x").replace(b"Build/1.2.3.4", b"")
    assert holds_full_address(clean)
    assert not holds_full_address(run(clean))
    assert holds_full_address(run(clean, xff=False))  # the list still holds full addresses
    assert holds_full_address(run(COMBINED))  # an address in the request is not the client
    anonip = AnonymizeOptions.anonip()
    assert holds_full_address(b"1.2.3.0 x", anonip)
    assert not holds_full_address(b"1.2.0.0 x", anonip)
    assert not holds_full_address(b"10.1.2.3 x", AnonymizeOptions(skip_private=True))
    assert is_truncated("2001:db8::", ipv6mask=96)
    assert not is_truncated("::ffff:1.2.3.4")
    with pytest.raises(ValueError, match="not an IPv4 or IPv6 address"):
        is_truncated("nope")


@pytest.mark.parametrize(
    ("data", "line", "words"),
    [
        (b"1.2.3.4 a\n1.2.3.4 b\x00c\n", 2, "NUL byte"),
        (b"1.2.3.4 a\n\n1.2.3.4 \xe4\n", 3, "not UTF-8"),
        (b"1.2.3.4 a\n" + b"x" * 200 + b"\n", 2, "over the limit of 100"),
        (b"1.2.3.4 a\n" + b"x" * 200, 2, "over the limit of 100"),
    ],
)
def test_bad_input_names_the_line(data: bytes, line: int, words: str) -> None:
    out = io.BytesIO()
    with pytest.raises(LogInputError) as caught:
        anonymize_stream(io.BytesIO(data), out, AnonymizeOptions(max_line=100), source="a.log")
    assert caught.value.line == line
    assert caught.value.detail.startswith(f"line {line} of a.log: ")
    assert words in caught.value.detail


def test_utf8_text_passes() -> None:
    data = "192.168.100.200 some string with öéäü\n".encode()
    out = io.BytesIO()
    anonymize_stream(io.BytesIO(data), out)
    assert out.getvalue() == "192.168.100.0 some string with öéäü\n".encode()

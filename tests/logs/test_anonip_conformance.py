"""anonip's 73 test cases (logs_pii.md §A.3), run against ``tutela logs anonymize --anonip``.

Rows where we differ on purpose assert our result; their id starts with ``differs-`` and
says why. Engine rows run the library with anonip's options; CLI rows run the command.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tutela.cli.app import main
from tutela.logs import AnonymizeOptions, Anonymizer
from tutela.logs.address import Masker
from tutela.logs.options import compile_regex

V6 = "2001:0db8:85a3:0000:0000:8a2e:0370:7334"
RUN_INPUT = b"192.168.100.200\n1.2.3.4\n  \n9.8.130.6\n"
RUN_OUTPUT = b"192.168.96.0\n1.2.0.0\n\n9.8.128.0\n"
MAIN_INPUT = (
    f"string;192.168.100.200\nstring;1.2.3.4\nstring;{V6}\n"
    "string;2a00:1450:400a:803::200e\nstring;string\n"
).encode()
MAIN_OUTPUT = (
    b"string;192.168.100.200\nstring;1.2.0.1\nstring;2001:db8:85a3::8a2e:370:7334\n"
    b"string;2a00:1450:400a:803::1\nstring;replace\n"
)
MAIN_ARGS = ["-c", "2", "-4", "12", "-6", "42", "-i", "1", "-l", ";", "-r", "replace", "-p"]


@dataclass(frozen=True)
class Case:
    id: str
    check: Callable[..., None]
    args: tuple[Any, ...] = field(default=())


def line(text: str, expected: str, **options: Any) -> Callable[..., None]:
    def check(**ignored: Any) -> None:
        engine = Anonymizer(AnonymizeOptions.anonip(**options))
        assert engine.line(text.encode()) == expected.encode()

    return check


def process_line(ip: str, v4: int, v6: int, expected: str) -> Callable[..., None]:
    return line(ip, expected, ipv4mask=v4, ipv6mask=v6)


REGEX_1 = r"(?:^([^,]+) - - |.* - somefixedstring: ([^,]+) - .* - ([^,]+))"
REGEX_3 = r"^([^,]+) - somefixedstring: ([^,]+) - .* - ([^,]+)"
REQUEST = '- - [20/May/2015:21:05:01 +0000] "GET / HTTP/1.1" 200 13358 "-" "useragent"'


# -- CLI helpers ---------------------------------------------------------------------------


class Cli:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[bytes]):
        self._monkeypatch = monkeypatch
        self._capsys = capsys
        self.options: list[AnonymizeOptions] = []
        import tutela.logs

        real = tutela.logs.anonymize_files

        def spy(inputs: Any, output: Any, options: AnonymizeOptions, **kw: Any) -> Any:
            self.options.append(options)
            return real(inputs, output, options, **kw)

        monkeypatch.setattr(tutela.logs, "anonymize_files", spy)

    def __call__(self, *args: str, stdin: bytes = b"") -> tuple[int, bytes, str]:
        self._monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        self._capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main(["logs", "anonymize", *args])
        captured = self._capsys.readouterr()
        return int(exited.value.code or 0), captured.out, captured.err.decode()


def accepted(*args: str, attribute: str = "", value: Any = None) -> Callable[..., None]:
    def check(cli: Cli, **ignored: Any) -> None:
        code, _, err = cli(*args, stdin=b"1.2.3.4\n")
        assert code == 0, err
        if attribute:
            assert getattr(cli.options[-1], attribute) == value

    return check


def rejected(*args: str) -> Callable[..., None]:
    def check(cli: Cli, **ignored: Any) -> None:
        code, out, _ = cli(*args, stdin=b"1.2.3.4\n")
        assert code == 2
        assert out == b""

    return check


def regex_concat(args: list[str], expected: str) -> Callable[..., None]:
    def check(cli: Cli, **ignored: Any) -> None:
        assert cli(*args)[0] == 0
        assert compile_regex(cli.options[-1].regexes).pattern == expected.encode()

    return check


def run_lines(**ignored: Any) -> None:
    engine = Anonymizer(AnonymizeOptions.anonip())
    assert engine.block(RUN_INPUT[:-1]) + b"\n" == RUN_OUTPUT


def run_with_input_file(cli: Cli, tmp_path: Path, **ignored: Any) -> None:
    source = tmp_path / "in.log"
    source.write_bytes(RUN_INPUT)
    assert cli("--anonip", str(source))[1] == RUN_OUTPUT


def main_case(to_file: bool, debug: bool) -> Callable[..., None]:
    def check(cli: Cli, tmp_path: Path, **ignored: Any) -> None:
        target = tmp_path / "anonip.log"
        args = [*MAIN_ARGS, *(["-o", str(target)] if to_file else [])]
        code, out, err = cli(*args, *(["--summary"] if debug else []), stdin=MAIN_INPUT)
        assert code == 0
        assert (target.read_bytes() if to_file else out) == MAIN_OUTPUT
        assert ("anonymized: lines 5" in err) is debug

    return check


def main_reading_from_input_file(cli: Cli, tmp_path: Path, **ignored: Any) -> None:
    source = tmp_path / "anonip-input.txt"
    source.write_text(
        f"192.168.100.200 string\n1.2.3.4 string\n{V6} string\n2a00:1450:400a:803::200e string\n"
    )
    assert cli(str(source))[1] == (
        b"192.168.100.0 string\n1.2.3.0 string\n2001:db8:: string\n2a00:1450:: string\n"
    )
    assert cli("--anonip", str(source))[1] == (
        b"192.168.96.0 string\n1.2.0.0 string\n2001:db8:85a0:: string\n2a00:1450:4000:: string\n"
    )


def prefixes(**ignored: Any) -> None:
    masker = Masker(11, 83)  # keeps /21 and /45
    assert masker.token(b"255.255.255.255") == b"255.255.248.0"
    assert masker.token(b"ffff:ffff:ffff:ffff::") == b"ffff:ffff:fff8::"


def properties_v4(**ignored: Any) -> None:
    assert AnonymizeOptions.anonip(ipv4mask=11, ipv6mask=83).ipv4mask == 11
    assert Masker(11, 83).v4(0xFFFFFFFF) == b"255.255.248.0"


def properties_v6(**ignored: Any) -> None:
    assert AnonymizeOptions.anonip(ipv4mask=11, ipv6mask=83).ipv6mask == 83
    assert Masker(11, 83).v6((1 << 128) - 1) == b"ffff:ffff:fff8::"


def properties_columns(**ignored: Any) -> None:
    assert AnonymizeOptions.anonip().column_indexes == (0,)
    assert AnonymizeOptions.anonip(columns=(5, 6)).column_indexes == (4, 5)


CASES: list[Case] = [
    # A1 process_line
    Case("a1-01", process_line("192.168.100.200", 12, 84, "192.168.96.0")),
    Case("a1-02", process_line("192.168.100.200:80", 12, 84, "192.168.96.0:80")),
    Case("a1-03", process_line("192.168.100.200]", 12, 84, "192.168.96.0]")),
    Case("a1-04", process_line("192.168.100.200:80]", 12, 84, "192.168.96.0:80]")),
    Case("a1-05", process_line("192.168.100.200", 0, 84, "192.168.100.200")),
    Case("a1-06", process_line("192.168.100.200", 4, 84, "192.168.100.192")),
    Case("a1-07", process_line("192.168.100.200", 8, 84, "192.168.100.0")),
    Case("a1-08", process_line("192.168.100.200", 24, 84, "192.0.0.0")),
    Case("a1-09", process_line("192.168.100.200", 32, 84, "0.0.0.0")),  # noqa: S104
    Case("a1-10", process_line("no_ip_address", 12, 84, "no_ip_address")),
    Case("a1-11", process_line(V6, 12, 84, "2001:db8:85a0::")),
    Case("a1-12", process_line(f"[{V6}]:443", 12, 84, "[2001:db8:85a0::]:443")),
    Case("a1-13", process_line(f"[{V6}]", 12, 84, "[2001:db8:85a0::]")),
    Case("a1-14", process_line(f"[{V6}]]", 12, 84, "[2001:db8:85a0::]]")),
    Case("a1-15", process_line(f"[{V6}]:443]", 12, 84, "[2001:db8:85a0::]:443]")),
    Case("a1-16", process_line(V6, 12, 0, "2001:db8:85a3::8a2e:370:7334")),
    Case("a1-17", process_line(V6, 12, 4, "2001:db8:85a3::8a2e:370:7330")),
    Case("a1-18", process_line(V6, 12, 8, "2001:db8:85a3::8a2e:370:7300")),
    Case("a1-19", process_line(V6, 12, 24, "2001:db8:85a3::8a2e:300:0")),
    Case("a1-20", process_line(V6, 12, 32, "2001:db8:85a3::8a2e:0:0")),
    Case("a1-21", process_line(V6, 12, 62, "2001:db8:85a3::")),
    Case("a1-22", process_line(V6, 12, 128, "::")),
    Case("a1-23", process_line("[2001:db8:1::ab9:C0A8:102]:8080", 12, 84, "[2001:db8::]:8080")),
    Case("a1-24", process_line("   foo", 12, 84, "   foo")),
    # A2 increment
    Case("a2-1", line("192.168.100.200", "192.168.96.3", increment=3)),
    Case("a2-2", line("192.168.100.200", "192.168.96.0", increment=284414028745874325)),
    # A3 columns
    Case(
        "a3-1", line("192.168.100.200 some string with öéäü", "192.168.96.0 some string with öéäü")
    ),
    Case(
        "a3-2",
        line(
            "some 192.168.100.200 string with öéäü",
            "some 192.168.96.0 string with öéäü",
            columns=(2,),
        ),
    ),
    Case(
        "a3-3",
        line(
            "some string 192.168.100.200 with öéäü",
            "some string 192.168.96.0 with öéäü",
            columns=(3,),
        ),
    ),
    Case(
        "a3-4",
        line(
            "192.168.100.200 192.168.11.222 192.168.123.234",
            "192.168.96.0 192.168.0.0 192.168.112.0",
            columns=(1, 2, 3),
        ),
    ),
    Case(
        "a3-5-differs-missing-column-lines-are-scanned-so-no-address-leaks",
        line(
            "192.168.100.200 192.168.11.222 192.168.123.234",
            "192.168.96.0 192.168.0.0 192.168.112.0",
            columns=(9999,),
        ),
    ),
    # A4 regex
    Case("a4-1", line(f"3.3.3.3 {REQUEST}", f"3.3.0.0 {REQUEST}", regexes=(REGEX_1,))),
    Case(
        "a4-2",
        line(
            "blabla/ 3.3.3.3 /blublu",
            "blabla/ 3.3.0.0 /blublu",
            regexes=(r"^blabla/ ([^,]+) /blublu",),
        ),
    ),
    Case(
        "a4-3",
        line(
            "1.1.1.1 - somefixedstring: 2.2.2.2 - some random stuff - 3.3.3.3",
            "1.1.0.0 - somefixedstring: 2.2.0.0 - some random stuff - 3.3.0.0",
            regexes=(REGEX_3,),
        ),
    ),
    Case(
        "a4-4",
        line(
            "some line that doesn't match the provided regex",
            "some line that doesn't match the provided regex",
            regexes=(REGEX_3,),
        ),
    ),
    Case(
        "a4-5",
        line(
            "match but no ip/ notanip /blublu",
            "match but no ip/ notanip /blublu",
            regexes=(r"^match but no ip/ ([^,]+) /blublu",),
        ),
    ),
    Case(
        "a4-6",
        line(
            "match but no ip/ notanip /blublu",
            "match but no ip/ yeah /blublu",
            regexes=(r"^match but no ip/ ([^,]+) /blublu",),
            replace="yeah",
        ),
    ),
    # A6 plain engine tests
    Case("a6-replace", line("bla something", "replacement something", replace="replacement")),
    Case(
        "a6-delimiter",
        line(
            "192.168.100.200;some;string;with;öéäü",
            "192.168.96.0;some;string;with;öéäü",
            delimiter=";",
        ),
    ),
    Case("a6-private", line("192.168.100.200", "192.168.100.200", skip_private=True)),
    Case("a6-run", run_lines),
    Case("a6-run-with-input-file-differs-files-are-arguments-not---input", run_with_input_file),
    # A5 CLI parsing
    Case(
        "a5-generic-columns-differs-repeat--c-or-list-3,5",
        accepted("-c", "3,5", attribute="columns", value=(3, 5)),
    ),
    Case("a5-generic-ipv4mask", accepted("-4", "24", attribute="ipv4mask", value=24)),
    Case("a5-generic-ipv6mask", accepted("-6", "64", attribute="ipv6mask", value=64)),
    Case("a5-ambiguity-none", accepted()),
    Case("a5-ambiguity-regex", accepted("--regex", "test")),
    Case("a5-ambiguity-column", accepted("-c", "4")),
    Case("a5-ambiguity-regex-column", rejected("--regex", "test", "-c", "3")),
    Case("a5-ambiguity-regex-delimiter", rejected("--regex", "test", "-l", ";")),
    Case("a5-ambiguity-regex-delimiter-column", rejected("--regex", "test", "-l", ";", "-c", "4")),
    Case("a5-regex-concat-one", regex_concat(["--regex", "test"], "test")),
    Case(
        "a5-regex-concat-three-differs-repeat---regex",
        regex_concat(["--regex", "foo", "--regex", "bar", "--regex", "baz"], "foo|bar|baz"),
    ),
    Case("a5-ipmask-1", accepted("-4", "1", attribute="ipv4mask", value=1)),
    Case(
        "a5-ipmask-0-differs-0-is-allowed-and-keeps-the-address",
        accepted("-4", "0", attribute="ipv4mask", value=0),
    ),
    Case("a5-ipmask-33", rejected("-4", "33")),
    Case("a5-ipmask-string", rejected("-4", "string")),
    Case("a5-ipmask-129", rejected("-6", "129")),
    Case("a5-positive-int-1", accepted("-c", "1", attribute="columns", value=(1,))),
    Case("a5-positive-int-0", rejected("-c", "0")),
    Case("a5-positive-int-minus-1", rejected("-c", "-1")),
    Case("a5-positive-int-string", rejected("-c", "string")),
    Case("a5-regex-arg-valid", accepted("--regex", "valid (.*)")),
    Case("a5-regex-arg-invalid", rejected("--regex", "\\9")),
    # test_main x4 and its --input variant
    Case("main-stdout", main_case(to_file=False, debug=False)),
    Case(
        "main-file-differs-the-file-is-replaced-not-appended", main_case(to_file=True, debug=False)
    ),
    Case("main-stdout-debug-differs-no--d-summary-instead", main_case(to_file=False, debug=True)),
    Case("main-file-debug-differs-no--d-summary-instead", main_case(to_file=True, debug=True)),
    Case(
        "main-input-file-differs-our-defaults-keep-24-and-32-anonip-with---anonip",
        main_reading_from_input_file,
    ),
    # properties of the anonip object, as far as they have a counterpart
    Case("prefixes-dict-differs-masks-not-prefixes-same-bits", prefixes),
    Case("properties-v4", properties_v4),
    Case("properties-v6", properties_v6),
    Case("properties-columns", properties_columns),
]


def test_the_table_has_all_73_cases() -> None:
    assert len(CASES) == 73
    assert len({case.id for case in CASES}) == 73


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
@pytest.mark.promise("P10")
def test_anonip_case(
    case: Case,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
    tmp_path: Path,
) -> None:
    case.check(cli=Cli(monkeypatch, capsysbinary), tmp_path=tmp_path)


def test_differences_are_named_in_the_ids() -> None:
    differing = [case.id for case in CASES if "differs" in case.id]
    assert len(differing) == 10
    assert all(re.search(r"differs-[a-z0-9-]+", name) for name in differing)

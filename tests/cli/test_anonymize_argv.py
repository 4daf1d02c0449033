"""The quick start of ``tutela logs anonymize`` reads arguments as the full command line does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tutela.cli import anonymize_run
from tutela.cli.anonymize_argv import read
from tutela.cli.anonymize_run import AnonymizeArgs
from tutela.cli.app import main

VALUES = {
    "output": (["-o", "--output"], ["out.log", "-", "dir/a b.gz"]),
    "ipv4mask": (["-4", "--ipv4mask"], ["0", "12", "32"]),
    "ipv6mask": (["-6", "--ipv6mask"], ["84", "128"]),
    "increment": (["-i", "--increment"], ["3"]),
    "column": (["-c", "--column"], ["1", "1,3", "2"]),
    "delimiter": (["-l", "--delimiter"], [";", "\t", " "]),
    "regex": (["--regex"], [r"^(\S+) ", r'"([^"]*)"$']),
    "replace": (["-r", "--replace"], ["0.0.0.0"]),  # noqa: S104 - a replacement text
    "compression": (["--compression"], ["auto", "gzip", "none"]),
    "max_line": (["--max-line"], ["100", "65536"]),
}
FLAGS = ["-p", "--skip-private", "--anonip", "--xff", "--no-xff", "--summary"]


@st.composite
def invocations(draw: st.DrawFn) -> list[str]:
    """Argument lists as users type them: options in every spelling, files, ``--``."""
    argv: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["value", "flag", "file"]))
        if kind == "flag":
            argv.append(draw(st.sampled_from(FLAGS)))
        elif kind == "file":
            argv.append(draw(st.sampled_from(["access.log", "-", "b.log.gz"])))
        else:
            names, values = VALUES[draw(st.sampled_from(sorted(VALUES)))]
            name, value = draw(st.sampled_from(names)), draw(st.sampled_from(values))
            form = draw(st.sampled_from(["apart", "joined"]))
            if form == "apart":
                argv += [name, value]
            elif name.startswith("--"):
                argv.append(f"{name}={value}")
            else:
                argv.append(name + value)
    if draw(st.booleans()):
        argv += ["--", *draw(st.lists(st.sampled_from(["-x.log", "a.log"]), max_size=2))]
    return argv


def full_reading(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> AnonymizeArgs:
    """What the Typer command hands over for ``argv``."""
    seen: list[AnonymizeArgs] = []

    def capture(args: AnonymizeArgs, *_: object) -> int:
        seen.append(args)
        return 0

    monkeypatch.setattr(anonymize_run, "anonymize", capture)
    with pytest.raises(SystemExit) as exited:
        main(["logs", "anonymize", *argv])
    assert exited.value.code in (0, None)
    assert len(seen) == 1
    return seen[0]


@pytest.mark.promise("P10")
@settings(max_examples=60, deadline=None)
@given(argv=invocations())
def test_quick_reading_equals_the_full_command_line(argv: list[str]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert read(argv) == full_reading(argv, monkeypatch)


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["-h"],
        ["--bogus"],
        ["-4", "twelve"],
        ["-4", "\u0663"],  # an Arabic-Indic three: int() reads it, the full parser does not
        ["-4"],
        ["--output="],
        ["-pc1"],
        ["--ipv4mask", "1", "--max-line"],
    ],
)
def test_anything_unusual_goes_to_the_full_command_line(argv: list[str]) -> None:
    assert read(argv) is None


def test_the_quick_start_loads_neither_the_app_nor_typer(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "sys.argv = ['tutela', 'logs', 'anonymize', '--anonip']\n"
        "from tutela.cli import entry\n"
        "try:\n"
        "    entry.main()\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "print(code, 'typer' in sys.modules, 'tutela.cli.app' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], input=b"203.0.113.77 x\n", capture_output=True, check=False
    )
    assert done.stdout == b"203.0.112.0 x\n"
    assert done.stderr.split() == [b"0", b"False", b"False"]


def test_the_quick_start_reports_bad_values_like_the_full_command_line() -> None:
    command = [sys.executable, "-m", "tutela", "logs", "anonymize"]
    quick = subprocess.run([*command, "-4", "40"], input=b"", capture_output=True, check=False)
    assert quick.returncode == 2
    assert b"--ipv4mask: 40 bits is out of range" in quick.stderr
    full = subprocess.run([*command, "-4", "forty"], input=b"", capture_output=True, check=False)
    assert full.returncode == 2
    assert b"'--ipv4mask'" in full.stderr
    assert b"valid integer" in full.stderr

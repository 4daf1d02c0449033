"""``tutela logs anonymize`` through Typer's runner, in process, and as a real pipe."""

from __future__ import annotations

import io
import selectors
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tutela.cli.app import app, main

LOG = (
    b'203.0.113.77 - - [20/May/2024:10:00:00 +0200] "GET / HTTP/1.1" 200 5 "-" "ua" '
    b'"198.51.100.7, unknown"\n'
    b'2001:db8:abcd:12::1 - - [20/May/2024:10:00:01 +0200] "GET / HTTP/1.1" 200 5 "-" "ua" "-"\n'
    b"unix: - - - \n"
)
OURS = (
    b'203.0.113.0 - - [20/May/2024:10:00:00 +0200] "GET / HTTP/1.1" 200 5 "-" "ua" '
    b'"198.51.100.0, unknown"\n'
    b'2001:db8:: - - [20/May/2024:10:00:01 +0200] "GET / HTTP/1.1" 200 5 "-" "ua" "-"\n'
    b"unix: - - - \n"
)
COMMAND = [sys.executable, "-m", "tutela", "logs", "anonymize"]


def run(
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
    *args: str,
    stdin: bytes = b"",
) -> tuple[int, bytes, str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    capsysbinary.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["logs", "anonymize", *args])
    captured = capsysbinary.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err.decode()


@pytest.mark.promise("P10")
def test_runner_reads_standard_input_and_writes_standard_output() -> None:
    result = CliRunner().invoke(app, ["logs", "anonymize"], input=LOG)
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == OURS


def test_anonip_switch_and_options(
    monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    code, out, _ = run(monkeypatch, capsysbinary, "--anonip", stdin=LOG)
    assert code == 0
    assert out.splitlines()[0].startswith(b"203.0.112.0 ")
    assert out.splitlines()[0].endswith(b'"198.51.100.7, unknown"')  # no lists with --anonip
    assert out.splitlines()[2] == b"unix: - - -"  # trailing blanks stripped like anonip
    code, out, _ = run(
        monkeypatch, capsysbinary, "-c", "1,3", "-l", ";", stdin=b"1.2.3.4;x;5.6.7.8\n"
    )
    assert out == b"1.2.3.0;x;5.6.7.0\n"
    code, out, err = run(monkeypatch, capsysbinary, "-4", "16", "-6", "112", "--summary", stdin=LOG)
    assert out.splitlines()[1].startswith(b"2001:: ")
    assert "anonymized: lines 3, addresses 3, private 0, passed 2" in err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--regex", "(x)", "-c", "2"], "--regex cannot be combined with --column"),
        (["--regex", "(x)", "--xff"], "--xff works in column mode only"),
        (["-6", "200"], "--ipv6mask: 200 bits is out of range; give 0 to 128."),
        (["-c", "0"], "--column: 0 is not a column number"),
        (["-c", "x"], "--column: 'x' is not a column number"),
        (["--compression", "lz4"], "--compression: 'lz4' is not known"),
        (["--max-line", "10"], "--max-line: 10 bytes is too short"),
    ],
)
def test_unusable_options_exit_2_with_the_field_named(
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
    args: list[str],
    words: str,
) -> None:
    code, out, err = run(monkeypatch, capsysbinary, *args, stdin=LOG)
    assert code == 2
    assert out == b""
    assert words in " ".join(err.split())


@pytest.mark.promise("P10")
def test_bad_input_exits_2_and_leaves_the_output_file(
    monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    target = tmp_path / "out.log"
    target.write_bytes(b"yesterday\n")
    source = tmp_path / "in.log"
    source.write_bytes(LOG + b"1.2.3.4 \x00\x00\n")
    code, _, err = run(monkeypatch, capsysbinary, str(source), "-o", str(target))
    assert code == 2
    assert f"line 4 of {source}: the line holds a NUL byte" in " ".join(err.split())
    assert target.read_bytes() == b"yesterday\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.log", "out.log"]


def test_files_are_read_in_order_into_one_output(
    monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    first.write_bytes(LOG)
    second.write_bytes(b"9.8.7.6 z\n")
    code, out, _ = run(monkeypatch, capsysbinary, str(first), "-", str(second), stdin=LOG)
    assert code == 0
    assert out == OURS + OURS + b"9.8.7.0 z\n"


@pytest.mark.promise("P10")
def test_a_pipe_is_served_line_by_line() -> None:
    """A line comes out while the input is still open: the command fits a live log pipe."""
    with subprocess.Popen(
        COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(b"203.0.113.77 first\n")
        process.stdin.flush()
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        assert selector.select(timeout=30), "no output while the input stays open"
        assert process.stdout.readline() == b"203.0.113.0 first\n"
        process.stdin.write(b"2001:db8:1::2 second")
        process.stdin.close()
        assert process.stdout.read() == b"2001:db8:: second"
        assert process.wait(timeout=30) == 0


def test_a_subprocess_pipe_with_compressed_input(tmp_path: Path) -> None:
    import gzip

    done = subprocess.run(
        [*COMMAND, "--summary"], input=gzip.compress(LOG), capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == OURS
    assert b"anonymized: lines 3" in done.stderr


def test_a_reader_that_goes_away_ends_quietly(tmp_path: Path) -> None:
    source = tmp_path / "big.log"
    source.write_bytes(LOG * 200_000)
    with subprocess.Popen(
        [*COMMAND, str(source)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        assert process.stdout.readline() == OURS.splitlines(keepends=True)[0]
        process.stdout.close()
        assert process.wait(timeout=60) == 1
        assert b"Traceback" not in process.stderr.read()

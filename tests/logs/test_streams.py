"""Inputs and outputs: plain, gzip, zstd; atomic replacement; damaged archives; chunking."""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from tutela.logs import AnonymizeOptions, Compression, LogInputError, anonymize_files
from tutela.logs.anonymizer import BLOCK
from tutela.logs.pipeline import anonymize_stream, blocks
from tutela.logs.streams import output_compression, reading

LINES = b"".join(
    b'203.0.113.%d - - [20/May/2024:10:00:00 +0200] "GET /%d HTTP/1.1" 200 5 "-" "ua"\n'
    % (n % 250 + 1, n)
    for n in range(3000)
)
EXPECTED = b"".join(
    b'203.0.113.0 - - [20/May/2024:10:00:00 +0200] "GET /%d HTTP/1.1" 200 5 "-" "ua"\n' % n
    for n in range(3000)
)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


@pytest.mark.parametrize(
    ("name", "pack", "unpack"),
    [
        ("plain.log", lambda b: b, lambda b: b),
        ("packed.log.gz", gzip.compress, gzip.decompress),
        ("packed.log.zst", zstandard.ZstdCompressor().compress, lambda b: _unzstd(b)),
    ],
)
@pytest.mark.promise("P10")
def test_round_trips(tmp_path: Path, name: str, pack: object, unpack: object) -> None:
    source = tmp_path / f"in-{name}"
    source.write_bytes(pack(LINES))  # type: ignore[operator]
    target = tmp_path / f"out-{name}"
    counts = anonymize_files([source], target)
    assert unpack(target.read_bytes()) == EXPECTED  # type: ignore[operator]
    assert (counts.lines, counts.addresses) == (3000, 3000)
    assert _leftovers(tmp_path) == []


def _unzstd(data: bytes) -> bytes:
    return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read()


def test_several_members_and_frames_are_read_to_the_end(tmp_path: Path) -> None:
    half = LINES.index(b"\n", len(LINES) // 2) + 1
    gz = tmp_path / "two.gz"
    gz.write_bytes(gzip.compress(LINES[:half]) + gzip.compress(LINES[half:]))
    zst = tmp_path / "two.zst"
    packer = zstandard.ZstdCompressor()
    zst.write_bytes(packer.compress(LINES[:half]) + packer.compress(LINES[half:]))
    out = io.BytesIO()
    anonymize_files([gz, zst], None, stdout=out)
    assert out.getvalue() == EXPECTED * 2


@pytest.mark.parametrize(
    ("suffix", "pack", "words"),
    [
        (".gz", gzip.compress, "gzip data ends early"),
        (".zst", zstandard.ZstdCompressor().compress, "zstd data ends inside a frame"),
    ],
)
@pytest.mark.promise("P10")
def test_a_truncated_archive_leaves_no_output(
    tmp_path: Path, suffix: str, pack: object, words: str
) -> None:
    packed = pack(LINES * 20)  # type: ignore[operator]
    source = tmp_path / f"cut{suffix}"
    source.write_bytes(packed[: len(packed) * 2 // 3])
    target = tmp_path / "out.log"
    target.write_bytes(b"the previous, complete output\n")
    with pytest.raises(LogInputError) as caught:
        anonymize_files([source], target)
    assert words in caught.value.detail
    assert caught.value.line is not None
    assert caught.value.line > 1000
    assert caught.value.detail.startswith(f"line {caught.value.line} of {source}: ")
    assert target.read_bytes() == b"the previous, complete output\n"
    assert _leftovers(tmp_path) == []


def test_a_damaged_gzip_is_reported(tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(LINES))
    packed[-6] ^= 0xFF  # the CRC no longer fits
    source = tmp_path / "bad.gz"
    source.write_bytes(bytes(packed))
    with pytest.raises(LogInputError, match="gzip data is damaged"):
        anonymize_files([source], tmp_path / "out.log")
    assert not (tmp_path / "out.log").exists()


@pytest.mark.promise("P10")
def test_an_error_later_in_the_input_keeps_the_target(tmp_path: Path) -> None:
    good = tmp_path / "good.log"
    good.write_bytes(LINES)
    bad = tmp_path / "bad.log"
    bad.write_bytes(LINES[:500] + b"\x00\x01\x02 binary\n")
    target = tmp_path / "out.log"
    target.write_bytes(b"old\n")
    with pytest.raises(LogInputError) as caught:
        anonymize_files([good, bad], target)
    number = LINES[:500].count(b"\n") + 1
    assert caught.value.detail.startswith(f"line {number} of {bad}: ")
    assert target.read_bytes() == b"old\n"
    assert _leftovers(tmp_path) == []


def test_the_target_is_replaced_not_appended_and_keeps_its_mode(tmp_path: Path) -> None:
    source = tmp_path / "in.log"
    source.write_bytes(LINES)
    target = tmp_path / "out.log"
    target.write_bytes(b"old content\n")
    target.chmod(0o640)
    anonymize_files([source], target)
    assert target.read_bytes() == EXPECTED
    assert target.stat().st_mode & 0o777 == 0o640


def test_a_file_can_be_anonymized_in_place(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_bytes(LINES)
    anonymize_files([path], path)
    assert path.read_bytes() == EXPECTED


def test_explicit_compression_is_checked_and_used(tmp_path: Path) -> None:
    plain = tmp_path / "plain.log"
    plain.write_bytes(LINES)
    with pytest.raises(LogInputError, match="not gzip data; use --compression auto or none"):
        anonymize_files([plain], None, compression=Compression.GZIP, stdout=io.BytesIO())
    packed = tmp_path / "packed.gz"
    packed.write_bytes(gzip.compress(LINES))
    with pytest.raises(LogInputError, match=r"line 1 of .*(NUL byte|not UTF-8)"):
        anonymize_files([packed], None, compression=Compression.NONE, stdout=io.BytesIO())
    out = io.BytesIO()
    anonymize_files([packed], None, compression=Compression.GZIP, stdout=out)
    assert gzip.decompress(out.getvalue()) == EXPECTED


def test_output_compression_follows_the_suffix() -> None:
    assert output_compression(Path("a.log.gz"), Compression.AUTO) is Compression.GZIP
    assert output_compression(Path("a.log.ZST"), Compression.AUTO) is Compression.ZSTD
    assert output_compression(Path("a.log"), Compression.AUTO) is Compression.NONE
    assert output_compression(None, Compression.AUTO) is Compression.NONE
    assert output_compression(Path("a.log"), Compression.ZSTD) is Compression.ZSTD


def test_a_missing_input_or_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(LogInputError, match="cannot open the input"):
        anonymize_files([tmp_path / "nope.log"], None, stdout=io.BytesIO())
    (tmp_path / "in.log").write_bytes(LINES)
    with pytest.raises(Exception, match="cannot create a file next to it"):
        anonymize_files([tmp_path / "in.log"], tmp_path / "no" / "out.log")


def test_standard_input_is_read_when_no_file_is_given() -> None:
    with reading(None, stdin=io.BytesIO(gzip.compress(LINES))) as src:
        out = io.BytesIO()
        anonymize_stream(src, out)
    assert out.getvalue() == EXPECTED


class Trickle:
    """A pipe that hands out the data in the given piece sizes."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self._data = data
        self._sizes = sizes or [7]
        self._at = 0
        self._turn = 0

    def read1(self, size: int = -1, /) -> bytes:
        step = self._sizes[self._turn % len(self._sizes)]
        self._turn += 1
        piece = self._data[self._at : self._at + min(step, size)]
        self._at += len(piece)
        return piece

    read = read1


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=5000), min_size=1, max_size=8), st.booleans())
def test_chunk_boundaries_do_not_matter(sizes: list[int], final_newline: bool) -> None:
    count = 150
    data = b"".join(LINES.splitlines(keepends=True)[:count])
    expected = b"".join(EXPECTED.splitlines(keepends=True)[:count])
    if not final_newline:
        data, expected = data[:-1], expected[:-1]
    out = io.BytesIO()
    anonymize_stream(Trickle(data, sizes), out, AnonymizeOptions(max_line=200))
    assert out.getvalue() == expected


def test_blocks_stay_bounded(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    path.write_bytes(LINES * 200)
    with path.open("rb", buffering=0) as raw:
        sizes = [len(block) for block, _ in blocks(raw, limit=1000, source=None)]
    assert max(sizes) <= BLOCK + 1000
    assert sum(sizes) + len(sizes) == len(LINES) * 200


def test_a_long_line_is_gathered_from_many_reads() -> None:
    line = b"203.0.113.77 " + b"x" * (40 * BLOCK)
    data = line + b"\n198.51.100.7 y\n" + line
    got = list(blocks(io.BytesIO(data), limit=len(line), source=None))
    assert got == [(line + b"\n198.51.100.7 y", True), (line, False)]
    with pytest.raises(LogInputError, match="over the limit") as refused:
        list(blocks(io.BytesIO(data), limit=20 * BLOCK, source=None))
    assert refused.value.line == 1


def test_permissions_of_a_new_file_follow_the_umask(tmp_path: Path) -> None:
    source = tmp_path / "in.log"
    source.write_bytes(LINES)
    old = os.umask(0o027)
    try:
        anonymize_files([source], tmp_path / "new.log")
    finally:
        os.umask(old)
    assert (tmp_path / "new.log").stat().st_mode & 0o777 == 0o640

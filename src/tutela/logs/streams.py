"""Opening log inputs and outputs: plain, gzip, zstd; a file output is replaced atomically.

Input compression is recognised by its first bytes (``--compression auto``);
output compression follows the file suffix (``.gz``, ``.zst``). A file output
is written to a hidden temporary file next to it and renamed over the target
only when everything was read and written: on any error the temporary file is
removed and an existing target stays as it was (never appended to).
zstd needs the optional ``zstandard`` package (``pip install 'tutela[logs]'``).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import sys
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO, Final, cast

from tutela.errors import ConfigurationError
from tutela.logs.anonymizer import CHUNK, Anonymizer
from tutela.logs.errors import InputDamaged, LogInputError, LogOutputError
from tutela.logs.options import AnonymizeOptions, Counts
from tutela.logs.pipeline import anonymize_stream

GZIP_MAGIC: Final = b"\x1f\x8b"
ZSTD_MAGIC: Final = b"\x28\xb5\x2f\xfd"
_GZIP_SUFFIXES: Final = frozenset({".gz", ".gzip"})
_ZSTD_SUFFIXES: Final = frozenset({".zst", ".zstd"})


class Compression(StrEnum):
    AUTO = "auto"
    NONE = "none"
    GZIP = "gzip"
    ZSTD = "zstd"


def _zstandard() -> Any:
    try:
        import zstandard
    except ImportError as exc:
        raise ConfigurationError(
            "zstd-compressed logs need the zstandard package; install it with "
            "pip install 'tutela[logs]'"
        ) from exc
    return zstandard


class _Replay:
    """Serves the bytes read to detect the format first, then the stream itself."""

    def __init__(self, head: bytes, raw: Any) -> None:
        self._head = head
        self._raw = raw
        self._read = getattr(raw, "read1", None) or raw.read

    def read(self, size: int = -1, /) -> bytes:
        if self._head:
            cut = len(self._head) if size < 0 else size
            head, self._head = self._head[:cut], self._head[cut:]
            return head
        data: bytes = self._read(CHUNK if size < 0 else size)
        return data

    read1 = read

    def fileno(self) -> int:
        """The descriptor of the stream underneath (to tell a file from a pipe)."""
        fileno = getattr(self._raw, "fileno", None)
        if fileno is None:
            raise OSError("no file descriptor")
        return int(fileno())


class _GzipReader:
    """gzip members one after another; damage and truncation become ``InputDamaged``."""

    def __init__(self, raw: _Replay) -> None:
        self._file = gzip.GzipFile(fileobj=cast(Any, raw), mode="rb")

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._file.read1(CHUNK if size < 0 else size)
        except EOFError as exc:
            raise InputDamaged(
                "the gzip data ends early (the file is truncated); nothing was written "
                "as complete — use an intact copy of the file"
            ) from exc
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise InputDamaged(
                f"the gzip data is damaged ({exc}); use an intact copy of the file"
            ) from exc

    read1 = read


class _ZstdReader:
    """zstd frames one after another; a frame cut short is reported (not silently ended)."""

    def __init__(self, raw: _Replay) -> None:
        self._zstd = _zstandard()
        self._dctx = self._zstd.ZstdDecompressor()
        self._raw = raw
        self._obj: Any = None
        self._input = memoryview(b"")
        self._step = 1 << 16

    def read(self, size: int = -1, /) -> bytes:
        while True:
            if not self._input:
                self._input = memoryview(self._raw.read(CHUNK))
                if not self._input:
                    if self._obj is not None:
                        raise InputDamaged(
                            "the zstd data ends inside a frame (the file is truncated); "
                            "use an intact copy of the file"
                        )
                    return b""
            if self._obj is None:
                self._obj = self._dctx.decompressobj()
            piece, self._input = self._input[: self._step], self._input[self._step :]
            try:
                out: bytes = self._obj.decompress(piece)
            except self._zstd.ZstdError as exc:
                raise InputDamaged(
                    f"the zstd data is damaged ({exc}); use an intact copy of the file"
                ) from exc
            if self._obj.eof:
                self._input = memoryview(bytes(self._obj.unused_data) + bytes(self._input))
                self._obj = None
            # keep memory bounded for highly compressible input
            if len(out) > 8 * CHUNK:
                self._step = max(256, self._step // 8)
            elif len(out) < CHUNK:
                self._step = min(1 << 17, self._step * 2)
            if out:
                return out

    read1 = read


def _read_head(raw: Any, size: int) -> bytes:
    read = getattr(raw, "read1", None) or raw.read
    head = b""
    while len(head) < size:
        more = read(size - len(head))
        if not more:
            break
        head += more
    return head


def describe(path: str | Path | None) -> str | None:
    """The name used in messages: the path, or ``None`` for standard input."""
    return None if path is None or str(path) == "-" else str(path)


@contextlib.contextmanager
def reading(
    path: str | Path | None,
    *,
    compression: Compression = Compression.AUTO,
    stdin: BinaryIO | None = None,
) -> Iterator[Any]:
    """A reader with ``read``/``read1`` for ``path`` (``None`` or ``-``: standard input)."""
    name = describe(path)
    with contextlib.ExitStack() as stack:
        if name is None:
            raw: Any = stdin if stdin is not None else sys.stdin.buffer
        else:
            try:
                raw = stack.enter_context(Path(name).open("rb", buffering=0))
            except OSError as exc:
                raise LogInputError(
                    f"cannot open the input ({exc.strerror or exc}); check the path",
                    source=name,
                ) from exc
        try:
            head = _read_head(raw, 4)
        except OSError as exc:
            raise LogInputError(
                f"cannot read the input ({exc}); check the file", source=name
            ) from exc
        kind = compression
        if kind is Compression.AUTO:
            kind = Compression.NONE
            if head.startswith(GZIP_MAGIC):
                kind = Compression.GZIP
            elif head.startswith(ZSTD_MAGIC):
                kind = Compression.ZSTD
        elif head and kind is not Compression.NONE:
            magic = GZIP_MAGIC if kind is Compression.GZIP else ZSTD_MAGIC
            if not head.startswith(magic):
                raise LogInputError(
                    f"the input is not {kind.value} data; use --compression auto or none",
                    source=name,
                )
        replay = _Replay(head, raw)
        if kind is Compression.GZIP:
            yield _GzipReader(replay)
        elif kind is Compression.ZSTD:
            yield _ZstdReader(replay)
        else:
            yield replay


def output_compression(path: Path | None, compression: Compression) -> Compression:
    """What the output is compressed with: the explicit choice, else the file suffix."""
    if compression is not Compression.AUTO:
        return compression
    suffix = path.suffix.lower() if path is not None else ""
    if suffix in _GZIP_SUFFIXES:
        return Compression.GZIP
    if suffix in _ZSTD_SUFFIXES:
        return Compression.ZSTD
    return Compression.NONE


@contextlib.contextmanager
def _compressing(raw: BinaryIO, kind: Compression) -> Iterator[BinaryIO]:
    if kind is Compression.GZIP:
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as packed:
            yield packed  # type: ignore[misc]
    elif kind is Compression.ZSTD:
        writer = _zstandard().ZstdCompressor(level=3).stream_writer(raw, closefd=False)
        yield writer
        writer.close()
    else:
        yield raw


def _new_file_mode(target: Path) -> int:
    with contextlib.suppress(OSError):
        return target.stat().st_mode & 0o7777
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def writing(
    path: Path | None,
    *,
    compression: Compression = Compression.AUTO,
    stdout: BinaryIO | None = None,
) -> Iterator[BinaryIO]:
    """A binary writer for ``path`` (``None``: standard output), replaced atomically."""
    kind = output_compression(path, compression)
    if path is None:
        out = stdout if stdout is not None else sys.stdout.buffer
        with _compressing(out, kind) as dst:
            yield dst
        out.flush()
        return
    try:
        handle, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".part"
        )
    except OSError as exc:
        raise LogOutputError(
            f"{path}: cannot create a file next to it ({exc.strerror or exc}); "
            "check that the folder exists and is writable"
        ) from exc
    try:
        with os.fdopen(handle, "wb", CHUNK) as raw:
            with _compressing(raw, kind) as dst:
                yield dst
            raw.flush()
            os.fsync(raw.fileno())
        Path(temporary).chmod(_new_file_mode(path))
        Path(temporary).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise


def anonymize_files(
    inputs: Sequence[str | Path | None],
    output: Path | None,
    options: AnonymizeOptions | None = None,
    *,
    compression: Compression = Compression.AUTO,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
) -> Counts:
    """Anonymize ``inputs`` in order (none: standard input) into one ``output``.

    ``output`` ``None`` writes to standard output, flushed after each block so a
    reader of a pipe sees lines as they come. Returns the counts of the run.
    """
    engine = Anonymizer(options)
    try:
        with writing(output, compression=compression, stdout=stdout) as dst:
            for item in inputs or [None]:
                with reading(item, compression=compression, stdin=stdin) as src:
                    anonymize_stream(
                        src,
                        dst,
                        engine=engine,
                        source=describe(item),
                        flush=output is None,
                    )
    except BrokenPipeError:
        raise
    except OSError as exc:  # reading errors are LogInputError already: this is the output
        raise LogOutputError(
            f"{output or 'standard output'}: writing failed ({exc.strerror or exc}); "
            "check the free space and permissions"
        ) from exc
    return engine.counts

"""Streams of lines: read blocks of about 128 KiB, anonymize them, write them in order.

A pipe is served block by block as lines arrive (``read1``), so a live log is
not held back; a file is read in 128 KiB chunks. Memory stays bounded: one block
and at most one partial line between chunks (``max_line``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO, Protocol

from tutela.logs.anonymizer import BLOCK, Anonymizer
from tutela.logs.errors import InputDamaged, LogInputError
from tutela.logs.options import AnonymizeOptions, Counts
from tutela.logs.screening import too_long


class ByteSource(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def blocks(
    src: BinaryIO | ByteSource,
    *,
    limit: int,
    source: str | None,
    done: Callable[[], int] | None = None,
) -> Iterator[tuple[bytes, bool]]:
    """``(lines joined by \\n, ended by a newline)`` blocks of about 128 KiB.

    Only the last block, an unterminated last line, has ``False``. Raises
    ``LogInputError`` with the line number for over-long lines and damaged or
    unreadable input. ``done`` tells how many lines of the blocks handed out so
    far were read (the caller counts them anyway); without it they are counted here.
    """
    read: Callable[[int], bytes] = getattr(src, "read1", None) or src.read
    lines = 0
    pending: list[bytes] = []  # the start of a line that has not ended yet, chunk by chunk
    waiting = 0  # its length
    while True:
        try:
            chunk = read(BLOCK)
        except InputDamaged as exc:
            lines = done() if done else lines
            raise LogInputError(str(exc), line=lines + 1, source=source) from exc
        except OSError as exc:
            lines = done() if done else lines
            raise LogInputError(
                f"reading failed ({exc}); check the input file", line=lines + 1, source=source
            ) from exc
        if not chunk:
            break
        cut = chunk.rfind(b"\n")
        if cut < 0:
            pending.append(chunk)
            waiting += len(chunk)
        else:
            block = b"".join([*pending, chunk[:cut]]) if pending else chunk[:cut]
            rest = chunk[cut + 1 :]
            pending, waiting = ([rest] if rest else []), len(rest)
            if done is None:
                lines += block.count(b"\n") + 1
            yield block, True
        if waiting > limit:
            lines = done() if done else lines
            raise LogInputError(too_long(waiting, limit), line=lines + 1, source=source)
    if pending:
        yield b"".join(pending), False


def anonymize_stream(
    src: BinaryIO | ByteSource,
    dst: BinaryIO,
    options: AnonymizeOptions | None = None,
    *,
    engine: Anonymizer | None = None,
    source: str | None = None,
    flush: bool = False,
) -> Counts:
    """Copy ``src`` to ``dst`` with every address masked; returns the engine's counts.

    Reads chunks of about 128 KiB (``read1`` when the source has it, so a pipe is
    served as lines arrive) and writes whole blocks; ``flush`` flushes ``dst``
    after each block (for pipes). Raises ``LogInputError`` with the line number for
    binary data, over-long lines and damaged compressed input.
    """
    engine = engine or Anonymizer(options)
    engine.begin(source)
    limit = engine.options.max_line
    write = dst.write
    start = engine.counts.lines

    def done() -> int:
        return engine.counts.lines - start

    for block, ended in blocks(src, limit=limit, source=source, done=done):
        write(engine.block(block))
        if ended:
            write(b"\n")
        if flush:
            dst.flush()
    return engine.counts

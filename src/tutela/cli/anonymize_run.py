"""What ``tutela logs anonymize`` does once its arguments are read, with or without Typer.

The command has two front doors: the Typer command (``logs_anonymize``) and a
quick start (``anonymize_argv`` and ``entry``) that reads plain invocations without
loading the rest of the command line, because a log pipe starts often and the
full command tree costs more to load than a small log takes to anonymize. Both
build an ``AnonymizeArgs`` and call ``anonymize``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from tutela.errors import InvalidInput


@dataclass
class AnonymizeArgs:
    """The command's arguments as given (``None``: not given, the default applies)."""

    inputs: list[str] = field(default_factory=list)
    output: Path | None = None
    ipv4mask: int | None = None
    ipv6mask: int | None = None
    increment: int = 0
    column: list[str] = field(default_factory=list)
    delimiter: str | None = None
    regex: list[str] = field(default_factory=list)
    replace: str | None = None
    skip_private: bool = False
    anonip: bool = False
    xff: bool | None = None
    compression: str = "auto"
    max_line: int = 64 * 1024
    summary: bool = False


def columns(values: list[str]) -> tuple[int, ...] | None:
    """``-c 1 -c 3`` or ``-c 1,3`` as column numbers (``None`` when none were given)."""
    if not values:
        return None
    numbers: list[int] = []
    for value in values:
        for part in value.split(","):
            try:
                numbers.append(int(part))
            except ValueError:
                raise InvalidInput(
                    f"--column: {part.strip()!r} is not a column number; give numbers from 1, "
                    "such as -c 1 or -c 1,3."
                ) from None
    return tuple(numbers)


def anonymize(args: AnonymizeArgs, stdin: BinaryIO, stdout: BinaryIO) -> int:
    """Run the command; returns the exit code. Bad options raise ``TutelaError``."""
    from tutela.logs import AnonymizeOptions, Compression, anonymize_files

    try:
        kind = Compression(args.compression)
    except ValueError:
        raise InvalidInput(
            f"--compression: {args.compression!r} is not known; use auto, none, gzip or zstd."
        ) from None
    values: dict[str, Any] = {
        "increment": args.increment,
        "columns": columns(args.column),
        "delimiter": args.delimiter,
        "regexes": tuple(args.regex),
        "replace": args.replace,
        "skip_private": args.skip_private,
        "max_line": args.max_line,
    }
    if args.ipv4mask is not None:
        values["ipv4mask"] = args.ipv4mask
    if args.ipv6mask is not None:
        values["ipv6mask"] = args.ipv6mask
    if args.xff is not None:
        values["xff"] = args.xff
    options = AnonymizeOptions.anonip(**values) if args.anonip else AnonymizeOptions(**values)
    try:
        counts = anonymize_files(
            args.inputs, args.output, options, compression=kind, stdin=stdin, stdout=stdout
        )
    except BrokenPipeError:
        # the reader went away (e.g. `| head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    if args.summary:
        from tutela.cli.console import err

        shown = ", ".join(f"{key} {value}" for key, value in counts.as_dict().items())
        err.print(f"anonymized: {shown}")
    return 0

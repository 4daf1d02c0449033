"""``tutela logs anonymize``: shorten the client addresses of access logs as they stream.

Option names follow anonip (``-4 -6 -i -c -l -r -p --regex``); ``-c`` and
``--regex`` are repeated instead of taking several values (``-c 1 -c 3`` or
``-c 1,3``). Our defaults keep an IPv4 /24 and an IPv6 /32; ``--anonip``
switches to anonip's defaults. ``-o FILE`` replaces the file atomically (it
never appends as anonip does); on an error it stays as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tutela.cli import anonymize_run
from tutela.cli.anonymize_run import AnonymizeArgs


def register(app: typer.Typer) -> None:
    """Add the command to ``app``."""

    @app.command("anonymize")
    def anonymize(
        inputs: Annotated[
            list[str] | None,
            typer.Argument(
                metavar="FILE",
                help="Log files to read in order (plain, gzip or zstd); none or - reads "
                "standard input.",
                show_default=False,
            ),
        ] = None,
        output: Annotated[
            Path | None,
            typer.Option(
                "-o",
                "--output",
                help="Write here instead of standard output. The file is replaced only when "
                "all input was processed; a .gz or .zst suffix compresses it.",
                show_default=False,
            ),
        ] = None,
        ipv4mask: Annotated[
            int | None,
            typer.Option(
                "-4",
                "--ipv4mask",
                help="Zero the last N bits of IPv4 addresses, 0-32 \\[default: 8, keeps /24; "
                "12 with --anonip].",
                show_default=False,
            ),
        ] = None,
        ipv6mask: Annotated[
            int | None,
            typer.Option(
                "-6",
                "--ipv6mask",
                help="Zero the last N bits of IPv6 addresses, 0-128 \\[default: 96, keeps /32; "
                "84 with --anonip].",
                show_default=False,
            ),
        ] = None,
        increment: Annotated[
            int,
            typer.Option("-i", "--increment", help="Add N to each masked address."),
        ] = 0,
        column: Annotated[
            list[str] | None,
            typer.Option(
                "-c",
                "--column",
                help="Column holding an address, counted from 1; repeat or list (1,3) "
                "\\[default: 1].",
                show_default=False,
            ),
        ] = None,
        delimiter: Annotated[
            str | None,
            typer.Option(
                "-l",
                "--delimiter",
                help="Column delimiter \\[default: a space].",
                show_default=False,
            ),
        ] = None,
        regex: Annotated[
            list[str] | None,
            typer.Option(
                "--regex",
                help="Instead of columns: a regex matched at the line start; each capture "
                "group is an address. Repeat to give alternatives (joined with |).",
                show_default=False,
            ),
        ] = None,
        replace: Annotated[
            str | None,
            typer.Option(
                "-r",
                "--replace",
                help="Put this in a selected field that holds no address (e.g. 0.0.0.0).",
                show_default=False,
            ),
        ] = None,
        skip_private: Annotated[
            bool,
            typer.Option(
                "-p", "--skip-private", help="Leave private addresses (10/8, fc00::/7 …) whole."
            ),
        ] = False,
        anonip: Annotated[
            bool,
            typer.Option(
                "--anonip",
                help="anonip's defaults: masks 12/84, trailing blanks stripped, no "
                "X-Forwarded-For lists.",
            ),
        ] = False,
        xff: Annotated[
            bool | None,
            typer.Option(
                "--xff/--no-xff",
                help="Also mask the X-Forwarded-For list: the last quoted field of a line "
                "with four or more (nginx 'main') \\[default: on, off with --anonip or --regex].",
                show_default=False,
            ),
        ] = None,
        compression: Annotated[
            str,
            typer.Option(
                "--compression",
                help="auto (input by its first bytes, output by suffix), none, gzip or zstd.",
            ),
        ] = "auto",
        max_line: Annotated[
            int,
            typer.Option("--max-line", help="Longest line accepted, in bytes."),
        ] = 64 * 1024,
        summary: Annotated[
            bool,
            typer.Option("--summary", help="Print what was done to standard error."),
        ] = False,
    ) -> None:
        """Mask client IP addresses in access logs (nginx, Apache, anything column-based).

        Reads the files (or standard input) and writes every line with its addresses
        shortened. Lines that do not parse still lose every address they hold.
        Exit 0; 2 for unusable options or input (binary data, over-long line, damaged
        archive) — a file output is then left untouched.
        """
        args = AnonymizeArgs(
            inputs=inputs or [],
            output=output,
            ipv4mask=ipv4mask,
            ipv6mask=ipv6mask,
            increment=increment,
            column=column or [],
            delimiter=delimiter,
            regex=regex or [],
            replace=replace,
            skip_private=skip_private,
            anonip=anonip,
            xff=xff,
            compression=compression,
            max_line=max_line,
            summary=summary,
        )
        stdin = typer.get_binary_stream("stdin")
        stdout = typer.get_binary_stream("stdout")
        code = anonymize_run.anonymize(args, stdin, stdout)
        if code:
            raise typer.Exit(code)

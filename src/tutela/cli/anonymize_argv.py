"""The quick reading of ``tutela logs anonymize`` arguments, for the quick start.

Only plain invocations are read here: the options the command documents, in their
long (``--name value``, ``--name=value``) and short (``-4 12``, ``-412``) forms,
files and ``--``. Anything else — ``--help``, an unknown option, a value that is
not a number, a missing value — gives ``None``, and the full command line reads
the arguments and reports the problem as it always does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from tutela.cli.anonymize_run import AnonymizeArgs

_VALUES: Final = {
    "-o": "output",
    "--output": "output",
    "-4": "ipv4mask",
    "--ipv4mask": "ipv4mask",
    "-6": "ipv6mask",
    "--ipv6mask": "ipv6mask",
    "-i": "increment",
    "--increment": "increment",
    "-c": "column",
    "--column": "column",
    "-l": "delimiter",
    "--delimiter": "delimiter",
    "--regex": "regex",
    "-r": "replace",
    "--replace": "replace",
    "--compression": "compression",
    "--max-line": "max_line",
}
_FLAGS: Final = {
    "-p": ("skip_private", True),
    "--skip-private": ("skip_private", True),
    "--anonip": ("anonip", True),
    "--xff": ("xff", True),
    "--no-xff": ("xff", False),
    "--summary": ("summary", True),
}
_NUMBERS: Final = frozenset({"ipv4mask", "ipv6mask", "increment", "max_line"})


def read(argv: list[str]) -> AnonymizeArgs | None:
    """The arguments after ``logs anonymize``, or ``None`` to leave them to the full parser."""
    args = AnonymizeArgs()
    position = 0
    while position < len(argv):
        word = argv[position]
        position += 1
        if word == "--":
            args.inputs.extend(argv[position:])
            break
        if word == "-" or not word.startswith("-"):
            args.inputs.append(word)
            continue
        if word in _FLAGS:
            switch, flag = _FLAGS[word]
            setattr(args, switch, flag)
            continue
        name, given = _option(word)
        if name is None:
            return None
        if given is None and position < len(argv):
            given = argv[position]
            position += 1
        if not given or not _take(args, name, given):
            return None
    return args


def _option(word: str) -> tuple[str | None, str | None]:
    """``(field, value given with it)`` for an option that takes a value."""
    if word.startswith("--"):
        key, equals, value = word.partition("=")
        return _VALUES.get(key), (value if equals else None)
    key, value = word[:2], word[2:]
    return _VALUES.get(key), (value or None)


def _take(args: AnonymizeArgs, name: str, value: str) -> bool:
    """Store one option value; ``False`` when it is not what the option expects."""
    if name in _NUMBERS:
        if not value.isascii():  # int() reads other scripts' digits; the full parser does not
            return False
        try:
            number = int(value)
        except ValueError:
            return False
        setattr(args, name, number)
    elif name in ("column", "regex"):
        getattr(args, name).append(value)
    elif name == "output":
        args.output = Path(value)
    else:
        setattr(args, name, value)
    return True

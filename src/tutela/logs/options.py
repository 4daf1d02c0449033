"""What the anonymizer does (``AnonymizeOptions``) and what it did (``Counts``).

Our defaults follow German supervisory practice for stored logs: an IPv4
address loses its last octet (mask 8 bits, keeps /24) and an IPv6 address keeps
only its first 32 bits (mask 96 bits) — a /48 can still point to one customer
site, a /32 is a provider. ``AnonymizeOptions.anonip()`` gives anonip's
defaults (masks 12/84, trailing whitespace stripped, no X-Forwarded-For lists).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tutela.errors import InvalidInput

DEFAULT_IPV4_MASK = 8
DEFAULT_IPV6_MASK = 96
ANONIP_IPV4_MASK = 12
ANONIP_IPV6_MASK = 84
DEFAULT_MAX_LINE = 64 * 1024


@dataclass(frozen=True, slots=True)
class AnonymizeOptions:
    """How lines are anonymized; validated on construction (``InvalidInput``).

    ``columns`` are 1-based; ``None`` means column 1. ``regexes`` are joined
    with ``|`` and every capture group is a candidate address; they exclude
    ``columns`` and ``delimiter``. ``xff`` reads the last quoted field of an
    nginx ``main``-style line as an X-Forwarded-For list (column mode only;
    ``None`` = on in column mode, off with regexes).
    ``rstrip`` drops trailing whitespace like anonip; ``max_line`` is in bytes.
    """

    ipv4mask: int = DEFAULT_IPV4_MASK
    ipv6mask: int = DEFAULT_IPV6_MASK
    increment: int = 0
    columns: tuple[int, ...] | None = None
    delimiter: str | None = None
    regexes: tuple[str, ...] = ()
    replace: str | None = None
    skip_private: bool = False
    xff: bool | None = None
    rstrip: bool = False
    max_line: int = DEFAULT_MAX_LINE

    def __post_init__(self) -> None:
        _check_range("--ipv4mask", self.ipv4mask, 0, 32)
        _check_range("--ipv6mask", self.ipv6mask, 0, 128)
        if self.increment < 0:
            raise InvalidInput(
                f"--increment: {self.increment} is negative; give 0 (no increment) or more."
            )
        if self.columns is not None:
            if not self.columns:
                raise InvalidInput("--column: no column given; give at least one, such as 1.")
            for number in self.columns:
                if number < 1:
                    raise InvalidInput(
                        f"--column: {number} is not a column number; columns count from 1."
                    )
        if self.delimiter is not None and not self.delimiter:
            raise InvalidInput("--delimiter: the delimiter is empty; give one or more characters.")
        if self.max_line < 80:
            raise InvalidInput(
                f"--max-line: {self.max_line} bytes is too short for a log line; give 80 or more."
            )
        if self.regexes:
            if self.columns is not None or self.delimiter is not None:
                raise InvalidInput(
                    "--regex cannot be combined with --column or --delimiter: the capture "
                    "groups of the regex select the addresses; drop one of them."
                )
            if self.xff is True:
                raise InvalidInput(
                    "--xff works in column mode only; with --regex, capture the "
                    "X-Forwarded-For field in a group instead (a list in one group is handled)."
                )
            compile_regex(self.regexes)

    @classmethod
    def anonip(cls, **overrides: Any) -> AnonymizeOptions:
        """anonip 1.1.0's defaults: masks 12/84, rstrip, no X-Forwarded-For lists."""
        values: dict[str, Any] = {
            "ipv4mask": ANONIP_IPV4_MASK,
            "ipv6mask": ANONIP_IPV6_MASK,
            "xff": False,
            "rstrip": True,
        }
        values.update(overrides)
        return cls(**values)

    @property
    def column_indexes(self) -> tuple[int, ...]:
        """The selected columns, 0-based, sorted, without duplicates."""
        return tuple(sorted({c - 1 for c in (self.columns or (1,))}))

    @property
    def reads_xff(self) -> bool:
        """Whether X-Forwarded-For lists are read (column mode, not switched off)."""
        return not self.regexes and self.xff is not False

    @property
    def delimiter_bytes(self) -> bytes:
        return (self.delimiter if self.delimiter is not None else " ").encode("utf-8")


def compile_regex(regexes: tuple[str, ...]) -> re.Pattern[bytes]:
    """Join the patterns with ``|`` and compile them for bytes lines."""
    for pattern in regexes:
        _compile_one(pattern)
    return _compile_one("|".join(regexes))


def _compile_one(pattern: str) -> re.Pattern[bytes]:
    try:
        return re.compile(pattern.encode("utf-8"))
    except re.error as exc:
        raise InvalidInput(
            f"--regex: {pattern!r} is not a valid regular expression ({exc}); fix the pattern."
        ) from exc


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise InvalidInput(f"{name}: {value} bits is out of range; give {low} to {high}.")


@dataclass(slots=True)
class Counts:
    """What a run did.

    ``addresses``: addresses masked; ``private``: private addresses kept
    (``skip_private``); ``passed``: fields left as they were because they hold
    no address (``-``, ``unix:``, ``unknown``, other text without ``replace``);
    ``replaced``: fields replaced by ``replace``; ``unparsed``: lines whose
    selected fields were missing or not addresses, searched by the fallback scanner.
    """

    lines: int = 0
    addresses: int = 0
    private: int = 0
    passed: int = 0
    replaced: int = 0
    unparsed: int = 0

    def add(self, other: Counts) -> None:
        """Add another run's counts to these."""
        self.lines += other.lines
        self.addresses += other.addresses
        self.private += other.private
        self.passed += other.passed
        self.replaced += other.replaced
        self.unparsed += other.unparsed

    def as_dict(self) -> dict[str, int]:
        return {
            "lines": self.lines,
            "addresses": self.addresses,
            "private": self.private,
            "passed": self.passed,
            "replaced": self.replaced,
            "unparsed": self.unparsed,
        }

"""Normalising identity values fast enough for bulk checks.

:func:`tutela.subjects.normalize` validates an email address with the full
rules of ``email_validator``, which costs tens of microseconds. Most addresses
are plain ASCII of a shape whose canonical form is simply the lower-cased text,
so :func:`fast_email` accepts exactly such addresses (a strict subset of what
``normalize`` accepts, giving the same result — a property test holds it to
that) and leaves every other value to ``normalize``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Final, cast

from tutela.errors import TutelaError
from tutela.subjects import IdentityKind, normalize
from tutela.subjects.identity import identity_kind

__all__ = ["Batch", "batch_normalizer", "fast_email", "normalizer"]

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_SPECIAL_USE = r"(?:arpa|invalid|local|localhost|onion|test)"
_PLAIN_EMAIL: Final = re.compile(
    r"(?=[^@]{1,64}@)(?=.{3,254}\Z)"  # local part 1-64, whole address at most 254
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@"
    r"(?![^@]*--)"  # no '--' anywhere in the domain (left to the full rules)
    r"(?:" + _LABEL + r"\.)+(?!" + _SPECIAL_USE + r"\Z)[a-z]{2,63}"
)
_MAX_ERROR: Final = 300

Batch = tuple[list[str], dict[int, str]]
"""Normalised values in order, and the error text per position of each malformed one."""


def fast_email(value: str) -> str | None:
    """The canonical form of a plain ASCII address, or ``None`` to use the full rules."""
    if not value.isascii():
        return None
    text = value.strip().lower()
    return text if _PLAIN_EMAIL.fullmatch(text) else None


def _fast_emails(values: Sequence[str]) -> list[str | None]:
    """:func:`fast_email` for a whole batch, lower-casing it in one go."""
    joined = "\n".join(values)
    if joined.isascii():
        lines = joined.lower().split("\n")
        if len(lines) == len(values):
            match = _PLAIN_EMAIL.fullmatch
            return [line if match(line) else None for line in lines]
    return [fast_email(value) for value in values]


def normalizer(
    kind: IdentityKind | str, *, default_country_code: str = "49"
) -> Callable[[str], str]:
    """A function normalising values of ``kind`` exactly as :func:`tutela.subjects.normalize`."""
    member = identity_kind(kind)

    if member is IdentityKind.EMAIL:

        def email(value: str) -> str:
            found = fast_email(value)
            return found if found is not None else normalize(member, value)

        return email

    def other(value: str) -> str:
        return normalize(member, value, default_country_code=default_country_code)

    return other


def batch_normalizer(
    kind: IdentityKind | str, *, default_country_code: str = "49"
) -> Callable[[Sequence[str]], Batch]:
    """Normalise many values of ``kind`` at once; malformed ones are reported, not raised."""
    member = identity_kind(kind)
    email = member is IdentityKind.EMAIL

    def run(values: Sequence[str]) -> Batch:
        quick = _fast_emails(values) if email else [None] * len(values)
        if None not in quick:
            return cast(list[str], quick), {}
        normalized: list[str] = []
        errors: dict[int, str] = {}
        append = normalized.append
        for position, value in enumerate(values):
            found = quick[position]
            if found is not None:
                append(found)
                continue
            try:
                append(normalize(member, value, default_country_code=default_country_code))
            except TutelaError as exc:
                errors[position] = exc.detail[:_MAX_ERROR]
        return normalized, errors

    return run

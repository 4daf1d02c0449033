"""One thing the lint found: which rule, how serious, where, what and how to fix it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

_DIGITS = re.compile(r"(\d+)")


class Severity(StrEnum):
    """``error``: the law requires it; ``warning``: good practice, or a likely mistake."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """A rule that a declaration breaks, at one field.

    ``path`` uses the loader's syntax (``purposes[2].legal_basis``); ``message``
    names the purpose, recipient or key concerned; ``hint`` says what to change.
    """

    id: str
    severity: Severity
    path: str
    message: str
    hint: str

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "severity": str(self.severity),
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
        }

    def sort_key(self) -> tuple[tuple[str | int, ...], str, str]:
        """Order by path (list indexes compared as numbers), then rule id, then message."""
        parts = _DIGITS.split(self.path)
        natural = tuple(int(part) if index % 2 else part for index, part in enumerate(parts))
        return natural, self.id, self.message


def has_errors(findings: Iterable[Finding]) -> bool:
    """Whether any finding is an error (a declaration with errors must not be published)."""
    return any(finding.severity is Severity.ERROR for finding in findings)

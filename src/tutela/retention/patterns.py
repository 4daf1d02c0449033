"""Text patterns a sweep tests in SQL: ISO dates, and what a keyed hash or pseudonym leaves.

SQLite compares with ``GLOB`` (built in, case-sensitive, matches the whole value);
PostgreSQL and other databases with a regular expression (``~`` on PostgreSQL).
Each pattern is written twice, once per form, and means the same in both:

* an ISO 8601 date or timestamp starts ``YYYY-MM-DD``;
* a keyed hash is 64 lowercase hex digits (:data:`tutela.connectors.strategy.HASH_LENGTH`);
* a pseudonym is ``erased-`` and 16 lowercase hex digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from tutela.connectors.strategy import HASH_LENGTH, PSEUDONYM_LENGTH

__all__ = ["HASHED", "ISO_DATE", "PSEUDONYMISED", "Pattern", "is_text"]

_HEX: Final = "[0-9a-f]"
_PREFIX: Final = "erased-"


@dataclass(frozen=True, slots=True)
class Pattern:
    glob: str
    """For SQLite's ``GLOB`` (the whole value must match)."""
    regex: str
    """For a regular expression match (anchored where the whole value must match)."""

    def matches(self, column: sa.ColumnElement[Any], dialect: str) -> sa.ColumnElement[bool]:
        """``column`` matches the pattern (NULL for a NULL value)."""
        if dialect == "sqlite":
            return column.op("GLOB", is_comparison=True)(self.glob)
        return column.regexp_match(self.regex)

    def misses(self, column: sa.ColumnElement[Any], dialect: str) -> sa.ColumnElement[bool]:
        """``column`` holds a value that does not match (false for NULL)."""
        return sa.and_(column.is_not(None), sa.not_(self.matches(column, dialect)))


ISO_DATE: Final = Pattern(
    glob="[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*",
    regex="^[0-9]{4}-[0-9]{2}-[0-9]{2}",
)
HASHED: Final = Pattern(glob=_HEX * HASH_LENGTH, regex=f"^[0-9a-f]{{{HASH_LENGTH}}}$")
_DIGITS = PSEUDONYM_LENGTH - len(_PREFIX)
PSEUDONYMISED: Final = Pattern(
    glob=_PREFIX + _HEX * _DIGITS, regex=f"^{_PREFIX}[0-9a-f]{{{_DIGITS}}}$"
)


def is_text(column: sa.Column[Any]) -> bool:
    """The column holds text (so dates in it compare as text)."""
    kind = column.type
    return isinstance(kind, sa.String) and not isinstance(kind, sa.Enum)

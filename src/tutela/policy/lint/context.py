"""What every rule needs: the declaration, the taxonomy, the date, and a place to report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from tutela.policy.lint.catalogue import RULES
from tutela.policy.lint.finding import Finding
from tutela.policy.models import Declaration, Purpose, Right

# Key segments that mark identity documents, recordings and biometrics (promise P22).
_SENSITIVE_MARKERS = (
    "government_id",
    "id_document",
    "identity_document",
    "passport",
    "recording",
    "biometric",
)


class CategoryEntry(Protocol):
    """The part of a taxonomy data category that the lint reads."""

    @property
    def special(self) -> bool: ...

    @property
    def pan(self) -> bool: ...


class Vocabulary(Protocol):
    """The part of :class:`tutela.policy.taxonomy.Taxonomy` that the lint reads."""

    def category(self, key: str, /) -> CategoryEntry | None: ...

    def use(self, key: str, /) -> object | None: ...

    def subject(self, key: str, /) -> object | None: ...

    def is_custom(self, key: str, /) -> bool: ...

    def nearest_categories(self, key: str, /) -> list[str]: ...

    def nearest_uses(self, key: str, /) -> list[str]: ...

    def nearest_subjects(self, key: str, /) -> list[str]: ...


@dataclass
class LintContext:
    """One lint run; rules read from it and report into it."""

    declaration: Declaration
    vocabulary: Vocabulary
    today: dt.date | None = None
    findings: list[Finding] = field(default_factory=list)

    def report(self, rule_id: str, path: str, message: str, hint: str) -> None:
        rule = RULES[rule_id]
        self.findings.append(Finding(rule.id, rule.severity, path, message, hint))

    def purposes(self) -> Iterator[tuple[str, Purpose]]:
        """Each purpose with its path, ``purposes[i]``."""
        for index, purpose in enumerate(self.declaration.purposes):
            yield f"purposes[{index}]", purpose

    def recipient_ids(self) -> set[str]:
        return {recipient.id for recipient in self.declaration.recipients}

    def covered_rights(self) -> set[Right]:
        """Rights for which at least one rights channel takes requests."""
        return {right for channel in self.declaration.rights_channels for right in channel.rights}

    def is_special(self, key: str) -> bool:
        """Art. 9 data: the declaration's own flag wins, else the taxonomy's."""
        declared = self.declaration.category(key)
        if declared is not None and declared.special is not None:
            return declared.special
        return any(entry.special for entry in self.taxonomy_lineage(key))

    def taxonomy_lineage(self, key: str) -> list[CategoryEntry]:
        """The taxonomy entries of ``key`` and of its ancestors (flags are inherited)."""
        parts = key.split(".")
        found = (self.vocabulary.category(".".join(parts[: i + 1])) for i in range(len(parts)))
        return [entry for entry in found if entry is not None]

    def is_sensitive(self, key: str) -> bool:
        """Special categories, identity documents, recordings and biometrics."""
        if self.is_special(key):
            return True
        return any(marker in segment for segment in key.split(".") for marker in _SENSITIVE_MARKERS)

    def special_keys(self, purpose: Purpose) -> list[str]:
        return [key for key in purpose.categories.all() if self.is_special(key)]


def listing(items: list[str]) -> str:
    """``a, b and c`` for messages; quotes each item."""
    quoted = [f"'{item}'" for item in items]
    if len(quoted) < 2:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]

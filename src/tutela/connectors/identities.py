"""Who a request is about: identity values by kind, normalised once."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from tutela.crypto import normalize_identity
from tutela.errors import InvalidInput

__all__ = [
    "CONTACT_CATEGORY",
    "CONTACT_KINDS",
    "STANDARD_KINDS",
    "IdentitySet",
    "check_kind",
    "is_contact_category",
]

STANDARD_KINDS: Final = ("email", "phone", "customer_id", "visitor_id")
"""The kinds every store understands; a dataset may seed from any other name too."""
CONTACT_KINDS: Final = frozenset({"email", "phone"})
"""Identity kinds that are contact data: changing them is a change of contact data."""
CONTACT_CATEGORY: Final = "user.contact"
"""The data category of contact data (and every category below it)."""


def is_contact_category(category: str) -> bool:
    """Whether ``category`` is ``user.contact`` or one below it (``user.contact.email``)."""
    return category == CONTACT_CATEGORY or category.startswith(CONTACT_CATEGORY + ".")


_KIND = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_MAX_VALUE = 1024


def check_kind(kind: str) -> str:
    """Return ``kind`` if it is a valid identity name, else raise :class:`InvalidInput`."""
    if not _KIND.fullmatch(kind):
        raise InvalidInput(
            f"The identity kind {kind!r} is not valid: use 1-64 lowercase letters, digits "
            "or '_', starting with a letter (for example email, phone, customer_id).",
            field="identity",
        )
    return kind


@dataclass(frozen=True, slots=True)
class IdentitySet:
    """Identity values by kind (``email`` → {"anna@example.com"}), each normalised.

    Emails are case-folded, phone numbers keep only digits and a leading ``+``,
    every value loses surrounding whitespace; empty values are dropped.
    """

    values: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(cls, **kinds: str | Iterable[str] | None) -> IdentitySet:
        """``IdentitySet.of(email="a@example.com", customer_id=["42", "43"])``."""
        pairs: list[tuple[str, str]] = []
        for kind, given in kinds.items():
            if given is None:
                continue
            items = [given] if isinstance(given, str) else list(given)
            pairs.extend((kind, item) for item in items)
        return cls.from_pairs(pairs)

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> IdentitySet:
        collected: dict[str, set[str]] = {}
        for kind, raw in pairs:
            check_kind(kind)
            if not isinstance(raw, str):
                raise InvalidInput(
                    f"The {kind} identity must be text, got {type(raw).__name__}; "
                    "pass numbers such as customer ids as strings.",
                    field=kind,
                )
            if len(raw) > _MAX_VALUE:
                raise InvalidInput(
                    f"The {kind} identity is longer than {_MAX_VALUE} characters; "
                    "check that the right value was passed.",
                    field=kind,
                )
            value = normalize_identity(kind, raw)
            if value:
                collected.setdefault(kind, set()).add(value)
        frozen = {kind: frozenset(found) for kind, found in sorted(collected.items())}
        return cls(MappingProxyType(frozen))

    def get(self, kind: str) -> frozenset[str]:
        return self.values.get(kind, frozenset())

    def kinds(self) -> tuple[str, ...]:
        return tuple(self.values)

    def pairs(self) -> Iterator[tuple[str, str]]:
        for kind, found in self.values.items():
            for value in sorted(found):
                yield kind, value

    def anchor(self) -> bytes:
        """A stable digest of the whole set (kinds and values in canonical order)."""
        digest = hashlib.sha256()
        for kind, value in self.pairs():
            digest.update(kind.encode("ascii") + b"\x00" + value.encode("utf-8") + b"\x01")
        return digest.digest()

    def __bool__(self) -> bool:
        return any(self.values.values())

    def __repr__(self) -> str:
        counts = ", ".join(f"{kind}×{len(found)}" for kind, found in self.values.items())
        return f"IdentitySet({counts})"

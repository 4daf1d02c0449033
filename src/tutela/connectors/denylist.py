"""What never leaves a store in an access copy, and how cards are shown.

* **Secrets** are withheld: fields declared ``secret: true``, fields whose category
  is a credential (``user.authorization.*``, ``system.authentication``), and any
  column whose *name* says it is one (password, secret, token, MFA/OTP seed, API
  key, salt, card security code, PIN) unless the dataset says ``secret: false``.
* **Card numbers** are shown as brand and last four: fields declared ``card: true``
  or with a card category, and any Luhn-valid 13–19 digit number in any other value.

Every field withheld or masked is listed with the reason in the access result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from itertools import pairwise
from typing import Any, Final

from tutela.connectors.base import Withheld, WithheldLog
from tutela.connectors.cards import is_pan, mask_card_value, mask_pan, mask_pans_in_text
from tutela.connectors.dataset import FieldSpec, TableSpec

__all__ = ["RowRedactor", "secret_reason"]

SECRET_CATEGORIES: Final = ("user.authorization", "system.authentication")
_SECRET_WORDS: Final = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "pw",
        "passphrase",
        "secret",
        "token",
        "mfa",
        "otp",
        "totp",
        "hotp",
        "apikey",
        "salt",
        "cvv",
        "cvv2",
        "cvc",
        "cvc2",
        "cvn",
        "csc",
        "pin",
        "pinblock",
        "2fa",
    }
)
_SECRET_PAIRS: Final = frozenset(
    {
        ("api", "key"),
        ("private", "key"),
        ("secret", "key"),
        ("security", "code"),
        ("recovery", "code"),
        ("recovery", "codes"),
        ("auth", "key"),
        ("session", "key"),
    }
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+")
_CARD_REASON: Final = "card numbers are shown only as brand and last four digits"
_FOUND_REASON: Final = "held a card number, shown only as brand and last four digits"


def _words(name: str) -> list[str]:
    return [w.lower() for w in _WORD_SPLIT.split(_CAMEL.sub("_", name)) if w]


def secret_reason(name: str, spec: FieldSpec | None) -> str | None:
    """Why a column is withheld from access copies, or None if it is not."""
    if spec is not None and spec.secret is not None:
        return "declared secret in the dataset" if spec.secret else None
    for category in spec.categories if spec is not None else ():
        if any(category == c or category.startswith(c + ".") for c in SECRET_CATEGORIES):
            return f"a credential (category {category})"
    words = _words(name)
    if _SECRET_WORDS.intersection(words) or _SECRET_PAIRS.intersection(pairwise(words)):
        return "its name says it is a credential (password, token, key or one-time code)"
    return None


def _is_card(spec: FieldSpec | None) -> bool:
    if spec is None:
        return False
    return spec.card or any(
        c.startswith(("user.financial", "user.payment")) and "card" in c for c in spec.categories
    )


class RowRedactor:
    """Applies the deny-list to the rows of one table and logs what it did."""

    def __init__(
        self, table: str, columns: Iterable[str], spec: TableSpec | None, log: WithheldLog
    ) -> None:
        self.table = table
        self.log = log
        fields: Mapping[str, FieldSpec] = spec.fields if spec is not None else {}
        self.secret: dict[str, str] = {}
        self.card: set[str] = set()
        for column in columns:
            field = fields.get(column)
            reason = secret_reason(column, field)
            if reason is not None:
                self.secret[column] = reason
            elif _is_card(field):
                self.card.add(column)
        self._logged = False

    def __call__(self, row: Mapping[str, Any]) -> dict[str, Any]:
        if not self._logged:
            self._logged = True
            for column, reason in self.secret.items():
                self.log.add(Withheld(self.table, column, reason))
            for column in self.card:
                self.log.add(Withheld(self.table, column, _CARD_REASON, masked=True))
        out: dict[str, Any] = {}
        for column, value in row.items():
            if column in self.secret:
                continue
            if column in self.card:
                out[column] = mask_card_value(value)
                continue
            out[column] = self._scan(column, value)
        return out

    def _scan(self, column: str, value: Any) -> Any:
        if isinstance(value, str):
            masked, found = mask_pans_in_text(value)
            if found:
                self.log.add(Withheld(self.table, column, _FOUND_REASON, masked=True))
                return masked
            return value
        if isinstance(value, int) and not isinstance(value, bool) and value >= 10**12:
            text = str(value)
            if is_pan(text):
                self.log.add(Withheld(self.table, column, _FOUND_REASON, masked=True))
                return mask_pan(text)
        return value

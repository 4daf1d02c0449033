"""What never leaves a store in an access copy, what is shown masked, and why.

Withheld (left out, and listed with the reason so the person learns it is held):

* **Credentials**: fields declared ``secret: true``, fields whose category is a
  credential (``user.authorization.*``, ``system.authentication``), and columns whose
  *name* says they are one: password, secret, token, MFA/OTP seed, API or private
  key, session id, salt, recovery code, card security code, PIN.
* **Security questions and answers** (``security_question``, ``sicherheitsfrage`` …).
* **Government identifiers** (CCPA regulations § 7024(d)): the categories
  ``user.government_id`` (national, passport and driving licence numbers) and names
  such as ``ssn``, ``national_id``, ``passport_no``, ``tax_id``, ``steuer_id``,
  ``personalausweis``, ``sozialversicherungsnummer``.

Masked (the person recognises the value, a thief cannot use it):

* **Card numbers** as brand and last four: fields declared ``card: true`` or with a
  card category, and any Luhn-valid 13–19 digit number in any other value.
* **Bank account numbers** as country and last four: fields with the category
  ``user.financial.bank_account`` or named ``iban``, ``account_number``,
  ``kontonummer`` …, and any checksum-valid IBAN in any other value.

Names match whole words (``tax_rate``, ``session_count`` and ``spinner`` are not
secrets); the dataset decides over a name with ``secret: true`` or ``false``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from tutela.connectors.base import Withheld, WithheldLog
from tutela.connectors.cards import (
    is_pan,
    mask_account_value,
    mask_card_value,
    mask_ibans_in_text,
    mask_pan,
    mask_pans_in_text,
)
from tutela.connectors.dataset import FieldSpec, TableSpec

__all__ = ["NameRule", "RowRedactor", "Verdict", "secret_reason", "verdict"]


@dataclass(frozen=True, slots=True)
class NameRule:
    """Column names of one kind: whole ``words``, word sequences, and word stems.

    A name's words come from ``snake_case``, ``kebab-case`` and ``camelCase``, in
    lower case with umlauts spelled out (``Führerschein`` → ``fuehrerschein``). A stem
    matches inside one word, for compounds written in one piece
    (``personalausweisnummer``); stems are long enough to mean one thing only.
    """

    reason: str
    words: frozenset[str] = frozenset()
    phrases: frozenset[tuple[str, ...]] = frozenset()
    stems: tuple[str, ...] = ()

    def matches(self, words: list[str]) -> bool:
        if self.words.intersection(words):
            return True
        if any(stem in word for stem in self.stems for word in words):
            return True
        return any(
            tuple(words[i : i + len(phrase)]) == phrase
            for phrase in self.phrases
            for i in range(len(words) - len(phrase) + 1)
        )


def _rule(
    reason: str, *, words: str = "", phrases: Iterable[str] = (), stems: str = ""
) -> NameRule:
    """A rule from space-separated words and stems, and phrases of words."""
    return NameRule(
        reason,
        frozenset(words.split()),
        frozenset(tuple(phrase.split()) for phrase in phrases),
        tuple(stems.split()),
    )


def _pairs(firsts: str, seconds: str) -> list[str]:
    return [f"{a} {b}" for a in firsts.split() for b in seconds.split()]


SECURITY_ANSWERS: Final = _rule(
    "its name says it is a security question or answer, which could unlock the account",
    phrases=_pairs("security secret challenge", "question answer questions answers"),
    stems="securityquestion securityanswer sicherheitsfrage sicherheitsantwort geheimfrage "
    "geheimantwort",
)
CREDENTIALS: Final = _rule(
    "its name says it is a credential (password, token, key, session id or one-time code)",
    words="password passwords passwd pwd pw passphrase passwort kennwort secret secrets token "
    "tokens credential credentials jwt mfa otp totp hotp 2fa apikey apikeys privkey sessionid "
    "sessionkey salt cvv cvv2 cvc cvc2 cvn csc pin pinblock pincode",
    phrases=[
        *_pairs("api private secret auth access signing encryption ssh session", "key keys"),
        *_pairs("session", "id ids"),
        *_pairs("recovery backup", "code codes key"),
        "security code",
        "one time code",
        "one time password",
    ],
    stems="password passwort kennwort apikey privatekey recoverycode backupcode",
)
_GOVERNMENT: Final = (
    "a government identification number (ID card, passport, tax or social security number); "
    "it is held but not copied out, to protect it from misuse"
)
GOVERNMENT_IDS: Final = _rule(
    f"its name says it is {_GOVERNMENT}",
    words="ssn ssns nino itin taxid taxpayerid idcard idnr steuerid steueridnr svnr svnummer "
    "ausweisnr",
    phrases=[
        *_pairs("social national", "security insurance"),
        *_pairs("national", "id identity identification number"),
        *_pairs("tax taxpayer", "id number no nr identification"),
        *_pairs("id identity", "card document"),
        *_pairs("driver drivers driving", "license licence"),
        "health insurance number",
        "health insurance id",
        *_pairs("steuer ausweis", "id nr nummer identifikationsnummer"),
        *_pairs("pass sv", "nr nummer"),
    ],
    stems="passport reisepass personalausweis ausweisnummer socialsecurity nationalinsurance "
    "steuerid steuernummer sozialversicherungsnummer rentenversicherungsnummer "
    "versichertennummer fuehrerscheinnummer driverslicense driverlicense drivinglicence "
    "drivinglicense",
)
ACCOUNT_NUMBERS: Final = _rule(
    "bank account numbers are shown only as country and last four characters",
    words="iban ibans accountnumber acctno kontonummer kontonr",
    phrases=[*_pairs("account acct konto", "number no nr nummer"), "bank account"],
    stems="kontonummer bankverbindung bankaccount",
)
WITHHELD_BY_NAME: Final = (SECURITY_ANSWERS, CREDENTIALS, GOVERNMENT_IDS)

SECRET_CATEGORIES: Final = ("user.authorization", "system.authentication")
GOVERNMENT_CATEGORIES: Final = (
    "user.government_id.national_identification_number",
    "user.government_id.passport_number",
    "user.government_id.drivers_license_number",
)
BANK_CATEGORY: Final = "user.financial.bank_account"
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_SPELLED = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_CARD_REASON: Final = "card numbers are shown only as brand and last four digits"
_FOUND: Final = "held a card number or IBAN, shown only as card brand or country and the last four"


def _words(name: str) -> list[str]:
    spelled = _CAMEL.sub("_", name).lower().translate(_SPELLED)
    ascii_name = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode()
    return [word for word in _WORD_SPLIT.split(ascii_name) if word]


def _in(category: str, roots: Iterable[str]) -> bool:
    return any(category == root or category.startswith(root + ".") for root in roots)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What an access copy does with a column: leave it out (``mask`` None) or mask it."""

    reason: str
    mask: Callable[[Any], Any] | None = None


def verdict(name: str, spec: FieldSpec | None) -> Verdict | None:
    """Whether column ``name`` is withheld or masked in access copies, and why.

    The dataset decides first (``secret``, categories, ``card``); then the name.
    ``secret: false`` turns the name rules off for the column.
    """
    declared = spec.secret if spec is not None else None
    categories = spec.categories if spec is not None else ()
    if declared:
        return Verdict("declared secret in the dataset")
    words = _words(name) if declared is None else []
    if declared is None:
        for category in categories:
            if _in(category, SECRET_CATEGORIES):
                return Verdict(f"a credential (category {category})")
            if category == "user.government_id" or _in(category, GOVERNMENT_CATEGORIES):
                return Verdict(f"{_GOVERNMENT} (category {category})")
        for rule in WITHHELD_BY_NAME:  # before masks: a PIN in a card table is left out
            if rule.matches(words):
                return Verdict(rule.reason)
    if _is_card(spec):
        return Verdict(_CARD_REASON, mask_card_value)
    if any(_in(category, (BANK_CATEGORY,)) for category in categories):
        return Verdict(ACCOUNT_NUMBERS.reason, mask_account_value)
    if ACCOUNT_NUMBERS.matches(words):
        return Verdict(ACCOUNT_NUMBERS.reason, mask_account_value)
    return None


def secret_reason(name: str, spec: FieldSpec | None) -> str | None:
    """Why a column is withheld (left out) from access copies, or None if it is not."""
    found = verdict(name, spec)
    return found.reason if found is not None and found.mask is None else None


def _is_card(spec: FieldSpec | None) -> bool:
    if spec is None:
        return False
    return spec.card or any(
        c.startswith(("user.financial", "user.payment")) and "card" in c for c in spec.categories
    )


def verdicts_for(columns: Iterable[str], spec: TableSpec | None) -> dict[str, Verdict]:
    """The verdict of every column that is withheld or masked (the rest are shown)."""
    fields: Mapping[str, FieldSpec] = spec.fields if spec is not None else {}
    found = {column: verdict(column, fields.get(column)) for column in columns}
    return {column: rule for column, rule in found.items() if rule is not None}


class RowRedactor:
    """Applies the deny-list to the rows of one table and logs what it did.

    ``verdicts`` (from :func:`verdicts_for`) may be passed in by a caller that keeps
    them per table across requests; otherwise they are worked out here.
    """

    def __init__(
        self,
        table: str,
        columns: Iterable[str],
        spec: TableSpec | None,
        log: WithheldLog,
        *,
        verdicts: Mapping[str, Verdict] | None = None,
    ) -> None:
        self.table = table
        self.log = log
        self.verdicts = verdicts if verdicts is not None else verdicts_for(columns, spec)
        self._logged = False

    def __call__(self, row: Mapping[str, Any]) -> dict[str, Any]:
        if not self._logged:
            self._logged = True
            for column, found in self.verdicts.items():
                masked = found.mask is not None
                self.log.add(Withheld(self.table, column, found.reason, masked=masked))
        out: dict[str, Any] = {}
        for column, value in row.items():
            rule = self.verdicts.get(column)
            if rule is None:
                out[column] = self._scan(column, value)
            elif rule.mask is not None:
                out[column] = rule.mask(value)
        return out

    def _scan(self, column: str, value: Any) -> Any:
        if isinstance(value, str):
            masked, ibans = mask_ibans_in_text(value)  # first: an IBAN's digits are no card
            masked, cards = mask_pans_in_text(masked)
            if ibans or cards:
                self.log.add(Withheld(self.table, column, _FOUND, masked=True))
            return masked
        if isinstance(value, int) and not isinstance(value, bool) and value >= 10**12:
            text = str(value)
            if is_pan(text):
                self.log.add(Withheld(self.table, column, _FOUND, masked=True))
                return mask_pan(text)
        return value

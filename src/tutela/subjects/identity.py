"""Identity kinds and the canonical form of each identity value.

A value is normalised before it is indexed or stored, so that the same person
typed twice (``Anna@Example.ORG`` and ``anna@example.org``; ``0151 1234567`` and
``+49 151 1234567``) finds the same subject. Every normalised value is a fixed
point: normalising it again returns it unchanged, and so does
:func:`tutela.crypto.normalize_identity`, so the blind index of a value never
depends on how often it was cleaned.

Error messages name the field and what is expected, but never repeat the value:
it is personal data and errors end up in logs.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from typing import Final

from email_validator import EmailNotValidError, validate_email

from tutela.errors import InvalidInput

__all__ = ["IdentityKind", "identity_kind", "normalize"]

MAX_INPUT_LENGTH: Final = 512
MAX_CUSTOMER_ID: Final = 128
_PHONE_SEPARATORS: Final = frozenset(" -./()")
_PHONE_DIGITS: Final = re.compile(r"^\+[1-9][0-9]{7,14}$")
_COUNTRY_CODE: Final = re.compile(r"^[1-9][0-9]{0,2}$")
_VISITOR_ID: Final = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
_FOLD_ROUNDS: Final = 4


class IdentityKind(StrEnum):
    """How a person is identified; each kind has its own normalisation."""

    EMAIL = "email"
    PHONE = "phone"
    CUSTOMER_ID = "customer_id"
    VISITOR_ID = "visitor_id"


def identity_kind(kind: IdentityKind | str) -> IdentityKind:
    """``kind`` as an :class:`IdentityKind`; an unknown name raises :class:`InvalidInput`."""
    try:
        return IdentityKind(kind)
    except ValueError:
        names = ", ".join(member.value for member in IdentityKind)
        raise InvalidInput(
            f"kind: the identity kind is not known; use one of {names}.", field="kind"
        ) from None


def normalize(kind: IdentityKind | str, value: str, *, default_country_code: str = "49") -> str:
    """The canonical form of ``value`` for ``kind``; invalid values raise :class:`InvalidInput`.

    * ``email``: a valid address (syntax only, no DNS lookup); the local part is
      case-folded, the domain lower-cased in its ASCII (IDNA) form.
    * ``phone``: E.164, ``+`` and 8 to 15 digits. Spaces, ``-``, ``.``, ``/`` and
      brackets are dropped, ``00`` becomes ``+``, a national number starting with
      ``0`` gets ``default_country_code``, and ``+49 (0) 30 …`` loses the ``(0)``.
    * ``customer_id``: surrounding whitespace removed, 1 to 128 printable characters.
    * ``visitor_id``: 16 to 128 URL-safe characters (letters, digits, ``-``, ``_``).
    """
    member = identity_kind(kind)
    if not isinstance(value, str):
        raise InvalidInput(f"{member.value}: expected text.", field=member.value)
    if len(value) > MAX_INPUT_LENGTH:
        raise InvalidInput(
            f"{member.value}: the value is longer than {MAX_INPUT_LENGTH} characters; "
            "enter it without extra text.",
            field=member.value,
        )
    if member is IdentityKind.EMAIL:
        return _email(value)
    if member is IdentityKind.PHONE:
        return _phone(value, default_country_code)
    if member is IdentityKind.CUSTOMER_ID:
        return _customer_id(value)
    return _visitor_id(value)


def _fold(text: str) -> str:
    """NFC and case-fold until stable (a fixed point of crypto's normalisation)."""
    for _ in range(_FOLD_ROUNDS):
        folded = unicodedata.normalize("NFC", text).casefold()
        if folded == text:
            break
        text = folded
    return text


def _email(value: str) -> str:
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        raise InvalidInput(
            "email: the address is empty; enter an address such as name@example.org.",
            field="email",
        )
    try:
        checked = validate_email(text, check_deliverability=False)
        local = _fold(checked.local_part)
        result = f"{local}@{checked.ascii_domain.lower()}"
        # The folded form must itself be a valid address (and stay stable).
        again = validate_email(result, check_deliverability=False)
        stable = f"{_fold(again.local_part)}@{again.ascii_domain.lower()}"
    except EmailNotValidError as exc:
        reason = str(exc).rstrip(".")
        raise InvalidInput(
            f"email: the address is not valid ({reason}); enter an address such as "
            "name@example.org.",
            field="email",
        ) from None
    except (ValueError, UnicodeError):
        raise InvalidInput(
            "email: the address cannot be read; enter an address such as name@example.org.",
            field="email",
        ) from None
    if stable != result:
        raise InvalidInput(
            "email: the address uses characters that have no stable lower-case form; "
            "enter it in plain letters.",
            field="email",
        )
    return result


def _phone(value: str, default_country_code: str) -> str:
    if not _COUNTRY_CODE.fullmatch(default_country_code):
        raise InvalidInput(
            "default_country_code: expected 1 to 3 digits without a leading 0, such as 49.",
            field="default_country_code",
        )
    text = unicodedata.normalize("NFKC", value).strip()
    plus = text.startswith("+")
    body = text[1:] if plus else text
    if plus:
        body = body.replace("(0)", "", 1)
    if any(not (ch in _PHONE_SEPARATORS or ("0" <= ch <= "9")) for ch in body):
        raise InvalidInput(
            "phone: the number may contain only digits, a leading +, spaces and - . / ( ); "
            "enter it such as +49 30 1234567.",
            field="phone",
        )
    digits = "".join(ch for ch in body if "0" <= ch <= "9")
    if plus:
        number = "+" + digits
    elif digits.startswith("00"):
        number = "+" + digits[2:]
    elif digits.startswith("0"):
        number = "+" + default_country_code + digits[1:]
    else:
        raise InvalidInput(
            "phone: the number needs a country code; start it with + (such as +49 30 1234567) "
            "or, for a national number, with 0.",
            field="phone",
        )
    if not _PHONE_DIGITS.fullmatch(number):
        raise InvalidInput(
            "phone: expected an international number of 8 to 15 digits after the + "
            "(country code first, not 0), such as +49 30 1234567.",
            field="phone",
        )
    return number


def _customer_id(value: str) -> str:
    text = unicodedata.normalize("NFC", value).strip()
    if not 1 <= len(text) <= MAX_CUSTOMER_ID or not text.isprintable():
        raise InvalidInput(
            f"customer_id: expected 1 to {MAX_CUSTOMER_ID} printable characters "
            "(no line breaks or control characters).",
            field="customer_id",
        )
    return text


def _visitor_id(value: str) -> str:
    text = value.strip()
    if not _VISITOR_ID.fullmatch(text):
        raise InvalidInput(
            "visitor_id: expected 16 to 128 URL-safe characters (letters, digits, - and _), "
            "as set by the consent banner.",
            field="visitor_id",
        )
    return text

"""Payment card and bank account numbers, and masking them to their last four.

A primary account number (PAN) never leaves an access copy in full (PCI DSS
Req. 3.4.1): declared card fields are shown as ``"Visa ****1111"``, and any other
value holding a Luhn-valid 13–19 digit number (optionally grouped by single spaces
or dashes) is masked the same way wherever it appears in text.

A bank account number (IBAN, ISO 13616) is shown as country and last four,
``"DE ****3000"``: in declared account fields, and wherever a text holds an IBAN
of the right length for its country that passes the mod-97 check (ISO 7064).
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "IBAN_LENGTHS",
    "card_brand",
    "iban_valid",
    "is_pan",
    "luhn_valid",
    "mask_account_value",
    "mask_card_value",
    "mask_iban",
    "mask_ibans_in_text",
    "mask_pan",
    "mask_pans_in_text",
]

MIN_DIGITS: Final = 13
MAX_DIGITS: Final = 19
# Runs of digit groups separated by one space or dash, not glued to other digits and
# not after "+" (an international phone number).
_RUN = re.compile(r"(?<![0-9+])[0-9]+(?:[ -][0-9]+)*(?![0-9])")
_SEPARATOR = re.compile(r"[ -]")
_SEPARATORS = str.maketrans("", "", " -")


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check over a string of ASCII digits."""
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def is_pan(text: str) -> bool:
    """A 13–19 digit, Luhn-valid number whose first digit a card scheme uses (2–6)."""
    digits = text.translate(_SEPARATORS)
    return (
        MIN_DIGITS <= len(digits) <= MAX_DIGITS
        and digits.isascii()
        and digits.isdigit()
        and digits[0] in "23456"
        and luhn_valid(digits)
    )


def card_brand(digits: str) -> str:
    """The card scheme by its leading digits ("card" when not recognised)."""
    two = int(digits[:2]) if len(digits) >= 2 else -1
    four = int(digits[:4]) if len(digits) >= 4 else -1
    three = int(digits[:3]) if len(digits) >= 3 else -1
    if digits.startswith("4"):
        return "Visa"
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return "Mastercard"
    if two in (34, 37):
        return "American Express"
    if digits.startswith(("6011", "65")) or 644 <= three <= 649:
        return "Discover"
    if 3528 <= four <= 3589:
        return "JCB"
    if 300 <= three <= 305 or two in (36, 38):
        return "Diners Club"
    if two == 62:
        return "UnionPay"
    return "card"


def mask_pan(text: str) -> str:
    """``"4111 1111 1111 1111"`` → ``"Visa ****1111"``."""
    digits = text.translate(_SEPARATORS)
    return f"{card_brand(digits)} ****{digits[-4:]}"


def mask_pans_in_text(text: str) -> tuple[str, int]:
    """Replace every PAN inside ``text``; returns the new text and how many were found.

    A PAN is a whole run of digit groups (or a run of consecutive groups within a
    longer run) holding 13–19 digits that :func:`is_pan` accepts; the longest such
    span from each position wins.
    """
    found = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal found
        run = match.group(0)
        groups = _SEPARATOR.split(run)
        separators = _SEPARATOR.findall(run)
        pieces: list[str] = []
        start = 0
        while start < len(groups):
            end = _longest_pan(groups, start)
            if end is None:
                pieces.append(groups[start])
                end = start + 1
            else:
                found += 1
                pieces.append(mask_pan("".join(groups[start:end])))
            if end < len(groups):
                pieces.append(separators[end - 1])
            start = end
        return "".join(pieces)

    return _RUN.sub(replace, text), found


def _longest_pan(groups: list[str], start: int) -> int | None:
    best: int | None = None
    digits = 0
    for end in range(start + 1, len(groups) + 1):
        digits += len(groups[end - 1])
        if digits > MAX_DIGITS:
            break
        if digits >= MIN_DIGITS and is_pan("".join(groups[start:end])):
            best = end
    return best


def mask_card_value(value: object) -> str | None:
    """A value of a declared card field, shown safely: brand + last four at most."""
    if value is None:
        return None
    text = str(value).strip()
    digits = text.translate(_SEPARATORS)
    if is_pan(digits):
        return mask_pan(digits)
    only_digits = "".join(ch for ch in text if ch.isascii() and ch.isdigit())
    if len(only_digits) >= 4:
        return f"****{only_digits[-4:]}"
    return "****"


# Length of the IBAN in each country of the ISO 13616 registry (country code first).
IBAN_LENGTHS: Final[dict[str, int]] = {
    **dict.fromkeys(("NO",), 15),
    **dict.fromkeys(("BE",), 16),
    **dict.fromkeys(("DK", "FI", "FK", "FO", "GL", "NL", "SD"), 18),
    **dict.fromkeys(("MK", "SI"), 19),
    **dict.fromkeys(("AT", "BA", "EE", "KZ", "LT", "LU", "MN", "XK"), 20),
    **dict.fromkeys(("CH", "HR", "LI", "LV"), 21),
    **dict.fromkeys(("BG", "BH", "CR", "DE", "GB", "GE", "IE", "ME", "RS", "VA"), 22),
    **dict.fromkeys(("AE", "GI", "IL", "IQ", "OM", "SO", "TL"), 23),
    **dict.fromkeys(("AD", "CZ", "ES", "MD", "PK", "RO", "SA", "SE", "SK", "TN", "VG"), 24),
    **dict.fromkeys(("LY", "PT", "ST"), 25),
    **dict.fromkeys(("IS", "TR"), 26),
    **dict.fromkeys(("BI", "DJ", "FR", "GR", "IT", "MC", "MR", "SM"), 27),
    **dict.fromkeys(("AL", "AZ", "BY", "CY", "DO", "GT", "HN", "HU", "LB", "NI", "PL", "SV"), 28),
    **dict.fromkeys(("BR", "EG", "PS", "QA", "UA"), 29),
    **dict.fromkeys(("JO", "KW", "MU", "YE"), 30),
    **dict.fromkeys(("MT", "SC"), 31),
    **dict.fromkeys(("LC",), 32),
    **dict.fromkeys(("RU",), 33),
}
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}")
_ACCOUNT_SEPARATORS = str.maketrans("", "", " -")
MIN_ACCOUNT_DIGITS: Final = 5


def _alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


def iban_valid(text: str) -> bool:
    """An IBAN (spaces allowed, any case) of its country's length passing the mod-97 check."""
    iban = text.replace(" ", "").upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit():
        return False
    if not all(_alnum(char) for char in iban):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def mask_iban(text: str) -> str:
    """``"DE89 3704 0044 0532 0130 00"`` → ``"DE ****3000"``."""
    iban = text.replace(" ", "").upper()
    return f"{iban[:2]} ****{iban[-4:]}"


def _iban_end(text: str, start: int) -> int | None:
    """Where an IBAN starting at ``start`` ends in ``text`` (single spaces between groups)."""
    length = IBAN_LENGTHS.get(text[start : start + 2].upper())
    if length is None:
        return None
    count, index = 0, start
    while count < length and index < len(text):
        if _alnum(text[index]):
            count += 1
        elif not (text[index] == " " and index + 1 < len(text) and _alnum(text[index + 1])):
            break
        index += 1
    if count < length or (index < len(text) and _alnum(text[index])):
        return None
    return index if iban_valid(text[start:index]) else None


def mask_ibans_in_text(text: str) -> tuple[str, int]:
    """Replace every IBAN inside ``text``; returns the new text and how many were found."""
    pieces: list[str] = []
    position = found = 0
    for match in _IBAN_START.finditer(text):
        if match.start() < position:
            continue
        end = _iban_end(text, match.start())
        if end is None:
            continue
        pieces.append(text[position : match.start()])
        pieces.append(mask_iban(text[match.start() : end]))
        position = end
        found += 1
    pieces.append(text[position:])
    return "".join(pieces), found


def mask_account_value(value: object) -> object:
    """A value of a declared bank account field, shown safely.

    An IBAN becomes country and last four; any other value holding five or more
    digits (an account number) becomes ``****`` and its last four digits. A value
    with fewer digits (the holder's name, a BIC, the bank's name) is shown as it is.
    """
    if value is None:
        return None
    text = str(value).strip()
    if iban_valid(text.translate(_ACCOUNT_SEPARATORS)):
        return mask_iban(text.translate(_ACCOUNT_SEPARATORS))
    digits = "".join(char for char in text if char.isascii() and char.isdigit())
    if len(digits) >= MIN_ACCOUNT_DIGITS:
        return f"****{digits[-4:]}"
    return value

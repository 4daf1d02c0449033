"""Payment card numbers: Luhn check, brand, and masking to brand + last four.

A primary account number (PAN) never leaves an access copy in full (PCI DSS
Req. 3.4.1): declared card fields are shown as ``"Visa ****1111"``, and any other
value holding a Luhn-valid 13–19 digit number (optionally grouped by single spaces
or dashes) is masked the same way wherever it appears in text.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["card_brand", "is_pan", "luhn_valid", "mask_card_value", "mask_pan", "mask_pans_in_text"]

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

"""Whether a staff text may stay in the audit trail for good: it must not name the person.

Evidence for a manual task and the reason a task could not be done outlive the
person's erasure, so a text with an e-mail address, any identity of the person
(any case; phone numbers compared by their digits, so +49, 0049 and 0 forms
match) or a run of seven or more digits (which may be a phone number) is
refused. Dates, counts, numbers up to six digits and numbers led by letters
(T-4711, INC0012345) pass.
"""

from __future__ import annotations

import re
from typing import Final

from tutela.connectors import IdentitySet

__all__ = ["personal_data_in"]

_EMAIL: Final = re.compile(r"[^\s@<>()]+@[^\s@<>()]+\.[^\s@<>()]+")
_DATE: Final = re.compile(
    r"(?<![\d+])(?:(?:19|20)\d\d[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])"
    r"|\d{1,2}[-/.]\d{1,2}[-/.](?:19|20)\d\d)(?![-/.]?\d)"
)
_LETTERED: Final = re.compile(r"[^\W\d_]+[-/#]?\d+")
"""A number that letters lead (T-4711, INC0012345): a ticket or file number."""
_DIGIT_RUN: Final = re.compile(r"\+?\(?\d(?:[ \t/.()-]{0,3}\d){6,}")
"""Seven or more digits, possibly split by spaces, dashes, dots, slashes or brackets: maybe a
phone number."""
_DIGIT_GROUP: Final = re.compile(r"\d(?:[ \t/().-]{0,3}\d)*")
_MIN_PHONE: Final = 7
_MIN_NAMED: Final = 4
"""Shorter identities (a customer number 42) would refuse plain counts; they are left out."""


def _phone_digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isascii() and ch.isdigit()).lstrip("0")


def _names(text: str, identities: IdentitySet) -> bool:
    """Whether ``text`` holds one of ``identities`` (any case; phones by their digits)."""
    folded = text.casefold()
    groups = [_phone_digits(found) for found in _DIGIT_GROUP.findall(text)]
    for kind, value in identities.pairs():
        if kind == "phone":
            mine = _phone_digits(value)  # +49 170 …, 0049 170 … and 0170 … are one number
            cores = [mine[cut:] for cut in range(4) if len(mine) - cut >= _MIN_PHONE]
            if any(
                any(core in group for core in cores)
                or (len(group) >= _MIN_PHONE and mine.endswith(group))
                for group in groups
            ):
                return True
        elif len(value) >= _MIN_NAMED and re.search(
            rf"(?<!\w){re.escape(value.casefold())}(?!\w)", folded
        ):
            return True
    return False


def personal_data_in(text: str, identities: IdentitySet) -> str | None:
    """Why ``text`` may not be kept for good (it names a person), or ``None``."""
    if _EMAIL.search(text):
        return "it contains an e-mail address"
    if _names(text, identities):
        return "it contains an identity of the person the request is about"
    plain = _LETTERED.sub("#", _DATE.sub("#", text))
    if _DIGIT_RUN.search(plain):
        return "it contains a run of 7 or more digits, which may be a phone number"
    return None

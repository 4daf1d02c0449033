"""What staff type about an address: the reason checked for the audit trail, the value masked.

A reason goes into the audit trail, which keeps ids and never addresses, so a
reason that repeats the address (in any spelling one can reasonably catch) is
refused; an address staff typed is only ever shown back masked.
"""

from __future__ import annotations

from typing import Final

from tutela.errors import InvalidInput
from tutela.subjects import IdentityKind, normalize
from tutela.subjects.identity import identity_kind

__all__ = ["MAX_STAFF_REASON", "masked", "staff_reason"]

MAX_STAFF_REASON: Final = 500
"""Longest reason staff may give for listing or lifting an address."""
_MIN_ECHO: Final = 6
"""Values shorter than this are not searched for in a reason (too many false alarms)."""


def _compact(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def staff_reason(reason: str | None, *, value: str, normalized: str, required: bool) -> str | None:
    """The reason as it goes into the audit trail; InvalidInput (``issue``: ``missing``,
    ``too_long`` or ``address``) when it is missing, too long, or repeats the address
    (the trail keeps ids, never addresses)."""
    text = " ".join((reason or "").split())
    if not text:
        if not required:
            return None
        raise InvalidInput(
            "reason: say why the address may be used again, such as the person's "
            "written request to receive offers again.",
            field="reason",
            issue="missing",
        )
    if len(text) > MAX_STAFF_REASON:
        raise InvalidInput(
            f"reason: keep the reason to {MAX_STAFF_REASON} characters; a ticket number "
            "is enough to find the details.",
            field="reason",
            issue="too_long",
        )
    said = _compact(text)
    if any(echo in said for echo in _echoes(value, normalized)):
        raise InvalidInput(
            "reason: leave the address out of the reason, in any spelling — also the part "
            "of an e-mail address before the @ and a phone number with or without its "
            "country code; the audit trail keeps no addresses. Give a ticket number instead.",
            field="reason",
            issue="address",
        )
    return text


def _echoes(value: str, normalized: str) -> set[str]:
    """Compact forms of an address a reason must not contain (best effort): as typed, as
    stored, an e-mail address's local part (with and without ``+tag``), and a phone
    number's digits after the first three, which end the national number whatever the
    country code's length, so ``0151 2345678`` is caught for ``+49 151 2345678``."""
    forms = {value, normalized}
    local, at, _domain = normalized.rpartition("@")
    if at:
        forms.update((local, local.split("+", 1)[0]))
    elif normalized.startswith("+") and normalized[1:].isdigit():
        forms.add(normalized[4:])
    compact = (_compact(form) for form in forms)
    return {form for form in compact if len(form) >= _MIN_ECHO}


def masked(kind: IdentityKind | str, value: str, *, default_country_code: str = "49") -> str:
    """How an address staff typed is shown back: enough to recognise it, not to read it.

    ``Anna.Muster@Example.org`` → ``a***@example.org``; ``+49 151 2345678`` →
    ``+49***78``; ``K-100234`` → ``K***4``. Invalid values raise InvalidInput.
    """
    member = identity_kind(kind)
    normalized = normalize(member, value, default_country_code=default_country_code)
    if member is IdentityKind.EMAIL:
        local, _at, domain = normalized.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if member is IdentityKind.PHONE:
        return f"{normalized[:3]}***{normalized[-2:]}"
    if len(normalized) >= _MIN_ECHO:
        return f"{normalized[:1]}***{normalized[-1:]}"
    return "***"

"""What a rectification asks to change: field reference → new value, checked before storing.

A rectification (Art. 16) or CCPA correction may name the new values itself, so
the connectors can set them (:func:`tutela.dsr.erasure.fulfil_rectification`).
A field is named as ``table.column`` of a connected store (``customers.phone``)
or as a data category (``user.contact.phone_number``); at most
:data:`MAX_CHANGES` fields, references of at most :data:`MAX_REFERENCE`
characters, values of at most :data:`MAX_VALUE` characters on one line. The
values are personal data: they travel sealed in the request's details
(:mod:`tutela.dsr.envelope`) and no error message repeats them.

Intake cannot look into the stores, so :func:`scope_for_changes` guesses from the
reference alone whether a change touches contact data (the category
``user.contact`` or below it, or a name such as ``customers.email``) and then
raises the scope to ``contact_data``: the old address is alerted and the grace
period applies. The guess only ever raises the scope; the fulfilment decides from
the stores' datasets (:func:`tutela.dsr.rectify.screen_changes`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Final

from tutela.connectors.identities import is_contact_category
from tutela.dsr.envelope import MAX_CONTACT, MAX_TEXT, Details
from tutela.dsr.terms import RequestType, Scope
from tutela.errors import InvalidInput

__all__ = [
    "CHANGE_TYPES",
    "MAX_CHANGES",
    "MAX_REFERENCE",
    "MAX_VALUE",
    "changes_from_lines",
    "check_changes",
    "details_of",
    "is_contact_category",
    "looks_like_contact",
    "scope_for_changes",
    "words_of",
]

MAX_CHANGES: Final = 20
MAX_REFERENCE: Final = 120
MAX_VALUE: Final = 500
CHANGE_TYPES: Final = frozenset({RequestType.RECTIFICATION, RequestType.CORRECT})
CONTACT_STEMS: Final = (
    "mail",
    "phone",
    "fon",
    "tel",
    "mobil",
    "handy",
    "fax",
    "adress",
    "address",
    "strasse",
    "straße",
    "street",
    "postcode",
    "postal",
    "zip",
    "plz",
)
"""Parts of a word that make a field name look like contact data (more alerts, never fewer)."""
CONTACT_WORDS: Final = frozenset(
    {
        "email",
        "emails",
        "mail",
        "emailaddress",
        "phone",
        "phones",
        "telephone",
        "tel",
        "mobile",
        "cell",
        "fax",
        "address",
        "addresses",
        "street",
        "postal",
        "postcode",
        "zip",
        "city",
        "contact",
        "telefon",
        "handy",
        "adresse",
        "strasse",
        "plz",
    }
)
"""Words of a reference that make :func:`looks_like_contact` treat it as contact data."""
_CAMEL: Final = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORDS: Final = re.compile(r"[^a-z0-9]+")
_REFERENCE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
_EXAMPLE: Final = "user.contact.phone_number: +49 30 1234567"


def _refuse(detail: str) -> InvalidInput:
    return InvalidInput(f"changes: {detail}", field="changes")


def _shown(reference: str) -> str:
    return repr(reference if len(reference) <= 60 else reference[:57] + "...")


def _reference(raw: object) -> str:
    reference = raw.strip() if isinstance(raw, str) else ""
    if len(reference) > MAX_REFERENCE or not _REFERENCE.fullmatch(reference):
        shown = _shown(raw) if isinstance(raw, str) else "a field name"
        raise _refuse(
            f"{shown} is not a field reference; write it as table.column or as a data "
            "category (such as customers.phone or user.contact.phone_number), at most "
            f"{MAX_REFERENCE} characters."
        )
    return reference


def _value(reference: str, raw: object) -> str:
    value = raw.strip() if isinstance(raw, str) else ""
    if not value:
        raise _refuse(
            f"the new value for {reference} is empty; give the corrected value (to have data "
            "removed, ask for erasure)."
        )
    if len(value) > MAX_VALUE:
        raise _refuse(
            f"the new value for {reference} is longer than {MAX_VALUE} characters; shorten it."
        )
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise _refuse(
            f"the new value for {reference} contains control characters such as line breaks; "
            "write it on one line."
        )
    return value


def check_changes(
    request_type: RequestType, changes: Mapping[str, str] | None
) -> dict[str, str] | None:
    """The changes, trimmed and checked; ``None`` when none were given.

    Raises :class:`InvalidInput` (field ``changes``) naming the reference and the
    rule, never the value: changes on a request that is not a rectification or
    correction, more than :data:`MAX_CHANGES`, a malformed reference, an empty,
    too long or multi-line value.
    """
    if changes is None or (isinstance(changes, Mapping) and not changes):
        return None
    if not isinstance(changes, Mapping):
        raise _refuse("give an object that maps field references to new values.")
    if request_type not in CHANGE_TYPES:
        raise _refuse(
            f"new values belong to a rectification or correction request, not to "
            f"{request_type.value}; leave them out or choose rectification."
        )
    if len(changes) > MAX_CHANGES:
        raise _refuse(f"at most {MAX_CHANGES} fields per request; file a second one for the rest.")
    checked: dict[str, str] = {}
    for raw, value in changes.items():
        reference = _reference(raw)
        if reference in checked:
            raise _refuse(f"{reference} is named twice; give each field once.")
        checked[reference] = _value(reference, value)
    return checked


def changes_from_lines(text: str) -> dict[str, str] | None:
    """``field: value`` lines (the public form's box) as a mapping; ``None`` for an empty box.

    Blank lines are skipped; a line without a colon or a field named twice raises
    :class:`InvalidInput` naming the line. The result still needs :func:`check_changes`.
    """
    found: dict[str, str] = {}
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if len(lines) > MAX_CHANGES:
        raise _refuse(f"at most {MAX_CHANGES} fields per request; file a second one for the rest.")
    for number, line in lines:
        reference, colon, value = line.partition(":")
        if not colon:
            raise _refuse(
                f"line {number} has no colon; write the field, a colon and the new value, "
                f"such as {_EXAMPLE}."
            )
        key = reference.strip()
        if key in found:
            raise _refuse(f"{_shown(key)} is named twice (line {number}); give each field once.")
        found[key] = value
    return found or None


def words_of(name: str) -> set[str]:
    """The lower-case words of a field name (``crm.mobilePhone`` → crm, mobile, phone)."""
    return {word for word in _WORDS.split(_CAMEL.sub("_", name).lower()) if word}


def looks_like_contact(reference: str) -> bool:
    """Whether a reference names contact data by its category or by its words.

    ``user.contact.email``, ``customers.email``, ``crm.mobilePhone`` and
    ``kunden.strasse`` do; ``customers.last_name`` does not. A guess from the name
    alone: it may say yes too often (one alert more), which is the safe side.
    """
    if is_contact_category(reference):
        return True
    words = words_of(reference)
    if not CONTACT_WORDS.isdisjoint(words):
        return True
    # words run together (phonenumber, telefonnummer, emailadresse): look for the stems
    return any(stem in word for word in words for stem in CONTACT_STEMS)


def scope_for_changes(scope: Scope, changes: Mapping[str, str] | None) -> Scope:
    """``contact_data`` when a change looks like contact data (V-3: the old channel is told)."""
    if scope is Scope.GENERAL and changes and any(looks_like_contact(k) for k in changes):
        return Scope.CONTACT_DATA
    return scope


def details_of(
    *, text: str | None, contact: str | None, changes: Mapping[str, str] | None = None
) -> Details | None:
    """What the person wrote, trimmed and checked; ``None`` when nothing was given."""
    if text is not None and len(text) > MAX_TEXT:
        raise InvalidInput(
            f"text: at most {MAX_TEXT} characters; shorten the description.", field="text"
        )
    if contact is not None and len(contact) > MAX_CONTACT:
        raise InvalidInput(
            f"contact: at most {MAX_CONTACT} characters; give one way to reach you.",
            field="contact",
        )
    text = text.strip() if text else None
    contact = contact.strip() if contact else None
    if not (text or contact or changes):
        return None
    return Details(text=text, contact=contact, changes=dict(changes) if changes else None)

"""The fixed vocabularies of the consent ledger: actions, channels, reasons.

The values are stored in the ledger, hashed into its chain and returned by the
API; renaming one is a breaking change.
"""

from __future__ import annotations

from enum import StrEnum

from tutela.errors import InvalidInput

__all__ = ["DIRECT_MARKETING", "Action", "Channel", "Reason", "parse_action", "parse_channel"]

DIRECT_MARKETING = "direct_marketing"
"""The suppression scope covering every direct-marketing purpose."""


class Action(StrEnum):
    """What a person (or someone on their behalf) did about one purpose."""

    GIVEN = "given"
    CONFIRMED = "confirmed"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    OBJECTED = "objected"
    EXPIRED = "expired"


class Channel(StrEnum):
    """How the event reached the controller."""

    WEB_FORM = "web_form"
    API = "api"
    BANNER = "banner"
    ONE_CLICK = "one_click"
    LINK_IN_MESSAGE = "link_in_message"
    EMAIL = "email"
    LETTER = "letter"
    FAX = "fax"
    PHONE = "phone"
    STAFF = "staff"
    GPC = "gpc"


class Reason(StrEnum):
    """Why a check answered as it did; stable codes for callers to branch on."""

    CONSENT_GIVEN = "consent_given"
    CONSENT_CONFIRMED = "consent_confirmed"
    NO_CONSENT = "no_consent"
    NOT_CONFIRMED = "not_confirmed"
    WITHDRAWN = "withdrawn"
    REFUSED = "refused"
    EXPIRED = "expired"
    NOTICE_CHANGED = "notice_changed"
    OBJECTED = "objected"
    SUPPRESSED = "suppressed"
    RESTRICTED = "restricted"
    UNKNOWN_SUBJECT = "unknown_subject"
    ERASED = "erased"
    LEGITIMATE_INTEREST = "legitimate_interest"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"


def parse_action(value: str) -> Action:
    """``value`` as an :class:`Action`; :class:`InvalidInput` lists the choices."""
    try:
        return Action(value)
    except ValueError:
        choices = ", ".join(a.value for a in Action)
        raise InvalidInput(
            f"action: {value!r} is not a consent action; use one of {choices}.", field="action"
        ) from None


def parse_channel(value: str) -> Channel:
    """``value`` as a :class:`Channel`; :class:`InvalidInput` lists the choices."""
    try:
        return Channel(value)
    except ValueError:
        choices = ", ".join(c.value for c in Channel)
        raise InvalidInput(
            f"channel: {value!r} is not a channel; use one of {choices}.", field="channel"
        ) from None

"""The fixed vocabularies of data-subject requests and the verification policy (law.md § 5.2).

The values are stored in the request table and returned by the API; renaming
one is a breaking change. :func:`required_assurance` is V-3: how sure Tutela
must be of a requester's identity before acting, by request type.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, TypeVar

from tutela.errors import InvalidInput

__all__ = [
    "CLOSED_STATUSES",
    "DESTRUCTIVE_TYPES",
    "OPEN_STATUSES",
    "STAFF_CHANNELS",
    "SYSTEM_ACTOR",
    "Assurance",
    "Channel",
    "Jurisdiction",
    "Method",
    "Outcome",
    "RequestType",
    "Scope",
    "Status",
    "jurisdiction_of",
    "parse_channel",
    "parse_request_type",
    "parse_scope",
    "required_assurance",
]

SYSTEM_ACTOR: Final = "system:dsr"
"""The actor of what Tutela does on a request by itself (jobs, matching)."""


class RequestType(StrEnum):
    """What the person asks for: the GDPR rights (Arts. 15–21, 7(3)) and the CCPA ones."""

    ACCESS = "access"
    PORTABILITY = "portability"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    OBJECTION = "objection"
    CONSENT_WITHDRAWAL = "consent_withdrawal"
    KNOW = "know"
    DELETE = "delete"
    CORRECT = "correct"
    OPT_OUT_SALE_SHARE = "opt_out_sale_share"
    LIMIT_SENSITIVE = "limit_sensitive"


class Jurisdiction(StrEnum):
    GDPR = "gdpr"
    CCPA = "ccpa"


_CCPA: Final = frozenset(
    {
        RequestType.KNOW,
        RequestType.DELETE,
        RequestType.CORRECT,
        RequestType.OPT_OUT_SALE_SHARE,
        RequestType.LIMIT_SENSITIVE,
    }
)

DESTRUCTIVE_TYPES: Final = frozenset({RequestType.ERASURE, RequestType.DELETE})
"""Requests that destroy data: the old channel is told once they are verified."""


class Channel(StrEnum):
    """How the request reached the controller."""

    WEB_FORM = "web_form"
    API = "api"
    IN_APP = "in_app"
    EMAIL = "email"
    LETTER = "letter"
    FAX = "fax"
    PHONE = "phone"


STAFF_CHANNELS: Final = frozenset({Channel.EMAIL, Channel.LETTER, Channel.FAX, Channel.PHONE})
"""Channels of requests that staff type in (the request reached a person, not a form)."""


class Status(StrEnum):
    """Where a request stands; an extension is a date on the request, not a status."""

    RECEIVED = "received"
    AWAITING_VERIFICATION = "awaiting_verification"
    VERIFIED = "verified"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    DENIED = "denied"
    EXPIRED_UNVERIFIED = "expired_unverified"


OPEN_STATUSES: Final = (
    Status.RECEIVED,
    Status.AWAITING_VERIFICATION,
    Status.VERIFIED,
    Status.IN_PROGRESS,
)
CLOSED_STATUSES: Final = (Status.COMPLETED, Status.DENIED, Status.EXPIRED_UNVERIFIED)


class Scope(StrEnum):
    """What an objection, withdrawal or rectification is about (it changes V-3's answer)."""

    GENERAL = "general"
    MARKETING = "marketing"
    CONTACT_DATA = "contact_data"


class Assurance(StrEnum):
    """How sure Tutela must be that the requester is the person (V-1, V-3), weakest first.

    * ``none`` — act on the request as it is (marketing objection, CCPA opt-out).
    * ``channel`` — control of the channel on file: a one-time link or code sent
      to the address already held, or the operator's signed in-app assertion
      after a fresh sign-in.
    * ``channel_and_notice`` — as ``channel``, and the old channel is told once
      the request is verified (erasure, rectification of contact data).
    """

    NONE = "none"
    CHANNEL = "channel"
    CHANNEL_AND_NOTICE = "channel_and_notice"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS: Final = {Assurance.NONE: 0, Assurance.CHANNEL: 1, Assurance.CHANNEL_AND_NOTICE: 2}


class Method(StrEnum):
    """How a request was verified."""

    NOT_REQUIRED = "not_required"
    LINK = "link"
    CODE = "code"
    ASSERTION = "assertion"
    STAFF_APPROVAL = "staff_approval"


class Outcome(StrEnum):
    """How a closed request ended."""

    FULFILLED = "fulfilled"
    PARTIALLY_FULFILLED = "partially_fulfilled"
    NO_DATA = "no_data"
    DENIED = "denied"
    UNVERIFIED = "unverified"


def jurisdiction_of(request_type: RequestType) -> Jurisdiction:
    """GDPR for the GDPR rights, CCPA for the Californian ones."""
    return Jurisdiction.CCPA if request_type in _CCPA else Jurisdiction.GDPR


_E = TypeVar("_E", bound=StrEnum)


def _parse(enum: type[_E], value: _E | str, field: str, what: str) -> _E:
    try:
        return enum(value)
    except ValueError:
        names = ", ".join(member.value for member in enum)
        raise InvalidInput(
            f"{field}: {what} is not known; use one of {names}.", field=field
        ) from None


def parse_request_type(value: RequestType | str) -> RequestType:
    return _parse(RequestType, value, "request_type", "the request type")


def parse_channel(value: Channel | str) -> Channel:
    return _parse(Channel, value, "channel", "the channel")


def parse_scope(value: Scope | str | None) -> Scope:
    return Scope.GENERAL if value is None else _parse(Scope, value, "scope", "the scope")


_NO_CHECK: Final = frozenset({RequestType.OPT_OUT_SALE_SHARE, RequestType.LIMIT_SENSITIVE})
_MARKETING_OK: Final = frozenset({RequestType.OBJECTION, RequestType.CONSENT_WITHDRAWAL})
_CONTACT_OK: Final = frozenset({RequestType.RECTIFICATION, RequestType.CORRECT})


def required_assurance(
    request_type: RequestType | str, scope: Scope | str | None = None
) -> Assurance:
    """V-3: the assurance a request needs before anything is done or disclosed.

    * none: CCPA opt-out of sale/sharing and limit-use requests (the CCPA forbids
      verification, § 7060(b)); objection to and withdrawal of consent for direct
      marketing (Art. 21(3), 7(3): as easy as giving it).
    * channel: access, portability, know, restriction, other objections and
      withdrawals, rectification of anything but contact data.
    * channel and notice: erasure, CCPA delete, rectification of contact data
      (a changed address is the classic account takeover).

    ``scope`` ``marketing`` fits only objections and withdrawals, ``contact_data``
    only rectification and correction; anything else raises :class:`InvalidInput`.
    """
    kind = parse_request_type(request_type)
    chosen = parse_scope(scope)
    if chosen is Scope.MARKETING and kind not in _MARKETING_OK:
        raise InvalidInput(
            f"scope: 'marketing' applies to objections and consent withdrawals, not to "
            f"{kind.value}; leave the scope out or use 'general'.",
            field="scope",
        )
    if chosen is Scope.CONTACT_DATA and kind not in _CONTACT_OK:
        raise InvalidInput(
            f"scope: 'contact_data' applies to rectification and correction, not to "
            f"{kind.value}; leave the scope out or use 'general'.",
            field="scope",
        )
    if kind in _NO_CHECK or chosen is Scope.MARKETING:
        return Assurance.NONE
    if kind in DESTRUCTIVE_TYPES or chosen is Scope.CONTACT_DATA:
        return Assurance.CHANNEL_AND_NOTICE
    return Assurance.CHANNEL

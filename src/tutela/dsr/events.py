"""Events of data-subject requests; the audit trail records each of them (V-10).

Every event targets ``dsr:<request id>``, so the trail's entries for that target
are the request's timeline. Payloads hold ids, codes and dates only: no
identity value, address, free text or secret ever enters the trail. Reasons
written by staff (extension, denial, lowering) travel as the entry's ``reason``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

from tutela.audit.events import DomainEvent

__all__ = [
    "AssuranceLowered",
    "AssuranceLoweringRequested",
    "DigestSent",
    "FulfilmentHeld",
    "NoticeSent",
    "PackageDownloaded",
    "PackageIssued",
    "ProcessorConfirmed",
    "RequestAnswered",
    "RequestCompleted",
    "RequestDenied",
    "RequestDetailsOpened",
    "RequestExpired",
    "RequestExtended",
    "RequestHeld",
    "RequestMatched",
    "RequestNoted",
    "RequestReceived",
    "RequestStarted",
    "RequestVerified",
    "RestrictionLifted",
    "ScopeRaised",
    "VerificationFailed",
    "VerificationSent",
    "request_target",
]


def request_target(request_id: int) -> str:
    """The audit target of a request: ``dsr:<id>``."""
    return f"dsr:{request_id}"


@dataclass(frozen=True, kw_only=True)
class _RequestEvent(DomainEvent):
    request_id: int

    def target(self) -> str:
        return request_target(self.request_id)


@dataclass(frozen=True, kw_only=True)
class ScopeRaised(_RequestEvent):
    """The stores' datasets show that a rectification changes contact data: the request
    now counts as a contact-data change, and the address on file is alerted (V-3)."""

    action: ClassVar[str] = "dsr.scope_raised"
    scope: str
    fields: tuple[str, ...]
    """The references found to be contact data (field names, never values)."""


@dataclass(frozen=True, kw_only=True)
class RequestReceived(_RequestEvent):
    """A request was stored; ``flagged`` when the identity sent too many lately."""

    action: ClassVar[str] = "dsr.received"
    request_type: str
    jurisdiction: str
    channel: str
    status: str
    required_assurance: str
    received_at: dt.datetime
    legal_deadline: dt.date
    flagged: bool


@dataclass(frozen=True, kw_only=True)
class RequestMatched(_RequestEvent):
    """The identity was looked up (after the public answer); ``subject_id`` if found."""

    action: ClassVar[str] = "dsr.matched"
    subject_id: int | None


@dataclass(frozen=True, kw_only=True)
class RequestHeld(_RequestEvent):
    """No mail was sent for the request; staff must look at it (``why`` is a code)."""

    action: ClassVar[str] = "dsr.held"
    subject_id: int | None
    why: str


@dataclass(frozen=True, kw_only=True)
class VerificationSent(_RequestEvent):
    """A one-time link or code went to the channel on file."""

    action: ClassVar[str] = "dsr.verification_sent"
    verification_id: int
    method: str
    subject_id: int | None
    message_id: str


@dataclass(frozen=True, kw_only=True)
class VerificationFailed(_RequestEvent):
    """A wrong code was entered for the request."""

    action: ClassVar[str] = "dsr.verification_failed"
    verification_id: int
    method: str
    attempts_left: int


@dataclass(frozen=True, kw_only=True)
class RequestVerified(_RequestEvent):
    """The requester proved the identity (or the request needs no proof)."""

    action: ClassVar[str] = "dsr.verified"
    method: str
    verification_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class AssuranceLoweringRequested(_RequestEvent):
    """A staff member asked to lower the required assurance; a second must approve."""

    action: ClassVar[str] = "dsr.assurance_lowering_requested"
    approval_id: int
    staff_id: int
    from_level: str
    to_level: str


@dataclass(frozen=True, kw_only=True)
class AssuranceLowered(_RequestEvent):
    """A second staff member approved: the required assurance is now ``to_level``."""

    action: ClassVar[str] = "dsr.assurance_lowered"
    approval_id: int
    requested_by: int
    approved_by: int
    from_level: str
    to_level: str


@dataclass(frozen=True, kw_only=True)
class RequestExtended(_RequestEvent):
    """The deadline was extended (Art. 12(3), 11 CCR § 7021(b)); the person is told why."""

    action: ClassVar[str] = "dsr.extended"
    legal_deadline: dt.date
    extended_until: dt.date


@dataclass(frozen=True, kw_only=True)
class RequestStarted(_RequestEvent):
    action: ClassVar[str] = "dsr.started"


@dataclass(frozen=True, kw_only=True)
class RequestCompleted(_RequestEvent):
    action: ClassVar[str] = "dsr.completed"
    outcome: str


@dataclass(frozen=True, kw_only=True)
class RequestAnswered(RequestCompleted):
    """Fulfilment completed the request and mailed the answer: one entry for both steps.

    ``delivered`` is false when no channel is on file; ``stores`` counts the stores
    reached (their results are on the request, ``store_results``).
    """

    notice: str
    delivered: bool
    message_id: str | None
    stores: int


@dataclass(frozen=True, kw_only=True)
class FulfilmentHeld(_RequestEvent):
    """Fulfilment could not finish: a store failed or fields were left; staff decide.

    ``stores`` names the stores concerned, ``unhandled`` counts the fields left.
    """

    action: ClassVar[str] = "dsr.fulfilment_held"
    stores: tuple[str, ...]
    unhandled: int


@dataclass(frozen=True, kw_only=True)
class RestrictionLifted(_RequestEvent):
    """Staff lifted the restriction a request put in place; the person is told (Art. 18(3))."""

    action: ClassVar[str] = "dsr.restriction_lifted"
    removed: int


@dataclass(frozen=True, kw_only=True)
class RequestDenied(_RequestEvent):
    """The request was refused; the notice names the reason and the right to complain."""

    action: ClassVar[str] = "dsr.denied"


@dataclass(frozen=True, kw_only=True)
class RequestExpired(_RequestEvent):
    """Identity was not confirmed by the deadline (V-7); the Art. 12(4) notice follows."""

    action: ClassVar[str] = "dsr.expired_unverified"


@dataclass(frozen=True, kw_only=True)
class NoticeSent(_RequestEvent):
    """A notice about the request was mailed (``delivered`` false: no channel on file)."""

    action: ClassVar[str] = "dsr.notice_sent"
    notice: str
    delivered: bool
    message_id: str | None


@dataclass(frozen=True, kw_only=True)
class PackageIssued(RequestCompleted):
    """The request was completed by an access package whose link was mailed (``delivered``).

    One entry for both steps (``dsr.completed``), to keep a request's bookkeeping short.
    """

    package_id: int
    size: int
    expires_at: dt.datetime
    delivered: bool
    message_id: str | None


@dataclass(frozen=True, kw_only=True)
class PackageDownloaded(_RequestEvent):
    """The download link of an access package was used (it works once)."""

    action: ClassVar[str] = "dsr.package_downloaded"
    package_id: int


@dataclass(frozen=True, kw_only=True)
class DigestSent(DomainEvent):
    """The DPO got the list of near-due and overdue requests of ``day``."""

    action: ClassVar[str] = "dsr.digest_sent"
    day: dt.date
    near_due: int
    overdue: int
    message_id: str

    def target(self) -> str:
        return f"dsr_digest:{self.day.isoformat()}"


@dataclass(frozen=True, kw_only=True)
class RequestDetailsOpened(DomainEvent):
    """A staff member read the request's identity and what the person wrote (P09)."""

    action: ClassVar[str] = "dsr.details_opened"
    request_id: int
    staff_id: int
    reason: str

    def target(self) -> str:
        return request_target(self.request_id)


@dataclass(frozen=True, kw_only=True)
class RequestNoted(DomainEvent):
    """A staff note on the request (the note travels as the entry's ``reason``)."""

    action: ClassVar[str] = "dsr.noted"
    request_id: int
    staff_id: int
    topic: str

    def target(self) -> str:
        return request_target(self.request_id)


@dataclass(frozen=True, kw_only=True)
class ProcessorConfirmed(_RequestEvent):
    """A processor reported its part of the request (``completed`` or ``cancelled``).

    ``store`` names the webhook store; the processor's id of the request is derived
    from the request's reference and not repeated here.
    """

    action: ClassVar[str] = "dsr.processor_confirmed"
    store: str
    status: str

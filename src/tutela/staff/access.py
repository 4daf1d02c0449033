"""Why staff may open a person's records, and the audit entry that says they did.

A privacy statement promises that staff look at an individual's records only
for a reason from a short list: the person asked, a support case needs it, a
contract violation is suspected, or the law requires it. Every opening is
recorded with :func:`record_access` as a ``staff.subject_opened`` event naming
who opened whose records (by id) and the reason code — never the address that
was searched for.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Final

from sqlalchemy.orm import Session

from tutela.audit import AuditEntry, DomainEvent, emit
from tutela.clock import Clock
from tutela.errors import InvalidInput

__all__ = [
    "MAX_NOTE",
    "REASON_LABELS",
    "AccessReason",
    "SubjectOpened",
    "parse_reason",
    "record_access",
]

MAX_NOTE: Final = 200


class AccessReason(StrEnum):
    """The fixed list of reasons for opening a person's records."""

    REQUEST_FROM_PERSON = "request_from_person"
    SUPPORT_CASE = "support_case"
    SUSPECTED_CONTRACT_VIOLATION = "suspected_contract_violation"
    LEGAL_OBLIGATION = "legal_obligation"


REASON_LABELS: Final[dict[AccessReason, str]] = {
    AccessReason.REQUEST_FROM_PERSON: "Request from the person",
    AccessReason.SUPPORT_CASE: "Support case",
    AccessReason.SUSPECTED_CONTRACT_VIOLATION: "Suspected contract violation",
    AccessReason.LEGAL_OBLIGATION: "Legal obligation",
}
"""English labels (msgids of the ``messages`` catalog, which holds the German ones)."""


@dataclass(frozen=True, kw_only=True)
class SubjectOpened(DomainEvent):
    """A staff member (or an operator at the command line) opened a person's records."""

    action: ClassVar[str] = "staff.subject_opened"
    staff_id: int | None
    subject_id: int
    reason: str
    note: str | None = None

    def target(self) -> str:
        return f"subject:{self.subject_id}"


def parse_reason(value: str) -> AccessReason:
    """``value`` as an :class:`AccessReason`; :class:`InvalidInput` lists the codes."""
    try:
        return AccessReason(value.strip().lower())
    except ValueError:
        codes = ", ".join(reason.value for reason in AccessReason)
        raise InvalidInput(
            f"reason: {value[:64]!r} is not on the list of reasons for opening a person's "
            f"records; use one of {codes}.",
            field="reason",
        ) from None


def _checked_note(note: str | None) -> str | None:
    if note is None or not note.strip():
        return None
    text = " ".join(note.split())
    if len(text) > MAX_NOTE:
        raise InvalidInput(
            f"note: keep the note to {MAX_NOTE} characters, such as a ticket number; "
            "it is kept in the audit trail.",
            field="note",
        )
    return text


def record_access(
    session: Session,
    *,
    subject_id: int,
    reason: AccessReason | str,
    actor: str,
    clock: Clock,
    staff_id: int | None = None,
    note: str | None = None,
) -> AuditEntry:
    """Write ``staff.subject_opened`` for subject ``subject_id`` to the audit trail.

    Call it before showing the records, in a transaction that commits before they
    are shown. ``reason`` must be a code of :class:`AccessReason`; ``note`` is an
    optional reference (such as a ticket number, at most :data:`MAX_NOTE`
    characters) and should not repeat personal data. Returns the audit entry.
    """
    code = parse_reason(str(reason))
    event = SubjectOpened(
        staff_id=staff_id, subject_id=subject_id, reason=code.value, note=_checked_note(note)
    )
    return emit(session, event, actor=actor, clock=clock, reason=code.value)

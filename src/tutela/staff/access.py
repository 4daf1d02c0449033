"""Why staff may open a person's records, and the audit entries that say they did.

A privacy statement promises that staff look at an individual's records only
for a reason from a short list: the person asked, a support ticket needs it (the
note names the ticket), a technical problem has to be solved, a contract
violation is suspected, or the law requires it. Every opening is written to the
audit trail before anything is shown:

* :func:`record_access` — ``staff.subject_opened``: a person's consent records
  (Tutela's own), naming the subject by id;
* :func:`record_lookup` — ``staff.records_looked_up``: a person's records in the
  connected stores, named ``subject:<id>`` when Tutela knows the person and
  ``lookup:<digest>`` (the keyed blind index of what was searched) when it does not.

Neither entry ever holds the address or number that was searched for. The note
is free text for the trail: at most :data:`MAX_NOTE` characters, and the caller
passes a ``screen`` that refuses a note naming the person (see
:func:`tutela.dsr.evidence.personal_data_in`). Stored reason codes never change:
``support_case`` is the code of the support ticket reason since the first entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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
    "AccessStatement",
    "NoteScreen",
    "RecordsLookedUp",
    "SubjectOpened",
    "parse_reason",
    "record_access",
    "record_lookup",
    "state_reason",
]

MAX_NOTE: Final = 200

NoteScreen = Callable[[str], str | None]
"""Why a note may not go into the audit trail (it names the person), or ``None``."""

_TICKET_ID: Final = re.compile(r"\d")
"""A ticket id has a digit (4711, T-4711, INC0012345); a note without one names no ticket."""
_DIGEST: Final = re.compile(r"[0-9a-f]{64}")


class AccessReason(StrEnum):
    """The fixed list of reasons for opening a person's records (stored codes never change)."""

    REQUEST_FROM_PERSON = "request_from_person"
    SUPPORT_CASE = "support_case"
    """A support ticket; the note names its id."""
    TECHNICAL_PROBLEM = "technical_problem"
    SUSPECTED_CONTRACT_VIOLATION = "suspected_contract_violation"
    LEGAL_OBLIGATION = "legal_obligation"


REASON_LABELS: Final[dict[AccessReason, str]] = {
    AccessReason.REQUEST_FROM_PERSON: "Request from the person",
    AccessReason.SUPPORT_CASE: "Support ticket",
    AccessReason.TECHNICAL_PROBLEM: "Technical problem",
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


@dataclass(frozen=True, kw_only=True)
class RecordsLookedUp(DomainEvent):
    """A staff member looked up a person's records in the connected stores.

    ``kind`` says what was searched by (email, phone, customer_id), never the value;
    ``lookup`` is the keyed digest of the value when Tutela knows no such person.
    """

    action: ClassVar[str] = "staff.records_looked_up"
    staff_id: int | None
    reason: str
    note: str
    kind: str
    subject_id: int | None = None
    lookup: str | None = None

    def target(self) -> str:
        if self.subject_id is not None:
            return f"subject:{self.subject_id}"
        return f"lookup:{self.lookup}"


@dataclass(frozen=True, slots=True)
class AccessStatement:
    """A checked reason and note (``note`` None when none was given and none is needed)."""

    reason: AccessReason
    note: str | None

    @property
    def stated(self) -> str:
        """``code`` or ``code: note``, as request-detail openings keep it in the entry's reason."""
        return self.reason.value if self.note is None else f"{self.reason.value}: {self.note}"


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
            issue="unknown",
        ) from None


def _note_problem(field: str, message: str, issue: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", field="note", issue=issue)


def state_reason(
    reason: AccessReason | str,
    note: str | None,
    *,
    note_required: bool = False,
    screen: NoteScreen | None = None,
) -> AccessStatement:
    """Check a reason and its note before anything is opened.

    :class:`InvalidInput` names the field (``reason`` or ``note``) and an ``issue``:
    ``unknown`` (not a listed reason), ``missing`` (no note where one is required),
    ``ticket`` (a support ticket without its id), ``too_long`` (over
    :data:`MAX_NOTE` characters) or ``personal_data`` (``screen`` found the person in
    the note). Runs of whitespace in the note become one space.
    """
    code = parse_reason(str(reason))
    text = " ".join((note or "").split())
    ticket = code is AccessReason.SUPPORT_CASE
    if not text:
        if ticket:
            raise _note_problem(
                "note", "for a support ticket, give the ticket's id, such as T-4711.", "ticket"
            )
        if note_required:
            raise _note_problem(
                "note",
                "say in a few words what you need the records for, such as the ticket or "
                "the problem; the note is kept in the audit trail.",
                "missing",
            )
        return AccessStatement(code, None)
    if len(text) > MAX_NOTE:
        raise _note_problem(
            "note",
            f"keep the note to {MAX_NOTE} characters, such as a ticket number; "
            "it is kept in the audit trail.",
            "too_long",
        )
    if ticket and not _TICKET_ID.search(text):
        raise _note_problem(
            "note", "for a support ticket, give the ticket's id, such as T-4711.", "ticket"
        )
    why = screen(text) if screen is not None else None
    if why is not None:
        raise _note_problem(
            "note",
            f"{why}. The note is kept in the audit trail, which never names the person: "
            "refer to the ticket or problem instead, such as T-4711.",
            "personal_data",
        )
    return AccessStatement(code, text)


def record_access(
    session: Session,
    *,
    subject_id: int,
    reason: AccessReason | str,
    actor: str,
    clock: Clock,
    staff_id: int | None = None,
    note: str | None = None,
    screen: NoteScreen | None = None,
) -> AuditEntry:
    """Write ``staff.subject_opened`` for subject ``subject_id`` to the audit trail.

    Call it before showing the records, in a transaction that commits before they
    are shown. ``reason`` must be a code of :class:`AccessReason`; ``note`` is an
    optional reference (at most :data:`MAX_NOTE` characters; required with the
    ticket's id for a support ticket) and must not name the person (``screen``).
    Returns the audit entry.
    """
    statement = state_reason(reason, note, screen=screen)
    event = SubjectOpened(
        staff_id=staff_id, subject_id=subject_id, reason=statement.reason.value, note=statement.note
    )
    return emit(session, event, actor=actor, clock=clock, reason=statement.reason.value)


def record_lookup(
    session: Session,
    *,
    kind: str,
    subject_id: int | None,
    lookup: str | None,
    reason: AccessReason | str,
    note: str,
    actor: str,
    clock: Clock,
    staff_id: int | None = None,
    screen: NoteScreen | None = None,
) -> AuditEntry:
    """Write ``staff.records_looked_up`` before a person's records in the stores are read.

    Name the person by ``subject_id`` when Tutela knows them, else by ``lookup``, the
    keyed blind index (64 hex characters) of the searched value — never the value.
    The note is required (:func:`state_reason` with ``note_required``).
    """
    statement = state_reason(reason, note, note_required=True, screen=screen)
    if subject_id is None and (lookup is None or not _DIGEST.fullmatch(lookup)):
        raise InvalidInput(
            "lookup: name an unknown person by the 64-character keyed digest of the "
            "searched value, never by the value itself.",
            field="lookup",
        )
    event = RecordsLookedUp(
        staff_id=staff_id,
        reason=statement.reason.value,
        note=statement.note or "",
        kind=kind,
        subject_id=subject_id,
        lookup=None if subject_id is not None else lookup,
    )
    return emit(session, event, actor=actor, clock=clock, reason=statement.reason.value)

"""Who opened whose records, when and why: the data protection officer's view of the trail.

Three audit actions are openings of a person's records:

* ``staff.subject_opened`` — consent records (:func:`tutela.staff.access.record_access`);
* ``staff.records_looked_up`` — records in the connected stores
  (:func:`tutela.staff.access.record_lookup`);
* ``dsr.details_opened`` — the sealed identity and text of a request
  (``tutela.dsr.events.RequestDetailsOpened``, whose note travels in the entry's
  reason as ``code: note``).

:func:`access_log` counts them per staff member and reason for a period of German
calendar days and lists them, newest first, with reason, note and target — the
target names a subject, a request or a keyed digest, never a searched address.
:func:`lookups_since` counts one member's recent store lookups (the console's limit).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tutela.audit import AuditEntry
from tutela.calendar import GERMAN_TIME
from tutela.errors import InvalidInput
from tutela.staff.access import RecordsLookedUp, SubjectOpened
from tutela.staff.models import StaffUser

__all__ = [
    "ACCESS_ACTIONS",
    "DEFAULT_DAYS",
    "LIST_LIMIT",
    "MAX_DAYS",
    "REQUEST_DETAILS_OPENED",
    "Access",
    "AccessLog",
    "StaffTotal",
    "access_log",
    "check_period",
    "default_period",
    "lookups_since",
    "staff_choices",
]

REQUEST_DETAILS_OPENED: Final = "dsr.details_opened"
"""The action of ``tutela.dsr.events.RequestDetailsOpened`` (a layer above this one)."""
ACCESS_ACTIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        SubjectOpened.action: "consent_records",
        RecordsLookedUp.action: "store_records",
        REQUEST_DETAILS_OPENED: "request_details",
    }
)
"""Audit action → what was opened."""
DEFAULT_DAYS: Final = 30
MAX_DAYS: Final = 366
LIST_LIMIT: Final = 500
"""Most accesses listed on one page; the counts always cover the whole period."""


@dataclass(frozen=True, slots=True)
class Access:
    """One opening of a person's records, as the trail holds it."""

    sequence: int
    occurred_at: dt.datetime
    actor: str
    staff_id: int | None
    what: str
    """``consent_records``, ``store_records`` or ``request_details``."""
    reason: str
    note: str | None
    target: str


@dataclass(frozen=True, slots=True)
class StaffTotal:
    """How often one actor opened records in the period, in all and per reason code."""

    actor: str
    staff_id: int | None
    name: str | None
    """The staff member's display name (None for the command line or a deleted account)."""
    total: int
    by_reason: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class AccessLog:
    """The openings of one period: totals, totals per staff member, and the newest entries."""

    start: dt.date
    end: dt.date
    total: int
    by_reason: Mapping[str, int]
    staff: tuple[StaffTotal, ...]
    entries: tuple[Access, ...]

    @property
    def complete(self) -> bool:
        """Whether :attr:`entries` lists every access of the period."""
        return len(self.entries) == self.total


def default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last :data:`DEFAULT_DAYS` days, today included."""
    return today - dt.timedelta(days=DEFAULT_DAYS - 1), today


def check_period(start: dt.date, end: dt.date) -> None:
    """InvalidInput (field ``start``) unless ``start`` ≤ ``end`` within :data:`MAX_DAYS` days."""
    if start > end:
        raise InvalidInput(
            "start: the period starts after it ends; choose a first day on or before the last.",
            field="start",
        )
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(
            f"start: choose a period of at most {MAX_DAYS} days; for longer spans, export the "
            "audit trail.",
            field="start",
        )


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=GERMAN_TIME).astimezone(dt.UTC)


def _payload(text: str) -> dict[str, Any]:
    try:
        loaded = json.loads(text)
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _staff_id(payload: Mapping[str, Any], actor: str) -> int | None:
    given = payload.get("staff_id")
    if isinstance(given, int) and not isinstance(given, bool):
        return given
    prefix, _colon, number = actor.partition(":")
    return int(number) if prefix == "staff" and number.isdigit() else None


def _access(row: Any) -> Access:
    payload = _payload(row.payload)
    reason = str(payload.get("reason") or row.reason or "")
    note = payload.get("note")
    if row.action == REQUEST_DETAILS_OPENED:  # the note travels in the entry's reason
        stated = str(row.reason or "")
        note = stated[len(reason) + 2 :] if stated.startswith(f"{reason}: ") else None
    return Access(
        sequence=int(row.sequence),
        occurred_at=row.occurred_at,
        actor=str(row.actor),
        staff_id=_staff_id(payload, str(row.actor)),
        what=ACCESS_ACTIONS[row.action],
        reason=reason,
        note=str(note) if note else None,
        target=str(row.target),
    )


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(StaffUser.id, StaffUser.display_name).where(StaffUser.id.in_(sorted(ids)))
    )
    return {int(row.id): str(row.display_name) for row in rows}


def access_log(
    session: Session,
    *,
    start: dt.date,
    end: dt.date,
    staff_id: int | None = None,
    limit: int = LIST_LIMIT,
) -> AccessLog:
    """The openings from ``start`` to ``end`` (German calendar days, both included).

    ``staff_id`` keeps one staff member's. Counts cover the whole period; the list
    holds the newest ``limit`` entries.
    """
    check_period(start, end)
    query = (
        select(
            AuditEntry.sequence,
            AuditEntry.occurred_at,
            AuditEntry.actor,
            AuditEntry.action,
            AuditEntry.target,
            AuditEntry.reason,
            AuditEntry.payload,
        )
        .where(
            AuditEntry.action.in_(list(ACCESS_ACTIONS)),
            AuditEntry.occurred_at >= _midnight(start),
            AuditEntry.occurred_at < _midnight(end + dt.timedelta(days=1)),
        )
        .order_by(AuditEntry.occurred_at.desc(), AuditEntry.sequence.desc())
    )
    if staff_id is not None:
        query = query.where(AuditEntry.actor == f"staff:{staff_id}")
    found = [_access(row) for row in session.execute(query)]
    per_actor: dict[str, Counter[str]] = {}
    for access in found:
        per_actor.setdefault(access.actor, Counter())[access.reason] += 1
    ids = {a.staff_id for a in found if a.staff_id is not None}
    names = _names(session, ids)
    id_of = {a.actor: a.staff_id for a in found}
    totals: list[StaffTotal] = []
    for actor, counts in per_actor.items():
        member = id_of[actor]
        totals.append(
            StaffTotal(
                actor=actor,
                staff_id=member,
                name=None if member is None else names.get(member),
                total=sum(counts.values()),
                by_reason=MappingProxyType(dict(sorted(counts.items()))),
            )
        )
    totals.sort(key=lambda t: (-t.total, t.name or "", t.actor))
    overall = Counter(a.reason for a in found)
    return AccessLog(
        start=start,
        end=end,
        total=len(found),
        by_reason=MappingProxyType(dict(sorted(overall.items()))),
        staff=tuple(totals),
        entries=tuple(found[: max(limit, 0)]),
    )


def lookups_since(session: Session, *, actor: str, since: dt.datetime) -> int:
    """How many store lookups ``actor`` made from ``since`` on."""
    query = select(func.count()).where(
        AuditEntry.action == RecordsLookedUp.action,
        AuditEntry.actor == actor,
        AuditEntry.occurred_at >= since,
    )
    return int(session.scalar(query) or 0)


def staff_choices(session: Session) -> list[tuple[int, str]]:
    """Every staff account as ``(id, display name)``, by name (for the period's filter)."""
    rows = session.execute(
        select(StaffUser.id, StaffUser.display_name).order_by(StaffUser.display_name, StaffUser.id)
    )
    return [(int(row.id), str(row.display_name)) for row in rows]

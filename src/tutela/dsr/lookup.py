"""One person's records across the connected stores, for staff with a stated reason (P09).

Staff search by one identity (e-mail address, phone number or customer number).
:func:`find_person` normalises it and asks Tutela, by blind index, whether it knows
the person; the person's other identities then widen the search, as for an
access copy. :func:`record_opening` writes ``staff.records_looked_up`` — reason,
note, and ``subject:<id>`` or ``lookup:<keyed digest>``, never the searched
value — and the caller commits it *before* :func:`read_records` reads anything.

:func:`read_records` walks every store through its connector's ``access`` — the
same read as an access copy, so the deny-list applies: credentials and
government ids are left out and card and account numbers masked, and each store
says so. Nothing is written to any store. A store that cannot be read is named
with the reason and the others are still shown; an unknown person gets the same
answer with nothing found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from tutela.audit import AuditEntry
from tutela.clock import Clock
from tutela.connectors import Connector, IdentitySet, Withheld
from tutela.crypto import MasterKey
from tutela.dsr.evidence import personal_data_in
from tutela.dsr.package_zip import json_value
from tutela.errors import InvalidInput, TutelaError
from tutela.staff.access import (
    AccessReason,
    AccessStatement,
    NoteScreen,
    record_lookup,
    state_reason,
)
from tutela.subjects import IdentityKind, find_subject, identities, index_of, normalize

__all__ = [
    "MAX_SHOWN",
    "MAX_VALUE",
    "SEARCH_KINDS",
    "Person",
    "StoreRecords",
    "TableRecords",
    "check_search",
    "check_statement",
    "find_person",
    "note_screen",
    "read_records",
    "record_opening",
]

SEARCH_KINDS: Final = (IdentityKind.EMAIL, IdentityKind.PHONE, IdentityKind.CUSTOMER_ID)
MAX_SHOWN: Final = 50
"""Rows shown per table; the count says how many the store holds."""
MAX_VALUE: Final = 2000
"""Characters shown of one value."""


@dataclass(frozen=True, slots=True)
class Person:
    """Who is looked up: the kind searched by, whether Tutela knows them, all identities.

    ``digest`` is the keyed blind index of the searched value; ``identities`` holds
    the searched value and, for a known person, every identity Tutela holds.
    """

    kind: str
    subject_id: int | None
    digest: str
    identities: IdentitySet

    @property
    def target(self) -> str:
        """How the audit entry names the person (never by the searched value)."""
        if self.subject_id is not None:
            return f"subject:{self.subject_id}"
        return f"lookup:{self.digest}"


@dataclass(frozen=True, slots=True)
class TableRecords:
    """The rows of one table as text, in the order the store gave them."""

    table: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    found: int
    """Rows the store holds for the person (more than :attr:`rows` when over the cap)."""


@dataclass(frozen=True, slots=True)
class StoreRecords:
    """What one store holds for the person, what it kept back, or why it could not say."""

    store: str
    tables: tuple[TableRecords, ...] = ()
    withheld: tuple[Withheld, ...] = ()
    task: str | None = None
    """Set when staff must look in this store by hand (a manual store, a processor)."""
    error: str | None = None
    """Set when the store could not be read; the other stores are still shown."""

    @property
    def found(self) -> int:
        return sum(table.found for table in self.tables)


def _kind(kind: str) -> IdentityKind:
    if kind not in {k.value for k in SEARCH_KINDS}:
        names = ", ".join(k.value for k in SEARCH_KINDS)
        raise InvalidInput(
            f"kind: search by one of {names}; other identities are not searched here.",
            field="kind",
        )
    return IdentityKind(kind)


def check_search(kind: str, value: str, *, default_country_code: str = "49") -> str:
    """The normalised ``value``; InvalidInput names the field (``kind``, ``email`` …)."""
    return normalize(_kind(kind), value, default_country_code=default_country_code)


def note_screen(identities: IdentitySet) -> NoteScreen:
    """A screen refusing notes with an e-mail address, a phone-like number or an identity."""

    def screen(text: str) -> str | None:
        return personal_data_in(text, identities)

    return screen


def check_statement(
    reason: AccessReason | str, note: str | None, *, identities: IdentitySet
) -> AccessStatement:
    """Check reason and note as :func:`record_opening` will (note required, screened), so a
    form is refused before anyone is looked up."""
    return state_reason(reason, note, note_required=True, screen=note_screen(identities))


def find_person(
    session: Session,
    *,
    kind: str,
    value: str,
    master: MasterKey,
    default_country_code: str = "49",
) -> Person:
    """Whom ``value`` names: Tutela's subject (by blind index) and every identity to search."""
    member = _kind(kind)
    normalized = normalize(member, value, default_country_code=default_country_code)
    digest = index_of(master, member, normalized)
    subject = find_subject(session, kind=member, value=normalized, master=master)
    pairs: list[tuple[str, str]] = [(member.value, normalized)]
    if subject is not None:
        held = identities(session, subject=subject, master=master)
        pairs.extend((known.value, text) for known, text in held)
    return Person(
        kind=member.value,
        subject_id=None if subject is None else subject.id,
        digest=digest,
        identities=IdentitySet.from_pairs(pairs),
    )


def record_opening(
    session: Session,
    *,
    person: Person,
    reason: AccessReason | str,
    note: str,
    actor: str,
    clock: Clock,
    staff_id: int | None = None,
) -> AuditEntry:
    """Write ``staff.records_looked_up`` for ``person``; commit before :func:`read_records`.

    The note is required and must not name the person (any of their identities, an
    e-mail address or a phone-like number): :class:`InvalidInput` (field ``note``).
    """
    return record_lookup(
        session,
        kind=person.kind,
        subject_id=person.subject_id,
        lookup=person.digest,
        reason=reason,
        note=note,
        actor=actor,
        clock=clock,
        staff_id=staff_id,
        screen=note_screen(person.identities),
    )


def _text(value: object) -> str:
    if value is None:
        return ""
    converted = json_value(value)
    text = converted if isinstance(converted, str) else str(converted)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE] + "…"


class _Table:
    def __init__(self, name: str) -> None:
        self.name = name
        self.columns: dict[str, None] = {}
        self.rows: list[dict[str, object]] = []
        self.found = 0

    def add(self, row: dict[str, object], cap: int) -> None:
        self.found += 1
        if len(self.rows) < cap:
            self.columns.update(dict.fromkeys(row))
            self.rows.append(row)

    def done(self) -> TableRecords:
        columns = tuple(self.columns)
        rows = tuple(tuple(_text(row.get(c)) for c in columns) for row in self.rows)
        return TableRecords(self.name, columns, rows, self.found)


def _read(store: Connector, ids: IdentitySet, cap: int) -> StoreRecords:
    tables: dict[str, _Table] = {}
    try:
        with store.access(ids) as result:
            for table, row in result:
                tables.setdefault(table, _Table(table)).add(row, cap)
            withheld = result.withheld
            task = result.task
    except TutelaError as error:  # down, ambiguous, or its mapping does not fit
        return StoreRecords(store.name, error=error.detail)
    return StoreRecords(
        store.name,
        tables=tuple(t.done() for t in tables.values()),
        withheld=tuple(withheld),
        task=task,
    )


def read_records(
    stores: Sequence[Connector], identities: IdentitySet, *, max_rows: int = MAX_SHOWN
) -> tuple[StoreRecords, ...]:
    """Each store's records for ``identities`` (read only), at most ``max_rows`` per table."""
    if not identities:
        return tuple(StoreRecords(store.name) for store in stores)
    return tuple(_read(store, identities, max_rows) for store in stores)

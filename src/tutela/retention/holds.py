"""Manual legal holds: rows a sweep must leave alone until a date or until released.

Two kinds:

* **per person** — Tutela's subject for an identity (email, phone, customer id);
  the hold row keeps the subject id, the identity kind and its blind index, never
  the value. At sweep time the person's identities are opened with their own key
  and each store is searched for the person's rows with the walk a privacy request
  uses (identity columns, then references), read as stored — nothing masked or
  withheld. The column values that select those rows are left out of every rule.
  A hold that cannot be resolved (identities gone, or they match several people)
  stops the store's rules: a sweep never guesses.
* **per record set** — one column of one table of one store equal to ``value`` or
  within ``low``…``high`` (inclusive; either end may be open), for a dispute, an
  audit or a tax assessment still open (§ 147(3) sentence 3 AO). The column must
  exist and the value fit its type when the hold is placed; a column the dataset
  declares personal or identifying is refused (the value would sit in the hold list
  in plain text): hold the person instead.

Placing and releasing a hold are audited; the reason goes into the entry's reason.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.calendar import german_date
from tutela.clock import Clock
from tutela.connectors import IdentitySet, StoreError
from tutela.connectors.builtin.sql_schema import coerce
from tutela.connectors.builtin.sql_walk import ConditionKey, Walk
from tutela.crypto import MasterKey
from tutela.errors import ConfigurationError, Conflict, InvalidInput, NotFound
from tutela.retention.events import HoldPlaced, HoldReleased
from tutela.retention.models import HoldKind, LegalHold
from tutela.retention.stores import BoundStore, SweepStore, bind_store
from tutela.storage.engine import READ_ONLY
from tutela.subjects import Subject, get_or_create_subject, identities, index_of, normalize

__all__ = [
    "HeldRows",
    "active_holds",
    "list_holds",
    "place_records_hold",
    "place_subject_hold",
    "release_hold",
    "resolve_holds",
    "unfit_values",
]

MAX_REASON: Final = 1000
MAX_VALUE: Final = 500


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise InvalidInput(
            "reason: say why the rows must be kept (a dispute, an audit, an open tax "
            "assessment); the reason is recorded in the audit trail.",
            field="reason",
        )
    if len(text) > MAX_REASON:
        raise InvalidInput(
            f"reason: at most {MAX_REASON} characters; refer to a file or ticket for details.",
            field="reason",
        )
    return text


def _until(until: dt.date | None, clock: Clock) -> dt.date | None:
    if until is not None and until < german_date(clock.now()):
        raise InvalidInput(
            f"until: {until.isoformat()} has passed; give a future date, or none to keep "
            "the hold until it is released.",
            field="until",
        )
    return until


def _placed(session: Session, hold: LegalHold, *, actor: str, clock: Clock) -> LegalHold:
    session.add(hold)
    session.flush()
    event = HoldPlaced(
        hold_id=hold.id,
        kind=hold.kind,
        subject_id=hold.subject_id,
        store=hold.store,
        table=hold.table_name,
        column=hold.column_name,
        until=hold.until,
    )
    emit(session, event, actor=actor, clock=clock, reason=hold.reason)
    return hold


def place_subject_hold(
    session: Session,
    *,
    kind: str,
    value: str,
    reason: str,
    until: dt.date | None,
    master: MasterKey,
    clock: Clock,
    actor: str,
    default_country_code: str = "49",
) -> LegalHold:
    """Keep every row of the person with this identity out of sweeps."""
    text, day = _reason(reason), _until(until, clock)
    normalized = normalize(kind, value, default_country_code=default_country_code)
    subject, _created = get_or_create_subject(
        session,
        kind=kind,
        value=normalized,
        master=master,
        clock=clock,
        actor=actor,
        default_country_code=default_country_code,
    )
    hold = LegalHold(
        kind=HoldKind.SUBJECT.value,
        subject_id=subject.id,
        identity_kind=kind,
        blind_index=index_of(master, kind, normalized),
        reason=text,
        created_by=actor,
        created_at=clock.now(),
        until=day,
    )
    return _placed(session, hold, actor=actor, clock=clock)


_KINDS: Final[dict[type, str]] = {
    int: "whole numbers",
    dt.datetime: "timestamps (write YYYY-MM-DD HH:MM:SS)",
    dt.date: "dates (write YYYY-MM-DD)",
    decimal.Decimal: "numbers",
    uuid.UUID: "UUIDs",
}


def _kind_of(column: sa.Column[Any]) -> str:
    try:
        python = column.type.python_type
    except NotImplementedError:
        return type(column.type).__name__
    return _KINDS.get(python, python.__name__)


def unfit_values(
    column: sa.Column[Any], *, value: str | None, low: str | None, high: str | None
) -> str | None:
    """Why a hold's value or range cannot select rows of ``column`` (None: it can)."""
    for name, given in (("value", value), ("low", low), ("high", high)):
        if given is not None and coerce(column, given) is None:
            return f"its {name} does not fit the column, which holds {_kind_of(column)}"
    if low is not None and high is not None:
        start, end = coerce(column, low), coerce(column, high)
        try:
            reversed_range = bool(start > end)
        except TypeError:
            reversed_range = False
        if reversed_range:
            return "its range starts after it ends"
    return None


def _personal_column(store: SweepStore, table: str, column: str) -> str | None:
    """Why the dataset makes ``column`` unfit to name a record set (None: it is fit)."""
    spec = store.dataset.tables[table].fields.get(column)
    if spec is None:
        return None
    if spec.identity:
        return f"it identifies a person (identity {spec.identity})"
    if spec.personal:
        categories = ", ".join(spec.categories) or "an erasure strategy of its own"
        return f"the dataset declares it personal data ({categories})"
    return None


def _check_records(
    stores: Sequence[SweepStore],
    *,
    store: str,
    table: str,
    column: str,
    value: str | None,
    low: str | None,
    high: str | None,
) -> None:
    found = next((s for s in stores if s.name == store), None)
    if found is None:
        known = ", ".join(sorted(s.name for s in stores)) or "none"
        raise InvalidInput(
            f"store: no SQL store {store!r} is connected; use one of {known}.", field="store"
        )
    if table not in found.dataset.tables:
        raise InvalidInput(
            f"table: the dataset of {store!r} has no table {table!r}; name a table it declares.",
            field="table",
        )
    personal = _personal_column(found, table, column)
    if personal is not None:
        raise InvalidInput(
            f"column: {store}.{table}.{column} cannot name a record set: {personal}, and a "
            "record-set hold keeps its value in plain text. Hold the person instead "
            "(--email, --phone or --customer-id), or name the rows by a key, a number or "
            "a date.",
            field="column",
        )
    bound = bind_store(found)
    try:
        real = bound.table(table).table
    finally:
        bound.close()
    if column not in real.c:
        columns = ", ".join(real.c.keys())
        raise InvalidInput(
            f"column: {store}.{table} has no column {column!r}; use one of {columns}.",
            field="column",
        )
    unfit = unfit_values(real.c[column], value=value, low=low, high=high)
    if unfit is not None:
        raise InvalidInput(
            f"value: {store}.{table}.{column}: {unfit}; give a value the column holds.",
            field="value",
        )


def place_records_hold(
    session: Session,
    *,
    store: str,
    table: str,
    column: str,
    reason: str,
    until: dt.date | None,
    clock: Clock,
    actor: str,
    stores: Sequence[SweepStore],
    value: str | None = None,
    low: str | None = None,
    high: str | None = None,
) -> LegalHold:
    """Keep the rows of ``store.table`` whose ``column`` equals ``value`` or lies in low…high.

    ``stores`` are the connected SQL stores: the column must exist in the real table,
    the value fit its type, and the dataset must not declare the column personal or
    identifying (InvalidInput names the field and what to give instead). The store is
    reached once to read the table's columns (StoreUnavailable when it cannot be).
    """
    text, day = _reason(reason), _until(until, clock)
    if (value is None) == (low is None and high is None):
        raise InvalidInput(
            "value: give either one value or a range (low and/or high) of the column.",
            field="value",
        )
    for name, given in (("value", value), ("low", low), ("high", high)):
        if given is not None and not (0 < len(given) <= MAX_VALUE):
            raise InvalidInput(f"{name}: 1 to {MAX_VALUE} characters.", field=name)
    _check_records(stores, store=store, table=table, column=column, value=value, low=low, high=high)
    hold = LegalHold(
        kind=HoldKind.RECORDS.value,
        store=store,
        table_name=table,
        column_name=column,
        value=value,
        low=low,
        high=high,
        reason=text,
        created_by=actor,
        created_at=clock.now(),
        until=day,
    )
    return _placed(session, hold, actor=actor, clock=clock)


def release_hold(
    session: Session, *, hold_id: int, reason: str, clock: Clock, actor: str
) -> LegalHold:
    """End a hold now; the rows it kept go with the next sweep if they have expired."""
    text = _reason(reason)
    hold = session.get(LegalHold, hold_id, with_for_update=True)
    if hold is None:
        raise NotFound(
            f"There is no legal hold {hold_id}; list them with `tutela retention hold list`."
        )
    if hold.released_at is not None:
        raise Conflict(f"The legal hold {hold_id} was released already.")
    hold.released_at = clock.now()
    hold.released_by = actor
    hold.release_reason = text
    emit(session, HoldReleased(hold_id=hold.id), actor=actor, clock=clock, reason=text)
    return hold


def list_holds(session: Session, *, include_released: bool = False) -> list[LegalHold]:
    query = select(LegalHold).order_by(LegalHold.id.desc())
    if not include_released:
        query = query.where(LegalHold.released_at.is_(None))
    return list(session.scalars(query))


def active_holds(session: Session, *, on: dt.date) -> list[LegalHold]:
    """Holds in force on ``on`` (not released, ``until`` not passed)."""
    return [hold for hold in list_holds(session) if hold.active_on(on)]


@dataclass(slots=True)
class HeldRows:
    """What the legal holds keep in one table: people's rows and record sets.

    ``people``: per column (and whether it compares case-insensitively) the values
    that select held people's rows, as the walk found them in the store.
    """

    people: dict[ConditionKey, set[Any]] = field(default_factory=dict)
    records: list[LegalHold] = field(default_factory=list)


def _person(session: Session, hold: LegalHold, master: MasterKey) -> IdentitySet:
    subject = session.get(Subject, hold.subject_id) if hold.subject_id else None
    pairs = (
        [(kind.value, value) for kind, value in identities(session, subject=subject, master=master)]
        if subject is not None
        else []
    )
    if not pairs:
        raise ConfigurationError(
            f"The legal hold {hold.id} is on subject {hold.subject_id}, whose identities can "
            "no longer be opened, so the rows it keeps cannot be found and the rules of the "
            "store do not run. If the person's data are gone, release the hold (tutela "
            "retention hold release); else hold the rows as a record set.",
            field="hold",
        )
    return IdentitySet.from_pairs(pairs)


def resolve_holds(
    session: Session,
    *,
    holds: Iterable[LegalHold],
    store: BoundStore,
    tables: Collection[str],
    master: MasterKey,
) -> dict[str, HeldRows]:
    """Per table of ``tables`` in ``store``: the rows the holds keep there.

    Each held person's rows are found by the walk a privacy request uses, read as
    stored (no deny-list masking, in a read-only transaction). ConfigurationError
    when a hold cannot be resolved: a sweep must not guess which rows it keeps.
    """
    held: dict[str, HeldRows] = {table: HeldRows() for table in tables}
    people: list[tuple[LegalHold, IdentitySet]] = []
    for hold in holds:
        if hold.kind == HoldKind.RECORDS.value:
            if hold.store == store.store.name and hold.table_name in held:
                held[hold.table_name].records.append(hold)
        else:
            people.append((hold, _person(session, hold, master)))
    if not people or not held:
        return held
    with store.engine.connect() as conn:
        conn.execution_options(**{READ_ONLY: True})
        for hold, person in people:
            try:
                walk = Walk(conn, store.schema, person, full=False)
                walk.run()
            except StoreError as error:
                raise ConfigurationError(
                    f"The legal hold {hold.id} cannot be applied in the store "
                    f"{store.store.name!r}: {error.detail} Until it names one person, the "
                    "store's rules do not run; release it and hold the rows as a record set.",
                    field="hold",
                ) from None
            for table, conditions in walk.conditions.items():
                if table in held:
                    for key, values in conditions.items():
                        held[table].people.setdefault(key, set()).update(values)
    return held

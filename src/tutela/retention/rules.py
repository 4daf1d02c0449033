"""Retention rules: the declaration's periods laid over the mapped tables of the stores.

A :class:`Rule` says, for one table of one store, when a row has outlived every
purpose the table serves and what then happens to it:

* **expiries** — per purpose with a period, the column dating its event
  (collection, contract end …) and the period; a row is expired when *every*
  expiry has passed (the longest-lived purpose wins; an empty event date — a
  contract still running — means not expired);
* **keeps** — statutory holds (the purpose's ``statutory`` and the dataset's table
  ``hold``, which does not keep fields marked ``held: false``): while one holds,
  the row stays (and, once its purposes have expired, is marked restricted where
  the table has a restriction column);
* **action** — ``delete_row`` when the dataset erases the table that way, else
  the dataset's erasure strategy of each field whose categories the purposes
  cover. For such tables one rule is made per set of purposes covering fields,
  so a field shared with a longer-lived purpose waits for it.

A purpose that declares only criteria (no period, no statutory hold) gives a rule
that does not sweep and says why. A period of zero or under a day is refused as a
problem naming the purpose: a sweep would erase rows almost as soon as they are
written, which is far more likely a slip than a purpose.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tutela.connectors.dataset import Dataset, FieldSpec, TableSpec
from tutela.errors import ConfigurationError
from tutela.policy.duration import Period
from tutela.policy.models import Declaration, Purpose, StatutoryHold
from tutela.policy.terms import RetentionEvent
from tutela.retention.mapping import RetentionMapping, TableMapping

__all__ = ["Expiry", "Keep", "Rule", "derive_rules"]

_YEAR_DAYS = 365.25
MIN_PERIOD_DAYS = 1


@dataclass(frozen=True, slots=True)
class Expiry:
    purpose: str
    event: RetentionEvent
    column: str
    period: Period


@dataclass(frozen=True, slots=True)
class Keep:
    """A statutory hold: ``years`` from the end of the record's calendar year, or ``period``."""

    law: str
    column: str
    years: int | None = None
    period: Period | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    store: str
    table: str
    purposes: tuple[str, ...]
    delete_rows: bool
    fields: tuple[str, ...]
    expiries: tuple[Expiry, ...]
    keeps: tuple[Keep, ...]
    note: str | None = None
    """Why this rule does not sweep (None: it does)."""

    @property
    def key(self) -> str:
        return f"{self.store}.{self.table}"

    @property
    def sweeps(self) -> bool:
        return self.note is None

    @property
    def date_columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e.column for e in self.expiries))

    def action_text(self) -> str:
        if self.delete_rows:
            return "delete_row"
        return "erase " + ", ".join(self.fields) if self.fields else "nothing"


def _keep_of(hold: StatutoryHold, column: str) -> Keep:
    if hold.from_end_of_year:
        rest = Period(
            months=hold.period.months,
            weeks=hold.period.weeks,
            days=hold.period.days,
            hours=hold.period.hours,
            minutes=hold.period.minutes,
        )
        extra = math.ceil(rest.approx_days() / _YEAR_DAYS) if not rest.is_zero else 0
        return Keep(law=hold.law, column=column, years=hold.period.years + extra)
    return Keep(law=hold.law, column=column, period=hold.period)


def _covers(field: FieldSpec, categories: Iterable[str]) -> bool:
    keys = tuple(categories)
    return any(
        c == k or c.startswith(k + ".") or k.startswith(c + ".")
        for c in field.categories
        for k in keys
    )


class _Deriver:
    def __init__(self, declaration: Declaration, datasets: Mapping[str, Dataset]) -> None:
        self.declaration = declaration
        self.datasets = datasets
        self.problems: list[str] = []

    def table(self, entry: TableMapping) -> list[Rule]:
        dataset = self.datasets.get(entry.store)
        if dataset is None:
            known = ", ".join(sorted(self.datasets)) or "none"
            self.problems.append(
                f"{entry.where}, store {entry.store!r}: no SQL store of that name is connected "
                f"(connected: {known}); fix the name or add the store to the stores file"
            )
            return []
        spec = dataset.tables.get(entry.table)
        if spec is None:
            self.problems.append(
                f"{entry.where}, store {entry.store!r}: its dataset has no table "
                f"{entry.table!r}; map a table the dataset declares"
            )
            return []
        purposes: list[Purpose] = []
        for name in entry.purposes:
            purpose = self.declaration.purpose(name)
            if purpose is None:
                self.problems.append(
                    f"{entry.where}, table {entry.key}: the published declaration has no "
                    f"purpose {name!r}; use one of its purpose ids"
                )
            else:
                purposes.append(purpose)
        if len(purposes) != len(entry.purposes):
            return []
        if spec.delete_rows:
            return [self.rule(entry, spec, purposes, (), held=True)]
        groups: dict[tuple[tuple[str, ...], bool], list[str]] = {}
        for field in spec.personal_fields:
            covering = tuple(p.id for p in purposes if _covers(field, p.categories.all()))
            if covering:
                groups.setdefault((covering, field.held), []).append(field.name)
        by_id = {p.id: p for p in purposes}
        ids_held = {ids for ids, held in groups if held}
        return [
            self.rule(
                entry,
                spec,
                [by_id[i] for i in ids],
                tuple(fields),
                held=held,
                suffix="" if held or ids not in ids_held else "~unheld",
            )
            for (ids, held), fields in groups.items()
        ]

    def rule(
        self,
        entry: TableMapping,
        spec: TableSpec,
        purposes: list[Purpose],
        fields: tuple[str, ...],
        *,
        held: bool,
        suffix: str = "",
    ) -> Rule:
        expiries: list[Expiry] = []
        keeps: list[Keep] = []
        note: str | None = None
        for purpose in purposes:
            retention = purpose.retention
            if retention is None or (retention.period is None and retention.statutory is None):
                note = (
                    f"the purpose {purpose.id!r} declares no period, only criteria; rows it "
                    "still needs are not swept (declare a period to sweep them)"
                )
                continue
            column = entry.dates.get(retention.after)
            if retention.period is not None:
                if retention.period.approx_days() < MIN_PERIOD_DAYS:
                    self._too_short(entry, purpose, retention.period)
                    continue
                if column is None:
                    self._missing(entry, purpose, retention.after)
                    continue
                expiries.append(Expiry(purpose.id, retention.after, column, retention.period))
            if retention.statutory is not None:
                counted = entry.hold_from or entry.dates.get(RetentionEvent.COLLECTION) or column
                if counted is None:
                    self._missing(entry, purpose, retention.after)
                    continue
                keeps.append(_keep_of(retention.statutory, counted))
        if spec.hold is not None and held:
            keeps.append(
                Keep(law=spec.hold.rule, column=spec.hold.date_column, years=spec.hold.years)
            )
        ids = tuple(p.id for p in purposes)
        return Rule(
            id=f"{entry.key}:{'+'.join(ids)}{suffix}",
            store=entry.store,
            table=entry.table,
            purposes=ids,
            delete_rows=spec.delete_rows,
            fields=fields,
            expiries=tuple(expiries),
            keeps=tuple(dict.fromkeys(keeps)),
            note=note,
        )

    def _too_short(self, entry: TableMapping, purpose: Purpose, period: Period) -> None:
        self.problems.append(
            f"{entry.where}, table {entry.key}: the purpose {purpose.id!r} keeps its data "
            f"for {'P0D, zero' if period.is_zero else period.iso() + ', under a day'}, so a sweep "
            "would erase rows as soon as they are written; sweeps refuse periods under one "
            "day. Fix the period in the declaration (at least P1D), or map the table to "
            "purposes that keep it longer"
        )

    def _missing(self, entry: TableMapping, purpose: Purpose, event: RetentionEvent) -> None:
        self.problems.append(
            f"{entry.where}, table {entry.key}: the purpose {purpose.id!r} counts from the "
            f"event {event.value!r}, but no column dates it; add dates: "
            f"{{{event.value}: <column>}} to the table"
        )


def derive_rules(
    declaration: Declaration, mapping: RetentionMapping, datasets: Mapping[str, Dataset]
) -> tuple[Rule, ...]:
    """Every rule of the mapped tables (``datasets``: the SQL stores' datasets by store name).

    Problems (an unknown store, table or purpose, an event without a column) are
    collected and raised together as one ConfigurationError.
    """
    deriver = _Deriver(declaration, datasets)
    rules = [rule for entry in mapping.tables for rule in deriver.table(entry)]
    if deriver.problems:
        listing = "\n".join(f"- {p}" for p in deriver.problems)
        raise ConfigurationError(
            f"The retention mapping does not fit the declaration and the stores:\n{listing}",
            field="retention_mapping",
            problems=deriver.problems,
        )
    return tuple(rules)

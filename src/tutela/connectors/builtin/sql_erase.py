"""Erasure in a SQL store: a plan per table, checked before anything is written.

The plan picks, for every declared personal field, the first strategy its column
allows (``null`` only on nullable columns, ``mask`` only where the text fits and
the column is not unique, …). A field no strategy fits is *not handled*: it is
left alone and named in the report, which then cannot be ``done``. The caller runs
:class:`Erasure` inside one transaction, so any database error undoes all of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tutela.connectors.builtin.sql_schema import BoundSchema, BoundTable, date_value, year_of
from tutela.connectors.builtin.sql_walk import ConditionKey, pack, where_clause
from tutela.connectors.dataset import FieldSpec
from tutela.connectors.hold import Hold, hold_until, record_year, year_start
from tutela.connectors.report import Action, Outcome
from tutela.connectors.strategy import ErasureKey, Strategy, already_erased, refusal

__all__ = ["Erasure", "FieldPlan", "TablePlan", "coverage", "plan_store", "year_bound"]

_DONE_BY = {
    Strategy.NULL: Action.NULLED,
    Strategy.MASK: Action.MASKED,
    Strategy.HASH: Action.HASHED,
    Strategy.PSEUDONYM: Action.PSEUDONYMISED,
}


@dataclass(frozen=True, slots=True)
class FieldPlan:
    column: str
    strategy: Strategy | None
    """What rows that are not held get; None when no strategy fits (not handled)."""
    refusal: str | None
    reason: str | None
    held: bool
    mask: str


@dataclass(frozen=True, slots=True)
class TablePlan:
    bound: BoundTable
    fields: tuple[FieldPlan, ...]
    delete_rows: bool
    hold: Hold | None
    restriction: str | None


def _plan_field(bound: BoundTable, spec: FieldSpec, mask: str, keyed: bool) -> FieldPlan:
    text = spec.mask if spec.mask is not None else mask
    facts = bound.facts[spec.name]
    refusals: list[str] = []
    for strategy in spec.strategies:
        if strategy is Strategy.DELETE_ROW:
            continue
        why = refusal(strategy, facts, mask=text, keyed=keyed, reason=spec.reason)
        if (
            why is None
            and strategy in (Strategy.HASH, Strategy.PSEUDONYM)
            and not bound.primary_key
        ):
            why = "the table has no primary key to rewrite its rows one by one"
        if why is None:
            return FieldPlan(spec.name, strategy, None, spec.reason, spec.held, text)
        refusals.append(f"{strategy.value}: {why}")
    if refusals:
        why = "; ".join(refusals) + (
            " — choose a strategy the column allows, or erase: delete_row for the table"
        )
    else:
        why = "only delete_row is given, and this row is kept under a hold"
    return FieldPlan(spec.name, None, why, spec.reason, spec.held, text)


def plan_store(schema: BoundSchema, *, keyed: bool) -> dict[str, TablePlan]:
    """The erasure plan of every table (independent of any person)."""
    plans: dict[str, TablePlan] = {}
    for name, bound in schema.tables.items():
        spec = bound.spec
        fields = tuple(
            _plan_field(bound, field, schema.dataset.mask, keyed) for field in spec.personal_fields
        )
        plans[name] = TablePlan(bound, fields, spec.delete_rows, spec.hold, spec.restriction)
    return plans


def coverage(plans: Mapping[str, TablePlan], unreachable: Iterable[str]) -> list[Outcome]:
    """What an erasure would do to each personal field, before any person is named."""
    outcomes: list[Outcome] = []
    for name, plan in plans.items():
        if plan.delete_rows:
            outcomes.append(Outcome(table=name, action=Action.DELETED))
        for field in plan.fields:
            if plan.delete_rows and not (plan.hold and not field.held):
                continue
            if field.strategy is None:
                action, reason = Action.NOT_HANDLED, field.refusal
            elif field.strategy is Strategy.KEEP:
                action, reason = Action.KEPT, field.reason
            else:
                action, reason = _DONE_BY[field.strategy], None
            outcomes.append(
                Outcome(table=name, action=action, fields=(field.column,), reason=reason)
            )
        if plan.hold is not None:
            held = tuple(f.column for f in plan.fields if f.held)
            outcomes.append(
                Outcome(table=name, action=Action.HELD, fields=held, rule=plan.hold.rule)
            )
    for name in unreachable:
        outcomes.append(_unreachable(name))
    return outcomes


def _unreachable(name: str) -> Outcome:
    return Outcome(
        table=name,
        action=Action.NOT_HANDLED,
        reason="no identity field or reference reaches this table; link it in the dataset",
    )


class Erasure:
    """Erase one person's rows; run inside the store's single transaction."""

    def __init__(
        self,
        conn: Connection,
        schema: BoundSchema,
        plans: Mapping[str, TablePlan],
        conditions: Mapping[str, Mapping[ConditionKey, set[Any]]],
        *,
        today: dt.date,
        key: ErasureKey | None,
        person: bytes,
        chunk: int,
        batch: int,
    ) -> None:
        self.conn = conn
        self.schema = schema
        self.plans = plans
        self.conditions = conditions
        self.today = today
        self.key = key
        self.person = person
        self.chunk = chunk
        self.batch = batch
        self.step = ""
        self._deletes: list[tuple[str, sa.ColumnElement[bool]]] = []
        self._notes: dict[tuple[Any, ...], tuple[dict[str, None], int]] = {}

    def run(self) -> list[Outcome]:
        for name in self.schema.walk_order:
            if self.conditions.get(name):
                self._table(self.plans[name])
        for name in self.schema.delete_order:
            for table, where in self._deletes:
                if table == name:
                    self.step = f"deleting rows of {name}"
                    bound = self.plans[name].bound
                    deleted = self.conn.execute(sa.delete(bound.table).where(where)).rowcount
                    if deleted:
                        self._note(name, Action.DELETED, (), deleted)
        outcomes = [
            Outcome(
                table=key[0],
                action=key[1],
                fields=tuple(fields),
                rows=rows,
                until=key[2],
                rule=key[3],
                reason=key[4],
            )
            for key, (fields, rows) in self._notes.items()
        ]
        outcomes.extend(_unreachable(name) for name in self.schema.dataset.unreachable())
        return outcomes

    def _note(
        self,
        table: str,
        action: Action,
        fields: Iterable[str],
        rows: int,
        *,
        until: dt.date | None = None,
        rule: str | None = None,
        reason: str | None = None,
    ) -> None:
        key = (table, action, until, rule, reason)
        known, count = self._notes.get(key, ({}, 0))
        known.update(dict.fromkeys(fields))
        self._notes[key] = (known, count + rows)

    def _count(self, bound: BoundTable, where: sa.ColumnElement[bool]) -> int:
        statement = sa.select(sa.func.count()).select_from(bound.table).where(where)
        return int(self.conn.execute(statement).scalar_one())

    def _table(self, plan: TablePlan) -> None:
        bound = plan.bound
        for group in pack(self.conditions[bound.name], self.chunk):
            base = where_clause(bound, group)
            free = base
            if plan.hold is not None:
                date = bound.column(plan.hold.date_column)
                oldest = year_bound(date, plan.hold.oldest_held(self.today).year)
                free = sa.and_(base, date < oldest)
                self._held(plan, sa.and_(base, date >= oldest), plan.hold)
                self._undated(plan, sa.and_(base, date.is_(None)), plan.hold)
            if plan.delete_rows:
                self._deletes.append((bound.name, free))
            else:
                self._apply(plan, free, plan.fields)

    def _apply(
        self, plan: TablePlan, where: sa.ColumnElement[bool], fields: Iterable[FieldPlan]
    ) -> None:
        bound = plan.bound
        chosen = list(fields)
        if not chosen:
            return
        rows = self._count(bound, where)
        if not rows:
            return
        bulk: dict[str, Any] = {}
        rewrite: list[FieldPlan] = []
        done: dict[tuple[Action, str | None], list[str]] = {}
        for field in chosen:
            if field.strategy is None:
                done.setdefault((Action.NOT_HANDLED, field.refusal), []).append(field.column)
            elif field.strategy is Strategy.KEEP:
                done.setdefault((Action.KEPT, field.reason), []).append(field.column)
            else:
                done.setdefault((_DONE_BY[field.strategy], None), []).append(field.column)
                if field.strategy in (Strategy.NULL, Strategy.MASK):
                    bulk[field.column] = None if field.strategy is Strategy.NULL else field.mask
                else:
                    rewrite.append(field)
        for (action, reason), columns in done.items():
            self._note(bound.name, action, columns, rows, reason=reason)
        if bulk:
            self.step = f"erasing {bound.name}"
            self.conn.execute(sa.update(bound.table).where(where).values(bulk))
        if rewrite:
            self._rewrite(bound, where, rewrite)

    def _rewrite(
        self, bound: BoundTable, where: sa.ColumnElement[bool], fields: list[FieldPlan]
    ) -> None:
        """Hash or pseudonymise row by row, in key order, one page at a time."""
        self.step = f"rewriting {bound.name}"
        key_columns = [bound.column(name) for name in bound.primary_key]
        value_columns = [bound.column(field.column) for field in fields]
        update = (
            sa.update(bound.table)
            .where(*(column == sa.bindparam(f"k{i}") for i, column in enumerate(key_columns)))
            .values({field.column: sa.bindparam(f"v{i}") for i, field in enumerate(fields)})
        )
        last: tuple[Any, ...] | None = None
        while True:
            page = sa.select(*key_columns, *value_columns).where(where)
            if last is not None:
                page = page.where(_after(key_columns, last))
            rows = self.conn.execute(page.order_by(*key_columns).limit(self.batch)).all()
            if not rows:
                return
            params: list[dict[str, Any]] = []
            for row in rows:
                keys = row[: len(key_columns)]
                values = row[len(key_columns) :]
                new = [self._rewritten(f, v) for f, v in zip(fields, values, strict=True)]
                if new != list(values):
                    entry = {f"k{i}": value for i, value in enumerate(keys)}
                    entry.update({f"v{i}": value for i, value in enumerate(new)})
                    params.append(entry)
            if params:
                self.conn.execute(update, params)
            last = tuple(rows[-1][: len(key_columns)])

    def _rewritten(self, field: FieldPlan, value: Any) -> Any:
        strategy = field.strategy or Strategy.KEEP
        if self.key is None or already_erased(strategy, value, mask=field.mask):
            return value
        if strategy is Strategy.HASH:
            return self.key.hash(value)
        return self.key.pseudonym(value, person=self.person)

    def _held(self, plan: TablePlan, where: sa.ColumnElement[bool], hold: Hold) -> None:
        bound = plan.bound
        self._apply(plan, where, [f for f in plan.fields if not f.held])
        date = bound.column(hold.date_column)
        low, high = self.conn.execute(
            sa.select(sa.func.min(date), sa.func.max(date)).where(where)
        ).one()
        first, last = _year_of(low), _year_of(high)
        if first is None or last is None:
            return
        kept = tuple(f.column for f in plan.fields if f.held)
        total = 0
        # a text timestamp of 31 December counts to the next year (see year_bound)
        for year in range(first, min(last + 1, dt.date.max.year) + 1):
            in_year = sa.and_(where, date >= year_bound(date, year))
            if year < dt.date.max.year:
                in_year = sa.and_(in_year, date < year_bound(date, year + 1))
            rows = self._count(bound, in_year)
            if not rows:
                continue
            total += rows
            until = hold_until(dt.date(year, 1, 1), hold.years)
            self._note(bound.name, Action.HELD, kept, rows, until=until, rule=hold.rule)
            if plan.restriction is not None:
                self.step = f"restricting held rows of {bound.name}"
                mark(self.conn, bound, plan.restriction, in_year, until)
        if total and plan.restriction is None:
            self._note(
                bound.name,
                Action.NOT_HANDLED,
                (),
                total,
                reason="held rows cannot be marked restricted: the table has no restriction "
                "column; add one to the dataset (restriction:) so the rows are kept out of use",
            )

    def _undated(self, plan: TablePlan, where: sa.ColumnElement[bool], hold: Hold) -> None:
        rows = self._count(plan.bound, where)
        if rows:
            self._note(
                plan.bound.name,
                Action.NOT_HANDLED,
                (f.column for f in plan.fields),
                rows,
                reason=f"{hold.date_column} is empty, so the hold cannot be computed; fill in "
                "the date or erase these rows by hand",
            )


def year_bound(column: sa.Column[Any], year: int) -> Any:
    """Where ``year`` of the controller's calendar begins, in the column's own type.

    A record belongs to ``year`` or later exactly when its value is ``>=`` the bound.
    Timestamps: the instant 1 January begins in German time (UTC for a column
    without a zone, whose values are read as UTC); dates: 1 January as it is. Text
    cannot be compared across zones in SQL, so a text timestamp written on
    31 December counts to the next year (kept up to a year longer, never shorter);
    a bare text date ``YYYY-12-31`` stays in its year.
    """
    kind = column.type
    if isinstance(kind, sa.DateTime):
        moment = year_start(year)
        return moment if kind.timezone else moment.replace(tzinfo=None)
    if isinstance(kind, sa.Date):
        return dt.date(max(year, 1), 1, 1)
    return f"{year - 1:04d}-12-31 " if year > 1 else ""


def _year_of(value: Any) -> int | None:
    return record_year(value) if isinstance(value, dt.date) else year_of(value)


def _after(columns: list[sa.Column[Any]], last: tuple[Any, ...]) -> sa.ColumnElement[bool]:
    if len(columns) == 1:
        first: sa.ColumnElement[bool] = columns[0] > last[0]
        return first
    bounds = (
        sa.bindparam(None, value, type_=c.type) for c, value in zip(columns, last, strict=True)
    )
    return sa.tuple_(*columns) > sa.tuple_(*bounds)


def mark(
    conn: Connection,
    bound: BoundTable,
    column_name: str,
    where: sa.ColumnElement[bool],
    until: dt.date,
) -> int:
    """Set the restriction marker to ``until`` where it is empty or earlier; rows changed."""
    column = bound.column(column_name)
    value = date_value(column, until)
    earlier = column.is_(False) if isinstance(column.type, sa.Boolean) else column < value
    condition = sa.or_(column.is_(None), earlier)
    statement = sa.update(bound.table).where(where, condition).values({column_name: value})
    return int(conn.execute(statement).rowcount)

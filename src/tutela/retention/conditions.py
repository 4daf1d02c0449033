"""One rule as SQL: which rows have expired, which a hold keeps, which go.

Every comparison is built from reflected columns with bound values, in the
column's own type (date, timestamp with or without zone, ISO text). Cutoffs are
computed from the run's ``as_of`` in German time, so a period of months ends on
the same calendar day as in law, and a resumed run uses the same cutoffs as the
run it continues.

A row *expired* when, for every expiry of the rule, its event date plus the period
is not after ``as_of`` (an empty date: the event has not happened, so not expired).
It is *kept* by a statutory hold while its date lies in a held year (an empty date
counts as held: fail safe), by a legal hold when a hold names it, and *referenced*
while a row of another table still refers to it (delete rules only). The rest is
the rule's *target*; update rules also leave out rows already erased (NULL, the
mask, or the form a keyed hash or pseudonym takes: :mod:`~tutela.retention.patterns`).

A date kept as text compares as text, which is right for ISO 8601 only:
:func:`check_text_dates` counts the other values before a rule runs and stops the
rule when there are any. A legal hold that cannot be applied stops the rule too:
a sweep never guesses which rows a hold keeps.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tutela.calendar import GERMAN_TIME, german_date
from tutela.connectors.builtin.sql_erase import FieldPlan, TablePlan, year_bound
from tutela.connectors.builtin.sql_schema import BoundTable, coerce
from tutela.connectors.hold import oldest_held_start
from tutela.connectors.strategy import Strategy
from tutela.errors import ConfigurationError
from tutela.policy.duration import Period
from tutela.retention.holds import HeldRows, unfit_values
from tutela.retention.patterns import HASHED, ISO_DATE, PSEUDONYMISED, is_text
from tutela.retention.rules import Keep, Rule
from tutela.retention.stores import BoundStore

__all__ = [
    "RuleSql",
    "check_text_dates",
    "kept_by",
    "moment_before",
    "rule_sql",
    "value_for",
]

Condition = sa.ColumnElement[bool]


def moment_before(as_of: dt.datetime, period: Period) -> dt.datetime:
    """``as_of`` minus ``period`` on the German calendar, in UTC.

    The inverse of :meth:`Period.add_to`: days and weeks first, then months and years
    (a month end that does not exist falls back to the month's last day), so a record
    dated on or before the result plus the period is not after ``as_of``.
    """
    local = as_of.astimezone(GERMAN_TIME) - dt.timedelta(
        weeks=period.weeks, days=period.days, hours=period.hours, minutes=period.minutes
    )
    index = local.month - 1 - period.months - 12 * period.years
    year, month = local.year + index // 12, index % 12 + 1
    day = min(local.day, _cal.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(dt.UTC)


def value_for(column: sa.Column[Any], moment: dt.datetime) -> Any:
    """``moment`` in the column's type: aware or naive UTC timestamp, German date, ISO text."""
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return moment if kind.timezone else moment.replace(tzinfo=None)
    if isinstance(kind, sa.Date):
        return german_date(moment)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True, slots=True)
class RuleSql:
    rule: Rule
    bound: BoundTable
    plan: TablePlan
    expired: Condition
    undated: Condition
    kept_statutory: Condition
    kept_legal: Condition
    referenced: Condition
    pending: Condition
    updates: dict[str, Any]
    rewrites: tuple[FieldPlan, ...]
    unhandled: tuple[FieldPlan, ...]
    keeps: tuple[tuple[Keep, sa.Column[Any]], ...]
    """Each statutory hold with the column it counts from."""
    walk: tuple[sa.Column[Any], ...]
    """The order chunks follow: the primary key."""
    notes: tuple[str, ...] = field(default=())

    @property
    def target(self) -> Condition:
        return sa.and_(
            self.expired,
            sa.not_(self.kept_statutory),
            sa.not_(self.kept_legal),
            sa.not_(self.referenced),
            self.pending,
        )

    @property
    def changes_nothing(self) -> bool:
        return not self.rule.delete_rows and not self.updates and not self.rewrites


def _any(parts: list[Condition]) -> Condition:
    return sa.or_(*parts) if parts else sa.false()


def _all(parts: list[Condition]) -> Condition:
    return sa.and_(*parts) if parts else sa.true()


def kept_by(keep: Keep, column: sa.Column[Any], as_of: dt.datetime) -> Condition:
    """Rows ``keep`` holds on ``as_of`` (an empty date counts as held)."""
    if keep.years is not None:
        oldest = oldest_held_start(german_date(as_of), keep.years)
        held: Condition = column >= year_bound(column, oldest.year)
    else:
        period = keep.period or Period(days=0)
        held = column > value_for(column, moment_before(as_of, period))
    return sa.or_(column.is_(None), held)


def _legal(bound: BoundTable, held: HeldRows, store: str) -> Condition:
    parts: list[Condition] = []
    for (name, casefold), values in held.people.items():
        column = bound.column(name)
        target: sa.ColumnElement[Any] = sa.func.lower(column) if casefold else column
        parts.append(sa.and_(column.is_not(None), target.in_(sorted(values, key=repr))))
    for hold in held.records:
        name = hold.column_name or ""
        place = f"{store}.{bound.name}.{name}"
        if name not in bound.table.c:
            raise ConfigurationError(
                f"The legal hold {hold.id} names {place}, which the table does not have, so "
                "the rows it keeps cannot be found and the rule does not run; release it "
                "and place it on an existing column.",
                field="hold",
            )
        column = bound.column(name)
        unfit = unfit_values(column, value=hold.value, low=hold.low, high=hold.high)
        if unfit:
            raise ConfigurationError(
                f"The legal hold {hold.id} on {place}: {unfit}, so the rows it keeps cannot "
                "be told apart and the rule does not run; release it (tutela retention hold "
                "release) and place it again with a value the column holds.",
                field="hold",
            )
        if hold.value is not None:
            parts.append(sa.and_(column.is_not(None), column == coerce(column, hold.value)))
            continue
        limits: list[Condition] = [column.is_not(None)]
        if hold.low is not None:
            limits.append(column >= coerce(column, hold.low))
        if hold.high is not None:
            limits.append(column <= coerce(column, hold.high))
        parts.append(sa.and_(*limits))
    return _any(parts)


def _referenced(store: BoundStore, bound: BoundTable) -> Condition:
    parts: list[Condition] = []
    for child in store.children.get(bound.name, ()):
        links = [
            child.table.c[c] == bound.column(p)
            for c, p in zip(child.columns, child.parent_columns, strict=True)
        ]
        parts.append(sa.exists(sa.select(sa.literal(1)).select_from(child.table).where(*links)))
    return _any(parts)


def _pending(
    bound: BoundTable, updates: dict[str, Any], rewrites: tuple[FieldPlan, ...], dialect: str
) -> Condition:
    parts: list[Condition] = []
    for name, value in updates.items():
        column = bound.column(name)
        parts.append(
            column.is_not(None) if value is None else sa.and_(column.is_not(None), column != value)
        )
    for field_plan in rewrites:
        column = bound.column(field_plan.column)
        done = HASHED if field_plan.strategy is Strategy.HASH else PSEUDONYMISED
        parts.append(done.misses(column, dialect))
    return _any(parts)


def check_text_dates(conn: Connection, sql: RuleSql) -> None:
    """Stop the rule (ConfigurationError) when a text column it dates rows by holds non-ISO text.

    One count per text date column (expiries and statutory holds); columns of a date
    or timestamp type need none.
    """
    rule, bound = sql.rule, sql.bound
    dialect = conn.dialect.name
    names = [*(e.column for e in rule.expiries), *(k.column for k in rule.keeps)]
    problems: list[str] = []
    for name in dict.fromkeys(names):
        column = bound.column(name)
        if not is_text(column):
            continue
        statement = sa.select(sa.func.count()).select_from(bound.table)
        wrong = int(conn.execute(statement.where(ISO_DATE.misses(column, dialect))).scalar_one())
        if wrong:
            problems.append(
                f"{rule.key}.{name} is a text column and {wrong} of its values are not ISO "
                "8601 dates (YYYY-MM-DD, a time may follow); text dates compare as text, so "
                "such values would be read as other dates and the rule does not run. "
                "Rewrite them as YYYY-MM-DD or YYYY-MM-DD HH:MM:SS (or make the column a "
                "date or timestamp), or date the rows by another column in retention.yaml"
            )
    if problems:
        raise ConfigurationError("; ".join(problems), field="retention_mapping")


def rule_sql(rule: Rule, store: BoundStore, *, as_of: dt.datetime, held: HeldRows) -> RuleSql:
    """The rule's conditions on ``store`` at ``as_of``, with the legal holds ``held``."""
    bound = store.table(rule.table)
    plan = store.plans[rule.table]
    expired: list[Condition] = []
    undated: list[Condition] = []
    for expiry in rule.expiries:
        column = bound.column(expiry.column)
        expired.append(column <= value_for(column, moment_before(as_of, expiry.period)))
        undated.append(column.is_(None))
    kept = [kept_by(keep, bound.column(keep.column), as_of) for keep in rule.keeps]
    legal = _legal(bound, held, rule.store)
    updates: dict[str, Any] = {}
    rewrites: list[FieldPlan] = []
    unhandled: list[FieldPlan] = []
    if not rule.delete_rows:
        for field_plan in plan.fields:
            if field_plan.column not in rule.fields or field_plan.strategy is Strategy.KEEP:
                continue
            if field_plan.strategy is None:
                unhandled.append(field_plan)
            elif field_plan.strategy in (Strategy.NULL, Strategy.MASK):
                is_null = field_plan.strategy is Strategy.NULL
                updates[field_plan.column] = None if is_null else field_plan.mask
            else:
                rewrites.append(field_plan)
    keeps = tuple((keep, bound.column(keep.column)) for keep in rule.keeps)
    dialect = store.engine.dialect.name
    walk = tuple(bound.column(name) for name in bound.primary_key)
    return RuleSql(
        rule=rule,
        bound=bound,
        plan=plan,
        expired=_all(expired),
        undated=_any(undated),
        kept_statutory=_any(kept),
        kept_legal=legal,
        referenced=_referenced(store, bound) if rule.delete_rows else sa.false(),
        pending=(
            sa.true() if rule.delete_rows else _pending(bound, updates, tuple(rewrites), dialect)
        ),
        updates=updates,
        rewrites=tuple(rewrites),
        unhandled=tuple(unhandled),
        keeps=keeps,
        walk=walk,
    )

"""The dry run: per store, table and rule, how many rows would go and what keeps the rest.

Each count is a plain ``count(*)`` with the rule's conditions (an index on the date
column answers most of them); counts of holds that do not apply are skipped. A plan
changes nothing.

A rule that would erase every row of a table that has rows, or at least
:data:`BULK_SHARE` of its rows when that is more than :data:`BULK_ROWS` rows, is
flagged: a sweep refuses it unless its ``store.table`` is confirmed. A text column
dating the rows that holds other than ISO 8601 dates makes the rule's plan an error
(:func:`~tutela.retention.conditions.check_text_dates`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from tutela.calendar import german_date
from tutela.clock import Clock
from tutela.connectors.builtin.sql_errors import described
from tutela.connectors.builtin.sql_schema import year_of
from tutela.connectors.hold import hold_until, record_day
from tutela.errors import TutelaError
from tutela.retention.conditions import RuleSql, check_text_dates
from tutela.retention.context import SweepContext, declaration_in_effect
from tutela.retention.rules import Keep, Rule
from tutela.storage.engine import READ_ONLY

__all__ = [
    "BULK_ROWS",
    "BULK_SHARE",
    "Counts",
    "Plan",
    "PlannedRule",
    "count_rule",
    "count_target",
    "plan",
]

BULK_SHARE = 0.9
"""A sweep that would erase this share of a table's rows (or more) needs confirmation …"""
BULK_ROWS = 1000
"""… when that is more than this many rows (every row of a table always needs it)."""


@dataclass(frozen=True, slots=True)
class Counts:
    total: int
    expired: int
    undated: int
    held_statutory: int
    held_legal: int
    referenced: int
    would_go: int
    held_until: dt.date | None

    @property
    def everything(self) -> bool:
        """The rule would erase every row of a table that has rows."""
        return self.total > 0 and self.would_go == self.total

    @property
    def almost_everything(self) -> bool:
        """At least 90 % of the table's rows, and more than 1,000 of them, would go."""
        return self.would_go > BULK_ROWS and self.would_go >= BULK_SHARE * self.total

    @property
    def needs_confirmation(self) -> bool:
        """A sweep refuses the rule unless its ``store.table`` is confirmed."""
        return self.everything or self.almost_everything

    def refusal(self, key: str) -> str:
        """Why a sweep refuses the rule on ``key`` (``store.table``) and what to do."""
        if self.everything:
            what = f"every row of {key} ({self.total})"
        else:
            share = 100 * self.would_go // self.total
            what = (
                f"{self.would_go} of the {self.total} rows of {key} ({share} %) in one "
                f"sweep — at least {BULK_SHARE * 100:.0f} % and more than {BULK_ROWS:,} rows"
            )
        return (
            f"the rule would erase {what}; if that is right, sweep with "
            f"--confirm-everything {key}, else check the period in the declaration and "
            "the dates in the retention mapping"
        )


@dataclass(frozen=True, slots=True)
class PlannedRule:
    rule: Rule
    action: str
    counts: Counts | None
    notes: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    as_of: dt.datetime
    policy_version: int
    rules: tuple[PlannedRule, ...]


def _until(keep: Keep, latest: Any) -> dt.date | None:
    if latest is None:
        return None
    if keep.years is not None:
        if isinstance(latest, dt.date):
            return hold_until(latest, keep.years)
        year = year_of(latest)
        return None if year is None else hold_until(dt.date(year, 1, 1), keep.years)
    day = record_day(latest) if isinstance(latest, dt.date) else None
    if day is None or keep.period is None:
        return None
    return keep.period.add_to(day)


def _count(conn: Connection, sql: RuleSql, *where: sa.ColumnElement[bool]) -> int:
    statement = sa.select(sa.func.count()).select_from(sql.bound.table)
    return int(conn.execute(statement.where(*where)).scalar_one())


def _false(condition: sa.ColumnElement[bool]) -> bool:
    return isinstance(condition, sa.sql.elements.False_)


def count_rule(conn: Connection, sql: RuleSql) -> Counts:
    """Every count of the rule; conditions that cannot hold are not counted.

    The table's rows, the expired and the undated ones are counted in one pass
    (``count(*) FILTER (WHERE …)``); holds and references, where they apply, with one
    ``count(*) … WHERE`` each.
    """
    rule = sql.rule
    if rule.expiries:
        one_pass = sa.select(
            sa.func.count(),
            sa.func.count().filter(sql.expired),
            sa.func.count().filter(sql.undated),
        ).select_from(sql.bound.table)
        total, expired, undated = (int(v) for v in conn.execute(one_pass).one())
    else:
        total = _count(conn, sql)
        expired, undated = total, 0
    free = sa.and_(sql.expired, sa.not_(sql.kept_statutory))
    unheld = sa.and_(free, sa.not_(sql.kept_legal))
    statutory = _count(conn, sql, sql.expired, sql.kept_statutory) if rule.keeps else 0
    legal = 0 if _false(sql.kept_legal) else _count(conn, sql, free, sql.kept_legal)
    referenced = 0 if _false(sql.referenced) else _count(conn, sql, unheld, sql.referenced)
    plain = rule.delete_rows and not rule.keeps and not legal and not referenced
    would_go = expired if plain else _count(conn, sql, sql.target)
    held_until: dt.date | None = None
    if statutory:
        for keep in rule.keeps:
            column = sql.bound.column(keep.column)
            latest = conn.execute(
                sa.select(sa.func.max(column)).where(sql.expired, sql.kept_statutory)
            ).scalar()
            until = _until(keep, latest)
            if until is not None and (held_until is None or until > held_until):
                held_until = until
    return Counts(
        total=total,
        expired=expired,
        undated=undated,
        held_statutory=statutory,
        held_legal=legal,
        referenced=referenced,
        would_go=would_go,
        held_until=held_until,
    )


def count_target(conn: Connection, sql: RuleSql) -> int:
    """Rows the rule would still erase (one indexed count, not a pass over the table)."""
    statement = sa.select(sa.func.count()).select_from(sql.bound.table).where(sql.target)
    return int(conn.execute(statement).scalar_one())


def _action(sql: RuleSql | None, rule: Rule) -> str:
    if sql is None or rule.delete_rows:
        return rule.action_text()
    done = [*sql.updates, *(f.column for f in sql.rewrites)]
    return "erase " + ", ".join(done) if done else "nothing"


def plan_rule(
    session: Session, context: SweepContext, rule: Rule, *, as_of: dt.datetime
) -> PlannedRule:
    """Counts for one rule, or the reason it cannot be counted."""
    if not rule.sweeps:
        return PlannedRule(rule, rule.action_text(), None, notes=(rule.note or "",))
    try:
        sql = context.sql(session, rule, as_of=as_of, day=german_date(as_of))
        with context.bound(rule.store).engine.connect() as conn:
            conn.execution_options(**{READ_ONLY: True})
            check_text_dates(conn, sql)
            counts = count_rule(conn, sql)
    except TutelaError as error:
        return PlannedRule(rule, rule.action_text(), None, error=error.detail)
    except sa.exc.SQLAlchemyError as error:
        text = f"counting the rows of {rule.key} failed: {described(error)}"
        return PlannedRule(rule, rule.action_text(), None, error=text)
    notes = list(sql.notes)
    if sql.unhandled:
        names = ", ".join(f.column for f in sql.unhandled)
        notes.append(f"no erasure strategy fits {names}; these fields stay (see the dataset)")
    return PlannedRule(rule, _action(sql, rule), counts, notes=tuple(notes))


def plan(session: Session, *, context: SweepContext, clock: Clock) -> Plan:
    """The dry run of every rule as of now, with the declaration version in effect."""
    as_of = clock.now()
    version, _declaration = declaration_in_effect(session, on=german_date(as_of))
    rules = context.rules(session, version=version)
    planned = tuple(plan_rule(session, context, rule, as_of=as_of) for rule in rules)
    return Plan(as_of=as_of, policy_version=version, rules=planned)

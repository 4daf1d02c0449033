"""What a plan or a sweep works with: the stores, the mapping, the rules and the holds.

A :class:`SweepContext` lives for one command or one job: it binds each store once
(reflection), derives the rules of a declaration version once, and resolves the
legal holds once per store and day. Close it to release the store connections.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from tutela.crypto import MasterKey
from tutela.errors import ConfigurationError, TutelaError
from tutela.policy.models import Declaration
from tutela.policy.versions import current_version, get_version
from tutela.retention.conditions import RuleSql, rule_sql
from tutela.retention.holds import HeldRows, active_holds, resolve_holds
from tutela.retention.mapping import RetentionMapping
from tutela.retention.rules import Rule, derive_rules
from tutela.retention.stores import BoundStore, SweepStore, bind_store, column_problems

__all__ = ["SweepContext", "declaration_in_effect"]


def declaration_in_effect(session: Session, *, on: dt.date) -> tuple[int, Declaration]:
    """The number and declaration of the version in effect on ``on``."""
    version = current_version(session, on=on)
    if version is None:
        raise ConfigurationError(
            "No version of the declaration is in effect, so there are no retention periods "
            "to apply; publish one with `tutela policy publish`.",
            field="declaration",
        )
    return version.number, version.declaration()


class SweepContext:
    """Stores, mapping and master key, with what is derived from them cached."""

    def __init__(
        self, *, stores: Sequence[SweepStore], mapping: RetentionMapping, master: MasterKey
    ) -> None:
        self.stores = tuple(stores)
        self.mapping = mapping
        self.master = master
        self._bound: dict[str, BoundStore] = {}
        self._rules: dict[int, tuple[Rule, ...]] = {}
        self._held: dict[tuple[str, dt.date], dict[str, HeldRows]] = {}

    def store(self, name: str) -> SweepStore:
        for store in self.stores:
            if store.name == name:
                return store
        raise ConfigurationError(f"No SQL store {name!r} is connected.", field="stores_file")

    def bound(self, name: str) -> BoundStore:
        """The store bound to its schema (StoreUnavailable when it cannot be reached)."""
        found = self._bound.get(name)
        if found is None:
            found = self._bound[name] = bind_store(self.store(name))
        return found

    def rules(self, session: Session, *, version: int) -> tuple[Rule, ...]:
        """The rules of a declaration version, ordered store by store, children first."""
        found = self._rules.get(version)
        if found is None:
            declaration = get_version(session, version).declaration()
            datasets = {store.name: store.dataset for store in self.stores}
            derived = derive_rules(declaration, self.mapping, datasets)
            found = self._rules[version] = self._ordered(derived)
        return found

    def _ordered(self, rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
        stores = [store.name for store in self.stores]

        def position(rule: Rule) -> tuple[int, int]:
            order = self._table_order(rule.store)
            table = order.index(rule.table) if rule.table in order else len(order)
            return stores.index(rule.store), table

        return tuple(sorted(rules, key=position))

    def _table_order(self, store: str) -> tuple[str, ...]:
        try:
            return self.bound(store).order
        except (TutelaError, SQLAlchemyError):  # a store that is down: the mapping's order
            return ()

    def sql(self, session: Session, rule: Rule, *, as_of: dt.datetime, day: dt.date) -> RuleSql:
        """The rule as SQL; ConfigurationError for columns the mapping names wrongly."""
        bound = self.bound(rule.store)
        problems = column_problems(rule, bound)
        if problems:
            raise ConfigurationError("; ".join(problems), field="retention_mapping")
        held = self.held(session, store=rule.store, day=day)
        return rule_sql(rule, bound, as_of=as_of, held=held[rule.table])

    def held(self, session: Session, *, store: str, day: dt.date) -> dict[str, HeldRows]:
        """What the legal holds in force on ``day`` keep in the mapped tables of ``store``.

        Resolved once per store and day; a hold that cannot be resolved raises
        (ConfigurationError) every time it is asked, so each rule of the store fails.
        """
        found = self._held.get((store, day))
        if found is None:
            bound = self.bound(store)
            tables = [
                entry.table
                for entry in self.mapping.for_store(store)
                if entry.table in bound.schema.tables
            ]
            found = resolve_holds(
                session,
                holds=active_holds(session, on=day),
                store=bound,
                tables=tables,
                master=self.master,
            )
            self._held[(store, day)] = found
        return found

    def close(self) -> None:
        for bound in self._bound.values():
            bound.close()
        self._bound.clear()

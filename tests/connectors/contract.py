"""The contract every connector passes, as a base class of tests.

Subclass :class:`ConnectorContract` in a test module and provide these fixtures:

``connector``        the connector, on a store holding at least two people
``person``/``other`` IdentitySets of two different people with data in the store
``expected``         ``expected(identities) -> {(table, key)}``: the rows that belong to a
                     person, found independently of the connector
``state``            ``state() -> {(table, key): {field: value}}``: every row's declared
                     personal fields, read independently of the connector
``marks``            ``marks() -> {(table, key): marker}``: restriction markers of every row
``record_key``       ``record_key(table, row) -> key`` for rows the connector returns
``rectify_change``   ``(field reference, new value)`` to rectify for ``person``
``failing``          a context manager that makes the store fail in the middle of a write
``down_connector``   the same kind of connector on a store that is down
``today``            the date erasures count holds from
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from contextlib import AbstractContextManager
from typing import Any

import pytest

from tutela.connectors import (
    Action,
    Connector,
    IdentitySet,
    Status,
    StoreReport,
    StoreUnavailable,
)

Key = tuple[str, Hashable]
State = dict[Key, dict[str, Any]]
Expected = Callable[[IdentitySet], set[Key]]


def _accessed(connector: Connector, identities: IdentitySet, record_key: Any) -> set[Key]:
    with connector.access(identities) as result:
        found = {(record.table, record_key(record.table, record.row)) for record in result}
        report = result.report()
    assert report.status is Status.DONE, report.summary()
    return found


def _kept_fields(report: StoreReport) -> dict[str, set[str]]:
    kept: dict[str, set[str]] = {}
    for outcome in report.outcomes:
        if outcome.action in (Action.KEPT, Action.HELD):
            kept.setdefault(outcome.table, set()).update(outcome.fields)
    return kept


class ConnectorContract:
    """Behaviour every connector must show; see the module docstring for the fixtures."""

    def test_access_finds_everything_reachable_and_nothing_else(
        self,
        connector: Connector,
        person: IdentitySet,
        other: IdentitySet,
        expected: Expected,
        record_key: Any,
    ) -> None:
        mine = _accessed(connector, person, record_key)
        theirs = _accessed(connector, other, record_key)
        assert mine == expected(person)
        assert theirs == expected(other)
        assert mine, "the person under test must have data in the store"

    def test_access_of_an_unknown_person_finds_nothing(
        self, connector: Connector, record_key: Any
    ) -> None:
        nobody = IdentitySet.of(email="nobody-at-all@example.net", customer_id="987654321")
        assert _accessed(connector, nobody, record_key) == set()

    def test_erase_leaves_no_declared_personal_field_with_its_value(
        self,
        connector: Connector,
        person: IdentitySet,
        other: IdentitySet,
        expected: Expected,
        state: Callable[[], State],
        today: dt.date,
    ) -> None:
        before = state()
        mine, theirs = expected(person), expected(other)
        report = connector.erase(person, today=today)
        assert report.status is Status.DONE, report.summary()
        after = state()
        kept = _kept_fields(report)
        for key in mine & before.keys():
            if key not in after:
                continue  # the row was deleted
            table = key[0]
            for field, value in before[key].items():
                if value is None or field in kept.get(table, set()):
                    continue
                assert after[key][field] != value, f"{key} {field} still holds its value"
        for key in theirs:
            assert after.get(key) == before.get(key), f"{key} of the other person changed"
        untouched = before.keys() - mine
        assert {k: after.get(k) for k in untouched} == {k: before[k] for k in untouched}

    def test_erase_is_idempotent(
        self,
        connector: Connector,
        person: IdentitySet,
        state: Callable[[], State],
        today: dt.date,
    ) -> None:
        first = connector.erase(person, today=today)
        once = state()
        second = connector.erase(person, today=today)
        assert second.status is first.status is Status.DONE, second.summary()
        assert state() == once

    def test_a_store_failing_mid_way_rolls_back_and_reports_failed(
        self,
        connector: Connector,
        person: IdentitySet,
        state: Callable[[], State],
        failing: Callable[[], AbstractContextManager[None]],
        today: dt.date,
    ) -> None:
        before = state()
        with failing():
            report = connector.erase(person, today=today)
        assert report.status is Status.FAILED
        assert report.error
        assert state() == before
        assert connector.erase(person, today=today).status is Status.DONE

    def test_rectify_changes_only_the_named_field(
        self,
        connector: Connector,
        person: IdentitySet,
        expected: Expected,
        state: Callable[[], State],
        rectify_change: tuple[str, Any],
    ) -> None:
        reference, value = rectify_change
        table, _, field = reference.partition(".")
        before = state()
        report = connector.rectify(person, {reference: value})
        assert report.status is Status.DONE, report.summary()
        after = state()
        changed = {
            (key, name)
            for key in before
            for name in before[key]
            if after.get(key, {}).get(name) != before[key][name]
        }
        targets = {key for key in expected(person) if key[0] == table}
        assert targets, "the person must have a row in the rectified table"
        assert changed == {(key, field) for key in targets if before[key][field] != value}
        assert all(after[key][field] == value for key in targets)

    def test_restrict_marks_the_persons_rows_only(
        self,
        connector: Connector,
        person: IdentitySet,
        other: IdentitySet,
        expected: Expected,
        marks: Callable[[], dict[Key, Any]],
    ) -> None:
        until = dt.date(2031, 6, 30)
        report = connector.restrict(person, until=until)
        assert report.status is Status.DONE, report.summary()
        assert any(o.action is Action.RESTRICTED and o.until == until for o in report.outcomes)
        now = marks()
        marked = {key for key, value in now.items() if value is not None}
        assert marked
        assert marked <= expected(person)
        assert not marked & expected(other)

    def test_check_raises_when_the_store_is_down(
        self, down_connector: Connector, person: IdentitySet, today: dt.date
    ) -> None:
        with pytest.raises(StoreUnavailable):
            down_connector.check()
        with pytest.raises(StoreUnavailable):
            down_connector.access(person)
        report = down_connector.erase(person, today=today)
        assert report.status is Status.FAILED
        assert report.retryable
        assert report.error

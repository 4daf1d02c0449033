"""Holds count from the end of the controller's calendar year, not the UTC one (law.md §2.4).

A record made at 00:30 on 1 January in Berlin is 23:30 UTC on 31 December: it
belongs to the new year, so its hold ends a year later than the UTC date says.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from tests.connectors.builtin.sql_support import read_marks, read_state
from tutela.connectors import Action, IdentitySet
from tutela.connectors.builtin.sql import SqlConnector
from tutela.connectors.builtin.sql_erase import year_bound
from tutela.connectors.dataset import parse_dataset
from tutela.connectors.hold import record_year
from tutela.crypto import MasterKey

pytestmark = pytest.mark.promise("P17")

BERLIN = ZoneInfo("Europe/Berlin")
ANNA = IdentitySet.of(email="anna@example.com")
TODAY = dt.date(2031, 1, 15)  # six-year holds of 2024 have ended, those of 2025 have not
DATASET = """\
name: year
tables:
  people:
    fields:
      id: {category: user.unique_id, strategy: keep, reason: the number links the orders}
      email: {category: user.contact.email, identity: email, strategy: keep, reason: test}
  orders:
    restriction: blocked_until
    hold: {rule: "§ 147 AO (business letters)", years: 6, from: placed_at}
    fields:
      person_id: {category: user.unique_id, found_by: people.id}
      name: {category: user.name, strategy: "null"}
"""
# Local time in Berlin of each order: 23:30 on New Year's Eve, half an hour into the
# new year, the last minute of 2025, and 2026 to the second.
PLACED = {
    1: dt.datetime(2024, 12, 31, 23, 30, tzinfo=BERLIN),
    2: dt.datetime(2025, 1, 1, 0, 30, tzinfo=BERLIN),
    3: dt.datetime(2025, 12, 31, 23, 59, tzinfo=BERLIN),
    4: dt.datetime(2026, 1, 1, 0, 0, tzinfo=BERLIN),
}


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


STORED: dict[str, tuple[sa.types.TypeEngine[Any], Any]] = {
    # a timestamp without a zone holds UTC
    "timestamp": (sa.DateTime(), lambda m: _utc(m).replace(tzinfo=None)),
    "timestamp with zone": (sa.DateTime(timezone=True), _utc),
    # a date is the controller's date, taken as it is
    "date": (sa.Date(), lambda m: m.date()),
}


def _build(url: str, kind: sa.types.TypeEngine[Any], values: dict[int, Any]) -> None:
    meta = sa.MetaData()
    people = sa.Table(
        "people",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("email", sa.String(100), nullable=False),
    )
    orders = sa.Table(
        "orders",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id"), nullable=False),
        sa.Column("placed_at", kind),
        sa.Column("name", sa.String(100)),
        sa.Column("blocked_until", sa.Date),
    )
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            meta.create_all(conn)
            conn.execute(people.insert(), [{"id": 1, "email": "anna@example.com"}])
            conn.execute(
                orders.insert(),
                [
                    {"id": key, "person_id": 1, "placed_at": value, "name": "Anna"}
                    for key, value in values.items()
                ],
            )
    finally:
        engine.dispose()


@pytest.fixture
def erase(store_url: str) -> Iterator[Any]:
    connectors: list[SqlConnector] = []

    def run(kind: sa.types.TypeEngine[Any], values: dict[int, Any]) -> Any:
        _build(store_url, kind, values)
        connector = SqlConnector(
            name="year",
            url=store_url,
            dataset=parse_dataset(DATASET, source="year.yaml"),
            master_key=MasterKey(bytes(32)),
        )
        connectors.append(connector)
        report = connector.erase(ANNA, today=TODAY)
        state = read_state(store_url, connector.dataset)
        marks = read_marks(store_url, connector.dataset)
        names = {key[0]: row["name"] for (table, key), row in state.items() if table == "orders"}
        until = {key[0]: mark for (table, key), mark in marks.items() if table == "orders"}
        return report, names, until

    yield run
    for connector in connectors:
        connector.close()


@pytest.mark.parametrize("stored", sorted(STORED))
def test_a_record_of_new_year_in_berlin_is_held_a_year_longer(erase: Any, stored: str) -> None:
    kind, convert = STORED[stored]
    report, names, until = erase(kind, {key: convert(m) for key, m in PLACED.items()})
    # 2024 in Berlin: six years ended on 31 December 2030, so it is erased now
    assert names[1] is None
    assert until[1] is None
    # 2025 in Berlin — even the order that is still 2024 in UTC — is kept until 2031
    assert names[2] == names[3] == names[4] == "Anna"
    assert until[2] == until[3] == dt.date(2031, 12, 31)
    assert until[4] == dt.date(2032, 12, 31)
    held = {(o.until, o.rows) for o in report.outcomes if o.action is Action.HELD}
    assert held == {(dt.date(2031, 12, 31), 2), (dt.date(2032, 12, 31), 1)}
    assert report.held_until == dt.date(2032, 12, 31)


def test_text_timestamps_of_new_years_eve_count_to_the_next_year(erase: Any) -> None:
    """Text cannot be compared across zones in SQL: 31 December is kept longer, never shorter."""
    values = {
        1: "2024-12-30 23:30:00",  # 31 Dec 00:30 in Berlin: 2024 whatever the zone
        2: "2024-12-31 22:30:00",  # 23:30 in Berlin, still 2024: held a year longer
        3: "2024-12-31T23:30:00Z",  # 00:30 on 1 January in Berlin: 2025
        4: "2024-12-31",  # a date is taken as it is: 2024
        5: "2025-12-31 23:00:00",  # 2026 in Berlin
    }
    report, names, until = erase(sa.String(32), values)
    assert names[1] is None
    assert names[4] is None
    assert names[2] == names[3] == names[5] == "Anna"
    assert until[2] == until[3] == dt.date(2031, 12, 31)
    assert until[5] == dt.date(2032, 12, 31)
    held = {(o.until, o.rows) for o in report.outcomes if o.action is Action.HELD}
    assert held == {(dt.date(2031, 12, 31), 2), (dt.date(2032, 12, 31), 1)}


near_new_year = st.builds(
    lambda year, minutes: dt.datetime(year, 1, 1, tzinfo=BERLIN) + dt.timedelta(minutes=minutes),
    st.integers(min_value=1950, max_value=2150),
    st.integers(min_value=-30 * 60, max_value=30 * 60),
)
TEXT_FORMS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M"]


@given(moment=near_new_year, shift=st.integers(min_value=-1, max_value=1))
def test_timestamp_bounds_split_exactly_at_midnight_in_berlin(
    moment: dt.datetime, shift: int
) -> None:
    year = moment.astimezone(BERLIN).year + shift
    naive = sa.Column("at", sa.DateTime())
    aware = sa.Column("at", sa.DateTime(timezone=True))
    later = record_year(moment) >= year
    assert (_utc(moment).replace(tzinfo=None) >= year_bound(naive, year)) == later
    assert (moment >= year_bound(aware, year)) == later
    day = sa.Column("on", sa.Date())
    assert (moment.astimezone(BERLIN).date() >= year_bound(day, year)) == later


@given(
    moment=near_new_year,
    shift=st.integers(min_value=-1, max_value=1),
    form=st.sampled_from(TEXT_FORMS),
)
def test_text_bounds_never_put_a_record_in_an_earlier_year(
    moment: dt.datetime, shift: int, form: str
) -> None:
    year = moment.astimezone(BERLIN).year + shift
    text = sa.Column("at", sa.String(32))
    shown = _utc(moment).strftime(form)
    if record_year(moment) >= year:  # held as long as the year demands, or longer
        assert shown >= year_bound(text, year)
    if _utc(moment).date() < dt.date(year - 1, 12, 31):  # and no longer than one day needs
        assert shown < year_bound(text, year)
    bare = moment.astimezone(BERLIN).date()
    assert (bare.isoformat() >= year_bound(text, year)) == (bare.year >= year)

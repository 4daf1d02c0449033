"""Erasure in SQL stores: fail closed, holds, one transaction, other people untouched."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests.connectors.builtin.sql_support import read_marks, read_state
from tutela.connectors import Action, IdentitySet, Status
from tutela.connectors.builtin.sql import SqlConnector
from tutela.connectors.dataset import Dataset, parse_dataset
from tutela.crypto import MasterKey
from tutela.errors import ConfigurationError, InvalidInput

pytestmark = pytest.mark.promise("P17")

TODAY = dt.date(2026, 1, 15)
ANNA = IdentitySet.of(email="anna@example.com")
BEN = IdentitySet.of(email="ben@example.com")


def _schema() -> sa.MetaData:
    meta = sa.MetaData()
    sa.Table(
        "people",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("email", sa.String(100), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(30)),
        sa.Column("nickname", sa.String(4)),
        sa.Column("address_id", sa.Integer),
        sa.Column("blocked_until", sa.Date),
    )
    sa.Table(
        "addresses",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("street", sa.String(100)),
    )
    sa.Table(
        "invoices",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id"), nullable=False),
        sa.Column("issued_on", sa.Date),
        sa.Column("billing_name", sa.String(100), nullable=False),
        sa.Column("note", sa.String(200)),
        sa.Column("blocked_until", sa.Date),
    )
    sa.Table(
        "sessions",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id"), nullable=False),
        sa.Column("ip", sa.String(45)),
    )
    return meta


ROWS: dict[str, list[dict[str, Any]]] = {
    "addresses": [{"id": 1, "street": "Shared Street 1"}, {"id": 2, "street": "Own Road 2"}],
    "people": [
        {
            "id": 1,
            "email": "anna@example.com",
            "name": "Anna",
            "phone": "+4930111",
            "nickname": "an",
            "address_id": 1,
            "blocked_until": None,
        },
        {
            "id": 2,
            "email": "ben@example.com",
            "name": "Ben",
            "phone": "+4930222",
            "nickname": "be",
            "address_id": 1,
            "blocked_until": None,
        },
        {
            "id": 3,
            "email": "cleo@example.com",
            "name": "Cleo",
            "phone": None,
            "nickname": None,
            "address_id": 2,
            "blocked_until": None,
        },
    ],
    "invoices": [
        {
            "id": 10,
            "person_id": 1,
            "issued_on": dt.date(2017, 5, 1),
            "billing_name": "Anna",
            "note": "old",
            "blocked_until": None,
        },
        {
            "id": 11,
            "person_id": 1,
            "issued_on": dt.date(2018, 2, 1),
            "billing_name": "Anna",
            "note": "mid",
            "blocked_until": None,
        },
        {
            "id": 12,
            "person_id": 1,
            "issued_on": dt.date(2025, 3, 10),
            "billing_name": "Anna",
            "note": "new",
            "blocked_until": None,
        },
        {
            "id": 13,
            "person_id": 1,
            "issued_on": None,
            "billing_name": "Anna",
            "note": "undated",
            "blocked_until": None,
        },
        {
            "id": 20,
            "person_id": 2,
            "issued_on": dt.date(2017, 5, 1),
            "billing_name": "Ben",
            "note": "old",
            "blocked_until": None,
        },
    ],
    "sessions": [
        {"id": 1, "person_id": 1, "ip": "203.0.113.1"},
        {"id": 2, "person_id": 2, "ip": "203.0.113.2"},
    ],
}

DATASET = """\
name: lab
tables:
  people:
    restriction: blocked_until
    fields:
      id: {category: user.unique_id, strategy: keep, reason: the number links the invoices}
      email: {category: user.contact.email, identity: email, strategy: pseudonym}
      name: {category: user.name, strategy: mask}
      phone: {category: user.contact.phone_number, identity: phone, strategy: "null"}
      nickname: {category: user.name}
      address_id: {category: system.operations, leads_to: addresses.id}
  addresses:
    fields:
      street: {category: user.contact.address.street, strategy: "null"}
  invoices:
    restriction: blocked_until
    hold: {rule: "§ 147 AO (invoices)", years: 8, from: issued_on}
    fields:
      person_id: {category: user.unique_id, found_by: people.id}
      billing_name: {category: user.name, strategy: pseudonym}
      note: {category: user.content, strategy: "null", held: false}
  sessions:
    erase: delete_row
    fields:
      person_id: {category: user.unique_id, found_by: people.id}
      ip: {category: user.device.ip_address}
"""


@pytest.fixture
def url(store_url: str) -> str:
    engine = sa.create_engine(store_url)
    meta = _schema()
    with engine.begin() as conn:
        meta.create_all(conn)
        for table in meta.sorted_tables:
            conn.execute(table.insert(), ROWS[table.name])
    engine.dispose()
    return store_url


def _connector(url: str, text: str = DATASET, key: MasterKey | None = None) -> SqlConnector:
    return SqlConnector(
        name="lab",
        url=url,
        dataset=parse_dataset(text, source="lab.yaml"),
        master_key=key or MasterKey(bytes(32)),
    )


@pytest.fixture
def lab(url: str) -> Iterator[SqlConnector]:
    connector = _connector(url)
    yield connector
    connector.close()


def _outcomes(report: Any, action: Action) -> list[Any]:
    return [o for o in report.outcomes if o.action is action]


def test_holds_keep_and_restrict_the_held_rows_until_the_end_of_the_year(
    lab: SqlConnector, url: str
) -> None:
    report = lab.erase(ANNA, today=TODAY)
    state = read_state(url, lab.dataset)
    marks = read_marks(url, lab.dataset)
    # 2017 invoice: 8 years ended 2025-12-31, so it is erased now
    assert state[("invoices", (10,))]["billing_name"].startswith("erased-")
    assert marks[("invoices", (10,))] is None
    # 2018 and 2025 invoices are kept as they are and restricted until their hold ends
    assert state[("invoices", (11,))]["billing_name"] == "Anna"
    assert marks[("invoices", (11,))] == dt.date(2026, 12, 31)
    assert marks[("invoices", (12,))] == dt.date(2033, 12, 31)
    # a field outside the hold is erased even in held rows
    assert state[("invoices", (11,))]["note"] is None
    held = {(o.until, o.rows, o.rule) for o in _outcomes(report, Action.HELD)}
    assert held == {
        (dt.date(2026, 12, 31), 1, "§ 147 AO (invoices)"),
        (dt.date(2033, 12, 31), 1, "§ 147 AO (invoices)"),
    }
    assert report.held_until == dt.date(2033, 12, 31)
    # Ben's expired invoice is untouched
    assert state[("invoices", (20,))] == {"person_id": 2, "billing_name": "Ben", "note": "old"}


def test_unfit_fields_are_named_up_front_and_the_rest_is_still_erased(
    lab: SqlConnector, url: str
) -> None:
    report = lab.erase(ANNA, today=TODAY)
    assert report.status is Status.PARTIAL
    unhandled = {(o.table, o.fields): o.reason for o in report.unhandled}
    # nickname: mask "[erased]" is longer than VARCHAR(4), so it falls back to NULL — handled
    assert not any("nickname" in fields for _, fields in unhandled)
    # the undated invoice cannot be judged, the shared address must not be changed
    assert any("issued_on is empty" in str(r) for (t, _), r in unhandled.items() if t == "invoices")
    assert any(t == "addresses" and "other people" in str(r) for (t, _), r in unhandled.items())
    state = read_state(url, lab.dataset)
    anna = state[("people", (1,))]
    assert anna["email"].startswith("erased-")
    assert anna["name"] == "[erased]"
    assert anna["phone"] is None
    assert anna["nickname"] is None
    assert state[("addresses", (1,))] == {"street": "Shared Street 1"}
    assert ("sessions", (1,)) not in state
    assert state[("sessions", (2,))] == {"person_id": 2, "ip": "203.0.113.2"}


def test_a_not_null_column_with_null_is_refused_before_anything_is_written(url: str) -> None:
    text = DATASET.replace(
        "name: {category: user.name, strategy: mask}",
        'name: {category: user.name, strategy: "null"}',
    )
    connector = _connector(url, text)
    try:
        report = connector.erase(BEN, today=TODAY)
    finally:
        connector.close()
    assert report.status is Status.PARTIAL
    (refused,) = [o for o in report.unhandled if o.table == "people"]
    assert refused.fields == ("name",)
    assert refused.reason is not None
    assert "NOT NULL" in refused.reason
    coverage = {(o.table, o.fields): o for o in connector.coverage()}
    assert coverage[("people", ("name",))].action is Action.NOT_HANDLED
    ben = read_state(url, connector.dataset)[("people", (2,))]
    assert ben["name"] == "Ben"
    assert ben["email"].startswith("erased-")


def test_without_a_master_key_keyed_strategies_are_not_handled(url: str) -> None:
    connector = SqlConnector(name="lab", url=url, dataset=parse_dataset(DATASET))
    report = connector.erase(BEN, today=TODAY)
    connector.close()
    reasons = [o.reason or "" for o in report.unhandled]
    assert any("no master key" in r for r in reasons)
    assert read_state(url, connector.dataset)[("people", (2,))]["email"] == "ben@example.com"


def test_a_database_error_rolls_back_the_whole_store(url: str) -> None:
    text = DATASET.replace(
        "  people:\n    restriction", "  people:\n    erase: delete_row\n    restriction"
    )
    connector = _connector(url, text)
    before = read_state(url, connector.dataset)
    # deleting Ben's person row fails: his invoice (not held, so erased in place) still
    # points at it; everything done before in this store must be undone
    report = connector.erase(BEN, today=TODAY)
    connector.close()
    assert report.status is Status.FAILED
    assert report.error is not None
    assert "deleting rows of people failed, nothing was changed" in report.error
    assert not report.retryable
    assert read_state(url, connector.dataset) == before


def test_restrict_marks_and_names_tables_without_a_marker(lab: SqlConnector, url: str) -> None:
    report = lab.restrict(ANNA, until=dt.date(2027, 3, 1))
    assert report.status is Status.PARTIAL
    assert {o.table for o in report.unhandled} == {"sessions", "addresses"}
    marks = read_marks(url, lab.dataset)
    assert marks[("people", (1,))] == dt.date(2027, 3, 1)
    assert marks[("invoices", (12,))] == dt.date(2027, 3, 1)
    assert marks[("people", (2,))] is None
    # a later hold is never shortened by a restriction
    lab.erase(ANNA, today=TODAY)
    lab.restrict(ANNA, until=dt.date(2027, 3, 1))
    assert read_marks(url, lab.dataset)[("invoices", (12,))] == dt.date(2033, 12, 31)


def test_rectify_by_field_or_category_and_refuse_unknown_fields(
    lab: SqlConnector, url: str
) -> None:
    report = lab.rectify(ANNA, {"user.contact.phone_number": "+4930999"})
    assert report.status is Status.DONE
    assert read_state(url, lab.dataset)[("people", (1,))]["phone"] == "+4930999"
    with pytest.raises(InvalidInput, match="neither a field"):
        lab.rectify(ANNA, {"people.shoe_size": 42})
    with pytest.raises(InvalidInput, match="No change"):
        lab.rectify(ANNA, {})
    by_phone = lab.rectify(IdentitySet.of(phone="+49 30 999"), {"people.name": "Anna B."})
    assert by_phone.rows == {"people": 1, "invoices": 4, "sessions": 1, "addresses": 1}
    assert read_state(url, lab.dataset)[("people", (1,))]["name"] == "Anna B."


def test_a_dataset_that_does_not_fit_the_database_is_named(url: str) -> None:
    text = DATASET.replace("      ip: {", "      ipaddr: {") + "  ghosts:\n    fields: {}\n"
    connector = _connector(url, text)
    with pytest.raises(ConfigurationError) as caught:
        connector.check()
    message = caught.value.detail
    assert "lab.yaml line" in message
    assert "no table 'ghosts'" in message
    report = connector.erase(ANNA, today=TODAY)
    assert report.status is Status.FAILED
    assert not report.retryable
    fixed = _connector(url, DATASET.replace("      ip: {", "      ipaddr: {"))
    with pytest.raises(ConfigurationError, match="table 'sessions' has no column 'ipaddr'"):
        fixed.check()


def test_an_unreachable_table_keeps_erasure_and_access_partial(url: str) -> None:
    text = DATASET.replace(
        "      address_id: {category: system.operations, leads_to: addresses.id}\n", ""
    )
    dataset: Dataset = parse_dataset(text)
    assert dataset.unreachable() == ("addresses",)
    connector = SqlConnector(name="lab", url=url, dataset=dataset, master_key=MasterKey(bytes(32)))
    try:
        report = connector.erase(BEN, today=TODAY)
        assert any(
            o.table == "addresses" and "reaches" in (o.reason or "") for o in report.unhandled
        )
        with connector.access(BEN) as result:
            list(result)
            assert result.report().status is Status.PARTIAL
    finally:
        connector.close()


def test_rows_are_deleted_children_first(url: str) -> None:
    text = DATASET.replace(
        "  people:\n    restriction", "  people:\n    erase: delete_row\n    restriction"
    )
    text = text.replace(
        '    hold: {rule: "§ 147 AO (invoices)", years: 8, from: issued_on}\n',
        "    erase: delete_row\n",
    )
    connector = _connector(url, text)
    report = connector.erase(BEN, today=TODAY)
    connector.close()
    assert report.status is Status.PARTIAL, report.summary()  # only the shared address is left
    deleted = {o.table: o.rows for o in _outcomes(report, Action.DELETED)}
    assert deleted == {"people": 1, "invoices": 1, "sessions": 1}
    state = read_state(url, connector.dataset)
    assert ("people", (2,)) not in state
    assert ("people", (1,)) in state

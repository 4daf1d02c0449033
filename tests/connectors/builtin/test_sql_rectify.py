"""Rectification in SQL stores: what a request may never set, and errors that repeat no value."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.connectors.builtin.sql_support import read_state
from tutela.connectors import IdentitySet, Status
from tutela.connectors.builtin.sql import SqlConnector
from tutela.connectors.dataset import load_dataset, parse_dataset
from tutela.connectors.sample import customer_email, example_path
from tutela.crypto import MasterKey
from tutela.errors import InvalidInput

ANNA = IdentitySet.of(email="anna@example.com")
VALUE = "Groesse-42-anna.privat"
"""A new value the database rejects; no error text may repeat it."""

DATASET = """\
name: club
tables:
  members:
    primary_key: id
    fields:
      id: {category: user.unique_id, identity: member_no, strategy: keep, reason: the key}
      email: {category: user.contact.email, identity: email, strategy: pseudonym}
      name: {category: user.name, strategy: mask}
      nickname: {category: user.name}
      shoe_size: {category: user.characteristic}
"""


def _text(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.Text(), "sqlite")  # a STRICT table knows TEXT


def _club(url: str) -> None:
    meta = sa.MetaData()
    sa.Table(
        "members",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("email", _text(100), nullable=False),
        sa.Column("name", _text(100), nullable=False),
        sa.Column("nickname", _text(4), sa.CheckConstraint("length(nickname) <= 4")),
        sa.Column("shoe_size", sa.Integer),
        sqlite_strict=True,  # SQLite refuses text in an INTEGER column, as PostgreSQL does
    )
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        meta.create_all(conn)
        conn.execute(
            meta.tables["members"].insert(),
            [{"id": 1, "email": "anna@example.com", "name": "Anna", "nickname": "an"}],
        )
    engine.dispose()


@pytest.fixture
def club(store_url: str) -> Iterator[SqlConnector]:
    _club(store_url)
    connector = SqlConnector(
        name="club", url=store_url, dataset=parse_dataset(DATASET, source="club.yaml")
    )
    yield connector
    connector.close()


@pytest.fixture
def shop(shop_url: str, master_key: MasterKey) -> Iterator[SqlConnector]:
    connector = SqlConnector(
        name="shop",
        url=shop_url,
        dataset=load_dataset(example_path("shop.dataset.yaml")),
        master_key=master_key,
    )
    yield connector
    connector.close()


def test_a_value_the_database_rejects_is_not_repeated_in_the_report(
    club: SqlConnector, backend: str
) -> None:
    report = club.rectify(ANNA, {"members.shoe_size": VALUE})
    assert report.status is Status.FAILED
    assert not report.retryable
    error = report.error or ""
    assert VALUE not in error
    assert error.startswith("rectifying members failed, nothing was changed: ")
    if backend == "postgresql":  # invalid input syntax for type integer: "<value>"
        assert "InvalidTextRepresentation (SQLSTATE 22P02: a value does not fit" in error
    else:  # SQLITE_CONSTRAINT_DATATYPE, a code newer than Python's table of names
        assert "IntegrityError (SQLite code 3091: a constraint of the database" in error
    assert "invalid input" not in error
    assert "cannot store" not in error


def test_a_refused_change_names_the_class_and_code_but_not_the_database_text(
    club: SqlConnector, backend: str
) -> None:
    report = club.rectify(ANNA, {"members.nickname": "Anni-B"})
    assert report.status is Status.FAILED
    error = report.error or ""
    code = "SQLSTATE 22001" if backend == "postgresql" else "SQLITE_CONSTRAINT_CHECK"
    assert code in error
    assert "Anni-B" not in error
    assert "constraint failed" not in error  # SQLite's text
    assert "character varying" not in error  # PostgreSQL's text
    assert read_state(club._url, club.dataset)[("members", (1,))]["nickname"] == "an"


def test_a_store_that_is_down_says_so_without_the_drivers_text(down_url: str) -> None:
    connector = SqlConnector(
        name="club", url=down_url, dataset=parse_dataset(DATASET, source="club.yaml")
    )
    report = connector.rectify(ANNA, {"members.name": "Anna B."})
    assert report.status is Status.FAILED
    assert report.retryable
    error = report.error or ""
    assert "cannot be reached: " in error
    assert "OperationalError (the database could not be reached" in error or (
        "StorageUnavailable (the database or the folder of its file" in error  # SQLite
    )
    assert "Connection refused" not in error  # psycopg: "… port 1234 failed: Connection refused"
    assert "does not exist" not in error  # the missing folder's path


@pytest.mark.parametrize(
    ("reference", "why"),
    [
        ("logins.password_hash", "kept out of access copies (a credential"),
        ("logins.mfa_secret", "kept out of access copies (a credential"),
        ("user.authorization.password", "kept out of access copies (a credential"),
        ("payment_cards.psp_token", "kept out of access copies (declared secret"),
        ("invoices.vat_id", "kept out of access copies (a government"),
        ("customers.id", "identifies the person's records (identity customer_id)"),
        ("orders.customer_id", "links records to each other"),
        ("user.unique_id", "identity customer_id"),
    ],
)
def test_secrets_and_keys_are_never_set(
    shop: SqlConnector, shop_url: str, reference: str, why: str
) -> None:
    person = IdentitySet.of(email=customer_email(1))
    before = read_state(shop_url, shop.dataset)
    with pytest.raises(InvalidInput) as caught:
        shop.rectify(person, {reference: "0000-attacker"})
    assert why in caught.value.detail
    assert "never sets" in caught.value.detail
    assert "0000-attacker" not in caught.value.detail
    assert caught.value.extra["field"] == reference
    assert read_state(shop_url, shop.dataset) == before


def test_contact_fields_may_be_set_and_unknown_categories_are_refused(
    shop: SqlConnector, shop_url: str
) -> None:
    person = IdentitySet.of(email=customer_email(2))
    report = shop.rectify(person, {"customers.phone": "+49 30 5550002"})
    assert report.status is Status.DONE
    assert read_state(shop_url, shop.dataset)[("customers", (2,))]["phone"] == "+49 30 5550002"
    with pytest.raises(InvalidInput, match="neither a field"):  # nothing set, nothing claimed
        shop.rectify(person, {"user.contact.pager": "12345"})


BIRTHDAYS = """\
name: birthdays
tables:
  people:
    primary_key: id
    fields:
      id: {category: user.unique_id, strategy: keep, reason: the key}
      email: {category: user.contact.email, identity: email, strategy: pseudonym}
      name: {category: user.name, strategy: mask}
      birthday: {category: user.demographic.date_of_birth}
"""


@pytest.fixture
def birthdays(store_url: str) -> Iterator[SqlConnector]:
    meta = sa.MetaData()
    people = sa.Table(
        "people",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("email", sa.String(100), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("birthday", sa.Date),
    )
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        meta.create_all(conn)
        conn.execute(people.insert(), [{"id": 1, "email": "anna@example.com", "name": "Anna"}])
    engine.dispose()
    dataset = parse_dataset(BIRTHDAYS, source="birthdays.yaml")
    connector = SqlConnector(name="birthdays", url=store_url, dataset=dataset)
    yield connector
    connector.close()


def test_a_date_column_takes_an_iso_date_on_both_databases(
    birthdays: SqlConnector, store_url: str
) -> None:
    report = birthdays.rectify(ANNA, {"people.birthday": " 1990-02-03 ", "people.name": "Anna B."})
    assert report.status is Status.DONE
    row = read_state(store_url, birthdays.dataset)[("people", (1,))]
    assert str(row["birthday"])[:10] == "1990-02-03"
    assert row["name"] == "Anna B."


def test_a_value_that_is_no_date_is_refused_by_name_and_the_rest_is_set(
    birthdays: SqlConnector, store_url: str
) -> None:
    report = birthdays.rectify(ANNA, {"people.birthday": "03.02.1990", "people.name": "Anna C."})
    assert report.status is Status.PARTIAL
    refused = [o for o in report.outcomes if o.action.value == "not_handled"]
    assert [(o.fields, o.reason) for o in refused] == [
        (("birthday",), "the new value is not a date such as 2026-03-31")
    ]
    assert "03.02.1990" not in repr(report)
    row = read_state(store_url, birthdays.dataset)[("people", (1,))]
    assert row["birthday"] is None
    assert row["name"] == "Anna C."

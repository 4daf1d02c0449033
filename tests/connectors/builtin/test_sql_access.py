"""Access through the SQL connector: complete, streamed, and without secrets or PANs."""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tutela.connectors import IdentitySet, Status, StoreError, StoreUnavailable, create
from tutela.connectors.builtin.sql import SqlConnector
from tutela.connectors.cards import is_pan
from tutela.connectors.dataset import load_dataset, parse_dataset
from tutela.connectors.sample import REFERENCE_DAY, customer_email, customer_phone, example_path
from tutela.crypto import MasterKey

pytestmark = pytest.mark.promise("P03")

_DIGIT_RUNS = re.compile(r"[0-9][0-9 -]{11,}[0-9]")


def _all_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def test_the_copy_withholds_secrets_and_shows_cards_as_brand_and_last_four(
    shop_url: str, master_key: MasterKey
) -> None:
    shop = create(
        "sql",
        {
            "name": "shop",
            "url": shop_url,
            "dataset": str(example_path("shop.dataset.yaml")),
            "master_key": master_key,
        },
    )
    people = [IdentitySet.of(customer_id=str(i)) for i in range(1, 17)]
    columns: dict[str, set[str]] = {}
    withheld: set[tuple[str, str, bool]] = set()
    for person in people:
        with shop.access(person) as result:
            for table, row in result:
                columns.setdefault(table, set()).update(row)
                for value in row.values():
                    for run in _DIGIT_RUNS.findall(_all_text(value)):
                        assert not is_pan(run), f"{table} holds a full card number"
            report = result.report()
            assert report.status is Status.DONE
            withheld.update((w.table, w.field, w.masked) for w in result.withheld)
    shop.close()
    assert "password_hash" not in columns["logins"]
    assert "mfa_secret" not in columns["logins"]
    assert "psp_token" not in columns["payment_cards"]
    assert "test_pan" in columns["payment_cards"]
    assert {
        ("logins", "password_hash", False),
        ("logins", "mfa_secret", False),
        ("payment_cards", "psp_token", False),
        ("payment_cards", "test_pan", True),
        ("support_tickets", "body", True),
    } <= withheld


def test_every_identity_kind_finds_the_customer(shop_url: str) -> None:
    shop = SqlConnector(
        name="shop", url=shop_url, dataset=load_dataset(example_path("shop.dataset.yaml"))
    )
    found = []
    for identities in (
        IdentitySet.of(email=customer_email(4).upper()),
        IdentitySet.of(customer_id="4"),
        IdentitySet.of(phone=customer_phone(4)),
    ):
        with shop.access(identities) as result:
            found.append({(t, r["id"]) for t, r in result if t == "customers"})
    shop.close()
    assert found == [{("customers", 4)}] * 3


def test_records_stream_once_and_can_stop_early(shop_url: str) -> None:
    shop = SqlConnector(
        name="shop", url=shop_url, dataset=load_dataset(example_path("shop.dataset.yaml"))
    )
    result = shop.access(IdentitySet.of(email=customer_email(1)))
    first = next(iter(result))
    assert first.table == "customers"
    with pytest.raises(RuntimeError, match="streams once"):
        iter(result)
    result.close()
    assert result.report().task is not None  # not read to the end: not complete
    shop.close()


def test_a_store_that_is_down_or_unreadable_raises_store_unavailable(
    down_url: str, tmp_path: Path
) -> None:
    dataset = load_dataset(example_path("shop.dataset.yaml"))
    for url in (down_url, f"sqlite:///{tmp_path}"):
        connector = SqlConnector(name="shop", url=url, dataset=dataset)
        with pytest.raises(StoreUnavailable, match="cannot be reached") as caught:
            connector.check()
        assert "retried" in caught.value.detail


def test_memory_stays_bounded_for_a_person_with_many_rows(store_url: str) -> None:
    meta = sa.MetaData()
    people = sa.Table(
        "people",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(100)),
    )
    events = sa.Table(
        "events",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("person_id", sa.Integer, index=True),
        sa.Column("page", sa.String(200)),
    )
    engine = sa.create_engine(store_url)
    rows = 60_000
    with engine.begin() as conn:
        meta.create_all(conn)
        conn.execute(people.insert(), [{"id": 1, "email": "many@example.com"}])
        page = "/catalogue/" + "x" * 150
        for start in range(0, rows, 10_000):
            conn.execute(
                events.insert(),
                [{"id": i, "person_id": 1, "page": page} for i in range(start, start + 10_000)],
            )
    engine.dispose()
    dataset = parse_dataset(
        "name: web\ntables:\n  people:\n    fields:\n"
        "      email: {category: user.contact.email, identity: email}\n"
        "  events:\n    fields:\n"
        "      person_id: {category: user.unique_id, found_by: people.id}\n"
        "      page: {category: user.behavior.browsing_history}\n"
    )
    connector = SqlConnector(name="web", url=store_url, dataset=dataset, batch_size=500)
    connector.check()
    tracemalloc.start()
    try:
        count = 0
        with connector.access(IdentitySet.of(email="many@example.com")) as result:
            for _ in result:
                count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        connector.close()
    assert count == rows + 1
    # all rows at once would take well over 20 MB here; a streamed batch a few hundred KB
    assert peak < 8_000_000, f"peak {peak / 1e6:.1f} MB"


@pytest.mark.promise("P16")
def test_identities_that_name_two_people_are_refused(shop_url: str, master_key: MasterKey) -> None:
    """A phone number shared by two customers must not gather both people's data."""
    engine = sa.create_engine(shop_url)
    with engine.begin() as conn:
        phone = conn.execute(
            sa.text("SELECT phone FROM customers WHERE phone IS NOT NULL ORDER BY id LIMIT 1")
        ).scalar_one()
        conn.execute(
            sa.text(
                "UPDATE customers SET phone = :phone WHERE id = (SELECT MAX(id) FROM customers)"
            ),
            {"phone": phone},
        )
    engine.dispose()
    shop = create(
        "sql",
        {
            "name": "shop",
            "url": shop_url,
            "dataset": str(example_path("shop.dataset.yaml")),
            "master_key": master_key,
        },
    )
    try:
        for ambiguous in (
            IdentitySet.of(phone=phone),
            IdentitySet.of(email=customer_email(1), customer_id="2"),
        ):
            with (
                pytest.raises(StoreError, match="more than one record"),
                shop.access(ambiguous) as found,
            ):
                list(found)
        with pytest.raises(StoreError, match="more than one record"):
            shop.erase(IdentitySet.of(phone=phone), today=REFERENCE_DAY)
        with shop.access(IdentitySet.of(email=customer_email(1))) as found:
            assert sum(1 for record in found if record.table == "customers") == 1
    finally:
        shop.close()

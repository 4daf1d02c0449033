"""The sample shop: deterministic, on both engines, mapped by both example datasets."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from tutela.connectors.sample import SHOP_TABLES, build_shop, customer_email
from tutela.errors import Conflict


def _dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    try:
        with engine.connect() as conn:
            meta.reflect(conn)
            return {
                name: [
                    tuple(r)
                    for r in conn.execute(
                        sa.select(meta.tables[name]).order_by(meta.tables[name].c.id)
                    )
                ]
                for name in SHOP_TABLES
            }
    finally:
        engine.dispose()


def test_the_shop_is_the_same_on_every_engine_and_run(
    shop_url: str, backend: str, tmp_path: Any
) -> None:
    again = f"sqlite:///{tmp_path / 'again.db'}"
    build_shop(again, customers=16)
    assert _dump(shop_url) == _dump(again)


def test_the_shop_has_what_the_demo_needs(shop_url: str) -> None:
    data = _dump(shop_url)
    assert len(data["customers"]) == 16
    assert data["customers"][0][1] == customer_email(1)
    assert all(len(data[name]) > 0 for name in SHOP_TABLES)
    issued = [row[4] for row in data["invoices"]]
    assert min(issued) < dt.date(2018, 1, 1) <= max(issued)  # some held, some not
    tickets = data["support_tickets"]
    assert any(row[1] is None for row in tickets)  # found only by email
    assert any("4111 1111 1111 1111" in row[4] for row in tickets)
    assert any(row[7] is not None for row in data["payment_cards"])  # test card numbers


def test_the_shop_goes_only_into_an_empty_database(shop_url: str) -> None:
    with pytest.raises(Conflict, match="already has the table"):
        build_shop(shop_url, customers=1)
    with pytest.raises(ValueError, match="at least one customer"):
        build_shop(shop_url, customers=0)

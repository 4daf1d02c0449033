"""A small store shaped like Fides' own sample database, mapped in Fides dataset YAML.

The schema, rows and dataset text are written for these tests; only the format
follows Fides (collections, data_categories, fides_meta with identity, primary_key
and references with a direction).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tutela.connectors.identities import IdentitySet

FIDES_DATASET = (Path(__file__).parent / "lab_store.fides.yml").read_text(encoding="utf-8")

# Tutela's additions: the restriction markers the Fides format has no place for.
FIDES_OVERRIDES = """\
tables:
  address: {restriction: restricted_until}
  customer: {restriction: restricted_until}
  employee: {restriction: restricted_until}
  login: {restriction: restricted_until}
  orders: {restriction: restricted_until}
  payment_card: {restriction: restricted_until}
  report: {restriction: restricted_until}
  service_request: {restriction: restricted_until}
  visit: {restriction: restricted_until}
"""

ADA = IdentitySet.of(email="ada@example.com")
ALAN = IdentitySet.of(email="alan@example.com")


def _metadata() -> sa.MetaData:
    meta = sa.MetaData()

    def marker() -> sa.Column[dt.date]:
        return sa.Column("restricted_until", sa.Date)

    sa.Table(
        "address",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("house", sa.Integer),
        sa.Column("street", sa.String(100)),
        sa.Column("city", sa.String(100)),
        sa.Column("state", sa.String(100)),
        sa.Column("zip", sa.String(100)),
        marker(),
    )
    sa.Table(
        "customer",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("email", sa.String(100)),
        sa.Column("name", sa.String(100)),
        sa.Column("created", sa.DateTime),
        sa.Column("address_id", sa.BigInteger),
        marker(),
    )
    sa.Table(
        "employee",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("email", sa.String(100)),
        sa.Column("name", sa.String(100)),
        sa.Column("address_id", sa.BigInteger),
        marker(),
    )
    sa.Table(
        "payment_card",
        meta,
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(100)),
        sa.Column("ccn", sa.BigInteger),
        sa.Column("code", sa.SmallInteger),
        sa.Column("preferred", sa.Boolean),
        sa.Column("customer_id", sa.Integer),
        sa.Column("billing_address_id", sa.BigInteger),
        marker(),
    )
    sa.Table(
        "orders",
        meta,
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("customer_id", sa.Integer),
        sa.Column("shipping_address_id", sa.BigInteger),
        sa.Column("payment_card_id", sa.String(100)),
        marker(),
    )
    sa.Table(
        "order_item",
        meta,
        sa.Column("order_id", sa.String(100), primary_key=True),
        sa.Column("item_no", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("product_id", sa.Integer),
        sa.Column("quantity", sa.SmallInteger),
    )
    sa.Table(
        "product",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(100)),
        sa.Column("price", sa.Numeric(10, 2)),
    )
    sa.Table(
        "visit",
        meta,
        sa.Column("email", sa.String(100), primary_key=True),
        sa.Column("last_visit", sa.DateTime, primary_key=True),
        marker(),
    )
    sa.Table(
        "login",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("customer_id", sa.Integer),
        sa.Column("time", sa.DateTime),
        marker(),
    )
    sa.Table(
        "service_request",
        meta,
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("email", sa.String(100)),
        sa.Column("alt_email", sa.String(100)),
        sa.Column("opened", sa.Date),
        sa.Column("employee_id", sa.Integer),
        marker(),
    )
    sa.Table(
        "report",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("email", sa.String(100)),
        sa.Column("month", sa.Integer),
        sa.Column("total_visits", sa.Integer),
        marker(),
    )
    return meta


def _rows() -> dict[str, list[dict[str, Any]]]:
    t = dt.datetime(2024, 3, 1, 9, 30)
    return {
        "address": [
            {
                "id": 1,
                "house": 12,
                "street": "Analytical Row",
                "city": "London",
                "state": "LDN",
                "zip": "W1A 1AA",
            },
            {
                "id": 2,
                "house": 7,
                "street": "Bletchley Lane",
                "city": "Milton Keynes",
                "state": "BKM",
                "zip": "MK3 6EB",
            },
            {
                "id": 3,
                "house": 99,
                "street": "Cobol Court",
                "city": "Arlington",
                "state": "VA",
                "zip": "22201",
            },
        ],
        "customer": [
            {
                "id": 1,
                "email": "ada@example.com",
                "name": "Ada Lovelace",
                "created": t,
                "address_id": 1,
            },
            {
                "id": 2,
                "email": "alan@example.com",
                "name": "Alan Turing",
                "created": t,
                "address_id": 2,
            },
        ],
        "employee": [
            {"id": 1, "email": "staff-1@example.com", "name": "Erika Staff", "address_id": 3},
        ],
        "payment_card": [
            {
                "id": "card-a",
                "name": "A. Lovelace",
                "ccn": 4111111111111111,
                "code": 123,
                "preferred": True,
                "customer_id": 1,
                "billing_address_id": 1,
            },
            {
                "id": "card-b",
                "name": "A. Turing",
                "ccn": 5555555555554444,
                "code": 321,
                "preferred": False,
                "customer_id": 2,
                "billing_address_id": 2,
            },
        ],
        "orders": [
            {"id": "o-1", "customer_id": 1, "shipping_address_id": 1, "payment_card_id": "card-a"},
            {"id": "o-2", "customer_id": 1, "shipping_address_id": 1, "payment_card_id": "card-a"},
            {"id": "o-3", "customer_id": 2, "shipping_address_id": 2, "payment_card_id": "card-b"},
        ],
        "order_item": [
            {"order_id": "o-1", "item_no": 1, "product_id": 1, "quantity": 2},
            {"order_id": "o-1", "item_no": 2, "product_id": 2, "quantity": 1},
            {"order_id": "o-3", "item_no": 1, "product_id": 3, "quantity": 1},
        ],
        "product": [
            {"id": 1, "name": "Difference engine kit", "price": 120},
            {"id": 2, "name": "Punched cards", "price": 5},
            {"id": 3, "name": "Enigma rotor", "price": 80},
        ],
        "visit": [
            {"email": "ada@example.com", "last_visit": t},
            {"email": "ada@example.com", "last_visit": t + dt.timedelta(days=1)},
            {"email": "alan@example.com", "last_visit": t},
        ],
        "login": [
            {"id": 1, "customer_id": 1, "time": t},
            {"id": 2, "customer_id": 1, "time": t + dt.timedelta(hours=5)},
            {"id": 3, "customer_id": 2, "time": t},
        ],
        "service_request": [
            {
                "id": "sr-1",
                "email": "ada@example.com",
                "alt_email": "ada.alt@example.com",
                "opened": dt.date(2024, 3, 2),
                "employee_id": 1,
            },
            {
                "id": "sr-2",
                "email": "alan@example.com",
                "alt_email": None,
                "opened": dt.date(2024, 3, 3),
                "employee_id": 1,
            },
        ],
        "report": [
            {"id": 1, "email": "staff-1@example.com", "month": 3, "total_visits": 10},
        ],
    }


def build_fides_store(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        meta = _metadata()
        with engine.begin() as conn:
            meta.create_all(conn)
            for table in meta.sorted_tables:
                conn.execute(table.insert(), _rows()[table.name])
    finally:
        engine.dispose()


def fides_expected(url: str, identities: IdentitySet) -> set[tuple[str, tuple[Any, ...]]]:
    """The rows of a person, by the dataset's rules, read straight from the store."""
    emails = sorted(identities.get("email"))
    engine = sa.create_engine(url)
    meta = _metadata()
    t = meta.tables
    found: set[tuple[str, tuple[Any, ...]]] = set()

    def add(name: str, rows: Sequence[Any], width: int = 1) -> None:
        found.update((name, tuple(row[:width])) for row in rows)

    try:
        with engine.connect() as conn:
            customers = conn.execute(
                sa.select(t["customer"].c.id, t["customer"].c.address_id).where(
                    t["customer"].c.email.in_(emails)
                )
            ).all()
            add("customer", customers)
            ids = [row[0] for row in customers]
            employees = conn.execute(
                sa.select(t["employee"].c.id, t["employee"].c.address_id).where(
                    t["employee"].c.email.in_(emails)
                )
            ).all()
            add("employee", employees)
            orders = conn.execute(
                sa.select(t["orders"].c.id, t["orders"].c.shipping_address_id).where(
                    t["orders"].c.customer_id.in_(ids)
                )
            ).all()
            add("orders", orders)
            cards = conn.execute(
                sa.select(t["payment_card"].c.id, t["payment_card"].c.billing_address_id).where(
                    t["payment_card"].c.customer_id.in_(ids)
                )
            ).all()
            add("payment_card", cards)
            addresses = {r[1] for r in [*customers, *employees, *orders, *cards] if r[1]}
            add("address", [(a,) for a in addresses])
            add(
                "login",
                conn.execute(
                    sa.select(t["login"].c.id).where(t["login"].c.customer_id.in_(ids))
                ).all(),
            )
            items = conn.execute(
                sa.select(
                    t["order_item"].c.order_id,
                    t["order_item"].c.item_no,
                    t["order_item"].c.product_id,
                ).where(t["order_item"].c.order_id.in_([o[0] for o in orders]))
            ).all()
            add("order_item", items, width=2)
            add("product", [(i[2],) for i in items])
            add(
                "visit",
                conn.execute(
                    sa.select(t["visit"].c.email, t["visit"].c.last_visit).where(
                        t["visit"].c.email.in_(emails)
                    )
                ).all(),
                width=2,
            )
            add(
                "report",
                conn.execute(
                    sa.select(t["report"].c.id).where(t["report"].c.email.in_(emails))
                ).all(),
            )
            request = t["service_request"]
            add(
                "service_request",
                conn.execute(
                    sa.select(request.c.id).where(
                        sa.or_(
                            request.c.email.in_(emails),
                            request.c.alt_email.in_(emails),
                            request.c.employee_id.in_([e[0] for e in employees]),
                        )
                    )
                ).all(),
            )
    finally:
        engine.dispose()
    return found

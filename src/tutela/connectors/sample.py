"""A sample shop database, for the demo and the benchmark.

``build_shop(url, customers=50)`` creates and fills, on SQLite or PostgreSQL:
customers, addresses, orders with order lines, invoices (kept 8 years under
§ 147 AO / § 257 HGB / § 14b UStG), payment cards (PSP token, brand, last four and
a test card number column that access copies must mask), support tickets (some
found only by email), logins (password hash and MFA seed that access copies
withhold) and newsletter subscriptions. The data are made up and deterministic:
the same ``seed`` and ``today`` give the same rows, and customer *i* has the email
:func:`customer_email` (*i*). Its mapping is ``examples/shop.dataset.yaml`` (Tutela
format) and ``examples/shop.fides.yaml`` (the same in Fides format).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa

from tutela.connectors.sample_schema import SHOP_TABLES, shop_metadata
from tutela.errors import Conflict
from tutela.storage import make_engine

__all__ = [
    "REFERENCE_DAY",
    "SHOP_TABLES",
    "build_shop",
    "customer_email",
    "customer_phone",
    "example_path",
]

REFERENCE_DAY: Final = dt.date(2026, 1, 15)
_BATCH: Final = 2000
_FIRST: Final = (
    "Anna",
    "Jürgen",
    "Fatma",
    "Lukas",
    "Marie",
    "Özlem",
    "Paul",
    "Sophie",
    "Thomas",
    "Leonie",
    "Mehmet",
    "Clara",
    "Jonas",
    "Hanna",
    "Felix",
    "Ida",
)
_LAST: Final = (
    "Schmidt",
    "Müller",
    "Yılmaz",
    "Weber",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Neumann",
    "Schwarz",
    "Braun",
)
_CITIES: Final = (
    ("10115", "Berlin"),
    ("20095", "Hamburg"),
    ("80331", "München"),
    ("50667", "Köln"),
    ("60311", "Frankfurt am Main"),
    ("04109", "Leipzig"),
)
_STREETS: Final = ("Hauptstraße", "Gartenweg", "Lindenallee", "Bahnhofstraße", "Am Markt")
_PRODUCTS: Final = (
    "Tea towel",
    "Espresso cup",
    "Notebook A5",
    "Wool socks",
    "Desk lamp",
    "Travel mug",
    "Linen shirt",
    "Rain jacket",
)
# Public test card numbers of the card schemes (never issued to anyone).
_TEST_CARDS: Final = (
    ("Visa", "4111111111111111"),
    ("Mastercard", "5555555555554444"),
    ("American Express", "378282246310005"),
    ("Visa", "4000056655665556"),
)


def customer_email(index: int) -> str:
    """The email address of sample customer ``index`` (1-based)."""
    return f"customer-{index}@example.com"


def customer_phone(index: int) -> str:
    """The phone number of sample customer ``index``, as stored (if the customer has one)."""
    return f"+49301{index:07d}"


def example_path(name: str) -> Path:
    """A file of ``tutela/connectors/examples`` (``shop.dataset.yaml``, ``shop.fides.yaml``)."""
    return Path(str(resources.files("tutela.connectors").joinpath("examples", name)))


class _Maker:
    """Makes the rows of one customer at a time, numbering rows per table."""

    def __init__(self, seed: int, today: dt.date) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - made-up sample data, not secrets
        self.today = today
        self.ids = dict.fromkeys(SHOP_TABLES, 0)

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def moment(self, after: dt.datetime) -> dt.datetime:
        end = dt.datetime.combine(self.today, dt.time(18, 0))
        span = max(int((end - after).total_seconds()), 1)
        return after + dt.timedelta(seconds=self.rng.randrange(span))

    def customer(self, index: int, rows: dict[str, list[dict[str, Any]]]) -> None:
        rng = self.rng
        first, last = _FIRST[index * 7 % len(_FIRST)], _LAST[index * 11 % len(_LAST)]
        start = dt.datetime.combine(self.today, dt.time(9, 0))
        created = start - dt.timedelta(days=rng.randrange(30, 4500), minutes=rng.randrange(600))
        email = customer_email(index)
        rows["customers"].append(
            {
                "id": index,
                "email": email,
                "first_name": first,
                "last_name": last,
                "phone": customer_phone(index) if rng.random() < 0.7 else None,
                "birth_date": dt.date(
                    rng.randrange(1950, 2006), rng.randrange(1, 13), rng.randrange(1, 29)
                )
                if rng.random() < 0.5
                else None,
                "created_at": created,
                "restricted_until": None,
            }
        )
        postal, city = _CITIES[index % len(_CITIES)]
        street = f"{_STREETS[index % len(_STREETS)]} {rng.randrange(1, 120)}"
        for kind in ("shipping", "billing") if rng.random() < 0.3 else ("shipping",):
            rows["addresses"].append(
                {
                    "id": self.next_id("addresses"),
                    "customer_id": index,
                    "kind": kind,
                    "street": street,
                    "postal_code": postal,
                    "city": city,
                    "country": "DE",
                }
            )
        address = (street, postal, city, "DE")
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4))):
            self.order(index, f"{first} {last}", address, created, rows)
        self.cards(index, rows)
        self.tickets(index, email, created, rows)
        rows["logins"].append(
            {
                "id": self.next_id("logins"),
                "customer_id": index,
                "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$"
                + rng.randbytes(16).hex()
                + "$"
                + rng.randbytes(32).hex(),
                "mfa_secret": rng.randbytes(20).hex().upper()[:32] if rng.random() < 0.3 else None,
                "last_login_at": self.moment(created),
                "last_login_ip": f"198.51.100.{rng.randrange(1, 255)}",
            }
        )
        if rng.random() < 0.4:
            rows["newsletter_subscriptions"].append(
                {
                    "id": self.next_id("newsletter_subscriptions"),
                    "email": email,
                    "customer_id": index if rng.random() < 0.5 else None,
                    "subscribed_at": self.moment(created),
                    "confirmed_at": None,
                    "source": "shop",
                }
            )
        if index % 10 == 0:
            rows["newsletter_subscriptions"].append(
                {
                    "id": self.next_id("newsletter_subscriptions"),
                    "email": f"reader-{index}@example.org",
                    "customer_id": None,
                    "subscribed_at": self.moment(created),
                    "confirmed_at": None,
                    "source": "blog",
                }
            )

    def order(
        self,
        customer: int,
        name: str,
        address: tuple[str, str, str, str],
        created: dt.datetime,
        rows: dict[str, list[dict[str, Any]]],
    ) -> None:
        rng = self.rng
        order_id = self.next_id("orders")
        placed = self.moment(created)
        completed = rng.random() < 0.9
        rows["orders"].append(
            {
                "id": order_id,
                "customer_id": customer,
                "number": f"O{order_id:08d}",
                "placed_at": placed,
                "status": "completed" if completed else "cancelled",
                "shipping_name": name,
                "shipping_street": address[0],
                "shipping_postal_code": address[1],
                "shipping_city": address[2],
                "shipping_country": address[3],
                "restricted_until": None,
            }
        )
        total = 0
        for _ in range(rng.randrange(1, 4)):
            price, quantity = rng.randrange(300, 9000), rng.randrange(1, 4)
            total += price * quantity
            rows["order_lines"].append(
                {
                    "id": self.next_id("order_lines"),
                    "order_id": order_id,
                    "sku": f"SKU-{rng.randrange(1, 500):04d}",
                    "product_name": rng.choice(_PRODUCTS),
                    "quantity": quantity,
                    "unit_price_cents": price,
                }
            )
        if completed:
            invoice_id = self.next_id("invoices")
            rows["invoices"].append(
                {
                    "id": invoice_id,
                    "customer_id": customer,
                    "order_id": order_id,
                    "number": f"R{invoice_id:08d}",
                    "issued_on": placed.date(),
                    "billing_name": name,
                    "billing_street": address[0],
                    "billing_postal_code": address[1],
                    "billing_city": address[2],
                    "billing_country": address[3],
                    "vat_id": f"DE{rng.randrange(10**8, 10**9)}" if rng.random() < 0.1 else None,
                    "total_cents": total,
                    "restricted_until": None,
                }
            )

    def cards(self, customer: int, rows: dict[str, list[dict[str, Any]]]) -> None:
        rng = self.rng
        count = 0 if rng.random() < 0.5 else (1 if rng.random() < 0.7 else 2)
        for _ in range(count):
            card_id = self.next_id("payment_cards")
            brand, pan = _TEST_CARDS[rng.randrange(len(_TEST_CARDS))]
            rows["payment_cards"].append(
                {
                    "id": card_id,
                    "customer_id": customer,
                    "psp_token": f"tok_{card_id:08d}{rng.randbytes(8).hex()}",
                    "brand": brand,
                    "last4": pan[-4:],
                    "exp_month": rng.randrange(1, 13),
                    "exp_year": self.today.year + rng.randrange(0, 5),
                    "test_pan": pan if card_id % 3 == 1 else None,
                }
            )

    def tickets(
        self,
        customer: int,
        email: str,
        created: dt.datetime,
        rows: dict[str, list[dict[str, Any]]],
    ) -> None:
        rng = self.rng
        owners: list[int | None] = [customer] * rng.choice((0, 0, 1, 2))
        if rng.random() < 0.25:
            owners.append(None)  # written before the account existed: found by email only
        for owner in owners:
            ticket_id = self.next_id("support_tickets")
            body = "Hello, my parcel has not arrived yet. Could you check the tracking?"
            if ticket_id % 5 == 0:
                body = (
                    "I was charged twice on my card 4111 1111 1111 1111 for one order. "
                    "Please refund one payment."
                )
            rows["support_tickets"].append(
                {
                    "id": ticket_id,
                    "customer_id": owner,
                    "email": email,
                    "subject": "Question about my order" if owner else "Question before ordering",
                    "body": body,
                    "created_at": self.moment(created),
                    "restricted_until": None,
                }
            )


Rows = dict[str, list[dict[str, Any]]]


def _batches(customers: int, seed: int, today: dt.date) -> Iterator[Rows]:
    maker = _Maker(seed, today)
    for start in range(1, customers + 1, _BATCH):
        rows: Rows = {table: [] for table in SHOP_TABLES}
        for index in range(start, min(start + _BATCH, customers + 1)):
            maker.customer(index, rows)
        yield rows


def build_shop(
    url: str, *, customers: int = 50, seed: int = 7, today: dt.date | None = None
) -> None:
    """Create the sample shop's tables in the (empty) database at ``url`` and fill them.

    Dates are spread over about twelve years before ``today`` (default
    :data:`REFERENCE_DAY`), so some invoices are still held and some are not.
    """
    if customers < 1:
        raise ValueError(f"The sample shop needs at least one customer, got {customers}.")
    engine = make_engine(url)
    try:
        metadata = shop_metadata()
        with engine.begin() as conn:
            present = sorted(set(sa.inspect(conn).get_table_names()) & set(SHOP_TABLES))
            if present:
                raise Conflict(
                    f"The database already has the table(s) {', '.join(present)}; build the "
                    "sample shop into an empty database."
                )
            metadata.create_all(conn)
            for rows in _batches(customers, seed, today or REFERENCE_DAY):
                for table in metadata.sorted_tables:
                    if rows[table.name]:
                        conn.execute(table.insert(), rows[table.name])
            conn.execute(sa.text("ANALYZE"))
    finally:
        engine.dispose()

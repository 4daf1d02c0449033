"""A small customer store for the retention tests, its dataset and its retention mapping.

Today is 2 March 2026 (:data:`NOW`). What each row is there for:

* customers: 1 open; 2 closed 60 days ago but its invoice and contract refer to it;
  4 closed 10 days ago; 5 closed 45 days ago with only expired visits (they go first,
  then it goes); 6 closed 90 days ago, kept by a legal hold on its address.
* contracts: running (1); ended 8 months ago, business-letter hold over (2); ended
  7 months ago, hold until 2030 (3, restricted); ended yesterday (4, P11: the IP
  goes today); ending today (5, the IP stays).
* invoices (8 years from the end of the year): 2024 and 2018 kept, 2017 goes.
* visits (7 days): 60 every 6 hours (32 expired, two of them on ``/dispute``), plus
  2 each of customers 5 and 6, 20 days old.
* tickets (2 years after closing): one closed 2023 (erased), one open, one recent.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa

from tutela.storage import make_engine

NOW: Final = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
NAIVE_NOW: Final = NOW.replace(tzinfo=None)
TODAY: Final = dt.date(2026, 3, 2)
HELD_EMAIL: Final = "c6@example.org"
VISITS: Final = 60

DATASET: Final = """\
name: crm
tables:
  customers:
    primary_key: id
    erase: delete_row
    restriction: restricted_until
    fields:
      id: {category: user.unique_id, identity: customer_id, strategy: keep, reason: links rows}
      email: {category: user.contact.email, identity: email}
      name: {category: user.name}
  contracts:
    restriction: restricted_until
    hold: {rule: "§ 257(1) Nr. 3 HGB (business letters)", years: 6, from: started_on}
    fields:
      customer_id: {category: user.unique_id, found_by: customers.id}
      plan: {category: user.behavior.purchase_history, strategy: mask}
      signup_ip: {category: user.device.ip_address, strategy: "null", held: false}
  invoices:
    erase: delete_row
    restriction: restricted_until
    fields:
      customer_id: {category: user.unique_id, found_by: customers.id}
      billing_name: {category: user.name}
  visits:
    erase: delete_row
    fields:
      customer_id: {category: user.unique_id, found_by: customers.id}
      ip: {category: user.device.ip_address}
      path: {category: user.behavior.browsing_history}
  tickets:
    fields:
      customer_id: {category: user.unique_id, found_by: customers.id}
      email: {category: user.contact.email, identity: email, strategy: pseudonym}
      body: {category: user.content, strategy: mask}
"""

MAPPING: Final = """\
crm:
  customers: {purposes: [customer_account], dates: {account_closed: closed_on}}
  contracts:
    purposes: [contract, vat_place_of_supply]
    dates: {contract_end: ended_on}
  invoices: {purposes: [invoicing], dates: {collection: issued_on}}
  visits: {purposes: [server_logs], dates: {collection: at}}
  tickets: {purposes: [support], dates: {request_closed: closed_at}}
"""


def metadata() -> sa.MetaData:
    meta = sa.MetaData()
    restricted = "restricted_until"

    def customer(nullable: bool = False) -> sa.Column[Any]:
        return sa.Column(
            "customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=nullable
        )

    sa.Table(
        "customers",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("closed_on", sa.Date, nullable=True),
        sa.Column(restricted, sa.Date, nullable=True),
    )
    sa.Table(
        "contracts",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        customer(),
        sa.Column("plan", sa.String(40), nullable=False),
        sa.Column("started_on", sa.Date, nullable=False),
        sa.Column("ended_on", sa.Date, nullable=True),
        sa.Column("signup_ip", sa.String(45), nullable=True),
        sa.Column(restricted, sa.Date, nullable=True),
    )
    sa.Table(
        "invoices",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        customer(),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("billing_name", sa.String(100), nullable=False),
        sa.Column(restricted, sa.Date, nullable=True),
    )
    sa.Table(
        "visits",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        customer(nullable=True),
        sa.Column("at", sa.DateTime, nullable=False, index=True),
        sa.Column("ip", sa.String(45), nullable=False),
        sa.Column("path", sa.String(100), nullable=False),
    )
    sa.Table(
        "tickets",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        customer(nullable=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("closed_at", sa.DateTime, nullable=True),
    )
    return meta


def _day(days_ago: int) -> dt.date:
    return TODAY - dt.timedelta(days=days_ago)


def rows() -> dict[str, list[dict[str, Any]]]:
    customers = [
        (1, None),
        (2, _day(60)),
        (4, _day(10)),
        (5, _day(45)),
        (6, _day(90)),
    ]
    visits = [
        {
            "id": i + 1,
            "customer_id": [1, 2, 4, None][i % 4],
            "at": NAIVE_NOW - dt.timedelta(hours=6 * i),
            "ip": f"203.0.113.{i}",
            "path": "/dispute" if i in (40, 41) else f"/p{i}",
        }
        for i in range(VISITS)
    ]
    for offset, customer in enumerate((5, 5, 6, 6)):
        visits.append(
            {
                "id": 100 + offset,
                "customer_id": customer,
                "at": NAIVE_NOW - dt.timedelta(days=20),
                "ip": "198.51.100.7",
                "path": "/old",
            }
        )
    return {
        "customers": [
            {
                "id": n,
                "email": f"c{n}@example.org",
                "name": f"Customer {n}",
                "closed_on": closed,
                "restricted_until": None,
            }
            for n, closed in customers
        ],
        "contracts": [
            _contract(1, 1, dt.date(2023, 5, 1), None),
            _contract(2, 2, dt.date(2019, 2, 1), dt.date(2025, 6, 30)),
            _contract(3, 4, dt.date(2024, 1, 10), dt.date(2025, 8, 1)),
            _contract(4, 1, dt.date(2025, 1, 1), _day(1)),
            _contract(5, 1, dt.date(2025, 6, 1), TODAY),
        ],
        "invoices": [
            {"id": 1, "customer_id": 2, "issued_on": dt.date(2024, 5, 10), "billing_name": "B"},
            {"id": 2, "customer_id": 1, "issued_on": dt.date(2017, 11, 30), "billing_name": "A"},
            {"id": 3, "customer_id": 1, "issued_on": dt.date(2018, 1, 15), "billing_name": "A"},
        ],
        "visits": visits,
        "tickets": [
            _ticket(1, 1, dt.datetime(2023, 1, 10, 12, 0)),
            _ticket(2, None, None),
            _ticket(3, 4, dt.datetime(2025, 12, 1, 8, 0)),
        ],
    }


def _contract(n: int, customer: int, started: dt.date, ended: dt.date | None) -> dict[str, Any]:
    return {
        "id": n,
        "customer_id": customer,
        "plan": f"plan-{n}",
        "started_on": started,
        "ended_on": ended,
        "signup_ip": f"192.0.2.{n}",
        "restricted_until": None,
    }


def _ticket(n: int, customer: int | None, closed: dt.datetime | None) -> dict[str, Any]:
    return {
        "id": n,
        "customer_id": customer,
        "email": f"t{n}@example.org",
        "body": f"question {n}",
        "closed_at": closed,
    }


def build_store(url: str, *, extra_visits: int = 0) -> None:
    """Create the tables and the rows above (``extra_visits`` more expired ones, ids 1000+)."""
    engine = make_engine(url, check=False)
    try:
        meta = metadata()
        data = rows()
        data["visits"].extend(
            {
                "id": 1000 + n,
                "customer_id": None,
                "at": NAIVE_NOW - dt.timedelta(days=30, minutes=n),
                "ip": "198.51.100.9",
                "path": f"/bulk{n}",
            }
            for n in range(extra_visits)
        )
        with engine.begin() as conn:
            meta.create_all(conn)
            for table in meta.sorted_tables:
                if data[table.name]:
                    conn.execute(table.insert(), data[table.name])
    finally:
        engine.dispose()


def contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, ordered by key: to compare two stores."""
    engine = make_engine(url, check=False)
    try:
        with engine.connect() as conn:
            return {
                table.name: [
                    tuple(row) for row in conn.execute(sa.select(table).order_by(table.c.id))
                ]
                for table in metadata().sorted_tables
            }
    finally:
        engine.dispose()


def write_files(folder: Path, url: str) -> Path:
    """The stores file, dataset and mapping in ``folder``; returns the stores file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "crm.dataset.yaml").write_text(DATASET, encoding="utf-8")
    (folder / "retention.yaml").write_text(MAPPING, encoding="utf-8")
    stores = folder / "stores.yaml"
    stores.write_text(
        f"- name: crm\n  kind: sql\n  config:\n    url: {url}\n    dataset: crm.dataset.yaml\n",
        encoding="utf-8",
    )
    return stores

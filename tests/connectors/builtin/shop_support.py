"""The rows of a sample-shop customer, read straight from the database."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tutela.connectors.identities import IdentitySet
from tutela.connectors.sample_schema import shop_metadata


def shop_expected(url: str, identities: IdentitySet) -> set[tuple[str, tuple[Any, ...]]]:
    """Rows reachable from the identities as the shop datasets link them."""
    emails = sorted(identities.get("email"))
    ids = sorted(int(v) for v in identities.get("customer_id"))
    phones = sorted(identities.get("phone"))
    t = shop_metadata().tables
    found: set[tuple[str, tuple[Any, ...]]] = set()
    engine = sa.create_engine(url)

    def ids_of(statement: Any) -> list[int]:
        return [row[0] for row in conn.execute(statement)]

    try:
        with engine.connect() as conn:
            people = t["customers"]
            customers = ids_of(
                sa.select(people.c.id).where(
                    sa.or_(
                        people.c.email.in_(emails), people.c.id.in_(ids), people.c.phone.in_(phones)
                    )
                )
            )
            found.update(("customers", (c,)) for c in customers)
            for name in ("addresses", "orders", "invoices", "payment_cards", "logins"):
                table = t[name]
                rows = ids_of(sa.select(table.c.id).where(table.c.customer_id.in_(customers)))
                found.update((name, (r,)) for r in rows)
            orders = [key[0] for name, key in found if name == "orders"]
            lines = t["order_lines"]
            found.update(
                ("order_lines", (r,))
                for r in ids_of(sa.select(lines.c.id).where(lines.c.order_id.in_(orders)))
            )
            for name in ("support_tickets", "newsletter_subscriptions"):
                table = t[name]
                rows = ids_of(
                    sa.select(table.c.id).where(
                        sa.or_(table.c.customer_id.in_(customers), table.c.email.in_(emails))
                    )
                )
                found.update((name, (r,)) for r in rows)
    finally:
        engine.dispose()
    return found

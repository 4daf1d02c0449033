"""The tables of the sample shop database (portable SQLAlchemy Core)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

__all__ = ["SHOP_TABLES", "shop_metadata"]

SHOP_TABLES = (
    "customers",
    "addresses",
    "orders",
    "order_lines",
    "invoices",
    "payment_cards",
    "support_tickets",
    "logins",
    "newsletter_subscriptions",
)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=False)


def _customer(nullable: bool = False) -> sa.Column[int]:
    return sa.Column(
        "customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=nullable, index=True
    )


def _restricted() -> sa.Column[dt.date]:
    """Set while the row is restricted (Art. 18 GDPR or a statutory hold): keep it out of use."""
    return sa.Column("restricted_until", sa.Date, nullable=True)


def shop_metadata() -> sa.MetaData:
    """A fresh MetaData holding the sample shop's tables."""
    meta = sa.MetaData()
    sa.Table(
        "customers",
        meta,
        _id(),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("first_name", sa.String(100), nullable=False),
        sa.Column("last_name", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(32), nullable=True, index=True),
        sa.Column("birth_date", sa.Date, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        _restricted(),
    )
    sa.Table(
        "addresses",
        meta,
        _id(),
        _customer(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("street", sa.String(200), nullable=False),
        sa.Column("postal_code", sa.String(16), nullable=False),
        sa.Column("city", sa.String(100), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        _restricted(),
    )
    sa.Table(
        "orders",
        meta,
        _id(),
        _customer(),
        sa.Column("number", sa.String(20), nullable=False, unique=True),
        sa.Column("placed_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("shipping_name", sa.String(200), nullable=False),
        sa.Column("shipping_street", sa.String(200), nullable=True),
        sa.Column("shipping_postal_code", sa.String(16), nullable=True),
        sa.Column("shipping_city", sa.String(100), nullable=True),
        sa.Column("shipping_country", sa.String(2), nullable=True),
        _restricted(),
    )
    sa.Table(
        "order_lines",
        meta,
        _id(),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False, index=True),
        sa.Column("sku", sa.String(32), nullable=False),
        sa.Column("product_name", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_price_cents", sa.Integer, nullable=False),
    )
    sa.Table(
        "invoices",
        meta,
        _id(),
        _customer(),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=True, index=True),
        sa.Column("number", sa.String(20), nullable=False, unique=True),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("billing_name", sa.String(200), nullable=False),
        sa.Column("billing_street", sa.String(200), nullable=True),
        sa.Column("billing_postal_code", sa.String(16), nullable=True),
        sa.Column("billing_city", sa.String(100), nullable=True),
        sa.Column("billing_country", sa.String(2), nullable=True),
        sa.Column("vat_id", sa.String(20), nullable=True),
        sa.Column("total_cents", sa.Integer, nullable=False),
        _restricted(),
    )
    sa.Table(
        "payment_cards",
        meta,
        _id(),
        _customer(),
        sa.Column("psp_token", sa.String(64), nullable=False, unique=True),
        sa.Column("brand", sa.String(20), nullable=False),
        sa.Column("last4", sa.String(4), nullable=False),
        sa.Column("exp_month", sa.Integer, nullable=False),
        sa.Column("exp_year", sa.Integer, nullable=False),
        sa.Column("test_pan", sa.String(19), nullable=True),
        _restricted(),
    )
    sa.Table(
        "support_tickets",
        meta,
        _id(),
        _customer(nullable=True),
        sa.Column("email", sa.String(254), nullable=False, index=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        _restricted(),
    )
    sa.Table(
        "logins",
        meta,
        _id(),
        _customer(),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("mfa_secret", sa.String(64), nullable=True),
        sa.Column("last_login_at", sa.DateTime, nullable=True),
        sa.Column("last_login_ip", sa.String(45), nullable=True),
        _restricted(),
    )
    sa.Table(
        "newsletter_subscriptions",
        meta,
        _id(),
        _customer(nullable=True),
        sa.Column("email", sa.String(254), nullable=False, index=True),
        sa.Column("subscribed_at", sa.DateTime, nullable=False),
        sa.Column("confirmed_at", sa.DateTime, nullable=True),
        sa.Column("source", sa.String(32), nullable=False),
        _restricted(),
    )
    return meta

"""Erasure across a sample shop and Tutela itself: complete, fail closed, held, lean."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from tests.dsr.fulfil_harness import fulfil, shop_database, shop_store, snapshot
from tests.dsr.harness import link_token, mails, row_counts, run_jobs, subject_row
from tutela.clock import FrozenClock
from tutela.connectors.sample import customer_email
from tutela.crypto import MasterKey
from tutela.dsr import (
    DsrRuntime,
    Notice,
    Receipt,
    consume_link,
    get_request,
    open_details,
    open_identity,
    timeline,
)
from tutela.dsr.jobs import run_notice
from tutela.mail import FileOutbox
from tutela.storage import transaction

PERSON = 3
ADDRESS = customer_email(PERSON)


@pytest.fixture
def shop(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    admin = None if db_url.startswith("sqlite") else request.getfixturevalue("pg_admin_url")
    with shop_database(db_url, tmp_path, admin) as url:
        yield url


def _verified(
    factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    outbox: FileOutbox,
    clock: FrozenClock,
    request_type: str = "erasure",
    address: str = ADDRESS,
) -> str:
    reference = file_request(address, request_type).reference
    run_jobs(factory, clock)
    with transaction(factory) as session:
        consume_link(session, token=link_token(mails(outbox)[-1]), clock=clock)
    return reference


def _run(
    factory: sessionmaker[Session],
    reference: str,
    *,
    shop: str,
    master: MasterKey,
    runtime: DsrRuntime,
    clock: FrozenClock,
) -> None:
    with transaction(factory) as session:
        request = get_request(session, reference=reference)
        fulfil(session, request, stores=[shop_store(shop, master)], runtime=runtime, clock=clock)


def _customer_rows(tables: dict[str, list[dict[str, Any]]], customer: int) -> set[tuple[str, Any]]:
    """(table, primary key) of the rows that belong to ``customer``."""
    found: set[tuple[str, Any]] = {("customers", customer)}
    orders = {row["id"] for row in tables["orders"] if row["customer_id"] == customer}
    for name, rows in tables.items():
        for row in rows:
            key = row.get("id")
            if row.get("customer_id") == customer or (
                name == "order_lines" and row["order_id"] in orders
            ):
                found.add((name, key))
            if row.get("email") == customer_email(customer):
                found.add((name, key))
    return found


PERSONAL = {
    "customers": ["email", "first_name", "last_name", "phone", "birth_date"],
    "addresses": ["street", "postal_code", "city"],
    "orders": ["shipping_name", "shipping_street", "shipping_city"],
    "invoices": ["billing_name", "billing_street", "billing_city", "vat_id"],
    "support_tickets": ["email", "subject", "body"],
    "logins": ["password_hash", "last_login_ip"],
    "payment_cards": ["psp_token", "test_pan"],
    "newsletter_subscriptions": ["email"],
}


@pytest.mark.promise("P17")
@pytest.mark.promise("P03")
def test_erasure_leaves_no_original_value_but_held_ones_and_spares_others(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    published: None,
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
    master: MasterKey,
    shop: str,
) -> None:
    subject_id = person(ADDRESS)
    before = snapshot(shop)
    reference = _verified(session_factory, file_request, outbox, clock)
    _run(session_factory, reference, shop=shop, master=master, runtime=runtime, clock=clock)
    after = snapshot(shop)

    mine = _customer_rows(before, PERSON)
    with session_factory() as session:
        request = get_request(session, reference=reference)
        assert request.status == "completed", request.last_error
        assert request.outcome == "fulfilled"
        results = json.loads(request.store_results or "{}")
    held_tables = {hold["table"] for hold in results["holds"]}
    assert all(hold["until"] and "AO" in hold["rule"] for hold in results["holds"])
    assert ADDRESS not in (request.store_results or "")
    left: list[str] = []
    for name, rows in before.items():
        now = {row.get("id"): row for row in after[name]}
        for row in rows:
            key = row.get("id")
            if (name, key) not in mine:
                assert now.get(key) == row, f"{name} {key} of another customer changed"
                continue
            erased = now.get(key)
            if erased is None or (name in held_tables and erased.get("restricted_until")):
                continue  # deleted, or kept under a hold (reported with its date)
            left.extend(
                f"{name}.{field}"
                for field in PERSONAL.get(name, [])
                if row[field] is not None and erased[field] == row[field]
            )
    assert left == []
    assert subject_row(session_factory, subject_id).erased_at is not None
    answer = mails(outbox)[-1]
    assert answer.to == ADDRESS
    assert "carried out" in answer.subject
    if held_tables:
        assert "must be kept by law until" in answer.flat
        assert "§ 147" in answer.flat


@pytest.mark.promise("P16")
def test_an_erasure_writes_at_most_ten_rows(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    published: None,
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
    master: MasterKey,
    shop: str,
) -> None:
    person(ADDRESS)
    file_request("warm-up@example.org", "access")  # the first request of a day queues the sweep
    before = row_counts(session_factory)
    reference = _verified(session_factory, file_request, outbox, clock)
    _run(session_factory, reference, shop=shop, master=master, runtime=runtime, clock=clock)
    after = row_counts(session_factory)
    added = {name: after[name] - before[name] for name in after if after[name] != before[name]}
    assert sum(added.values()) <= 10, added


@pytest.mark.promise("P17")
def test_a_store_failing_midway_rolls_back_and_leaves_the_request_open(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    published: None,
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
    master: MasterKey,
    shop: str,
) -> None:
    subject_id = person(ADDRESS)
    engine = create_engine(shop)
    with engine.begin() as conn:  # the last table written refuses every change
        if shop.startswith("sqlite"):
            conn.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE DELETE ON newsletter_subscriptions "
                    "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'refused'; END $$"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE DELETE OR UPDATE ON newsletter_subscriptions "
                    "FOR EACH ROW EXECUTE FUNCTION refuse()"
                )
            )
    engine.dispose()
    before = snapshot(shop)
    reference = _verified(session_factory, file_request, outbox, clock)
    sent = len(mails(outbox))
    _run(session_factory, reference, shop=shop, master=master, runtime=runtime, clock=clock)
    assert snapshot(shop) == before  # the whole store rolled back
    with session_factory() as session:
        request = get_request(session, reference=reference)
        assert request.status == "in_progress"
        assert request.closed_at is None
        assert "shop failed" in (request.last_error or "")
        assert json.loads(request.store_results or "{}")["stores"][0]["status"] == "failed"
    assert subject_row(session_factory, subject_id).erased_at is None  # nothing shredded yet
    assert len(mails(outbox)) == sent  # no answer while open


@pytest.mark.promise("P17")
def test_unhandled_fields_keep_the_request_open_and_are_named(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    published: None,
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
    master: MasterKey,
    shop: str,
    tmp_path: Path,
) -> None:
    from tutela.connectors import create
    from tutela.connectors.sample import example_path

    person(ADDRESS)
    text_of = example_path("shop.dataset.yaml").read_text(encoding="utf-8")
    # a date column cannot take the mask text: the field cannot be handled
    broken = text_of.replace(
        'birth_date: {category: user.demographic.date_of_birth, strategy: "null"}',
        "birth_date: {category: user.demographic.date_of_birth, strategy: mask}",
    )
    assert broken != text_of
    dataset = tmp_path / "broken.dataset.yaml"
    dataset.write_text(broken, encoding="utf-8")
    store = create(
        "sql", {"name": "shop", "url": shop, "dataset": str(dataset), "master_key": master}
    )
    reference = _verified(session_factory, file_request, outbox, clock)
    with transaction(session_factory) as session:
        request = get_request(session, reference=reference)
        fulfil(session, request, stores=[store], runtime=runtime, clock=clock)
    with session_factory() as session:
        request = get_request(session, reference=reference)
        results = json.loads(request.store_results or "{}")
        assert request.status == "in_progress"
        assert "shop.customers.birth_date" in results["unhandled"]
        assert "birth_date" in (request.last_error or "")


def _held_customer(shop: str) -> int:
    """A sample customer with an invoice still under its 8-year hold in 2026."""
    invoices = snapshot(shop)["invoices"]
    return int(min(row["customer_id"] for row in invoices if str(row["issued_on"])[:4] >= "2019"))


@pytest.mark.promise("P17")
def test_holds_become_restriction_until_the_end_of_the_period(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    published: None,
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
    master: MasterKey,
    shop: str,
) -> None:
    customer = _held_customer(shop)
    address = customer_email(customer)
    person(address)
    reference = _verified(session_factory, file_request, outbox, clock, address=address)
    _run(session_factory, reference, shop=shop, master=master, runtime=runtime, clock=clock)
    with session_factory() as session:
        request = get_request(session, reference=reference)
        assert request.status == "completed", request.last_error
        results = json.loads(request.store_results or "{}")
    holds = [hold for hold in results["holds"] if hold["table"] == "invoices"]
    assert holds
    engine = create_engine(shop)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT issued_on, restricted_until FROM invoices WHERE customer_id = :c"),
            {"c": customer},
        ).all()
    engine.dispose()
    held = [row for row in rows if str(row[0])[:4] >= "2018"]
    assert held
    for issued_on, until in held:
        year = int(str(issued_on)[:4]) + 8
        assert str(until)[:10] == f"{year}-12-31"
    latest = max(hold["until"] for hold in holds)
    assert latest == max(f"{int(str(r[0])[:4]) + 8}-12-31" for r in held)
    assert all("147" in hold["rule"] and "HGB" in hold["rule"] for hold in holds)
    answer = mails(outbox)[-1]
    assert answer.to == address
    assert "must be kept by law until 31 December" in answer.flat


@pytest.mark.promise("P17")
def test_the_answered_erasure_shreds_the_request_and_later_notices_cope(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    published: None,
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
    master: MasterKey,
    shop: str,
) -> None:
    person(ADDRESS)
    reference = file_request(
        ADDRESS, "erasure", text="Please also forget my old nickname"
    ).reference
    run_jobs(session_factory, clock)
    with transaction(session_factory) as session:
        consume_link(session, token=link_token(mails(outbox)[-1]), clock=clock)
    with session_factory() as session:
        before = get_request(session, reference=reference)
        assert open_identity(before, master=master) == ADDRESS  # open until the answer
    _run(session_factory, reference, shop=shop, master=master, runtime=runtime, clock=clock)

    with session_factory() as session:
        request = get_request(session, reference=reference)
        assert (request.status, request.outcome) == ("completed", "fulfilled")
        assert (request.wrapped_key, request.identity_sealed, request.details_sealed) == (
            None,
            None,
            None,
        )
        assert open_identity(request, master=master) is None
        assert open_details(request, master=master) is None
        # what proves the request was handled stays
        assert request.received_at is not None
        assert request.closed_at is not None
        assert request.request_type == "erasure"
        assert json.loads(request.store_results or "{}")["request_data"] == "shredded"
        request_id = request.id
    assert mails(outbox)[-1].to == ADDRESS  # the answer went out first
    sent = len(mails(outbox))
    with transaction(session_factory) as session:  # a late notice finds no address: no crash
        run_notice(
            session, request_id=request_id, notice=Notice.EXTENDED, runtime=runtime, clock=clock
        )
    assert len(mails(outbox)) == sent
    with session_factory() as session:
        last = timeline(session, request=get_request(session, reference=reference))[-1]
    assert last.action == "dsr.notice_sent"
    assert json.loads(last.payload)["delivered"] is False

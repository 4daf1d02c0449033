"""Which new values a rectification sets by itself: contact data, secrets and keys (V-3, V-5)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from tests.dsr.fulfil_harness import fulfil, shop_database, shop_store
from tests.dsr.harness import all_text, link_token, mails, run_jobs
from tutela.clock import FrozenClock
from tutela.connectors import Connector, IdentitySet, create
from tutela.connectors.builtin.sql import SqlConnector
from tutela.connectors.dataset import Dataset, load_dataset
from tutela.connectors.sample import customer_email, example_path
from tutela.crypto import MasterKey
from tutela.dsr import DsrRuntime, Receipt, consume_link, get_request
from tutela.dsr.erasure import _rectify
from tutela.dsr.rectify import WAITING, maps, screen_changes
from tutela.dsr.terms import Scope
from tutela.errors import InvalidInput
from tutela.mail import FileOutbox
from tutela.storage import transaction

PERSON = 3
ADDRESS = customer_email(PERSON)
VALUE = "new-value-0815"
ATTACKER = "taken.over@attacker.example"


@pytest.fixture
def sql_shop() -> Iterator[SqlConnector]:
    """The sample shop's dataset on an empty database: enough to resolve references."""
    connector = SqlConnector(
        name="shop", url="sqlite://", dataset=load_dataset(example_path("shop.dataset.yaml"))
    )
    yield connector
    connector.close()


@pytest.fixture
def stores(sql_shop: SqlConnector) -> list[Connector]:
    return [sql_shop, create("manual", {"name": "crm", "system": "the CRM"})]


APPLIED = [
    "customers.last_name",
    "customers.birth_date",
    "user.name.last",
    "crm.nickname",  # no dataset declares it: judged by its name
]
CONTACT = [
    "customers.email",
    "customers.phone",
    "support_tickets.email",
    "addresses.country",  # the dataset says user.contact.address.country
    "user.contact",
    "user.contact.email",
    "crm.mobilePhone",
]
REFUSED = {
    "logins.password_hash": "a secret kept out of access copies (a credential",
    "logins.mfa_secret": "a secret kept out of access copies (a credential",
    "payment_cards.psp_token": "(declared secret in the dataset)",
    "invoices.vat_id": "(a government identification number",
    "user.authorization.password": "a secret kept out of access copies (a credential",
    "customers.id": "it identifies the person's records (customer_id)",
    "orders.customer_id": "it is an account number or login",
    "user.unique_id": "it identifies the person's records (customer_id)",
    "crm.password_reset_token": "its name says it is a secret",
    "crm.login": "its name says it identifies or links records",
    "crm.customer_id": "its name says it identifies or links records",
    "payment_cards.test_pan": "payment details (",  # shown masked: never set by a request
}


@pytest.mark.promise("P16")
def test_a_general_request_leaves_contact_data_to_staff_and_never_sets_secrets_or_keys(
    stores: list[Connector],
) -> None:
    changes = dict.fromkeys([*APPLIED, *CONTACT, *REFUSED], VALUE)
    screened = screen_changes(stores, changes, Scope.GENERAL)
    assert screened.apply == dict.fromkeys(APPLIED, VALUE)
    assert screened.needs_alert == CONTACT
    assert [ref for ref, _ in screened.refused] == list(REFUSED)
    for ref, why in screened.refused:
        assert REFUSED[ref] in why, ref
    held = screened.held()
    assert len(held) == len(CONTACT) + len(REFUSED)
    assert f"customers.email: {WAITING}" in held
    assert all(VALUE not in line for line in held)


def test_a_contact_data_request_sets_contact_data_but_still_no_secret(
    stores: list[Connector],
) -> None:
    changes = dict.fromkeys([*APPLIED, *CONTACT, "logins.password_hash"], VALUE)
    screened = screen_changes(stores, changes, "contact_data")
    assert screened.apply == dict.fromkeys([*APPLIED, *CONTACT], VALUE)
    assert screened.needs_alert == []
    assert [ref for ref, _ in screened.refused] == ["logins.password_hash"]


def test_without_datasets_names_decide(stores: list[Connector]) -> None:
    manual_only = stores[1:]
    changes = {"customers.email": VALUE, "customers.id": VALUE, "customers.last_name": VALUE}
    screened = screen_changes(manual_only, changes, Scope.GENERAL)
    assert screened.apply == {"customers.last_name": VALUE}
    assert screened.needs_alert == ["customers.email"]
    assert [ref for ref, _ in screened.refused] == ["customers.id"]


def test_the_screen_and_the_sql_connector_refuse_the_same_fields(sql_shop: SqlConnector) -> None:
    """Every declared field and category: refused here exactly when the connector refuses it."""
    dataset = sql_shop.dataset
    references = {f"{t.name}.{f.name}" for t in dataset.tables.values() for f in t.fields.values()}
    references |= set(dataset.categories())
    person = IdentitySet.of(email=ADDRESS)
    for reference in sorted(references):
        screened = screen_changes([sql_shop], {reference: VALUE}, Scope.CONTACT_DATA)
        refused = ""
        try:
            sql_shop.rectify(person, {reference: VALUE})  # the empty database: a failed report
        except InvalidInput as error:
            refused = error.detail
        assert ("never sets" in refused) is bool(screened.refused), reference
        assert (reference in screened.apply) is not bool(refused), reference


# ------------------------------------------------------------------ the whole request


@pytest.fixture
def shop(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    admin = None if db_url.startswith("sqlite") else request.getfixturevalue("pg_admin_url")
    with shop_database(db_url, tmp_path, admin) as url:
        yield url


def _shop_row(url: str, query: str) -> tuple[object, ...]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(text(query), {"id": PERSON}).one())
    finally:
        engine.dispose()


def _carry_out(
    factory: sessionmaker[Session],
    reference: str,
    *,
    outbox_token: str,
    shop: str,
    master: MasterKey,
    runtime: DsrRuntime,
    clock: FrozenClock,
) -> None:
    with transaction(factory) as session:
        consume_link(session, token=outbox_token, clock=clock)
    with transaction(factory) as session:
        request = get_request(session, reference=reference)
        fulfil(session, request, stores=[shop_store(shop, master)], runtime=runtime, clock=clock)


@pytest.mark.promise("P17")
@pytest.mark.parametrize("scope", ["general", "contact_data"])
def test_a_rectification_changes_contact_data_only_after_the_alert(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    published: None,
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
    master: MasterKey,
    shop: str,
    scope: str,
) -> None:
    person(ADDRESS)
    secret = "$argon2id$v=19$attacker"
    changes = {
        "customers.email": ATTACKER,
        "customers.last_name": "Neumann",
        "logins.password_hash": secret,
    }
    reference = file_request(ADDRESS, "rectification", changes=changes).reference
    with transaction(session_factory) as session:  # as filed before intake raised the scope
        request = get_request(session, reference=reference)
        assert request.scope == "contact_data"
        request.scope = scope
        request.required_assurance = "channel" if scope == "general" else "channel_and_notice"
    run_jobs(session_factory, clock)
    token = link_token(mails(outbox)[-1])
    _carry_out(
        session_factory,
        reference,
        outbox_token=token,
        shop=shop,
        master=master,
        runtime=runtime,
        clock=clock,
    )
    email, last_name = _shop_row(shop, "SELECT email, last_name FROM customers WHERE id = :id")
    (password,) = _shop_row(shop, "SELECT password_hash FROM logins WHERE customer_id = :id")
    assert last_name == "Neumann"
    assert password != secret
    assert email == (ADDRESS if scope == "general" else ATTACKER)
    with session_factory() as session:
        request = get_request(session, reference=reference)
        results = json.loads(request.store_results or "{}")
        status, outcome = request.status, request.outcome
        reason, error = request.outcome_reason or "", request.last_error
    refused = [line for line in results.get("refused", []) if line.startswith("logins.")]
    assert refused
    assert refused[0].startswith("logins.password_hash: refused: a secret")
    if scope == "general":  # the email waits for staff: the old address was not alerted
        assert status == "in_progress"
        assert "customers.email: " + WAITING in results["unhandled"]
        assert ATTACKER not in (error or "")
    else:  # answered, partially: the refused field is named, never its value
        assert (status, outcome) == ("completed", "partially_fulfilled")
        assert "logins.password_hash: refused: a secret" in reason
    stored = all_text(session_factory)
    assert secret not in stored


@pytest.mark.promise("P17")
def test_a_value_the_store_rejects_is_not_copied_into_the_request(
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
    wrong = "am-3-Mai-anna-privat"
    reference = file_request(
        ADDRESS, "rectification", changes={"customers.birth_date": wrong}
    ).reference
    run_jobs(session_factory, clock)
    token = link_token(mails(outbox)[-1])
    _carry_out(
        session_factory,
        reference,
        outbox_token=token,
        shop=shop,
        master=master,
        runtime=runtime,
        clock=clock,
    )
    with session_factory() as session:
        request = get_request(session, reference=reference)
        status, error = request.status, request.last_error or ""
        results = request.store_results or ""
    # read as the column's type on both databases: refused by name, never by its value
    assert status == "in_progress", status
    assert "not handled: shop.customers.birth_date" in error
    assert "the new value is not a date such as 2026-03-31" in results
    assert wrong not in all_text(session_factory)  # store results, last error, audit, jobs


def test_a_store_that_maps_only_some_fields_gets_them_in_one_call(
    shop: str, master: MasterKey
) -> None:
    """Changing the email first, field by field, would lose the person for the next field."""
    store = shop_store(shop, master)
    changes = {
        "customers.email": "anna.neu@example.org",
        "customers.last_name": "Neumann",
        "crm.notes": "elsewhere",  # another store's field
    }
    reports, known = _rectify(store, IdentitySet.of(email=ADDRESS), changes)
    assert known == {"customers.email", "customers.last_name"}
    assert len(reports) == 1
    email, last_name = _shop_row(shop, "SELECT email, last_name FROM customers WHERE id = :id")
    assert (email, last_name) == ("anna.neu@example.org", "Neumann")
    dataset = getattr(store, "dataset", None)
    assert isinstance(dataset, Dataset)
    assert maps(dataset, "customers.email")
    assert not maps(dataset, "crm.notes")

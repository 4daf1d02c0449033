"""A rectification that turns out to change contact data alerts the address on file first (V-3).

Intake guesses the scope from the references' words; the stores' datasets know
which fields are contact data. The fulfilment job raises the scope, the change
alert goes to the address on file, and the change waits out the grace period.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

import tutela.dsr.fulfil_job  # noqa: F401  (registers the dsr.fulfil job)
from tests.dsr.fulfil_harness import shop_database, shop_store
from tests.dsr.harness import link_token, load, mails, run_jobs
from tutela.audit import entries
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.connectors.sample import customer_email
from tutela.crypto import MasterKey
from tutela.dsr import DsrRuntime, Receipt, consume_link, get_request
from tutela.dsr.events import request_target
from tutela.dsr.jobs import install_runtime
from tutela.mail import FileOutbox
from tutela.storage import transaction

PERSON = 5
ADDRESS = customer_email(PERSON)
ATTACKER = "taken.over@attacker.example"


@pytest.fixture
def shop(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    admin = None if db_url.startswith("sqlite") else request.getfixturevalue("pg_admin_url")
    with shop_database(db_url, tmp_path, admin) as url:
        yield url


def _row(url: str) -> tuple[object, ...]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = text("SELECT email, last_name FROM customers WHERE id = :id")
            return tuple(conn.execute(query, {"id": PERSON}).one())
    finally:
        engine.dispose()


@pytest.mark.promise("P17")
def test_contact_data_found_at_fulfilment_is_alerted_then_changed_after_the_grace_period(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    published: None,
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
    master: MasterKey,
    settings: Settings,
    shop: str,
) -> None:
    settings.dsr_change_grace_hours = 24
    install_runtime(
        DsrRuntime(master=master, settings=settings, stores=(shop_store(shop, master),))
    )
    person(ADDRESS)
    changes = {"customers.email": ATTACKER, "customers.last_name": "Neumann"}
    reference = file_request(ADDRESS, "rectification", changes=changes).reference
    with transaction(session_factory) as session:  # as if intake had not seen the contact data
        request = get_request(session, reference=reference)
        request.scope, request.required_assurance = "general", "channel"
    run_jobs(session_factory, clock)
    with transaction(session_factory) as session:
        consume_link(session, token=link_token(mails(outbox)[-1]), clock=clock)
    run_jobs(session_factory, clock)

    raised = load(session_factory, reference)
    assert (raised.scope, raised.required_assurance) == ("contact_data", "channel_and_notice")
    assert raised.status == "verified"
    alerts = [m for m in mails(outbox) if "was confirmed" in m.subject]
    assert [m.to for m in alerts] == [ADDRESS]  # the address on file, not the new one
    assert _row(shop) == (ADDRESS, _row(shop)[1])  # nothing changed yet
    with session_factory() as session:
        found = entries(session, action="dsr.scope_raised", target=request_target(raised.id))
        assert [json.loads(e.payload)["fields"] for e in found] == [["customers.email"]]
        assert ATTACKER not in found[0].payload

    clock.advance(dt.timedelta(hours=23))
    run_jobs(session_factory, clock)
    assert _row(shop)[0] == ADDRESS  # still within the grace period

    clock.advance(dt.timedelta(hours=1, minutes=5))
    run_jobs(session_factory, clock)
    assert _row(shop) == (ATTACKER, "Neumann")
    done = load(session_factory, reference)
    assert (done.status, done.outcome) == ("completed", "fulfilled")


def test_a_rectification_without_contact_data_keeps_its_scope_and_runs_at_once(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    published: None,
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
    master: MasterKey,
    settings: Settings,
    shop: str,
) -> None:
    settings.dsr_change_grace_hours = 24
    install_runtime(
        DsrRuntime(master=master, settings=settings, stores=(shop_store(shop, master),))
    )
    person(ADDRESS)
    reference = file_request(
        ADDRESS, "rectification", changes={"customers.last_name": "Neumann"}
    ).reference
    run_jobs(session_factory, clock)
    with transaction(session_factory) as session:
        consume_link(session, token=link_token(mails(outbox)[-1]), clock=clock)
    run_jobs(session_factory, clock)
    done = load(session_factory, reference)
    assert (done.scope, done.status) == ("general", "completed")
    assert _row(shop) == (ADDRESS, "Neumann")
    assert not [m for m in mails(outbox) if "was confirmed" in m.subject]

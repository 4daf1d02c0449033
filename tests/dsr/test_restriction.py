"""Restriction marks the person's records in the stores and makes consent checks deny."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.dsr.fulfil_harness import fulfil, shop_database, shop_store
from tests.dsr.harness import link_token, mails, run_jobs
from tutela.clock import FrozenClock
from tutela.connectors.sample import customer_email
from tutela.consent import Reason, check
from tutela.crypto import MasterKey
from tutela.dsr import DsrRuntime, Receipt, consume_link, get_request
from tutela.dsr.restriction import lift_restriction
from tutela.jobs.models import Job
from tutela.mail import FileOutbox
from tutela.storage import transaction

ADDRESS = customer_email(5)


@pytest.fixture
def shop(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    admin = None if db_url.startswith("sqlite") else request.getfixturevalue("pg_admin_url")
    with shop_database(db_url, tmp_path, admin) as url:
        yield url


def _reason(factory: sessionmaker[Session], master: MasterKey, clock: FrozenClock) -> Reason:
    with transaction(factory) as session:
        decision = check(
            session, purpose_id="contract", master=master, clock=clock, kind="email", value=ADDRESS
        )
    return decision.reason


@pytest.mark.promise("P16")
def test_restriction_marks_the_stores_denies_consent_checks_and_can_be_lifted(
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
    reference = file_request(ADDRESS, "restriction").reference
    run_jobs(session_factory, clock)
    with transaction(session_factory) as session:
        consume_link(session, token=link_token(mails(outbox)[-1]), clock=clock)
    with transaction(session_factory) as session:
        request = get_request(session, reference=reference)
        fulfil(session, request, stores=[shop_store(shop, master)], runtime=runtime, clock=clock)
    with session_factory() as session:
        request = get_request(session, reference=reference)
        assert request.status == "completed", request.last_error
    engine = create_engine(shop)
    with engine.connect() as conn:
        marked = conn.execute(text("SELECT restricted_until FROM customers WHERE id = 5"))
        assert marked.scalar_one() is not None
    engine.dispose()
    assert _reason(session_factory, master, clock) is Reason.RESTRICTED
    assert "restricted" in mails(outbox)[-1].flat
    with transaction(session_factory) as session:
        request = get_request(session, reference=reference)
        removed = lift_restriction(session, request=request, actor="staff:1", clock=clock)
    assert removed >= 1
    assert _reason(session_factory, master, clock) is Reason.CONTRACT
    with session_factory() as session:
        kinds = [job.data for job in session.scalars(select(Job)).all()]
    assert any(payload.get("notice") == "restriction_lifted" for payload in kinds)

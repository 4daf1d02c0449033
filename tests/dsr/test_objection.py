"""Objection, withdrawal and the CCPA opt-outs land in the ledger or on the suppression list."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.dsr.fulfil_harness import fulfil
from tests.dsr.harness import mails, run_jobs
from tutela.clock import FrozenClock
from tutela.consent import ConsentState, Reason, check_bulk
from tutela.crypto import MasterKey
from tutela.dsr import DsrRuntime, Receipt, get_request
from tutela.mail import FileOutbox
from tutela.storage import transaction

STRANGER = "stranger@example.org"


def _run(
    factory: sessionmaker[Session], reference: str, runtime: DsrRuntime, clock: FrozenClock
) -> None:
    with transaction(factory) as session:
        request = get_request(session, reference=reference)
        fulfil(session, request, stores=[], runtime=runtime, clock=clock)


def _reason(
    factory: sessionmaker[Session], master: MasterKey, clock: FrozenClock, purpose: str, who: str
) -> str | None:
    with transaction(factory) as session:
        (result,) = check_bulk(
            session, purpose_id=purpose, kind="email", values=[who], master=master, clock=clock
        )
    return result.reason


@pytest.mark.promise("P16")
def test_objection_to_marketing_suppresses_even_an_unknown_address(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    published: None,
    runtime: DsrRuntime,
    clock: FrozenClock,
    master: MasterKey,
) -> None:
    reference = file_request(STRANGER, "objection", scope="marketing").reference
    _run(session_factory, reference, runtime, clock)
    with session_factory() as session:
        request = get_request(session, reference=reference)
        assert request.status == "completed"
        assert "similar_offers" in (request.store_results or "")
    for purpose in ("newsletter", "similar_offers"):
        assert _reason(session_factory, master, clock, purpose, STRANGER) == Reason.SUPPRESSED
    assert _reason(session_factory, master, clock, "contract", STRANGER) == Reason.CONTRACT


@pytest.mark.promise("P16")
def test_withdrawal_of_a_known_person_is_written_to_the_ledger_and_answered(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    published: None,
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
) -> None:
    subject_id = person("anna@example.org")
    reference = file_request("anna@example.org", "consent_withdrawal", scope="marketing").reference
    run_jobs(session_factory, clock)
    _run(session_factory, reference, runtime, clock)
    with session_factory() as session:
        states = dict(
            session.execute(
                select(ConsentState.purpose_id, ConsentState.status).where(
                    ConsentState.subject_id == subject_id
                )
            ).all()
        )
        assert get_request(session, reference=reference).status == "completed"
    assert states.get("newsletter") == "withdrawn"
    assert "contract" not in states
    answer = mails(outbox)[-1]
    assert answer.to == "anna@example.org"
    assert "no longer use your data" in answer.flat

"""A staff action and a running fulfilment of the same request take turns (PostgreSQL)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.dsr.harness import load
from tutela.clock import FrozenClock
from tutela.dsr import DsrRequest, Receipt, deny, get_request
from tutela.dsr.terms import Status
from tutela.errors import Conflict
from tutela.storage import transaction


def test_a_deny_waits_for_the_run_and_then_sees_its_outcome(
    engine: Engine,
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    clock: FrozenClock,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time; there is nothing to interleave")
    receipt = file_request()
    with transaction(session_factory) as session:
        request = get_request(session, reference=receipt.reference)
        request.status = Status.IN_PROGRESS.value  # as a fulfilment run leaves it
    outcome: list[str] = []

    def staff() -> None:
        try:
            with transaction(session_factory) as session:
                found = get_request(session, reference=receipt.reference, lock=True)
                deny(session, request=found, reason="Not the person.", actor="staff:1", clock=clock)
            outcome.append("denied")
        except Conflict:
            outcome.append("conflict")

    with session_factory() as run, run.begin():
        found = run.get(
            DsrRequest, load(session_factory, receipt.reference).id, with_for_update=True
        )
        assert found is not None
        thread = threading.Thread(target=staff)
        thread.start()
        time.sleep(0.3)
        assert outcome == []  # the staff action waits for the run's row lock
        found.status = Status.COMPLETED.value  # the run finishes first
    thread.join(20)
    assert outcome == ["conflict"]
    assert load(session_factory, receipt.reference).status == Status.COMPLETED.value

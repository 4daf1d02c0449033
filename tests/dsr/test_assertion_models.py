"""Used in-app assertions on both databases: each one is accepted once, then forgotten."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tests.dsr.harness import APP_KEY, KNOWN, load
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.crypto import MasterKey, token_digest
from tutela.dsr import DsrRequest, Receipt, sign_assertion, submit_in_app
from tutela.dsr.assertion import InvalidAssertion, ReplayedAssertion, verify_assertion
from tutela.dsr.assertion_models import UsedAssertion, prune_used_assertions, spend_assertion
from tutela.errors import InvalidInput
from tutela.storage import transaction


def fresh(clock: FrozenClock, **overrides: Any) -> str:
    now = clock.now()
    values: dict[str, Any] = {"kind": "email", "value": KNOWN, "auth_time": now, "issued_at": now}
    values.update(overrides)
    return sign_assertion(APP_KEY, **values)


def file_in_app(
    factory: sessionmaker[Session],
    token: str,
    *,
    master: MasterKey,
    clock: FrozenClock,
    settings: Settings,
    request_type: str = "access",
) -> Receipt:
    with transaction(factory) as session:
        return submit_in_app(
            session,
            assertion=token,
            request_type=request_type,
            language="en",
            master=master,
            clock=clock,
            settings=settings,
        )


def count(factory: sessionmaker[Session], model: type[Any]) -> int:
    with factory() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


@pytest.mark.promise("P03")
def test_an_assertion_files_one_request_and_a_replay_is_refused(
    session_factory: sessionmaker[Session],
    master: MasterKey,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    token = fresh(clock)
    first = file_in_app(session_factory, token, master=master, clock=clock, settings=settings)
    assert load(session_factory, first.reference).status == "verified"
    clock.advance(dt.timedelta(minutes=2))  # still inside the 10 minutes
    with pytest.raises(ReplayedAssertion) as caught:
        file_in_app(
            session_factory,
            token,
            master=master,
            clock=clock,
            settings=settings,
            request_type="erasure",
        )
    assert caught.value.status == 409
    assert "already used" in caught.value.detail
    assert count(session_factory, DsrRequest) == 1
    second = file_in_app(
        session_factory, fresh(clock), master=master, clock=clock, settings=settings
    )
    assert second.reference != first.reference
    with session_factory() as session:
        digests = session.scalars(select(UsedAssertion.jti_digest)).all()
    claims = verify_assertion(token, key=APP_KEY, now=clock.now())
    assert token_digest(claims.jti) in digests
    assert claims.jti not in digests  # only the digest is kept


def test_a_request_that_fails_leaves_its_assertion_unused(
    session_factory: sessionmaker[Session],
    master: MasterKey,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    token = fresh(clock)
    with pytest.raises(InvalidInput):
        file_in_app(
            session_factory,
            token,
            master=master,
            clock=clock,
            settings=settings,
            request_type="everything",
        )
    assert count(session_factory, UsedAssertion) == 0
    file_in_app(session_factory, token, master=master, clock=clock, settings=settings)
    assert count(session_factory, UsedAssertion) == 1


def test_used_ids_are_forgotten_once_the_assertion_expired(
    session_factory: sessionmaker[Session],
    master: MasterKey,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    old = fresh(clock)
    file_in_app(session_factory, old, master=master, clock=clock, settings=settings)
    with session_factory() as session:
        [row] = session.scalars(select(UsedAssertion)).all()
        assert row.expires_at == clock.now() + dt.timedelta(minutes=10)
    clock.advance(dt.timedelta(minutes=10, seconds=1))
    file_in_app(session_factory, fresh(clock), master=master, clock=clock, settings=settings)
    with transaction(session_factory) as session:
        assert prune_used_assertions(session, clock=clock) == 1  # the daily sweep does this
    assert count(session_factory, UsedAssertion) == 1
    with pytest.raises(InvalidAssertion, match="more than 10 minutes ago"):
        file_in_app(session_factory, old, master=master, clock=clock, settings=settings)


def test_the_database_refuses_a_second_row_for_one_id(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    now = clock.now()
    with session_factory() as session:
        session.add(UsedAssertion(jti_digest="a" * 64, used_at=now, expires_at=now))
        session.flush()
        session.add(UsedAssertion(jti_digest="a" * 64, used_at=now, expires_at=now))
        with pytest.raises(IntegrityError):
            session.flush()


def test_two_uses_racing_meet_at_the_unique_constraint(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    """A second transaction spending the same assertion waits for the first, then is refused."""
    checked = verify_assertion(fresh(clock), key=APP_KEY, now=clock.now())
    outcome: list[str] = []

    def rival() -> None:
        with session_factory() as second, second.begin():
            try:
                spend_assertion(second, assertion=checked, clock=clock)
                outcome.append("accepted")
            except ReplayedAssertion:
                outcome.append("refused")

    with session_factory() as first:
        with first.begin():
            spend_assertion(first, assertion=checked, clock=clock)
            thread = threading.Thread(target=rival)
            thread.start()
            time.sleep(0.3)  # the rival now waits for this transaction
        thread.join(30)
    assert outcome == ["refused"]
    assert count(session_factory, UsedAssertion) == 1

"""Concurrent appends queue behind each other; the chain never forks (P07)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.audit.sample import START, SampleRecorded
from tutela.audit import emit, head, verify
from tutela.clock import FrozenClock
from tutela.storage import transaction

ROUNDS = 15


@pytest.mark.promise("P07")
def test_two_writers_never_fork_the_chain(session_factory: sessionmaker[Session]) -> None:
    barrier = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        clock = FrozenClock(START)
        try:
            for number in range(ROUNDS):
                with transaction(session_factory) as session:
                    barrier.wait()  # both transactions are open before either appends
                    emit(session, SampleRecorded(ref=f"{name}{number}"), actor=name, clock=clock)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with session_factory() as session:
        result = verify(session)
        assert result.ok, result.reason
        assert result.checked == 2 * ROUNDS
        assert head(session).last_sequence == 2 * ROUNDS

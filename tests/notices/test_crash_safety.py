"""A worker killed mid-batch or slow mail: no notice repeats except the one in flight."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from email.message import EmailMessage

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.notices.conftest import Person, Run, Runtime, Versions, messages
from tutela.clock import FrozenClock
from tutela.mail import FileOutbox, Mailer
from tutela.notices import NoticeDelivery
from tutela.notices.delivery import BATCH_TIME, SENDING_TIMEOUT
from tutela.notices.jobs import run_fanout, run_send
from tutela.storage import transaction

PEOPLE = [f"person{n}@example.org" for n in range(1, 6)]


class Killed(BaseException):
    """The worker process dies (not an error the code may catch)."""


class KilledAfter:
    """Hands the ``n``-th mail over, then the process dies before anything is recorded."""

    def __init__(self, outbox: FileOutbox, n: int) -> None:
        self.outbox = outbox
        self.n = n
        self.calls = 0

    def send(self, message: EmailMessage) -> str:
        self.calls += 1
        sent = self.outbox.send(message)
        if self.calls == self.n:
            raise Killed
        return sent


class Slow:
    """Each mail takes ``seconds`` of (frozen) time."""

    def __init__(self, outbox: FileOutbox, clock: FrozenClock, seconds: int) -> None:
        self.outbox = outbox
        self.clock = clock
        self.seconds = seconds

    def send(self, message: EmailMessage) -> str:
        self.clock.advance(dt.timedelta(seconds=self.seconds))
        return self.outbox.send(message)


def received(outbox: FileOutbox) -> Counter[str]:
    return Counter(str(m["To"]) for m in messages(outbox))


@pytest.mark.promise("P20")
def test_a_worker_killed_mid_batch_repeats_at_most_the_mail_in_flight(
    versions: Versions,
    subscriber: Person,
    runtime: Runtime,
    use_mailer: Callable[[Mailer], None],
    outbox: FileOutbox,
    run: Run,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    for address in PEOPLE:
        subscriber(address)
    runtime()
    use_mailer(KilledAfter(outbox, 3))
    run.queue(versions.second.number)
    with pytest.raises(Killed):
        run.worker()
    assert sum(received(outbox).values()) == 3
    with session_factory() as session:
        statuses = Counter(
            session.scalars(select(NoticeDelivery.status).order_by(NoticeDelivery.id))
        )
    assert statuses == {"sent": 2, "sending": 1, "queued": 2}  # each outcome kept at once

    use_mailer(outbox)  # a new worker, after the dead one's job lease ran out
    clock.advance(dt.timedelta(minutes=6))
    run.worker(rounds=40, step=dt.timedelta(minutes=1))
    counts = received(outbox)
    assert set(counts) == set(PEOPLE)
    assert sorted(counts.values()) == [1, 1, 1, 1, 2]  # only the mail in flight went twice
    with session_factory() as session:
        rows = session.scalars(select(NoticeDelivery)).all()
        assert {row.status for row in rows} == {"sent"}
        repeated = [row for row in rows if row.attempts == 2]
        assert len(repeated) == 1
        assert repeated[0].sent_at is not None
        assert repeated[0].claimed_at is not None
        # retried only once its claim was older than the timeout
        assert repeated[0].sent_at - repeated[0].created_at >= SENDING_TIMEOUT


@pytest.mark.promise("P20")
def test_a_batch_stops_after_its_time_and_the_next_one_goes_on(
    versions: Versions,
    subscriber: Person,
    runtime: Runtime,
    use_mailer: Callable[[Mailer], None],
    outbox: FileOutbox,
    run: Run,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    for address in PEOPLE:
        subscriber(address)
    installed = runtime()
    use_mailer(Slow(outbox, clock, seconds=25))
    run.queue(versions.second.number)
    with transaction(session_factory) as session:
        assert run_fanout(session, version=2, runtime=installed, clock=clock, job_id=0)
    start = clock.now()
    with transaction(session_factory) as session:
        run_send(session, version=2, runtime=installed, clock=clock, job_id=0)
    first = sum(received(outbox).values())
    assert 1 <= first < len(PEOPLE)
    assert clock.now() - start < BATCH_TIME + dt.timedelta(seconds=25)
    run.worker()
    assert received(outbox) == Counter(PEOPLE)  # everyone exactly once

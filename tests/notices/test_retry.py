"""Delivery through a real SMTP server: a server that is down, one that refuses, retries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.mail.conftest import Inbox, free_port
from tests.notices.conftest import Person, Run, Runtime, Versions
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.jobs import Job
from tutela.mail import Mailer, SmtpMailer
from tutela.notices import NoticeCampaign, NoticeDelivery
from tutela.notices.delivery import MAX_ATTEMPTS, retry_delay

ADDRESS = "anna@example.org"


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def mailer(port: int, tmp_path: Path) -> SmtpMailer:
    settings = Settings(
        data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none"
    )
    return SmtpMailer(settings, timeout=5)


@pytest.fixture
def server(port: int) -> Iterator[Callable[..., Inbox]]:
    started: list[Controller] = []

    def start(*, refuse: bool = False) -> Inbox:
        inbox = Inbox(refuse=refuse)
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        started.append(controller)
        return inbox

    yield start
    for controller in started:
        controller.stop()


def the_row(factory: sessionmaker[Session]) -> NoticeDelivery:
    with factory() as session:
        row = session.scalars(select(NoticeDelivery)).one()
        session.expunge(row)
        return row


@pytest.mark.promise("P20")
def test_a_server_that_is_down_is_retried_until_it_takes_the_mail(
    versions: Versions,
    subscriber: Person,
    runtime: Runtime,
    use_mailer: Callable[[Mailer], None],
    mailer: SmtpMailer,
    server: Callable[..., Inbox],
    run: Run,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    subscriber(ADDRESS)
    runtime()
    use_mailer(mailer)
    run.queue(versions.second.number)
    run.worker(rounds=3)
    row = the_row(session_factory)
    assert (row.status, row.attempts) == ("retrying", 1)
    assert row.last_error == "not accepted by the mail server (attempt 1)"
    assert clock.now() < row.next_attempt_at <= clock.now() + retry_delay(1)
    with session_factory() as session:  # a send job waits for the retry: nothing is lost
        waiting = session.scalars(select(Job).where(Job.kind == "notices.send")).all()
        assert any(
            job.status == "queued" and job.run_after >= row.next_attempt_at for job in waiting
        )
    inbox = server()
    run.worker(rounds=30, step=dt.timedelta(minutes=1))
    row = the_row(session_factory)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert [message.rcpt_tos for message in inbox.messages] == [[ADDRESS]]


@pytest.mark.promise("P20")
def test_a_refused_recipient_is_bounced_and_not_retried(
    versions: Versions,
    subscriber: Person,
    runtime: Runtime,
    use_mailer: Callable[[Mailer], None],
    mailer: SmtpMailer,
    server: Callable[..., Inbox],
    run: Run,
    session_factory: sessionmaker[Session],
) -> None:
    subscriber(ADDRESS)
    runtime()
    use_mailer(mailer)
    inbox = server(refuse=True)
    run.queue(versions.second.number)
    run.worker(rounds=3)
    row = the_row(session_factory)
    assert (row.status, row.attempts) == ("bounced", 1)
    assert row.last_error == "refused for good by the mail server (attempt 1)"
    assert ADDRESS not in (row.last_error or "")
    assert inbox.messages == []


def test_retries_end_as_failed_after_the_last_attempt(
    versions: Versions,
    subscriber: Person,
    runtime: Runtime,
    use_mailer: Callable[[Mailer], None],
    mailer: SmtpMailer,
    run: Run,
    session_factory: sessionmaker[Session],
) -> None:
    subscriber(ADDRESS)
    runtime()
    use_mailer(mailer)
    run.queue(versions.second.number)
    run.worker(rounds=MAX_ATTEMPTS * 3, step=dt.timedelta(hours=6))
    row = the_row(session_factory)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    with session_factory() as session:
        campaign = session.scalars(select(NoticeCampaign)).one()
        assert campaign.status == "done"


def test_retry_delay_grows_and_stops_growing() -> None:
    delays = [retry_delay(n) for n in range(1, 10)]
    assert delays[:3] == [dt.timedelta(minutes=m) for m in (5, 10, 20)]
    assert delays == sorted(delays)
    assert max(delays) == dt.timedelta(hours=6)

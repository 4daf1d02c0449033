"""A version replaced before it takes effect, or already in effect, is not announced any more."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from email.message import EmailMessage

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.notices.conftest import Person, Publish, Run, Runtime, Versions, changed, messages
from tutela.audit import entries
from tutela.clock import FrozenClock
from tutela.mail import FileOutbox, MailDeliveryFailed, Mailer
from tutela.notices import NoticeCampaign, NoticeDelivery, notices_of, plan_soon
from tutela.notices.cancellation import stop_if_outdated
from tutela.notices.jobs import run_fanout, run_send
from tutela.policy.models import Declaration
from tutela.storage import transaction


def statuses(factory: sessionmaker[Session], version: int) -> list[str]:
    with factory() as session:
        return list(
            session.scalars(
                select(NoticeDelivery.status)
                .where(NoticeDelivery.version == version)
                .order_by(NoticeDelivery.id)
            )
        )


def cancelled_events(factory: sessionmaker[Session]) -> list[dict[str, object]]:
    with factory() as session:
        return [json.loads(e.payload) for e in entries(session, action="notices.cancelled")]


@pytest.mark.promise("P20")
def test_a_superseded_version_stops_and_the_new_one_is_announced(
    versions: Versions,
    subscriber: Person,
    runtime: Runtime,
    use_mailer: Callable[[Mailer], None],
    outbox: FileOutbox,
    run: Run,
    publish_version: Publish,
    declaration: Declaration,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    subscriber("anna@example.org")
    subscriber("ben@example.org")
    installed = runtime()
    use_mailer(outbox)
    run.queue(versions.second.number)
    with transaction(session_factory) as session:  # recipients found, nothing sent yet
        assert run_fanout(session, version=2, runtime=installed, clock=clock, job_id=0)
    publish_version(changed(declaration, years=5), effective_on=versions.second.effective_at)

    run.worker()
    assert messages(outbox) == []  # nobody is told that version 2 takes effect
    assert statuses(session_factory, 2) == ["cancelled", "cancelled"]
    with session_factory() as session:
        campaign = session.scalars(select(NoticeCampaign).where(NoticeCampaign.version == 2)).one()
        assert (campaign.status, campaign.cancelled_because) == ("cancelled", "superseded")
        assert campaign.wrapped_key is None
        status = notices_of(session, version=2, today=clock.now().date())
        assert status.open == 0
    (event,) = cancelled_events(session_factory)
    assert event == {
        "version": 2,
        "reason": "superseded",
        "replaced_by": 3,
        "cancelled": 2,
        "sent": 0,
        "in_flight": 0,
    }

    with transaction(session_factory) as session:  # the planner announces version 3 instead
        plan_soon(session, clock=clock)
    run.worker()
    links = sorted(str(m["To"]) for m in messages(outbox))
    assert links == ["anna@example.org", "ben@example.org"]
    assert all("/privacy/v/3?" in m.get_body().get_content() for m in messages(outbox))  # type: ignore[union-attr]


@pytest.mark.promise("P20")
def test_open_notices_stop_once_the_version_is_in_effect(
    versions: Versions,
    subscriber: Person,
    runtime: Runtime,
    use_mailer: Callable[[Mailer], None],
    outbox: FileOutbox,
    run: Run,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    subscriber("anna@example.org")
    installed = runtime()
    use_mailer(outbox)
    run.queue(versions.second.number)
    with transaction(session_factory) as session:
        assert run_fanout(session, version=2, runtime=installed, clock=clock, job_id=0)
    effective = versions.second.effective_at
    clock.advance(dt.datetime.combine(effective, dt.time(12), tzinfo=dt.UTC) - clock.now())
    run.worker()
    assert messages(outbox) == []
    assert statuses(session_factory, 2) == ["cancelled"]
    (event,) = cancelled_events(session_factory)
    assert (event["reason"], event["replaced_by"], event["cancelled"]) == ("in_effect", None, 1)


class SupersedingMailer:
    """While the first notice is with the mail server, version 3 replaces version 2.

    The server then does not take that notice (a temporary failure).
    """

    def __init__(self, replace: Callable[[], None]) -> None:
        self.replace = replace
        self.calls = 0

    def send(self, message: EmailMessage) -> str:
        self.calls += 1
        self.replace()
        raise MailDeliveryFailed("The mail server did not answer.", permanent=False)


@pytest.mark.promise("P20")
def test_a_notice_in_flight_when_the_version_is_replaced_is_not_retried(
    versions: Versions,
    subscriber: Person,
    runtime: Runtime,
    use_mailer: Callable[[Mailer], None],
    run: Run,
    publish_version: Publish,
    declaration: Declaration,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    subscriber("anna@example.org")
    subscriber("ben@example.org")
    installed = runtime()
    run.queue(versions.second.number)
    with transaction(session_factory) as session:
        assert run_fanout(session, version=2, runtime=installed, clock=clock, job_id=0)

    def replace() -> None:  # committed while the notice is in flight (no transaction held)
        publish_version(changed(declaration, years=5), effective_on=versions.second.effective_at)
        with transaction(session_factory) as session:
            assert stop_if_outdated(session, version=2, clock=clock)

    mailer = SupersedingMailer(replace)
    use_mailer(mailer)
    with transaction(session_factory) as session:
        run_send(session, version=2, runtime=installed, clock=clock, job_id=0)
    assert mailer.calls == 1  # the second notice was never claimed
    assert statuses(session_factory, 2) == ["cancelled", "cancelled"]
    (event,) = cancelled_events(session_factory)
    assert (event["cancelled"], event["in_flight"], event["replaced_by"]) == (1, 1, 3)
    run.worker()
    assert mailer.calls == 1
    assert statuses(session_factory, 2) == ["cancelled", "cancelled"]

"""Which versions need notices, until when, and the refusal when it is too late."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.notices.conftest import Person, Publish, Run, Runtime, Versions, changed
from tutela.audit import entries
from tutela.calendar import german_date
from tutela.clock import FrozenClock
from tutela.crypto import MasterKey
from tutela.errors import Conflict
from tutela.jobs import Job
from tutela.mail import FileOutbox, Mailer
from tutela.notices import (
    NoticeCampaign,
    NoticesTooLate,
    PlanState,
    latest_send_on,
    plan_for,
    queue_notices,
    too_late,
)
from tutela.notices.jobs import ensure_daily_plan, run_plan
from tutela.policy.models import Declaration
from tutela.policy.versions import get_version
from tutela.storage import transaction


def late_events(factory: sessionmaker[Session]) -> list[dict[str, object]]:
    with factory() as session:
        found = [json.loads(e.payload) for e in entries(session, action="notices.late")]
    return list(reversed(found))  # oldest first


def jobs_of(factory: sessionmaker[Session]) -> list[str]:
    with factory() as session:
        return [job.kind for job in session.scalars(select(Job).order_by(Job.id))]


def test_plans_name_the_version_before_and_the_last_sending_day(
    versions: Versions, session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    today = german_date(clock.now())
    with session_factory() as session:
        first = plan_for(session, version=get_version(session, 1), today=today)
        second = plan_for(session, version=get_version(session, 2), today=today)
    assert first.state is PlanState.IN_EFFECT
    assert second.state is PlanState.DUE
    assert second.previous == 1
    # publish() chose the earliest date the 30 Werktage allow, so today is the last day
    assert second.send_by == today
    assert second.send_by == latest_send_on(versions.second.effective_at, second.rules)


def test_a_version_replaced_before_it_takes_effect_needs_no_notice(
    versions: Versions,
    publish_version: Publish,
    declaration: Declaration,
    clock: FrozenClock,
    session_factory: sessionmaker[Session],
) -> None:
    publish_version(changed(declaration, years=5), effective_on=versions.second.effective_at)
    today = german_date(clock.now())
    with session_factory() as session:
        assert plan_for(session, version=get_version(session, 2), today=today).state is (
            PlanState.SUPERSEDED
        )
        assert plan_for(session, version=get_version(session, 3), today=today).previous == 1


def test_no_notices_when_no_version_promises_them(
    publish_version: Publish,
    declaration: Declaration,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
    master: MasterKey,
) -> None:
    quiet = {"days": 30, "unit": "werktage", "states": "all", "notify_subjects": False}
    publish_version(changed(declaration, years=3, change_notice=quiet))
    publish_version(changed(declaration, change_notice=quiet))
    with session_factory() as session:
        today = german_date(clock.now())
        plan = plan_for(session, version=get_version(session, 2), today=today)
        assert plan.state is PlanState.NOT_REQUIRED
        with pytest.raises(Conflict, match="notify_subjects is false"):
            queue_notices(session, version=2, master=master, clock=clock, actor="test")


def test_the_first_version_is_not_announced(
    publish_version: Publish,
    declaration: Declaration,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    publish_version(declaration, effective_on=dt.date(2026, 4, 1))
    with session_factory() as session:
        plan = plan_for(session, version=get_version(session, 1), today=german_date(clock.now()))
    assert plan.state is PlanState.FIRST


@pytest.mark.promise("P20")
def test_queuing_after_the_last_sending_day_is_refused_and_audited(
    versions: Versions,
    subscriber: Person,
    run: Run,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    subscriber("anna@example.org")
    clock.advance(dt.timedelta(days=1))  # one day after the last day to send
    campaign = run.queue(versions.second.number)
    assert campaign.status == "refused"
    assert jobs_of(session_factory) == []  # nothing will be sent
    assert late_events(session_factory) == [
        {
            "version": 2,
            "effective_on": versions.second.effective_at.isoformat(),
            "send_by": "2026-03-02",
            "today": "2026-03-03",
            "refused": True,
            "accepted": False,
            "pending": 0,
        }
    ]
    error = too_late(campaign, today=dt.date(2026, 3, 3))
    assert isinstance(error, NoticesTooLate)
    assert "2026-03-02" in error.detail
    assert "--effective-on" in error.detail
    # asking again without accepting stays refused and sends nothing
    assert run.queue(versions.second.number).status == "refused"
    assert jobs_of(session_factory) == []


@pytest.mark.promise("P20")
def test_sending_knowingly_late_is_flagged(
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
    runtime()
    use_mailer(outbox)
    clock.advance(dt.timedelta(days=2))
    assert run.queue(versions.second.number).status == "refused"
    campaign = run.queue(versions.second.number, allow_late=True)
    assert (campaign.status, campaign.late) == ("planning", True)
    run.worker()
    events = late_events(session_factory)
    assert [(e["refused"], e["accepted"]) for e in events] == [(True, False), (False, True)]
    with session_factory() as session:
        finished = json.loads(entries(session, action="notices.finished")[0].payload)
    assert finished["sent"] == 1
    assert finished["sent_late"] == 1


@pytest.mark.promise("P20")
def test_the_planner_flags_open_notices_once_the_day_has_passed(
    versions: Versions,
    subscriber: Person,
    runtime: Runtime,
    run: Run,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    subscriber("anna@example.org")
    installed = runtime()
    run.queue(versions.second.number)  # no worker runs: the notices stay open
    clock.advance(dt.timedelta(days=1))
    with transaction(session_factory) as session:
        run_plan(session, runtime=installed, clock=clock)
    with transaction(session_factory) as session:
        run_plan(session, runtime=installed, clock=clock)  # flagged once only
    events = late_events(session_factory)
    assert len(events) == 1
    assert events[0]["refused"] is False
    with session_factory() as session:
        campaign = session.scalars(select(NoticeCampaign)).one()
        assert campaign.late is True


def test_the_daily_plan_is_queued_once_per_day(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    for _ in range(3):  # serve and worker both call it at every start
        with transaction(session_factory) as session:
            ensure_daily_plan(session, clock=clock)
    with session_factory() as session:
        (job,) = session.scalars(select(Job)).all()
    assert (job.kind, job.idempotency_key) == ("notices.plan", "notices.plan:2026-03-03")
    assert job.run_after == dt.datetime(2026, 3, 3, 4, 0, tzinfo=dt.UTC)  # 05:00 German time

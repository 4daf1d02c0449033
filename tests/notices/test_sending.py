"""Notices end to end on both databases: recipients, languages, diff, audit, no double send."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tests.notices.conftest import (
    BASE_URL,
    RETENTION_DE,
    RETENTION_EN,
    Person,
    Run,
    Runtime,
    StoreFactory,
    Versions,
    body,
    messages,
)
from tutela.audit import entries
from tutela.clock import FrozenClock
from tutela.mail import FileOutbox, Mailer
from tutela.notices import NoticeDelivery, VersionNotices, notices_of, plan_soon
from tutela.notices.jobs import run_fanout, run_send
from tutela.notices.models import NoticeCampaign
from tutela.storage import transaction
from tutela.subjects import Subject, erase_subject


def deliveries(factory: sessionmaker[Session], version: int) -> list[NoticeDelivery]:
    with factory() as session:
        rows = session.scalars(
            select(NoticeDelivery)
            .where(NoticeDelivery.version == version)
            .order_by(NoticeDelivery.id)
        ).all()
        session.expunge_all()
        return list(rows)


def actions(factory: sessionmaker[Session], prefix: str = "notices.") -> list[dict[str, object]]:
    with factory() as session:
        found = [
            {"action": e.action, **json.loads(e.payload)}
            for e in entries(session, limit=500)
            if e.action.startswith(prefix)
        ]
    return list(reversed(found))  # oldest first


@pytest.mark.promise("P20")
def test_subscribers_and_account_holders_are_told_in_their_language(
    versions: Versions,
    subscriber: Person,
    store: StoreFactory,
    runtime: Runtime,
    use_mailer: Callable[[Mailer], None],
    outbox: FileOutbox,
    run: Run,
    session_factory: sessionmaker[Session],
) -> None:
    subscriber("anna@example.org", language="de")
    subscriber("ben@example.org", language="en")
    subscriber("pending@example.org", actions=("given",))  # double opt-in not confirmed
    subscriber("gone@example.org", actions=("given", "confirmed", "withdrawn"))
    subscriber("voice@example.org", language="en", purpose="call_recording", actions=("given",))
    accounts = store(
        [
            (1, "Anna@Example.org", "en-GB"),  # the subscriber again: told once, in German
            (2, "clara@example.org", "en_US"),
            (3, "dora@example.org", None),  # no language: the default (de)
            (4, "not an address", "de"),
            (5, None, "de"),
        ]
    )
    runtime(accounts)
    use_mailer(outbox)

    campaign = run.queue(versions.second.number)
    assert campaign.status == "planning"
    run.worker()

    sent = {str(m["To"]): m for m in messages(outbox)}
    assert set(sent) == {
        "anna@example.org",
        "ben@example.org",
        "voice@example.org",
        "clara@example.org",
        "dora@example.org",
    }
    rows = {r.recipient_key: r for r in deliveries(session_factory, versions.second.number)}
    assert len(rows) == 5
    assert {r.status for r in rows.values()} == {"sent"}
    assert all(r.address_sealed is None for r in rows.values())
    german = body(sent["anna@example.org"])
    english = body(sent["clara@example.org"])
    assert RETENTION_DE in german
    assert RETENTION_EN in english
    assert RETENTION_DE in body(sent["dora@example.org"])
    assert RETENTION_EN in body(sent["ben@example.org"])
    effective = versions.second.effective_at
    assert f"{effective.day}. " in german  # German date: "14. April 2026"
    assert f"{BASE_URL}/privacy/v/2?lang=de" in german
    assert f"{BASE_URL}/privacy/v/2?lang=en" in english
    html = sent["clara@example.org"].get_body(preferencelist=("html",))
    assert html is not None
    assert "New retention period" in str(html.get_content())

    status = _status(session_factory, versions.second.number)
    assert status.state == "done"
    assert status.by_language == {"de": 2, "en": 3}
    assert status.by_source == {"consent": 3, "shop-accounts": 2}
    assert status.skipped == 1
    audited = actions(session_factory)
    assert [a["action"] for a in audited] == ["notices.queued", "notices.finished"]
    assert audited[0]["recipients"] == 5
    assert audited[0]["by_source"] == {"consent": 3, "shop-accounts": 2}
    assert audited[1]["sent"] == 5
    assert audited[1]["sent_late"] == 0
    assert "example.org" not in str(audited)  # counts only, no addresses


def _status(factory: sessionmaker[Session], version: int) -> VersionNotices:
    with factory() as session:
        return notices_of(session, version=version, today=dt.date(2026, 3, 2))


@pytest.mark.promise("P20")
def test_queuing_twice_sends_once(
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
    first = run.queue(versions.second.number)
    again = run.queue(versions.second.number)
    assert again.id == first.id
    with transaction(session_factory) as session:
        plan_soon(session, clock=clock)  # the planner finds the campaign and leaves it
    run.worker()
    run.queue(versions.second.number)
    run.worker()
    assert len(messages(outbox)) == 1
    assert len(deliveries(session_factory, versions.second.number)) == 1
    row = deliveries(session_factory, versions.second.number)[0]
    twin = NoticeDelivery(
        version=row.version,
        recipient_key=row.recipient_key,
        source="consent",
        language="de",
        status="queued",
        attempts=0,
        next_attempt_at=clock.now(),
        created_at=clock.now(),
    )
    with session_factory() as session:
        session.add(twin)
        with pytest.raises(IntegrityError):
            session.flush()


@pytest.mark.promise("P20")
def test_the_planner_starts_notices_after_publishing(
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
    with transaction(session_factory) as session:
        plan_soon(session, clock=clock)
    run.worker()
    assert [str(m["To"]) for m in messages(outbox)] == ["anna@example.org"]
    with session_factory() as session:
        campaign = session.scalars(select(NoticeCampaign)).one()
        assert (campaign.version, campaign.previous, campaign.status) == (2, 1, "done")
        assert campaign.wrapped_key is None  # the sealing key is gone


@pytest.mark.promise("P20")
def test_an_erased_subscriber_is_dropped_not_mailed(
    versions: Versions,
    subscriber: Person,
    runtime: Runtime,
    use_mailer: Callable[[Mailer], None],
    outbox: FileOutbox,
    run: Run,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    anna = subscriber("anna@example.org")
    ben = subscriber("ben@example.org")
    installed = runtime()
    use_mailer(outbox)
    run.queue(versions.second.number)
    with transaction(session_factory) as session:  # find the recipients, send nothing yet
        assert run_fanout(session, version=2, runtime=installed, clock=clock, job_id=0)
    with transaction(session_factory) as session:
        target = session.get(Subject, anna.id)
        assert target is not None
        erase_subject(session, subject=target, clock=clock, actor="test", reason="request 7")
    with transaction(session_factory) as session:
        run_send(session, version=2, runtime=installed, clock=clock, job_id=0)
    statuses = {r.subject_id: (r.status, r.last_error) for r in deliveries(session_factory, 2)}
    assert statuses[anna.id] == ("dropped", "the recipient was erased or has no address any more")
    assert statuses[ben.id] == ("sent", None)
    assert [str(m["To"]) for m in messages(outbox)] == ["ben@example.org"]
    finished = actions(session_factory)[-1]
    assert (finished["action"], finished["sent"], finished["dropped"]) == ("notices.finished", 1, 1)

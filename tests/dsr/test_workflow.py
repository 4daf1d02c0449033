"""The workflow on both databases: legal moves, extension, denial, the queue, expiry, digest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.dsr.harness import KNOWN, link_token, load, mails, run_jobs
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.crypto import MasterKey
from tutela.dsr import (
    DsrRuntime,
    Receipt,
    complete,
    consume_link,
    deny,
    due,
    expire_unverified,
    extend,
    get_request,
    record_staff_entry,
    start,
    timeline,
)
from tutela.dsr.fulfilment import _handlers
from tutela.dsr.terms import RequestType
from tutela.errors import Conflict, InvalidInput, NotFound
from tutela.mail import FileOutbox
from tutela.storage import transaction

STAFF = "staff:1"


def verified_request(
    factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    outbox: FileOutbox,
    clock: FrozenClock,
    request_type: str = "access",
    language: str = "en",
) -> str:
    reference = file_request(KNOWN, request_type, language=language).reference
    run_jobs(factory, clock)
    token = link_token(mails(outbox)[-1])
    with transaction(factory) as session:
        consume_link(session, token=token, clock=clock)
    return reference


@pytest.mark.promise("P16")
def test_an_unverified_request_cannot_be_completed(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    clock: FrozenClock,
) -> None:
    reference = file_request(KNOWN).reference
    with transaction(session_factory) as session:
        request = get_request(session, reference=reference)
        with pytest.raises(Conflict) as caught:
            complete(session, request=request, actor=STAFF, clock=clock)
        assert "it is received" in caught.value.detail
        assert "verify the person first" in caught.value.detail
        with pytest.raises(Conflict, match="verify the person first"):
            start(session, request=request, actor=STAFF, clock=clock)
    assert load(session_factory, reference).status == "received"


@pytest.mark.promise("P16")
def test_a_verified_request_runs_to_completion(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
) -> None:
    person(KNOWN)
    reference = verified_request(session_factory, file_request, outbox, clock)
    with transaction(session_factory) as session:
        request = get_request(session, reference=reference)
        start(session, request=request, actor=STAFF, clock=clock)
        complete(session, request=request, actor=STAFF, clock=clock)
    with transaction(session_factory) as session:
        request = get_request(session, reference=reference)
        assert (request.status, request.outcome) == ("completed", "fulfilled")
        assert request.closed_at == clock.now()
        with pytest.raises(Conflict, match="closed already"):
            deny(session, request=request, reason="too late", actor=STAFF, clock=clock)
        assert [entry.action for entry in timeline(session, request=request)] == [
            "dsr.received",
            "dsr.verification_sent",
            "dsr.verified",
            "dsr.started",
            "dsr.completed",
        ]
        with pytest.raises(NotFound, match="reference"):
            get_request(session, reference="DSR-NOPE")


@pytest.mark.promise("P17")
def test_denial_needs_a_reason_and_names_the_right_to_complain(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
    published: None,
) -> None:
    person(KNOWN)
    reference = verified_request(
        session_factory, file_request, outbox, clock, request_type="erasure", language="de"
    )
    with transaction(session_factory) as session:
        request = get_request(session, reference=reference)
        with pytest.raises(InvalidInput, match="reason"):
            deny(session, request=request, reason="  ", actor=STAFF, clock=clock)
        deny(
            session,
            request=request,
            reason="Rechnungen müssen nach § 147 AO bis Ende 2034 aufbewahrt werden.",
            actor=STAFF,
            clock=clock,
        )
    run_jobs(session_factory, clock)
    notice = mails(outbox)[-1]
    assert notice.to == KNOWN
    assert "§ 147 AO" in notice.flat
    assert "Aufsichtsbehörde zu beschweren" in notice.flat
    assert "Bayerisches Landesamt für Datenschutzaufsicht" in notice.flat
    request = load(session_factory, reference)
    assert (request.status, request.outcome) == ("denied", "denied")


@pytest.mark.promise("P16")
def test_extension_once_with_reasons_before_the_first_deadline(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    person(KNOWN)
    reference = verified_request(session_factory, file_request, outbox, clock)
    with transaction(session_factory) as session:
        request = get_request(session, reference=reference)
        with pytest.raises(InvalidInput, match="reason"):
            extend(session, request=request, reason="", actor=STAFF, clock=clock, settings=settings)
        with pytest.raises(InvalidInput, match="until"):
            extend(
                session,
                request=request,
                reason="twelve systems",
                actor=STAFF,
                clock=clock,
                settings=settings,
                until=dt.date(2026, 6, 3),
            )
        new = extend(
            session,
            request=request,
            reason="twelve systems",
            actor=STAFF,
            clock=clock,
            settings=settings,
        )
        assert new == dt.date(2026, 6, 2)
        with pytest.raises(Conflict, match="extended already"):
            extend(
                session,
                request=request,
                reason="again",
                actor=STAFF,
                clock=clock,
                settings=settings,
            )
    run_jobs(session_factory, clock)
    notice = mails(outbox)[-1]
    assert notice.to == KNOWN
    assert "twelve systems" in notice.flat
    assert "from 2 April 2026 to 2 June 2026" in notice.flat
    request = load(session_factory, reference)
    assert request.due_on == dt.date(2026, 6, 2)
    assert request.extension_reason == "twelve systems"


def test_no_extension_after_the_first_deadline_or_for_opt_outs(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    clock: FrozenClock,
    settings: Settings,
) -> None:
    access = file_request(KNOWN).reference
    opt_out = file_request(KNOWN, "opt_out_sale_share").reference
    with transaction(session_factory) as session:
        request = get_request(session, reference=opt_out)
        with pytest.raises(Conflict, match="cannot be extended"):
            extend(
                session, request=request, reason="r", actor=STAFF, clock=clock, settings=settings
            )
    clock.set(dt.datetime(2026, 4, 2, 21, 59, tzinfo=dt.UTC))  # 23:59 on the deadline day
    with session_factory() as session:
        request = get_request(session, reference=access)
        assert extend(
            session, request=request, reason="r", actor=STAFF, clock=clock, settings=settings
        ) == dt.date(2026, 6, 2)
        session.rollback()
    clock.set(dt.datetime(2026, 4, 2, 22, 0, tzinfo=dt.UTC))  # midnight in Germany
    with session_factory() as session:
        request = get_request(session, reference=access)
        with pytest.raises(Conflict, match="first deadline passed on 2026-04-02"):
            extend(
                session, request=request, reason="r", actor=STAFF, clock=clock, settings=settings
            )


@pytest.mark.promise("P24")
def test_ccpa_extension_adds_45_days(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    clock: FrozenClock,
    settings: Settings,
) -> None:
    reference = file_request(KNOWN, "know").reference
    with transaction(session_factory) as session:
        request = get_request(session, reference=reference)
        new = extend(
            session,
            request=request,
            reason="many systems",
            actor=STAFF,
            clock=clock,
            settings=settings,
        )
    assert new == dt.date(2026, 5, 30)  # 2 March is day 1 of 90


@pytest.mark.promise("P16")
def test_the_queue_is_ordered_by_the_deadline_in_force(
    session_factory: sessionmaker[Session],
    master: MasterKey,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    arrivals = {
        "late": dt.datetime(2026, 2, 27, 9, tzinfo=dt.UTC),
        "overdue": dt.datetime(2026, 1, 20, 9, tzinfo=dt.UTC),
        "near": dt.datetime(2026, 2, 5, 9, tzinfo=dt.UTC),
    }
    references = {}
    with transaction(session_factory) as session:
        for name, arrived in arrivals.items():
            references[name] = record_staff_entry(
                session,
                request_type="access",
                identity_kind="email",
                identity_value=f"{name}@example.org",
                language="en",
                channel="letter",
                received_at=arrived,
                actor=STAFF,
                master=master,
                clock=clock,
                settings=settings,
            ).reference
    with session_factory() as session:
        queue = due(session, clock=clock)
        assert [item.request.reference for item in queue] == [
            references["overdue"],
            references["near"],
            references["late"],
        ]
        overdue, near, late = queue
        assert (overdue.overdue, overdue.due_on, overdue.days_left) == (
            True,
            dt.date(2026, 2, 20),
            -10,
        )
        assert (near.near_due, near.overdue, near.due_on) == (True, False, dt.date(2026, 3, 5))
        assert (late.near_due, late.overdue) == (False, False)


@pytest.mark.promise("P16")
def test_unverified_requests_expire_on_the_deadline_day_with_a_notice(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
    published: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(_handlers, RequestType.ACCESS)  # the verified one waits for staff
    person(KNOWN)
    waiting = file_request(KNOWN).reference
    verified = verified_request(session_factory, file_request, outbox, clock)
    run_jobs(session_factory, clock)
    clock.set(dt.datetime(2026, 4, 1, 12, 0, tzinfo=dt.UTC))
    with transaction(session_factory) as session:
        assert expire_unverified(session, clock=clock) == 0
    clock.set(dt.datetime(2026, 4, 2, 4, 0, tzinfo=dt.UTC))  # 06:00 in Germany: the sweep
    run_jobs(session_factory, clock)
    request = load(session_factory, waiting)
    assert (request.status, request.outcome) == ("expired_unverified", "unverified")
    assert load(session_factory, verified).status == "verified"
    sent = mails(outbox)
    notice = next(mail for mail in sent if "could not confirm" in mail.flat)
    assert notice.to == KNOWN
    assert "Bavarian Data Protection Authority" in notice.flat
    digest = next(mail for mail in sent if mail.subject.startswith("Datenschutz-Anfragen"))
    assert digest.to == "dsb-terminfuchs@example.com"  # the DPO of the declaration
    assert verified in digest.body
    assert KNOWN not in digest.body

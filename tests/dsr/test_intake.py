"""Intake on both databases: storing, identical answers, staff entry, in-app, rate limit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from tests.dsr.harness import APP_KEY, KNOWN, UNKNOWN, all_text, load, mails, run_jobs
from tutela.audit import entries
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.crypto import MasterKey
from tutela.dsr import (
    DsrRequest,
    InvalidAssertion,
    Receipt,
    controller_state,
    open_details,
    open_identity,
    record_staff_entry,
    sign_assertion,
    submit_in_app,
)
from tutela.dsr.queue import INTAKE_JOB, SWEEP_JOB
from tutela.errors import InvalidInput
from tutela.jobs import Job
from tutela.mail import FileOutbox
from tutela.storage import transaction
from tutela.subjects import index_of


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Collect the SQL text of every statement sent to the database."""
    seen: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


@pytest.mark.promise("P16")
def test_submit_stores_the_request_with_its_deadlines(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    master: MasterKey,
) -> None:
    receipt = file_request(KNOWN, "access", text="Please include my support tickets.")
    assert receipt.reference.startswith("DSR-")
    assert receipt.legal_deadline == dt.date(2026, 4, 2)
    request = load(session_factory, receipt.reference)
    assert request.status == "received"
    assert request.jurisdiction == "gdpr"
    assert request.channel == "web_form"
    assert request.required_assurance == "channel"
    assert request.target_deadline == dt.date(2026, 3, 30)
    assert request.identity_index == index_of(master, "email", KNOWN)
    assert request.subject_id is None  # nobody was looked up
    assert request.created_by == "public:dsr"
    assert open_identity(request, master=master) == KNOWN
    details = open_details(request, master=master)
    assert details is not None
    assert details.text == "Please include my support tickets."
    with session_factory() as session:
        jobs = session.scalars(select(Job).order_by(Job.id)).all()
        assert [job.kind for job in jobs] == [INTAKE_JOB, SWEEP_JOB]
        assert json.loads(jobs[0].payload) == {"request_id": request.id}
        received = entries(session, target=f"dsr:{request.id}")
        assert [entry.action for entry in received] == ["dsr.received"]


@pytest.mark.promise("P16")
def test_known_and_unknown_people_get_the_same_answer_from_the_same_statements(
    engine: Engine,
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
) -> None:
    person(KNOWN)
    file_request("warm.up@example.org")  # first request of the day queues the daily sweep
    with statements(engine) as known_sql:
        known = file_request(KNOWN)
    with statements(engine) as unknown_sql:
        unknown = file_request(UNKNOWN)
    assert known_sql == unknown_sql
    assert not any("subject_identities" in sql or "FROM subjects" in sql for sql in known_sql)
    assert type(known) is type(unknown)
    same = dataclasses.replace(unknown, reference=known.reference)
    assert same == known


@pytest.mark.promise("P16")
def test_no_plaintext_identity_in_rows_jobs_or_audit(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    runtime: object,
    clock: FrozenClock,
) -> None:
    person(KNOWN, customer_id="K-4711")
    file_request(KNOWN, "erasure", text="Delete the Zebra project notes", contact="+49 151 999")
    file_request("K-4711", "access", kind="customer_id", contact="reply@elsewhere.example")
    file_request(UNKNOWN, "access")
    run_jobs(session_factory, clock)
    stored = all_text(session_factory).lower()
    for secret in (KNOWN, "anna", UNKNOWN, "k-4711", "zebra", "151 999", "elsewhere"):
        assert secret.lower() not in stored


@pytest.mark.promise("P16")
@pytest.mark.parametrize("channel", ["letter", "email", "fax", "phone"])
def test_staff_entry_counts_from_the_day_of_receipt(
    session_factory: sessionmaker[Session],
    master: MasterKey,
    clock: FrozenClock,
    settings: Settings,
    channel: str,
) -> None:
    arrived = dt.datetime(2026, 2, 13, 10, 0, tzinfo=dt.UTC)
    with transaction(session_factory) as session:
        request = record_staff_entry(
            session,
            request_type="access",
            identity_kind="email",
            identity_value=KNOWN,
            language="de",
            channel=channel,
            received_at=arrived,
            actor="staff:7",
            master=master,
            clock=clock,
            settings=settings,
            text="Letter dated 12 February",
        )
        reference = request.reference
    stored = load(session_factory, reference)
    assert stored.received_at == arrived
    assert stored.legal_deadline == dt.date(2026, 3, 13)
    assert stored.channel == channel
    assert stored.created_by == "staff:7"
    assert stored.status == "received"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"received_at": dt.datetime(2026, 3, 3, tzinfo=dt.UTC)}, "received_at"),
        ({"received_at": dt.datetime(2026, 3, 1)}, "received_at"),
        ({"channel": "web_form"}, "channel"),
        ({"actor": "public:dsr"}, "actor"),
        ({"language": "fr"}, "language"),
        ({"identity_value": "not an address"}, "email"),
        ({"request_type": "everything"}, "request_type"),
    ],
)
def test_staff_entry_refuses_bad_input_naming_the_field(
    session_factory: sessionmaker[Session],
    master: MasterKey,
    clock: FrozenClock,
    settings: Settings,
    changes: dict[str, Any],
    field: str,
) -> None:
    values: dict[str, Any] = {
        "request_type": "erasure",
        "identity_kind": "email",
        "identity_value": KNOWN,
        "language": "en",
        "channel": "letter",
        "received_at": dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        "actor": "staff:1",
    }
    values.update(changes)
    with session_factory() as session, pytest.raises(InvalidInput) as caught:
        record_staff_entry(session, master=master, clock=clock, settings=settings, **values)
    assert caught.value.extra["field"] == field


@pytest.mark.promise("P24")
@pytest.mark.parametrize(
    ("request_type", "scope"),
    [("opt_out_sale_share", None), ("limit_sensitive", None), ("objection", "marketing")],
)
def test_requests_without_verification_are_verified_at_once(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    request_type: str,
    scope: str | None,
) -> None:
    receipt = file_request(UNKNOWN, request_type, scope=scope)
    request = load(session_factory, receipt.reference)
    assert request.status == "verified"
    assert request.required_assurance == "none"
    assert request.verification_method == "not_required"
    assert request.verified_at is not None


@pytest.mark.promise("P24")
def test_ccpa_requests_get_californian_deadlines(
    session_factory: sessionmaker[Session], file_request: Callable[..., Receipt]
) -> None:
    receipt = file_request(KNOWN, "know")
    request = load(session_factory, receipt.reference)
    assert request.jurisdiction == "ccpa"
    assert request.legal_deadline == dt.date(2026, 4, 15)  # 2 March is day 1 of 45
    assert request.confirm_by == dt.date(2026, 3, 13)


@pytest.mark.promise("P16")
def test_repeated_submissions_are_flagged_without_telling(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    runtime: object,
    outbox: FileOutbox,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    person(KNOWN)
    receipts = [file_request(KNOWN) for _ in range(settings.dsr_submissions_per_day + 1)]
    flags = [load(session_factory, r.reference).flag for r in receipts]
    assert flags == [None] * settings.dsr_submissions_per_day + ["repeated_submissions"]
    assert {type(r) for r in receipts} == {Receipt}
    run_jobs(session_factory, clock)
    assert len(mails(outbox)) == settings.dsr_submissions_per_day
    held = load(session_factory, receipts[-1].reference)
    assert held.status == "awaiting_verification"
    with session_factory() as session:
        actions = [e.action for e in entries(session, target=f"dsr:{held.id}")]
    assert "dsr.held" in actions
    clock.advance(dt.timedelta(days=1, minutes=1))
    assert load(session_factory, file_request(KNOWN).reference).flag is None


def test_submit_refuses_bad_input(
    session_factory: sessionmaker[Session], file_request: Callable[..., Receipt]
) -> None:
    with pytest.raises(InvalidInput) as caught:
        file_request(KNOWN, channel="letter")
    assert caught.value.extra["field"] == "channel"
    with pytest.raises(InvalidInput) as caught:
        file_request(KNOWN, text="x" * 10_001)
    assert caught.value.extra["field"] == "text"
    with pytest.raises(InvalidInput) as caught:
        file_request(KNOWN, "access", scope="marketing")
    assert caught.value.extra["field"] == "scope"
    with session_factory() as session:
        assert session.scalars(select(DsrRequest)).all() == []


@pytest.mark.promise("P03")
def test_in_app_request_is_verified_by_a_fresh_assertion(
    session_factory: sessionmaker[Session],
    master: MasterKey,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    now = clock.now()
    token = sign_assertion(
        APP_KEY,
        kind="customer_id",
        value="K-4711",
        auth_time=now - dt.timedelta(minutes=3),
        issued_at=now,
    )
    with transaction(session_factory) as session:
        receipt = submit_in_app(
            session,
            assertion=token,
            request_type="access",
            language="de",
            master=master,
            clock=clock,
            settings=settings,
        )
    request = load(session_factory, receipt.reference)
    assert request.status == "verified"
    assert request.verification_method == "assertion"
    assert request.channel == "in_app"
    assert request.identity_kind == "customer_id"
    stale = sign_assertion(
        APP_KEY,
        kind="email",
        value=KNOWN,
        auth_time=now - dt.timedelta(minutes=30),
        issued_at=now,
    )
    with session_factory() as session, pytest.raises(InvalidAssertion, match="sign in again"):
        submit_in_app(
            session,
            assertion=stale,
            request_type="access",
            language="de",
            master=master,
            clock=clock,
            settings=settings,
        )


def test_controller_state_comes_from_settings_then_declaration(
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
    settings: Settings,
    published: None,
) -> None:
    unset = settings.model_copy(update={"controller_state": None})
    with session_factory() as session:
        assert controller_state(session, settings=settings, clock=clock) == "BY"
        assert controller_state(session, settings=unset, clock=clock) == "BY"  # declaration
        early = FrozenClock(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        assert controller_state(session, settings=unset, clock=early) is None


CHANGES = {"customers.phone": "+49 151 2345678", "user.name.last": "Beispiel"}


@pytest.mark.promise("P16")
@pytest.mark.parametrize("how", ["submit", "staff", "in_app"])
def test_a_rectification_carries_its_new_values_sealed(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    master: MasterKey,
    clock: FrozenClock,
    settings: Settings,
    how: str,
) -> None:
    if how == "submit":
        reference = file_request(KNOWN, "rectification", changes=CHANGES).reference
    with transaction(session_factory) as session:
        if how == "staff":
            reference = record_staff_entry(
                session,
                request_type="correct",
                identity_kind="email",
                identity_value=KNOWN,
                language="en",
                channel="letter",
                received_at=clock.now(),
                actor="staff:2",
                master=master,
                clock=clock,
                settings=settings,
                changes=CHANGES,
            ).reference
        elif how == "in_app":
            token = sign_assertion(
                APP_KEY, kind="email", value=KNOWN, auth_time=clock.now(), issued_at=clock.now()
            )
            reference = submit_in_app(
                session,
                assertion=token,
                request_type="rectification",
                language="en",
                master=master,
                clock=clock,
                settings=settings,
                changes=CHANGES,
            ).reference
    request = load(session_factory, reference)
    details = open_details(request, master=master)
    assert details is not None
    assert details.changes == CHANGES
    assert "2345678" not in all_text(session_factory)


def test_new_values_for_contact_data_ask_for_the_notice_to_the_old_channel(
    session_factory: sessionmaker[Session], file_request: Callable[..., Receipt]
) -> None:
    changes = {"user.contact.email": "new.address@example.net"}
    request = load(session_factory, file_request(KNOWN, "rectification", changes=changes).reference)
    assert (request.scope, request.required_assurance) == ("contact_data", "channel_and_notice")


@pytest.mark.parametrize(
    ("request_type", "changes"),
    [
        ("access", {"customers.phone": "+49 30 1"}),
        ("rectification", {"phone": "+49 30 1"}),
        ("rectification", {f"t.c{i}": "x" for i in range(21)}),
        ("rectification", {"customers.phone": "x" * 501}),
    ],
)
def test_bad_new_values_are_refused_naming_the_field(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    request_type: str,
    changes: dict[str, str],
) -> None:
    with pytest.raises(InvalidInput) as caught:
        file_request(KNOWN, request_type, changes=changes)
    assert caught.value.extra["field"] == "changes"
    with session_factory() as session:
        assert session.scalars(select(DsrRequest)).all() == []

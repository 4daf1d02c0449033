"""Verification on both databases: links and codes to the channel on file, V-2, V-5, V-6."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.dsr.harness import KNOWN, UNKNOWN, link_token, load, mails, run_jobs
from tutela.audit import entries
from tutela.clock import FrozenClock
from tutela.crypto import MasterKey, random_token, token_digest
from tutela.dsr import (
    DsrRuntime,
    DsrVerification,
    OnFile,
    Receipt,
    UnknownVerification,
    consume_code,
    consume_link,
    peek_link,
    request_code,
)
from tutela.dsr.jobs import install_runtime
from tutela.dsr.verification import CODES_PER_REQUEST
from tutela.jobs import Job
from tutela.mail import FileOutbox
from tutela.storage import transaction

CODE = re.compile(r"^\s*(\d{6})\s*$", re.MULTILINE)


def actions(factory: sessionmaker[Session], request_id: int) -> list[str]:
    with factory() as session:
        found = entries(session, target=f"dsr:{request_id}")
        return [entry.action for entry in sorted(found, key=lambda e: e.sequence)]


def refused(factory: sessionmaker[Session]) -> int:
    """How many codes were typed in for a reference without a live code."""
    with factory() as session:
        return len(entries(session, action="dsr.code_refused", limit=1000))


def consume(factory: sessionmaker[Session], token: str, clock: FrozenClock) -> str:
    with transaction(factory) as session:
        return consume_link(session, token=token, clock=clock).status


@pytest.mark.promise("P16")
def test_known_person_gets_a_one_time_link_at_the_address_on_file(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
) -> None:
    subject_id = person(KNOWN)
    receipt = file_request("  Anna.Beispiel@EXAMPLE.org ", language="de")
    run_jobs(session_factory, clock)
    [mail] = mails(outbox)
    assert mail.to == KNOWN
    assert receipt.reference in mail.subject
    assert "Bitte bestätigen" in mail.subject
    token = link_token(mail)
    request = load(session_factory, receipt.reference)
    assert request.status == "awaiting_verification"
    assert request.subject_id == subject_id
    with session_factory() as session:
        [row] = session.scalars(select(DsrVerification)).all()
        assert row.token_digest == token_digest(token)
        assert row.expires_at == clock.now() + dt.timedelta(hours=24)
    with session_factory() as session:
        assert peek_link(session, token=token, clock=clock).reference == receipt.reference
    assert consume(session_factory, token, clock) == "verified"
    verified = load(session_factory, receipt.reference)
    assert verified.verification_method == "link"
    assert verified.verified_at == clock.now()
    with pytest.raises(UnknownVerification):
        consume(session_factory, token, clock)
    assert actions(session_factory, request.id) == [
        "dsr.received",
        "dsr.verification_sent",
        "dsr.verified",
    ]


@pytest.mark.promise("P16")
def test_answers_never_go_to_an_address_given_in_the_request(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
) -> None:
    person(KNOWN, customer_id="K-4711")
    file_request("K-4711", kind="customer_id", contact="attacker@evil.example")
    run_jobs(session_factory, clock)
    assert [mail.to for mail in mails(outbox)] == [KNOWN]
    assert all("evil" not in mail.body for mail in mails(outbox))


@pytest.mark.promise("P16")
def test_unknown_address_gets_the_neutral_no_data_answer(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
) -> None:
    receipt = file_request(UNKNOWN)
    run_jobs(session_factory, clock)
    [mail] = mails(outbox)
    assert mail.to == UNKNOWN
    assert "hold no personal data under this email address" in mail.flat
    assert "/requests/verify/" not in mail.body
    request = load(session_factory, receipt.reference)
    assert (request.status, request.outcome) == ("completed", "no_data")
    with session_factory() as session:
        assert session.scalars(select(DsrVerification)).all() == []


def test_unknown_customer_number_waits_for_staff(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
) -> None:
    receipt = file_request("K-0000", kind="customer_id")
    run_jobs(session_factory, clock)
    assert mails(outbox) == []
    request = load(session_factory, receipt.reference)
    assert request.status == "awaiting_verification"
    assert actions(session_factory, request.id)[-1] == "dsr.held"


@pytest.mark.promise("P16")
def test_bad_links_all_fail_alike(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
) -> None:
    person(KNOWN)
    file_request(KNOWN)
    run_jobs(session_factory, clock)
    token = link_token(mails(outbox)[0])
    bad = [
        token[:-1] + ("A" if token[-1] != "A" else "B"),  # tampered
        random_token(),  # foreign
        "",
        "x" * 500,
        "1.abc.9999999999.mac",  # a signed token of another kind
    ]
    messages = set()
    for candidate in bad:
        with pytest.raises(UnknownVerification) as caught:
            consume(session_factory, candidate, clock)
        messages.add(caught.value.detail)
    clock.advance(dt.timedelta(hours=24))
    with pytest.raises(UnknownVerification) as caught:
        consume(session_factory, token, clock)  # expired
    messages.add(caught.value.detail)
    assert len(messages) == 1


@pytest.mark.promise("P16")
def test_codes_expire_are_single_use_and_allow_five_attempts(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    runtime: DsrRuntime,
    outbox: FileOutbox,
    master: MasterKey,
    clock: FrozenClock,
) -> None:
    person(KNOWN)
    reference = file_request(KNOWN).reference
    run_jobs(session_factory, clock)

    def new_code() -> str:
        with transaction(session_factory) as session:
            request_code(session, reference=reference.lower(), clock=clock)
        run_jobs(session_factory, clock)
        mail = mails(outbox)[-1]
        assert mail.to == KNOWN
        found = CODE.search(mail.body)
        assert found is not None, mail.body
        return found.group(1)

    def attempt(code: str) -> str:
        """``wrong`` (an attempt of the live code), ``refused`` (no live code) or the status."""
        before = refused(session_factory)
        with transaction(session_factory) as session:
            request = consume_code(
                session, reference=reference, code=code, master=master, clock=clock
            )
            if request is not None:
                return request.status
        return "refused" if refused(session_factory) > before else "wrong"

    code = new_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert [attempt(wrong) for _ in range(5)] == ["wrong"] * 5
    assert attempt(code) == "refused"  # attempts used up
    code = new_code()
    clock.advance(dt.timedelta(minutes=15))
    assert attempt(code) == "refused"  # expired
    older = new_code()
    code = new_code()
    if older != code:
        assert attempt(older) == "wrong"  # a new code voids the older one
    assert attempt(code) == "verified"
    assert attempt(code) == "refused"
    request = load(session_factory, reference)
    assert request.verification_method == "code"
    failures = actions(session_factory, request.id).count("dsr.verification_failed")
    assert failures >= 5


def test_code_requests_reveal_nothing_and_are_limited(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
) -> None:
    person(KNOWN)
    reference = file_request(KNOWN).reference
    run_jobs(session_factory, clock)
    with transaction(session_factory) as session:
        request_code(session, reference="DSR-0000-0000-0000", clock=clock)  # unknown: silent
    for _ in range(5):  # a burst before the worker runs
        with transaction(session_factory) as session:
            request_code(session, reference=reference, clock=clock)
    run_jobs(session_factory, clock)
    assert len(mails(outbox)) == 1 + 3  # the link, then three codes in the hour
    clock.advance(dt.timedelta(hours=1, seconds=1))
    with transaction(session_factory) as session:
        request_code(session, reference=reference, clock=clock)
    run_jobs(session_factory, clock)
    assert len(mails(outbox)) == 1 + 4
    held = file_request("K-0000", kind="customer_id").reference  # no channel on file
    run_jobs(session_factory, clock)
    with transaction(session_factory) as session:
        request_code(session, reference=held, clock=clock)
    run_jobs(session_factory, clock)
    assert len(mails(outbox)) == 1 + 4  # the job found no channel and sent nothing
    with session_factory() as session:
        held_id = load(session_factory, held).id
        rows = session.scalars(
            select(DsrVerification).where(DsrVerification.request_id == held_id)
        ).all()
        assert rows == []
        assert session.scalars(select(Job).where(Job.status == "failed")).all() == []


@pytest.mark.promise("P17")
def test_verified_erasure_notifies_the_old_channel(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
) -> None:
    person(KNOWN)
    receipt = file_request(KNOWN, "erasure")
    run_jobs(session_factory, clock)
    consume(session_factory, link_token(mails(outbox)[0]), clock)
    run_jobs(session_factory, clock)
    verify = mails(outbox)[0]
    [alert] = [mail for mail in mails(outbox) if "was confirmed" in mail.subject]
    assert alert.to == KNOWN
    assert "privacy@example.org" in alert.body  # where to object (no declaration published)
    assert verify.to == KNOWN
    request = load(session_factory, receipt.reference)
    assert "dsr.notice_sent" in actions(session_factory, request.id)


@pytest.mark.promise("P16")
def test_rectification_of_contact_data_notifies_the_old_channel(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
) -> None:
    person(KNOWN)
    file_request(KNOWN, "rectification", scope="contact_data", contact="new@example.net")
    run_jobs(session_factory, clock)
    consume(session_factory, link_token(mails(outbox)[0]), clock)
    run_jobs(session_factory, clock)
    assert [mail.to for mail in mails(outbox)] == [KNOWN, KNOWN]


class ShopDirectory:
    """A connected store that knows one customer number and the address it holds for it."""

    def on_file(self, *, kind: str, value: str) -> OnFile:
        if (kind, value) == ("customer_id", "C-77"):
            return OnFile(known=True, address="Carla@Example.org")
        if (kind, value) == ("email", "phoneonly@example.org"):
            return OnFile(known=True, address=None)
        return OnFile(known=False)


@pytest.mark.promise("P03")
def test_connected_stores_provide_the_address_on_file(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
) -> None:
    previous = install_runtime(dataclasses.replace(runtime, directories=(ShopDirectory(),)))
    try:
        shop = file_request("C-77", kind="customer_id", contact="someone@else.example")
        held = file_request("phoneonly@example.org")
        run_jobs(session_factory, clock)
    finally:
        install_runtime(previous)
    assert [mail.to for mail in mails(outbox)] == ["carla@example.org"]
    assert load(session_factory, shop.reference).status == "awaiting_verification"
    assert load(session_factory, held.reference).status == "awaiting_verification"  # no answer


@pytest.mark.promise("P16")
def test_a_request_gets_ten_codes_in_all(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
) -> None:
    """Guessing stays hopeless: at most 10 codes x 5 attempts for one request, ever."""
    person(KNOWN)
    reference = file_request(KNOWN).reference
    run_jobs(session_factory, clock)
    for _ in range(CODES_PER_REQUEST + 3):
        with transaction(session_factory) as session:
            request_code(session, reference=reference, clock=clock)
        run_jobs(session_factory, clock)
        clock.advance(dt.timedelta(hours=1, seconds=1))
    assert len(mails(outbox)) == 1 + CODES_PER_REQUEST  # the link, then ten codes

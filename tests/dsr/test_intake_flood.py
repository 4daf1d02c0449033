"""A flood of requests for someone's identity, on both databases: the person still gets through.

Beyond ``dsr_submissions_per_day`` public submissions within 24 hours, further
ones are flagged and get no mail (no mail bombing). Flagged ones never count, so
the person's own request the next day goes through, and staff can send the link
for a flagged request that comes from the person after all.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.dsr.harness import APP_KEY, KNOWN, link_token, load, mails, run_jobs
from tutela.audit import entries
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.crypto import MasterKey
from tutela.dsr import (
    DsrRuntime,
    Receipt,
    consume_link,
    get_request,
    record_staff_entry,
    sign_assertion,
    submit_in_app,
)
from tutela.dsr.verification import release_flagged
from tutela.errors import Conflict, InvalidInput
from tutela.mail import FileOutbox
from tutela.storage import transaction

HOUR = dt.timedelta(hours=1)


@pytest.mark.promise("P16")
def test_a_flood_does_not_flag_the_persons_request_the_next_day(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    clock: FrozenClock,
    settings: Settings,
) -> None:
    allowed = [file_request(KNOWN) for _ in range(settings.dsr_submissions_per_day)]
    assert {load(session_factory, r.reference).flag for r in allowed} == {None}
    flood = []
    for _ in range(23):  # two an hour, all day long
        clock.advance(HOUR)
        flood += [file_request(KNOWN), file_request(KNOWN)]
    assert {load(session_factory, r.reference).flag for r in flood} == {"repeated_submissions"}
    clock.advance(HOUR + dt.timedelta(minutes=1))  # the next day; the flood went on until now
    genuine = file_request(KNOWN)
    assert load(session_factory, genuine.reference).flag is None


def test_requests_entered_by_staff_or_the_app_leave_the_public_allowance(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    master: MasterKey,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    with transaction(session_factory) as session:
        for channel in ("letter", "email", "phone"):
            record_staff_entry(
                session,
                request_type="access",
                identity_kind="email",
                identity_value=KNOWN,
                language="en",
                channel=channel,
                received_at=clock.now(),
                actor="staff:1",
                master=master,
                clock=clock,
                settings=settings,
            )
        token = sign_assertion(
            APP_KEY, kind="email", value=KNOWN, auth_time=clock.now(), issued_at=clock.now()
        )
        submit_in_app(
            session,
            assertion=token,
            request_type="access",
            language="en",
            master=master,
            clock=clock,
            settings=settings,
        )
    assert load(session_factory, file_request(KNOWN).reference).flag is None


def flagged_request(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    settings: Settings,
    clock: FrozenClock,
) -> str:
    """Submissions up to the limit and one more; the last one is flagged and held."""
    for _ in range(settings.dsr_submissions_per_day):
        file_request(KNOWN)
    reference = file_request(KNOWN).reference
    run_jobs(session_factory, clock)
    held = load(session_factory, reference)
    assert (held.flag, held.status) == ("repeated_submissions", "awaiting_verification")
    return reference


@pytest.mark.promise("P16")
def test_staff_send_the_link_for_a_flagged_request(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    staff: Callable[[str], int],
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    person(KNOWN)
    reference = flagged_request(session_factory, file_request, settings, clock)
    before = len(mails(outbox))
    handler = staff("support")
    with transaction(session_factory) as session:
        release_flagged(
            session,
            request=get_request(session, reference=reference),
            staff_id=handler,
            actor=f"staff:{handler}",
            reason="The person called from the number on file and asked for this request.",
            clock=clock,
        )
    run_jobs(session_factory, clock)
    [mail] = mails(outbox)[before:]
    assert mail.to == KNOWN
    assert reference in mail.subject
    with transaction(session_factory) as session:
        assert consume_link(session, token=link_token(mail), clock=clock).reference == reference
    request = load(session_factory, reference)
    assert (request.status, request.flag) == ("verified", None)
    with session_factory() as session:
        found = sorted(entries(session, target=f"dsr:{request.id}"), key=lambda e: e.sequence)
    actions = [entry.action for entry in found]
    assert actions[:3] == ["dsr.received", "dsr.held", "dsr.noted"]
    assert "dsr.verification_sent" in actions
    assert "number on file" in str(found[2].reason)
    assert json.loads(found[0].payload)["flagged"] is True  # the trail keeps the flag


def test_only_flagged_requests_are_released_and_with_a_reason(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    runtime: DsrRuntime,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    person(KNOWN)
    reference = flagged_request(session_factory, file_request, settings, clock)
    plain = file_request("someone.else@example.org").reference

    def release(ref: str, reason: str = "Confirmed by phone.") -> None:
        with transaction(session_factory) as session:
            release_flagged(
                session,
                request=get_request(session, reference=ref),
                staff_id=1,
                actor="staff:1",
                reason=reason,
                clock=clock,
            )

    with pytest.raises(InvalidInput) as missing:
        release(reference, reason="  ")
    assert missing.value.extra["field"] == "reason"
    with pytest.raises(Conflict, match="not held as a repeated submission"):
        release(plain)
    release(reference)
    with pytest.raises(Conflict):
        release(reference)  # once only

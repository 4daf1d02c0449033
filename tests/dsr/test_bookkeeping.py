"""Lean bookkeeping: rows written per request, counted in every table (target ≤ 10)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.dsr.harness import KNOWN, link_token, mails, row_counts, run_jobs
from tutela.clock import FrozenClock
from tutela.dsr import DsrRuntime, Receipt, consume_link, get_request
from tutela.mail import FileOutbox
from tutela.storage import transaction

LIMIT = 10
SECOND = "bernd.beispiel@example.org"


def full_cycle(
    factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    outbox: FileOutbox,
    clock: FrozenClock,
    request_type: str,
    address: str = KNOWN,
) -> dict[str, int]:
    """Submit → verify by link → fulfilled by the job; return the rows added per table."""
    before = row_counts(factory)
    reference = file_request(address, request_type).reference
    run_jobs(factory, clock)
    with transaction(factory) as session:
        consume_link(session, token=link_token(mails(outbox)[-1]), clock=clock)
    run_jobs(factory, clock)
    with transaction(factory) as session:
        assert get_request(session, reference=reference).status == "completed"
    after = row_counts(factory)
    return {table: after[table] - before[table] for table in after if after[table] != before[table]}


@pytest.mark.promise("P16")
@pytest.mark.parametrize("request_type", ["access", "erasure"])
def test_a_full_request_writes_at_most_ten_rows(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
    request_type: str,
) -> None:
    person(KNOWN)
    added = full_cycle(session_factory, file_request, outbox, clock, request_type)
    assert sum(added.values()) <= LIMIT, added
    assert added["dsr_requests"] == 1
    assert added["dsr_verifications"] == 1
    assert "dsr_approvals" not in added
    # a second request the same day no longer queues the daily sweep
    person(SECOND)  # the first may have been erased
    again = full_cycle(session_factory, file_request, outbox, clock, "access", SECOND)
    # request, verification, intake and fulfilment jobs, audit: received, link sent,
    # verified, package issued, completed (the access package adds its own row)
    assert sum(again.values()) <= LIMIT, again

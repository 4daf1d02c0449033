"""V-6 on both databases: the code pages do the same work for every reference.

Not a timing test: it records the SQL statements each call sends and counts the
digest computations and comparisons, which must not depend on whether the
reference exists, waits for verification or has a live code.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

import tutela.dsr.verification as verification
from tests.dsr.harness import KNOWN, UNKNOWN, load, mails, run_jobs
from tutela.audit import entries
from tutela.clock import FrozenClock
from tutela.crypto import MasterKey, blind_index, random_token
from tutela.dsr import (
    DsrRuntime,
    Receipt,
    UnknownVerification,
    consume_code,
    peek_link,
    request_code,
)
from tutela.jobs import Job
from tutela.mail import FileOutbox
from tutela.storage import transaction

CODE = re.compile(r"^\s*(\d{6})\s*$", re.MULTILINE)
NOWHERE = "DSR-0000-0000-0000"


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL text of every statement sent to the database inside the block."""
    seen: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


@pytest.fixture
def references(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    person: Callable[..., int],
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
) -> dict[str, str]:
    """References in every state a code can meet, and the live code of one of them."""
    person(KNOWN)
    live = file_request(KNOWN).reference
    no_code = file_request(KNOWN, "erasure").reference
    closed = file_request(UNKNOWN).reference  # no data held: answered and closed
    run_jobs(session_factory, clock)
    with transaction(session_factory) as session:
        request_code(session, reference=live, clock=clock)
    run_jobs(session_factory, clock)
    [found] = [m for m in (CODE.search(mail.body) for mail in mails(outbox)) if m is not None]
    assert load(session_factory, closed).status == "completed"
    assert load(session_factory, no_code).status == "awaiting_verification"
    return {
        "live": live,
        "no_code": no_code,
        "closed": closed,
        "unknown": NOWHERE,
        "code": found.group(1),
    }


class Counter:
    """Counts calls of a wrapped function."""

    def __init__(self, wrapped: Callable[..., Any]) -> None:
        self.wrapped, self.calls = wrapped, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.wrapped(*args, **kwargs)


@pytest.mark.promise("P16")
def test_checking_a_code_does_the_same_work_for_every_reference(
    engine: Engine,
    session_factory: sessionmaker[Session],
    references: dict[str, str],
    master: MasterKey,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrong = f"{(int(references['code']) + 1) % 10**6:06d}"
    digests = Counter(blind_index)
    compares = Counter(hmac.compare_digest)
    monkeypatch.setattr(verification, "blind_index", digests)
    monkeypatch.setattr(hmac, "compare_digest", compares)
    runs: dict[str, tuple[list[str], int, int]] = {}
    for name in ("live", "no_code", "closed", "unknown"):
        digests.calls = compares.calls = 0
        with statements(engine) as seen, transaction(session_factory) as session:
            answer = consume_code(
                session, reference=references[name], code=wrong, master=master, clock=clock
            )
        assert answer is None
        runs[name] = (list(seen), digests.calls, compares.calls)
    assert runs["live"][1:] == (1, 1)
    for name in ("no_code", "closed", "unknown"):
        assert runs[name] == runs["live"], name
    with session_factory() as session:
        refused = entries(session, action="dsr.code_refused", limit=10)
        failed = entries(session, action="dsr.verification_failed", limit=10)
    assert (len(refused), len(failed)) == (3, 1)  # every attempt is in the trail (V-10)


@pytest.mark.promise("P16")
def test_asking_for_a_code_does_the_same_work_for_every_reference(
    engine: Engine,
    session_factory: sessionmaker[Session],
    references: dict[str, str],
    outbox: FileOutbox,
    clock: FrozenClock,
) -> None:
    before = len(mails(outbox))
    runs = {}
    for name in ("live", "no_code", "closed", "unknown"):
        with statements(engine) as seen, transaction(session_factory) as session:
            request_code(session, reference=references[name].lower(), clock=clock)
        runs[name] = list(seen)
    assert runs["live"] == runs["no_code"] == runs["closed"] == runs["unknown"]
    with session_factory() as session:
        queued = session.scalars(
            select(Job).where(Job.kind == "dsr.notice", Job.status == "queued")
        )
        assert len(queued.all()) == 4  # the job decides, out of the request path
    run_jobs(session_factory, clock)
    sent = mails(outbox)[before:]
    assert [mail.to for mail in sent] == [KNOWN, KNOWN]  # the two waiting requests only
    with session_factory() as session:
        assert session.scalars(select(Job).where(Job.status == "failed")).all() == []


def test_a_link_check_runs_one_statement_for_any_token(
    engine: Engine,
    session_factory: sessionmaker[Session],
    references: dict[str, str],
    clock: FrozenClock,
) -> None:
    runs = []
    for token in (random_token(), "x" * 500, "", "tampered" + "A" * 40):
        with (
            statements(engine) as seen,
            session_factory() as session,
            pytest.raises(UnknownVerification),
        ):
            peek_link(session, token=token, clock=clock)
        runs.append(list(seen))
    assert all(run == runs[0] for run in runs)
    assert len([sql for sql in runs[0] if sql.lstrip().upper().startswith("SELECT")]) == 1

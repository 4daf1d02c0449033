"""Checks: one person or many, a bounded number of statements, malformed lines by number."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert
from sqlalchemy.orm import Session

from tutela.clock import FrozenClock
from tutela.consent import (
    ConsentEvent,
    ConsentState,
    Reason,
    Suppression,
    check,
    check_bulk,
    notice_hash,
)
from tutela.consent import checks as checks_module
from tutela.consent import scan as scan_module
from tutela.consent.checks import Strategy
from tutela.crypto import MasterKey
from tutela.errors import Conflict, InvalidInput, NotFound
from tutela.policy.models import Declaration
from tutela.policy.models_db import PolicyVersion
from tutela.subjects import Subject, SubjectIdentity, index_of

KNOWN = 6000
TOTAL = 20_000
MALFORMED = {17, 4242, 9999, 19_999}  # 0-based positions of malformed lines


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def listener(*args: Any) -> None:
        sql = str(args[2])
        if not sql.lstrip().upper().startswith("BEGIN"):  # transaction control is not a query
            statements.append(sql)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def _status(number: int) -> str | None:
    return {0: "confirmed", 1: "given", 2: "withdrawn", 3: None, 4: "confirmed", 5: None}[
        number % 6
    ]


def _seed(
    session: Session, master: MasterKey, clock: FrozenClock, declaration: Declaration
) -> None:
    """``KNOWN`` subjects with an email each and varied newsletter states, in bulk."""
    newsletter = declaration.purpose("newsletter")
    assert newsletter is not None
    current = notice_hash(newsletter, "de")
    now = clock.now()
    with session.begin():
        session.execute(
            insert(Subject),
            [{"id": n + 1, "public_id": f"p{n:08d}", "created_at": now} for n in range(KNOWN)],
        )
        session.execute(
            insert(SubjectIdentity),
            [
                {
                    "subject_id": n + 1,
                    "kind": "email",
                    "blind_index": index_of(master, "email", f"person{n}@example.org"),
                    "value_ciphertext": b"x",
                    "created_at": now,
                }
                for n in range(KNOWN)
            ],
        )
        states = [
            {
                "subject_id": n + 1,
                "purpose_id": "newsletter",
                "status": _status(n),
                "given_at": now,
                "confirmed_at": now if _status(n) == "confirmed" else None,
                "notice_hash": "0" * 64 if n % 60 == 4 else current,
                "policy_version": 1,
                "last_sequence": 0,
                "updated_at": now,
            }
            for n in range(KNOWN)
            if _status(n) is not None
        ]
        session.execute(insert(ConsentState), states)
        session.execute(
            insert(Suppression),
            [
                {
                    "kind": "email",
                    "blind_index": index_of(master, "email", f"person{n}@example.org"),
                    "scope": "direct_marketing",
                    "reason": "objection",
                    "created_at": now,
                }
                for n in (0, 6, 12)
            ],
        )


def _expected(position: int) -> tuple[bool, str] | None:
    if position in MALFORMED:
        return None
    if position >= KNOWN:
        return False, "unknown_subject"
    if position in (0, 6, 12):
        return False, "suppressed"
    status = _status(position)
    if status is None:
        return False, "no_consent"
    if status == "withdrawn":
        return False, "withdrawn"
    if position % 60 == 4:
        return False, "notice_changed"
    if status == "given":
        return False, "not_confirmed"
    return True, "consent_confirmed"


def _values() -> list[str]:
    values = []
    for position in range(TOTAL):
        if position in MALFORMED:
            values.append(f"broken-line-{position}")
        elif position < KNOWN:
            values.append(f"Person{position}@Example.org")
        else:
            values.append(f"stranger{position}@example.net")
    return values


@pytest.mark.promise("P04")
@pytest.mark.usefixtures("published")
@pytest.mark.parametrize("variant", ["lookup", "scan", "scan-sparse", "scan-few-codes"])
def test_bulk_check_answers_every_line_with_few_statements(
    engine: Engine,
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    declaration: Declaration,
    variant: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _seed(session, master, clock, declaration)
    if variant == "scan-sparse":  # subject ids too scattered for a byte table: a mapping
        monkeypatch.setattr(scan_module, "dense", lambda highest, count: False)
    if variant == "scan-few-codes":  # more distinct decisions than the byte table holds
        monkeypatch.setattr(scan_module, "_MAX_CODES", 2)
    strategy: Strategy = "lookup" if variant == "lookup" else "scan"
    values = _values()
    with session.begin(), counted(engine) as statements:
        results = list(
            check_bulk(
                session,
                purpose_id="newsletter",
                kind="email",
                values=values if strategy == "scan" else iter(values),
                master=master,
                clock=clock,
                strategy=strategy,
            )
        )
    assert len(statements) <= 2 * math.ceil(TOTAL / 5000) + 3, statements
    assert [r.line for r in results] == list(range(1, TOTAL + 1))
    for position, result in enumerate(results):
        expected = _expected(position)
        assert result.value == values[position]
        if expected is None:
            assert result.allowed is None
            assert result.reason is None
            assert result.error is not None
            assert "email" in result.error
            assert values[position] not in result.error
        else:
            assert (result.allowed, result.reason) == expected, position
    allowed = sum(1 for r in results if r.allowed)
    assert allowed == sum(1 for p in range(TOTAL) if (_expected(p) or (False,))[0]) > 1500


@pytest.mark.usefixtures("published")
def test_single_checks_agree_with_the_bulk_check(
    session: Session, master: MasterKey, clock: FrozenClock, declaration: Declaration
) -> None:
    _seed(session, master, clock, declaration)
    sample = [0, 1, 2, 3, 4, 5, 6, 64, 65, 5999, 6000, 12_345, 0, 6000]
    values = _values()
    with session.begin():
        bulk = list(
            check_bulk(
                session,
                purpose_id="newsletter",
                kind="email",
                values=[values[p] for p in sample],
                master=master,
                clock=clock,
                chunk=5,
            )
        )
        scanned = list(
            check_bulk(
                session,
                purpose_id="newsletter",
                kind="email",
                values=[values[p] for p in sample],
                master=master,
                clock=clock,
                chunk=5,
                strategy="scan",
            )
        )
        assert scanned == bulk
        for position, result in zip(sample, bulk, strict=True):
            single = check(
                session,
                purpose_id="newsletter",
                master=master,
                clock=clock,
                kind="email",
                value=values[position],
            )
            assert (single.allowed, single.reason.value) == (result.allowed, result.reason)
            assert (result.allowed, result.reason) == _expected(position)


@pytest.mark.usefixtures("published")
def test_bulk_check_of_other_kinds_and_purposes(
    session: Session, master: MasterKey, clock: FrozenClock, person: Callable[..., Subject]
) -> None:
    person("+49 30 1234567", kind="phone")
    with session.begin():
        results = list(
            check_bulk(
                session,
                purpose_id="similar_offers",
                kind="phone",
                values=["030 1234567", "", "+49 30 7654321", "abc"],
                master=master,
                clock=clock,
            )
        )
    assert [(r.line, r.allowed, r.reason) for r in results] == [
        (1, True, "legitimate_interest"),
        (2, None, None),
        (3, False, "unknown_subject"),
        (4, None, None),
    ]
    assert all(r.error and r.error.startswith("phone:") for r in results if r.allowed is None)


def test_purpose_and_version_are_resolved_before_the_first_result(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    publish_declaration: Callable[[Declaration], PolicyVersion],
    declaration: Declaration,
) -> None:
    with session.begin(), pytest.raises(Conflict):
        check_bulk(
            session, purpose_id="newsletter", kind="email", values=[], master=master, clock=clock
        )
    publish_declaration(declaration)
    with session.begin():
        with pytest.raises(NotFound, match="'nope'"):
            check_bulk(
                session, purpose_id="nope", kind="email", values=[], master=master, clock=clock
            )
        with pytest.raises(InvalidInput) as caught:
            check_bulk(
                session, purpose_id="newsletter", kind="fax", values=[], master=master, clock=clock
            )
        assert caught.value.extra["field"] == "kind"
        with pytest.raises(InvalidInput):
            check_bulk(
                session,
                purpose_id="newsletter",
                kind="email",
                values=[],
                master=master,
                clock=clock,
                chunk=0,
            )


@pytest.mark.usefixtures("published")
def test_check_needs_exactly_one_way_to_name_the_person(
    session: Session, master: MasterKey, clock: FrozenClock, person: Callable[..., Subject]
) -> None:
    anna = person()
    with session.begin():
        for who in ({}, {"subject": anna, "kind": "email", "value": "anna@example.org"}):
            with pytest.raises(InvalidInput):
                check(session, purpose_id="newsletter", master=master, clock=clock, **who)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput) as caught:
            check(
                session,
                purpose_id="newsletter",
                master=master,
                clock=clock,
                kind="email",
                value="anna(at)example.org",
            )
        assert caught.value.extra["field"] == "email"


@pytest.mark.usefixtures("published")
def test_a_given_declaration_is_used_instead_of_the_published_one(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    declaration: Declaration,
    person: Callable[..., Subject],
    note: Callable[..., ConsentEvent],
) -> None:
    anna = person()
    note(anna, "newsletter", "given")
    newsletter = declaration.purpose("newsletter")
    assert newsletter is not None
    single = newsletter.model_copy(update={"double_opt_in": False})
    variant = declaration.model_copy(
        update={"purposes": [single if p.id == "newsletter" else p for p in declaration.purposes]}
    )
    clock.advance(dt.timedelta(minutes=5))
    with session.begin():
        published = check(
            session, purpose_id="newsletter", master=master, clock=clock, subject=anna
        )
        assert published.reason is Reason.NOT_CONFIRMED
        chosen = check(
            session,
            purpose_id="newsletter",
            master=master,
            clock=clock,
            subject=anna,
            declaration=variant,
        )
        assert (chosen.allowed, chosen.reason) == (True, Reason.CONSENT_GIVEN)


@pytest.mark.usefixtures("published")
def test_auto_scans_large_requests_and_needs_a_list_to_scan(
    engine: Engine,
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    declaration: Declaration,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _seed(session, master, clock, declaration)
    monkeypatch.setattr(checks_module, "SCAN_MIN_VALUES", 10)
    values = _values()[:2000]  # 2,000 x 4 >= 6,000 identities: scanned
    with session.begin(), counted(engine) as statements:
        results = list(
            check_bulk(
                session,
                purpose_id="newsletter",
                kind="email",
                values=values,
                master=master,
                clock=clock,
                chunk=100,
            )
        )
    assert any("COUNT(*)" in sql for sql in statements)
    # version, count, subject range, states, suppressed subjects, identities, suppressed indexes
    assert len(statements) <= 7
    assert [(r.allowed, r.reason) for r in results] == [
        _expected(p) or (None, None) for p in range(2000)
    ]
    with session.begin(), pytest.raises(InvalidInput) as caught:
        check_bulk(
            session,
            purpose_id="newsletter",
            kind="email",
            values=iter(values),
            master=master,
            clock=clock,
            strategy="scan",
        )
    assert caught.value.extra["field"] == "values"


@pytest.mark.usefixtures("published")
def test_the_scan_copes_with_subjects_newer_than_its_range(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    declaration: Declaration,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On PostgreSQL each statement reads afresh: states may name subjects the range missed."""
    _seed(session, master, clock, declaration)
    values = _values()[:3000]
    with session.begin():
        looked_up = [
            (r.allowed, r.reason)
            for r in check_bulk(
                session,
                purpose_id="newsletter",
                kind="email",
                values=values,
                master=master,
                clock=clock,
                strategy="lookup",
            )
        ]
    monkeypatch.setattr(scan_module, "subject_range", lambda session: (1, 1))
    with session.begin():
        scanned = [
            (r.allowed, r.reason)
            for r in check_bulk(
                session,
                purpose_id="newsletter",
                kind="email",
                values=values,
                master=master,
                clock=clock,
                strategy="scan",
            )
        ]
    assert scanned == looked_up

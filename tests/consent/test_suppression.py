"""An objection to direct marketing is absolute and permanent: the suppression list."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tutela.clock import FrozenClock
from tutela.consent import (
    ConsentEvent,
    Reason,
    Suppression,
    check,
    check_bulk,
    lift_suppression,
    suppress_address,
)
from tutela.crypto import MasterKey
from tutela.errors import InvalidInput
from tutela.subjects import Subject, add_identity, erase_subject, get_or_create_subject

Note = Callable[..., ConsentEvent]
Person = Callable[..., Subject]


def _ask(
    session: Session, master: MasterKey, clock: FrozenClock, purpose: str, **who: object
) -> tuple[bool, Reason]:
    with session.begin():
        decision = check(session, purpose_id=purpose, master=master, clock=clock, **who)  # type: ignore[arg-type]
    return decision.allowed, decision.reason


@pytest.mark.promise("P05")
@pytest.mark.promise("P04")
@pytest.mark.usefixtures("published")
def test_objection_stops_every_direct_marketing_purpose_for_good(
    session: Session, master: MasterKey, clock: FrozenClock, person: Person, note: Note
) -> None:
    anna = person()
    email = {"kind": "email", "value": "anna@example.org"}
    note(anna, "newsletter", "given")
    note(anna, "newsletter", "confirmed")
    assert _ask(session, master, clock, "similar_offers", **email) == (
        True,
        Reason.LEGITIMATE_INTEREST,
    )
    note(anna, "similar_offers", "objected", channel="one_click")
    for purpose in ("similar_offers", "newsletter", "leads"):
        assert _ask(session, master, clock, purpose, **email) == (False, Reason.SUPPRESSED)
        assert _ask(session, master, clock, purpose, subject=anna)[1] is Reason.SUPPRESSED
    # Purposes that are not direct marketing are untouched.
    assert _ask(session, master, clock, "contract", **email) == (True, Reason.CONTRACT)
    # A new grant cannot undo the objection.
    note(anna, "newsletter", "given")
    note(anna, "newsletter", "confirmed")
    assert _ask(session, master, clock, "newsletter", **email) == (False, Reason.SUPPRESSED)
    # An address the person adds later is covered as well.
    with session.begin():
        add_identity(
            session,
            subject=anna,
            kind="phone",
            value="+49 151 2345678",
            master=master,
            clock=clock,
            actor="test",
        )
    assert _ask(session, master, clock, "newsletter", kind="phone", value="0151 2345678") == (
        False,
        Reason.SUPPRESSED,
    )


@pytest.mark.promise("P04")
@pytest.mark.promise("P05")
@pytest.mark.usefixtures("published")
def test_a_later_sign_up_of_the_address_stays_suppressed(
    session: Session, master: MasterKey, clock: FrozenClock, person: Person, note: Note
) -> None:
    anna = person()
    note(anna, "newsletter", "objected", channel="email")
    with session.begin():
        erase_subject(session, subject=anna, clock=clock, actor="test", reason="request 7")
    # The erased person signs up again: a new subject with the same address.
    again = person("ANNA@example.org")
    assert again.id != anna.id
    note(again, "newsletter", "given")
    note(again, "newsletter", "confirmed")
    email = {"kind": "email", "value": "anna@example.org"}
    assert _ask(session, master, clock, "newsletter", **email) == (False, Reason.SUPPRESSED)
    assert _ask(session, master, clock, "newsletter", subject=again) == (False, Reason.SUPPRESSED)
    with session.begin():
        results = list(
            check_bulk(
                session,
                purpose_id="newsletter",
                kind="email",
                values=["anna@example.org"],
                master=master,
                clock=clock,
            )
        )
    assert [(r.allowed, r.reason) for r in results] == [(False, "suppressed")]


@pytest.mark.usefixtures("published")
def test_an_unknown_address_can_be_suppressed_and_lifted_with_a_reason(
    session: Session, master: MasterKey, clock: FrozenClock, person: Person, note: Note
) -> None:
    with session.begin():
        assert suppress_address(
            session,
            kind="email",
            value="Ben@Example.org",
            master=master,
            clock=clock,
            actor="staff:1",
        )
        assert not suppress_address(
            session,
            kind="email",
            value="ben@example.org",
            master=master,
            clock=clock,
            actor="staff:1",
        )
    ben = person("ben@example.org")
    note(ben, "newsletter", "given")
    note(ben, "newsletter", "confirmed")
    email = {"kind": "email", "value": "ben@example.org"}
    assert _ask(session, master, clock, "newsletter", **email) == (False, Reason.SUPPRESSED)
    with session.begin(), pytest.raises(InvalidInput) as caught:
        lift_suppression(
            session,
            kind="email",
            value="ben@example.org",
            master=master,
            clock=clock,
            actor="staff:1",
            reason=" ",
        )
    assert caught.value.extra["field"] == "reason"
    with session.begin():
        removed = lift_suppression(
            session,
            kind="email",
            value="ben@example.org",
            master=master,
            clock=clock,
            actor="staff:1",
            reason="written request of 3 March to receive the newsletter again",
        )
    assert removed == 1
    assert _ask(session, master, clock, "newsletter", **email) == (True, Reason.CONSENT_CONFIRMED)


@pytest.mark.usefixtures("published")
def test_objection_to_a_purpose_that_is_not_marketing_is_not_listed(
    session: Session, master: MasterKey, clock: FrozenClock, person: Person, note: Note
) -> None:
    anna = person()
    note(anna, "server_logs", "objected", channel="letter")
    with session.begin():
        assert session.scalar(select(func.count()).select_from(Suppression)) == 0
    assert _ask(session, master, clock, "server_logs", subject=anna) == (False, Reason.OBJECTED)
    assert _ask(session, master, clock, "newsletter", subject=anna) == (False, Reason.NO_CONSENT)


@pytest.mark.usefixtures("published")
def test_objecting_twice_lists_each_address_once(
    session: Session, master: MasterKey, clock: FrozenClock, note: Note
) -> None:
    with session.begin():
        anna, _ = get_or_create_subject(
            session,
            kind="email",
            value="anna@example.org",
            master=master,
            clock=clock,
            actor="test",
        )
        add_identity(
            session,
            subject=anna,
            kind="customer_id",
            value="K-1001",
            master=master,
            clock=clock,
            actor="test",
        )
    note(anna, "similar_offers", "objected")
    note(anna, "newsletter", "objected")
    with session.begin():
        kinds = sorted(session.scalars(select(Suppression.kind)))
        scopes = set(session.scalars(select(Suppression.scope)))
    assert kinds == ["customer_id", "email"]
    assert scopes == {"direct_marketing"}

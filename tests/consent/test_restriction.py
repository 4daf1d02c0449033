"""A restricted person (Art. 18) is denied every purpose, by single, bulk and scanned checks."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tutela.clock import FrozenClock
from tutela.consent import ConsentEvent, Reason, check, check_bulk
from tutela.consent.suppression import RESTRICTED, RESTRICTION, lift_indexes, suppress_indexes
from tutela.crypto import MasterKey
from tutela.policy.models import Declaration
from tutela.subjects import IdentityKind, Subject, SubjectIdentity, index_of

Note = Callable[..., ConsentEvent]
Person = Callable[..., Subject]
EMAIL = {"kind": "email", "value": "anna@example.org"}


def _pairs(session: Session, subject: Subject) -> list[tuple[str, str]]:
    rows = session.execute(
        select(SubjectIdentity.kind, SubjectIdentity.blind_index).where(
            SubjectIdentity.subject_id == subject.id
        )
    )
    return [(str(kind), str(index)) for kind, index in rows]


def _bulk(
    session: Session, master: MasterKey, clock: FrozenClock, purpose: str, strategy: str
) -> list[tuple[bool | None, str | None]]:
    with session.begin():
        results = list(
            check_bulk(
                session,
                purpose_id=purpose,
                kind="email",
                values=["anna@example.org", "bert@example.org", "nobody@example.org"],
                master=master,
                clock=clock,
                strategy=strategy,  # type: ignore[arg-type]
            )
        )
    return [(r.allowed, r.reason) for r in results]


@pytest.mark.promise("P16")
@pytest.mark.usefixtures("published")
@pytest.mark.parametrize("strategy", ["lookup", "scan"])
def test_a_restricted_person_is_denied_every_purpose_until_lifted(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    person: Person,
    note: Note,
    declaration: Declaration,
    strategy: str,
) -> None:
    anna, bert = person(), person("bert@example.org")
    for who in (anna, bert):
        note(who, "newsletter", "given")
        note(who, "newsletter", "confirmed")
    with session.begin():
        pairs = _pairs(session, anna)
        added = suppress_indexes(
            session, pairs=pairs, scope=RESTRICTED, reason=RESTRICTION, clock=clock, actor="test"
        )
    assert added == 1
    for purpose in declaration.purposes:
        with session.begin():
            single = check(session, purpose_id=purpose.id, master=master, clock=clock, **EMAIL)  # type: ignore[arg-type]
            by_subject = check(
                session, purpose_id=purpose.id, master=master, clock=clock, subject=anna
            )
        assert (single.allowed, single.reason) == (False, Reason.RESTRICTED), purpose.id
        assert (by_subject.allowed, by_subject.reason) == (False, Reason.RESTRICTED)
        answers = _bulk(session, master, clock, purpose.id, strategy)
        assert answers[0] == (False, "restricted"), purpose.id
        assert answers[1][1] != "restricted"  # another person is untouched
    assert _bulk(session, master, clock, "newsletter", strategy)[1] == (True, "consent_confirmed")
    # An objection on top does not lift the restriction or change its reason.
    note(anna, "similar_offers", "objected", channel="email")
    assert _bulk(session, master, clock, "newsletter", strategy)[0] == (False, "restricted")
    with session.begin():
        removed = lift_indexes(
            session, pairs=pairs, scope=RESTRICTED, clock=clock, actor="staff:1", reason="lifted"
        )
    assert removed == 1
    assert _bulk(session, master, clock, "contract", strategy)[0] == (True, "contract")
    assert _bulk(session, master, clock, "newsletter", strategy)[0] == (False, "suppressed")


@pytest.mark.usefixtures("published")
def test_a_restricted_address_nobody_holds_is_denied_too(
    session: Session, master: MasterKey, clock: FrozenClock
) -> None:
    index = index_of(master, IdentityKind.EMAIL, "nobody@example.org")
    with session.begin():
        suppress_indexes(
            session,
            pairs=[("email", index)],
            scope=RESTRICTED,
            reason=RESTRICTION,
            clock=clock,
            actor="test",
        )
    for strategy in ("lookup", "scan"):
        assert _bulk(session, master, clock, "contract", strategy)[2] == (False, "restricted")
    with session.begin():
        decision = check(
            session,
            purpose_id="contract",
            master=master,
            clock=clock,
            kind="email",
            value="nobody@example.org",
        )
    assert decision.reason is Reason.RESTRICTED

"""Subjects on both databases: lookup, creation, identities, bulk lookup, erasure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from tutela.audit import entries, verify
from tutela.clock import FrozenClock
from tutela.crypto import MasterKey
from tutela.errors import Conflict, InvalidInput
from tutela.subjects import (
    LOOKUP_CHUNK,
    IdentityKind,
    Subject,
    SubjectIdentity,
    SubjectKey,
    add_identity,
    erase_subject,
    find_subject,
    get_or_create_subject,
    identities,
    index_many,
    normalize,
    service,
    subject_by_public_id,
    subject_ids_for_indexes,
)


def create(session: Session, master: MasterKey, clock: FrozenClock, email: str) -> Subject:
    subject, created = get_or_create_subject(
        session, kind="email", value=email, master=master, clock=clock, actor="test"
    )
    assert created
    return subject


def test_get_or_create_then_find(session: Session, master: MasterKey, clock: FrozenClock) -> None:
    subject = create(session, master, clock, "Anna@Example.org")
    session.commit()
    again, created = get_or_create_subject(
        session, kind="email", value=" anna@example.ORG ", master=master, clock=clock, actor="t"
    )
    assert not created
    assert again.id == subject.id
    found = find_subject(session, kind=IdentityKind.EMAIL, value="ANNA@example.org", master=master)
    assert found is not None
    assert found.id == subject.id
    assert find_subject(session, kind="email", value="bert@example.org", master=master) is None
    assert subject_by_public_id(session, subject.public_id) == subject
    assert len(subject.public_id) >= 20
    assert subject.created_at == clock.now()
    assert subject.erased_at is None


def test_creation_emits_one_event_without_personal_data(
    session: Session, master: MasterKey, clock: FrozenClock
) -> None:
    subject = create(session, master, clock, "anna@example.org")
    session.commit()
    created = entries(session, action="subject.created")
    assert len(created) == 1
    assert created[0].target == f"subject:{subject.id}"
    assert json.loads(created[0].payload) == {"subject_id": subject.id, "kind": "email"}
    assert "anna" not in created[0].payload


def test_invalid_value_raises_before_anything_is_written(
    session: Session, master: MasterKey, clock: FrozenClock
) -> None:
    with pytest.raises(InvalidInput) as caught:
        get_or_create_subject(
            session, kind="phone", value="12", master=master, clock=clock, actor="t"
        )
    assert caught.value.extra["field"] == "phone"
    assert session.scalar(select(func.count()).select_from(Subject)) == 0


@pytest.mark.promise("P19")
def test_identities_are_stored_encrypted_and_decrypted_on_request(
    session: Session, master: MasterKey, clock: FrozenClock
) -> None:
    subject = create(session, master, clock, "Anna@Example.org")
    add_identity(
        session,
        subject=subject,
        kind="phone",
        value="0151 23456789",
        master=master,
        clock=clock,
        actor="t",
    )
    add_identity(
        session,
        subject=subject,
        kind="customer_id",
        value="K-42",
        master=master,
        clock=clock,
        actor="t",
    )
    session.commit()
    rows = session.scalars(select(SubjectIdentity).order_by(SubjectIdentity.id)).all()
    for row in rows:
        assert b"anna" not in row.value_ciphertext
        assert b"4915123456789" not in row.value_ciphertext
        assert b"K-42" not in row.value_ciphertext
        assert len(row.blind_index) == 64
    key_row = session.get(SubjectKey, subject.id)
    assert key_row is not None
    assert key_row.key_id == f"subject:{subject.public_id}"
    assert identities(session, subject=subject, master=master) == [
        (IdentityKind.EMAIL, "anna@example.org"),
        (IdentityKind.PHONE, "+4915123456789"),
        (IdentityKind.CUSTOMER_ID, "K-42"),
    ]
    found = find_subject(session, kind="phone", value="+49 151 2345 6789", master=master)
    assert found is not None
    assert found.id == subject.id


def test_add_identity_is_idempotent_and_refuses_another_subjects_identity(
    session: Session, master: MasterKey, clock: FrozenClock
) -> None:
    anna = create(session, master, clock, "anna@example.org")
    bert = create(session, master, clock, "bert@example.org")
    for _ in range(2):
        add_identity(
            session,
            subject=anna,
            kind="customer_id",
            value="K-1",
            master=master,
            clock=clock,
            actor="t",
        )
    assert len(identities(session, subject=anna, master=master)) == 2
    assert len(entries(session, action="subject.identity_added")) == 1
    with pytest.raises(Conflict) as caught:
        add_identity(
            session,
            subject=bert,
            kind="email",
            value="ANNA@example.org",
            master=master,
            clock=clock,
            actor="t",
        )
    assert caught.value.extra["field"] == "email"
    assert "anna" not in caught.value.detail
    session.commit()


def test_a_race_on_the_same_identity_ends_with_one_subject(
    engine: Engine,
    master: MasterKey,
    clock: FrozenClock,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The second transaction inserts the same identity after the first committed
    # but without having seen it: the unique blind index turns it into a lookup.
    winner = create(session, master, clock, "race@example.org")
    session.commit()
    original = service._subject_for_index
    calls: list[int] = []

    def blind_first(*args: Any, **kwargs: Any) -> Subject | None:
        calls.append(1)
        return None if len(calls) == 1 else original(*args, **kwargs)

    monkeypatch.setattr(service, "_subject_for_index", blind_first)
    with Session(engine) as other:
        subject, created = get_or_create_subject(
            other, kind="email", value="race@example.org", master=master, clock=clock, actor="t"
        )
        subject_id = subject.id
        other.commit()
    assert not created
    assert subject_id == winner.id
    assert len(calls) == 2
    assert session.scalar(select(func.count()).select_from(Subject)) == 1
    assert len(entries(session, action="subject.created")) == 1


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):  # transaction control
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_bulk_lookup_uses_one_query_per_chunk(
    session: Session, master: MasterKey, clock: FrozenClock, statements: list[str]
) -> None:
    known = {}
    for i in range(5):
        subject = create(session, master, clock, f"known{i}@example.org")
        known[normalize("email", f"known{i}@example.org")] = subject.id
    session.commit()
    values = [f"person{i}@example.org" for i in range(20_000 - 5)] + list(known)
    indexes = index_many(master, "email", values)
    statements.clear()
    found = subject_ids_for_indexes(session, kind="email", indexes=indexes)
    lookups = [s for s in statements if "subject_identities" in s]
    assert len(lookups) == -(-20_000 // LOOKUP_CHUNK) == 4
    assert len(statements) <= 5  # plus at most the transaction's BEGIN
    expected = dict(zip(index_many(master, "email", list(known)), known.values(), strict=True))
    assert found == expected


def test_bulk_lookup_ignores_duplicates_and_other_kinds(
    session: Session, master: MasterKey, clock: FrozenClock
) -> None:
    subject = create(session, master, clock, "anna@example.org")
    session.commit()
    [index] = index_many(master, "email", ["anna@example.org"])
    assert subject_ids_for_indexes(session, kind="email", indexes=[index, index]) == {
        index: subject.id
    }
    assert subject_ids_for_indexes(session, kind="phone", indexes=[index]) == {}
    assert subject_ids_for_indexes(session, kind="email", indexes=[]) == {}


@pytest.mark.promise("P19")
def test_erase_shreds_the_key_and_identities(
    session: Session, master: MasterKey, clock: FrozenClock
) -> None:
    subject = create(session, master, clock, "anna@example.org")
    other = create(session, master, clock, "bert@example.org")
    session.commit()
    erase_subject(session, subject=subject, clock=clock, actor="staff:1", reason="request 7")
    session.commit()
    assert subject.erased_at == clock.now()
    assert session.get(SubjectKey, subject.id) is None
    assert (
        session.scalar(
            select(func.count())
            .select_from(SubjectIdentity)
            .where(SubjectIdentity.subject_id == subject.id)
        )
        == 0
    )
    assert identities(session, subject=subject, master=master) == []
    assert find_subject(session, kind="email", value="anna@example.org", master=master) is None
    assert identities(session, subject=other, master=master) == [
        (IdentityKind.EMAIL, "bert@example.org")
    ]
    erased = entries(session, action="subject.erased")
    assert len(erased) == 1
    assert erased[0].actor == "staff:1"
    assert erased[0].reason == "request 7"
    assert json.loads(erased[0].payload) == {
        "subject_id": subject.id,
        "identities_removed": 1,
        "kinds": ["email"],
    }
    assert verify(session).ok


def test_erase_twice_does_nothing_more_and_needs_a_reason(
    session: Session, master: MasterKey, clock: FrozenClock
) -> None:
    subject = create(session, master, clock, "anna@example.org")
    with pytest.raises(InvalidInput) as caught:
        erase_subject(session, subject=subject, clock=clock, actor="t", reason=" ")
    assert caught.value.extra["field"] == "reason"
    erase_subject(session, subject=subject, clock=clock, actor="t", reason="request")
    erase_subject(session, subject=subject, clock=clock, actor="t", reason="request")
    session.commit()
    assert len(entries(session, action="subject.erased")) == 1


def test_same_address_after_erasure_is_a_new_subject(
    session: Session, master: MasterKey, clock: FrozenClock
) -> None:
    first = create(session, master, clock, "anna@example.org")
    erase_subject(session, subject=first, clock=clock, actor="t", reason="request")
    second = create(session, master, clock, "anna@example.org")
    session.commit()
    assert second.id != first.id
    assert second.public_id != first.public_id

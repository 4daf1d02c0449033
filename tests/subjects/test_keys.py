"""Per-subject keys: encryption round trip, context binding, crypto-shredding."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from tutela.clock import FrozenClock
from tutela.crypto import DecryptionError, MasterKey
from tutela.errors import NotFound
from tutela.subjects import (
    Subject,
    SubjectErased,
    SubjectKey,
    SubjectVault,
    decrypt_for,
    encrypt_for,
    erase_subject,
    get_or_create_subject,
)

PROOF = "Consent given on the sign-up form, text hash 3f2a…".encode()


def make(session: Session, master: MasterKey, clock: FrozenClock, email: str) -> Subject:
    subject, _ = get_or_create_subject(
        session, kind="email", value=email, master=master, clock=clock, actor="t"
    )
    return subject


@pytest.mark.promise("P19")
def test_round_trip_under_the_subjects_own_key(
    session: Session, master: MasterKey, clock: FrozenClock
) -> None:
    anna = make(session, master, clock, "anna@example.org")
    bert = make(session, master, clock, "bert@example.org")
    session.commit()
    blob = encrypt_for(session, subject=anna, master=master, plaintext=PROOF, context=b"proof")
    assert PROOF not in blob
    assert decrypt_for(session, subject=anna, master=master, blob=blob, context=b"proof") == PROOF
    with pytest.raises(DecryptionError):
        decrypt_for(session, subject=anna, master=master, blob=blob, context=b"receipt")
    with pytest.raises(DecryptionError):
        decrypt_for(session, subject=bert, master=master, blob=blob, context=b"proof")
    with pytest.raises(DecryptionError):
        decrypt_for(session, subject=anna, master=MasterKey(bytes(32)), blob=blob, context=b"proof")


@pytest.mark.promise("P19")
def test_a_wrapped_key_copied_to_another_subject_does_not_unwrap(
    session: Session, master: MasterKey, clock: FrozenClock
) -> None:
    anna = make(session, master, clock, "anna@example.org")
    bert = make(session, master, clock, "bert@example.org")
    session.commit()
    annas = session.get(SubjectKey, anna.id)
    assert annas is not None
    session.execute(
        update(SubjectKey)
        .where(SubjectKey.subject_id == bert.id)
        .values(wrapped_key=annas.wrapped_key)
    )
    session.expire_all()
    with pytest.raises(DecryptionError, match="cannot be unwrapped"):
        encrypt_for(session, subject=bert, master=master, plaintext=b"x", context=b"c")


@pytest.mark.promise("P19")
def test_after_erasure_nothing_decrypts(
    session: Session, master: MasterKey, clock: FrozenClock
) -> None:
    anna = make(session, master, clock, "anna@example.org")
    session.commit()
    blob = encrypt_for(session, subject=anna, master=master, plaintext=PROOF, context=b"proof")
    erase_subject(session, subject=anna, clock=clock, actor="t", reason="erasure request")
    session.commit()
    with pytest.raises(SubjectErased) as caught:
        decrypt_for(session, subject=anna, master=master, blob=blob, context=b"proof")
    assert caught.value.status == 410
    assert anna.public_id in caught.value.detail
    with pytest.raises(SubjectErased):
        encrypt_for(session, subject=anna, master=master, plaintext=b"x", context=b"proof")


def test_vault_seals_by_subject_id_and_forgets_erased_subjects(
    session: Session, master: MasterKey, clock: FrozenClock
) -> None:
    anna = make(session, master, clock, "anna@example.org")
    session.commit()
    vault = SubjectVault(master)
    blob = vault.seal(session, owner_id=anna.id, plaintext=PROOF, context=b"mail")
    assert vault.open(session, owner_id=anna.id, blob=blob, context=b"mail") == PROOF
    assert vault.open(session, owner_id=anna.id + 100, blob=blob, context=b"mail") is None
    with pytest.raises(NotFound):
        vault.seal(session, owner_id=anna.id + 100, plaintext=PROOF, context=b"mail")
    erase_subject(session, subject=anna, clock=clock, actor="t", reason="erasure request")
    assert vault.open(session, owner_id=anna.id, blob=blob, context=b"mail") is None

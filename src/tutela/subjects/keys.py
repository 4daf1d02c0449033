"""Per-subject data keys: encrypt values under them, shred them on erasure.

Each subject gets a random 32-byte data key when it is created. The key is
stored wrapped by the master key with the key id ``subject:<public id>`` as
associated data, so a wrapped key copied to another subject's row does not
unwrap. Values are sealed with AES-256-GCM under the data key; the caller's
``context`` (what the value is, e.g. ``b"consent-proof"``) must match on
decryption.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from tutela.clock import Clock
from tutela.crypto import MasterKey, decrypt, encrypt, new_data_key, unwrap_key, wrap_key
from tutela.errors import NotFound, TutelaError
from tutela.subjects.models import Subject, SubjectKey

__all__ = [
    "SubjectErased",
    "SubjectVault",
    "create_key",
    "data_key",
    "decrypt_for",
    "encrypt_for",
    "key_id_for",
]


class SubjectErased(TutelaError):
    """The subject was erased: its key is gone and its encrypted data cannot be read."""

    status = 410
    code = "subject-erased"
    title = "The person's data was erased"


_KEYS = cast(Table, SubjectKey.__table__)
_WRAPPED = select(_KEYS.c.wrapped_key).where(_KEYS.c.subject_id == bindparam("subject_id"))


def key_id_for(subject: Subject) -> str:
    """The id a subject's data key is wrapped for."""
    return f"subject:{subject.public_id}"


def create_key(session: Session, *, subject: Subject, master: MasterKey, clock: Clock) -> bytes:
    """Give a new (flushed) subject its data key; return the key in plaintext."""
    key = new_data_key()
    key_id = key_id_for(subject)
    session.add(
        SubjectKey(
            subject_id=subject.id,
            wrapped_key=wrap_key(master, key, key_id=key_id),
            key_id=key_id,
            created_at=clock.now(),
        )
    )
    return key


def _erased(subject: Subject) -> SubjectErased:
    return SubjectErased(
        f"Subject {subject.public_id} was erased; its encrypted data is gone for good "
        "and cannot be read or added to.",
        subject=subject.public_id,
    )


def data_key(session: Session, *, subject: Subject, master: MasterKey) -> bytes:
    """The subject's unwrapped data key; :class:`SubjectErased` once it was destroyed."""
    if subject.erased_at is not None:
        raise _erased(subject)
    if any(isinstance(held, SubjectKey) for held in (*session.new, *session.deleted)):
        session.flush()  # a key created or deleted in this transaction counts
    wrapped = session.connection().execute(_WRAPPED, {"subject_id": subject.id}).scalar()
    if wrapped is None:
        raise _erased(subject)
    return unwrap_key(master, wrapped, key_id=key_id_for(subject))


def encrypt_for(
    session: Session, *, subject: Subject, master: MasterKey, plaintext: bytes, context: bytes
) -> bytes:
    """Seal ``plaintext`` under the subject's data key (AES-256-GCM)."""
    return encrypt(data_key(session, subject=subject, master=master), plaintext, context=context)


def decrypt_for(
    session: Session, *, subject: Subject, master: MasterKey, blob: bytes, context: bytes
) -> bytes:
    """Open a value sealed by :func:`encrypt_for` with the same ``context``.

    Raises :class:`SubjectErased` after erasure and
    :class:`tutela.crypto.DecryptionError` for a wrong context or altered bytes.
    """
    return decrypt(data_key(session, subject=subject, master=master), blob, context=context)


class SubjectVault:
    """Seals bytes for a subject given only its id (for code that must not know subjects).

    It fits the ``tutela.mail.MessageVault`` protocol: the mail queue keeps
    queued messages sealed under the recipient's key, so erasing the recipient
    also destroys any mail still waiting for them.
    """

    def __init__(self, master: MasterKey) -> None:
        self._master = master

    def _subject(self, session: Session, owner_id: int) -> Subject:
        subject = session.get(Subject, owner_id)
        if subject is None:
            raise NotFound(
                f"There is no subject {owner_id}; look the person up by an identity first.",
                subject_id=owner_id,
            )
        return subject

    def seal(self, session: Session, *, owner_id: int, plaintext: bytes, context: bytes) -> bytes:
        subject = self._subject(session, owner_id)
        return encrypt_for(
            session, subject=subject, master=self._master, plaintext=plaintext, context=context
        )

    def open(self, session: Session, *, owner_id: int, blob: bytes, context: bytes) -> bytes | None:
        """The plaintext, or ``None`` when the subject is gone or erased."""
        subject = session.get(Subject, owner_id)
        if subject is None:
            return None
        try:
            return decrypt_for(
                session, subject=subject, master=self._master, blob=blob, context=context
            )
        except SubjectErased:
            return None

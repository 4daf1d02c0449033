"""Who a request is about, for the stores: the identities and blind indexes of the person.

The request's own identity is sealed under the request's key; a request matched
to a Tutela subject adds the subject's other identities (email, phone, customer
id), so every store finds the person by whatever it keys them on.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tutela.connectors import IdentitySet
from tutela.crypto import MasterKey
from tutela.dsr.envelope import open_identity
from tutela.dsr.models import DsrRequest
from tutela.subjects import Subject, SubjectIdentity, identities, subject_ids_for_indexes

__all__ = ["Person", "person_of"]


@dataclass(frozen=True, slots=True)
class Person:
    """The person of a request: identities for the stores and blind indexes for Tutela."""

    identities: IdentitySet
    indexes: tuple[tuple[str, str], ...]
    """(kind, blind index) of the request's identity and of the subject's identities."""
    subject: Subject | None


def _subject(session: Session, request: DsrRequest) -> Subject | None:
    subject_id = request.subject_id
    if subject_id is None:
        found = subject_ids_for_indexes(
            session, kind=request.identity_kind, indexes=[request.identity_index]
        )
        subject_id = found.get(request.identity_index)
    subject = None if subject_id is None else session.get(Subject, subject_id)
    if subject is None or subject.erased_at is not None:
        return None
    return subject


def person_of(session: Session, *, request: DsrRequest, master: MasterKey) -> Person:
    """The identities of ``request``'s person (empty once the request's key is shredded)."""
    pairs: list[tuple[str, str]] = []
    value = open_identity(request, master=master)
    if value is not None:
        pairs.append((request.identity_kind, value))
    indexes = [(request.identity_kind, request.identity_index)]
    subject = _subject(session, request)
    if subject is not None:
        pairs.extend(
            (kind.value, known)
            for kind, known in identities(session, subject=subject, master=master)
        )
        rows = session.execute(
            select(SubjectIdentity.kind, SubjectIdentity.blind_index)
            .where(SubjectIdentity.subject_id == subject.id)
            .order_by(SubjectIdentity.id)
        )
        indexes.extend((str(kind), str(index)) for kind, index in rows)
    return Person(
        identities=IdentitySet.from_pairs(pairs),
        indexes=tuple(dict.fromkeys(indexes)),
        subject=subject,
    )

"""A request whose identity is already proven: find the person's subject, queue the work.

Requests verified on arrival (an in-app request signed by the operator's
application, or one that needs no verification) and requests whose link or code
was confirmed all go the same way: the subject Tutela holds for the identity is
looked up, ``dsr.matched`` is recorded, the fulfilment is queued and, where V-3
asks for it (erasure, change of contact data), a change alert to the channel on
file is queued as a notice job of its own.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from tutela.audit import DomainEvent
from tutela.audit.trail import emit_many
from tutela.clock import Clock
from tutela.dsr.events import RequestMatched
from tutela.dsr.fulfilment import enqueue_fulfilment
from tutela.dsr.models import DsrRequest
from tutela.dsr.queue import Notice, enqueue_notice
from tutela.dsr.terms import SYSTEM_ACTOR, Assurance, required_assurance
from tutela.subjects import Subject, subject_ids_for_indexes

__all__ = ["accept_verified", "match_subject"]


def match_subject(session: Session, request: DsrRequest) -> Subject | None:
    """The subject Tutela holds for the request's identity (not an erased one); links it."""
    found = subject_ids_for_indexes(
        session, kind=request.identity_kind, indexes=[request.identity_index]
    )
    subject_id = found.get(request.identity_index)
    subject = None if subject_id is None else session.get(Subject, subject_id)
    if subject is None or subject.erased_at is not None:
        return None
    request.subject_id = subject.id
    return subject


def accept_verified(
    session: Session,
    *,
    request: DsrRequest,
    clock: Clock,
    first: DomainEvent | None = None,
    actor: str = SYSTEM_ACTOR,
) -> Subject | None:
    """Match a request verified on arrival and queue its work; return the subject found.

    Runs in the caller's transaction and touches no connected store, so the
    caller may be the request path of an authenticated in-app submission, which
    passes its ``dsr.received`` event as ``first``: both go into the audit trail as
    one run, by ``actor``.
    """
    subject = match_subject(session, request)
    matched = RequestMatched(request_id=request.id, subject_id=request.subject_id)
    events: list[DomainEvent] = [matched] if first is None else [first, matched]
    emit_many(session, events, actor=actor, clock=clock)
    if required_assurance(request.request_type, request.scope) is Assurance.CHANNEL_AND_NOTICE:
        # queued first, so it reaches the address on file before an erasure removes it
        enqueue_notice(session, request_id=request.id, notice=Notice.CHANGE_ALERT, clock=clock)
    enqueue_fulfilment(session, request_id=request.id, clock=clock)
    return subject

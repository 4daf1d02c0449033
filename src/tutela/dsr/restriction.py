"""Restriction of processing (Art. 18 GDPR) and lifting it again (Art. 18(3)).

A restriction marks the person's records in every store (``restrict`` with no end
date) and lists every identity of the person, known to Tutela or not, with the
suppression scope ``restricted``: every consent check for the person then
answers ``restricted`` for every purpose, single or bulk. Lifting it is a staff
decision (:func:`lift_restriction`); the person is told before it takes effect.

Tutela's own part takes effect as soon as every store has answered, even while a
manual store's task waits for staff (:mod:`tutela.dsr.tasks`); the answer goes
out once the last task is closed. A store that is down is retried without
asking again the stores that answered (:mod:`tutela.dsr.progress`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.clock import Clock
from tutela.connectors import Operation
from tutela.consent.suppression import RESTRICTED, RESTRICTION, lift_indexes, suppress_indexes
from tutela.dsr.answers import hold_open
from tutela.dsr.erasure import recipients_to_tell
from tutela.dsr.events import RestrictionLifted
from tutela.dsr.fulfilment import Fulfilment, handles
from tutela.dsr.models import DsrRequest
from tutela.dsr.person import person_of
from tutela.dsr.progress import answer_channel, answer_run, load_progress, run_stores
from tutela.dsr.queue import Notice, enqueue_notice
from tutela.dsr.tasks import await_tasks, close_tasks
from tutela.dsr.terms import RequestType
from tutela.dsr.workflow import SYSTEM_ACTOR
from tutela.errors import Conflict
from tutela.subjects import SubjectIdentity

__all__ = ["fulfil_restriction", "lift_restriction"]


@handles(RequestType.RESTRICTION)
def fulfil_restriction(fulfilment: Fulfilment) -> None:
    """Restrict the person's records in every store and make consent checks deny."""
    request, session = fulfilment.request, fulfilment.session
    if not request.is_open:
        return
    person = person_of(session, request=request, master=fulfilment.runtime.master)
    progress = load_progress(request, operation=Operation.RESTRICT)
    run = progress.new_run()
    on_file = answer_channel(fulfilment, run, person.subject)
    if person.identities:
        identities = person.identities
        run_stores(
            fulfilment, progress, run, lambda store: [store.restrict(identities, until=None)]
        )
    if hold_open(fulfilment, run):
        return
    if "tutela" not in run.extra:  # once, even when the answer waits for manual tasks
        listed = suppress_indexes(
            session,
            pairs=person.indexes,
            scope=RESTRICTED,
            reason=RESTRICTION,
            clock=fulfilment.clock,
            actor=SYSTEM_ACTOR,
        )
        run.extra["tutela"] = {"restricted_identities": listed}
    if await_tasks(fulfilment, run):
        return
    not_done = close_tasks(run)
    recipients = recipients_to_tell(session, clock=fulfilment.clock)
    run.extra["recipients"] = recipients
    answer_run(
        fulfilment,
        run,
        on_file=on_file,
        not_done=not_done,
        recipients=[item["name"] for item in recipients],
        restricted=True,
    )


def lift_restriction(session: Session, *, request: DsrRequest, actor: str, clock: Clock) -> int:
    """Lift the restriction ``request`` put in place and queue the Art. 18(3) notice.

    Removes the ``restricted`` entries of the request's identity and of the
    subject's identities; returns how many went. Records the stores marked stay
    marked until staff clear them there.
    """
    if request.request_type != RequestType.RESTRICTION.value:
        raise Conflict(
            f"request {request.reference}: it is a {request.request_type} request; only a "
            "restriction request can be lifted.",
            reference=request.reference,
        )
    pairs = [(request.identity_kind, request.identity_index)]
    if request.subject_id is not None:
        rows = session.execute(
            select(SubjectIdentity.kind, SubjectIdentity.blind_index).where(
                SubjectIdentity.subject_id == request.subject_id
            )
        )
        pairs.extend((str(kind), str(index)) for kind, index in rows)
    removed = lift_indexes(
        session,
        pairs=pairs,
        scope=RESTRICTED,
        clock=clock,
        actor=actor,
        reason=f"restriction lifted ({request.reference})",
    )
    enqueue_notice(session, request_id=request.id, notice=Notice.RESTRICTION_LIFTED, clock=clock)
    emit(
        session, RestrictionLifted(request_id=request.id, removed=removed), actor=actor, clock=clock
    )
    return removed

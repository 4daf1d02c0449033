"""Running a send batch once the job's own transaction has committed.

The worker runs a handler inside one transaction that also marks the job done;
on SQLite that transaction holds the write lock until it ends. Mail must not be
sent inside it (a rollback would forget what was sent), and the per-notice
commits of :func:`tutela.notices.delivery.send_due` cannot happen while it is
open. So the ``notices.send`` handler decides and queues its successor in the
job's transaction and leaves the batch to run right after that transaction
committed, on the same database, in short transactions of its own. If the job's
transaction rolls back, the batch is dropped with it. Errors of the batch are
logged, never raised: the job is already done and its successor queued, and
every delivery left open is taken up again by that successor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from tutela.clock import Clock
from tutela.notices.completion import finish_if_done
from tutela.notices.delivery import prepare_batch, send_due
from tutela.notices.runtime import NoticeRuntime

__all__ = ["send_after_commit"]

log = logging.getLogger(__name__)

_PENDING: Final = "tutela.notices.after_commit"
_LISTENING: Final = "tutela.notices.after_commit.listening"

Work = Callable[[], None]


def _run(session: Session) -> None:
    pending: list[Work] = session.info.pop(_PENDING, [])
    for work in pending:
        work()


def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended (after a commit: empty)
        session.info.pop(_PENDING, None)


def _after_commit(session: Session, work: Work) -> None:
    if not session.info.get(_LISTENING):
        event.listen(session, "after_commit", _run)
        event.listen(session, "after_transaction_end", _forget)
        session.info[_LISTENING] = True
    session.info.setdefault(_PENDING, []).append(work)


def send_after_commit(
    session: Session, *, version: int, runtime: NoticeRuntime, clock: Clock, worker: str
) -> None:
    """Send a batch of ``version``'s notices once ``session``'s transaction commits.

    The notice is rendered and the campaign key opened now, in the caller's
    transaction (a failure there fails the job). After the batch, a campaign
    with nothing open left is closed at once.
    """
    bind = session.get_bind()
    out = runtime.sender()
    prepared = prepare_batch(session, version=version, master=runtime.master, base_url=out.base_url)
    if prepared is None:
        return

    def batch() -> None:
        try:
            result = send_due(
                bind, prepared=prepared, master=runtime.master, out=out, clock=clock, worker=worker
            )
            with Session(bind=bind) as own, own.begin():
                finish_if_done(own, version=version, clock=clock)
        except Exception:
            log.exception("notices of version %s: the batch stopped; retried later", version)
            return
        log.info("notices of version %s: %s", version, result.counts or "none due")

    _after_commit(session, batch)

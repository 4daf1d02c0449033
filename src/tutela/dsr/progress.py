"""Where a fulfilment stands between its runs: the stores' kept results and the answer address.

Each store writes in a transaction of its own, so a store that answered has
committed its part even when the job's own work rolls back later. The request
therefore keeps, in ``store_results``:

* ``kept`` — the stores whose results are final; a retry runs only the stores
  not kept (an erased store run again would find nothing and report nothing).
* ``answer_to`` — the address to answer at, looked up once before anything is
  erased or changed (an erased store no longer names the person) and sealed
  under the request's own key; it is dropped when the answer goes out.

Both are written whenever the job's transaction ends without committing once
:func:`run_stores` has started — whatever ended it: a store that is down
(:class:`StoresDown`), a store error, an error in Tutela's own part or the
answer mail, a failed commit, or the job's lease lost to another worker. They
are written in a short transaction of their own right after the job's work was
rolled back: while the job runs, its transaction holds SQLite's only write lock
and (on PostgreSQL) the request row, so nothing can be written beside it. A
worker process killed outright (power loss, ``kill -9``) writes nothing; its
retry asks every store again. A request waiting for manual tasks, or held for
staff or a processor, keeps its final stores the same way
(:func:`~tutela.dsr.answers.hold_open`).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from tutela.connectors import (
    Action,
    Connector,
    Operation,
    Outcome,
    Status,
    StoreReport,
    StoreUnavailable,
)
from tutela.crypto import DecryptionError, MasterKey, decrypt, encrypt, unwrap_key
from tutela.dsr.answers import KEPT, Run, answer, channel_of
from tutela.dsr.fulfilment import Fulfilment
from tutela.dsr.models import DsrRequest
from tutela.dsr.notices import OnFile
from tutela.dsr.terms import Outcome as RequestOutcome
from tutela.dsr.terms import Status as RequestStatus
from tutela.subjects import Subject

__all__ = [
    "ANSWER_TO",
    "KEPT",
    "Progress",
    "StoresDown",
    "answer_channel",
    "answer_run",
    "keep_stores",
    "load_progress",
    "merge_checkpoint",
    "open_answer_to",
    "report_of",
    "run_stores",
    "seal_answer_to",
]

ANSWER_TO: Final = "answer_to"
MAX_ERROR: Final = 500
MAX_REASON: Final = 2000
_ANSWER_CONTEXT: Final = b"tutela/v1/dsr\x00answer_to"
_WATCH: Final = "tutela.dsr.progress.watch"
_LISTENING: Final = "tutela.dsr.progress.listening"
_OPEN: Final = (RequestStatus.VERIFIED.value, RequestStatus.IN_PROGRESS.value)

log = logging.getLogger(__name__)

Work = Callable[[Connector], list[StoreReport]]


class StoresDown(StoreUnavailable):
    """A store is down; ``checkpoint`` is the ``store_results`` to keep for the retry."""

    def __init__(self, detail: str, *, checkpoint: str) -> None:
        super().__init__(detail)
        self.checkpoint = checkpoint


@dataclass
class Progress:
    """What earlier runs left on the request: final reports by store, and the other keys."""

    kept: dict[str, list[StoreReport]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def new_run(self) -> Run:
        """An empty run that carries the earlier keys (``answer_to``, ``tasks`` …) forward."""
        return Run(extra=dict(self.extra))


# --- reading and writing the kept results -------------------------------------------------------


def report_of(entry: dict[str, Any]) -> StoreReport:
    """A store report back from its ``store_results`` entry (:func:`answers.entry_of`)."""
    outcomes = tuple(
        Outcome(
            table=str(item["table"]),
            action=Action(item["action"]),
            fields=tuple(str(name) for name in item.get("fields") or ()),
            rows=int(item.get("rows") or 0),
            until=_date(item.get("until")),
            rule=item.get("rule"),
            reason=item.get("reason"),
        )
        for item in entry.get("outcomes") or ()
    )
    return StoreReport(
        store=str(entry["store"]),
        operation=Operation(entry["operation"]),
        status=Status(entry["status"]),
        outcomes=outcomes,
        rows={str(k): int(v) for k, v in (entry.get("rows") or {}).items()},
        error=entry.get("error"),
        retryable=bool(entry.get("retryable")),
        task=entry.get("task"),
    )


def _date(value: object) -> dt.date | None:
    return dt.date.fromisoformat(str(value)[:10]) if value else None


def load_progress(request: DsrRequest, *, operation: Operation) -> Progress:
    """What earlier runs of ``operation`` kept on ``request`` (empty for anything else)."""
    try:
        data = json.loads(request.store_results or "{}")
    except ValueError:
        return Progress()
    if not isinstance(data, dict) or not isinstance(data.get("stores"), list):
        return Progress()
    names = set(data.get(KEPT) or ())
    grouped: dict[str, list[StoreReport]] = {}
    for entry in data["stores"]:
        try:
            report = report_of(entry)
        except (KeyError, TypeError, ValueError):
            continue  # an entry this version cannot read is run again
        grouped.setdefault(report.store, []).append(report)
    kept = {
        name: reports
        for name, reports in grouped.items()
        if name in names
        and all(r.status is not Status.FAILED and r.operation is operation for r in reports)
    }
    extra = {key: value for key, value in data.items() if key not in ("stores", "unhandled")}
    extra[KEPT] = sorted(kept)
    return Progress(kept=kept, extra=extra)


def keep_stores(run: Run) -> None:
    """Mark every store of ``run`` that did not fail as final (not run again)."""
    names = set(run.extra.get(KEPT) or ())
    names |= {report.store for report in run.reports if report.status is not Status.FAILED}
    run.extra[KEPT] = sorted(names)


def run_stores(fulfilment: Fulfilment, progress: Progress, run: Run, work: Work) -> None:
    """Add to ``run`` the kept reports and ``work`` on every other store; raise when one is down.

    A store that is down raises :class:`StoresDown` once every store was tried;
    its ``checkpoint`` keeps the stores that answered. From here on until the
    job's transaction ends, the stores that answered and the sealed answer
    address are written even when that transaction does not commit (see the
    module text).
    """
    watch = _watch(fulfilment.session, request_id=fulfilment.request.id)
    watch.checkpoint = _checkpoint(run)  # the sealed address, before the first store runs
    configured = {store.name for store in fulfilment.stores}
    for store in fulfilment.stores:
        kept = progress.kept.get(store.name)
        run.reports.extend(kept if kept is not None else work(store))
        watch.checkpoint = _checkpoint(run)
    for name, reports in progress.kept.items():
        if name not in configured:  # removed from the stores file since: its part is done
            run.reports.extend(reports)
    down = [r for r in run.reports if r.status is Status.FAILED and r.retryable]
    if down:
        keep_stores(run)
        named = "; ".join(f"{report.store}: {report.error}" for report in down)
        raise StoresDown(
            f"store(s) not reachable ({named[:MAX_ERROR]}); the request stays open and is "
            "tried again (stores that answered are not asked again).",
            checkpoint=run.to_json(),
        )


# --- keeping what the stores did when the job's work rolls back ---------------------------------


@dataclass
class _Watch:
    """What to write if the job's transaction ends without committing."""

    request_id: int
    checkpoint: str = "{}"


def _checkpoint(run: Run) -> str:
    """``run`` as ``store_results`` with every store that answered kept."""
    copy = Run(reports=list(run.reports), unhandled=list(run.unhandled), extra=dict(run.extra))
    keep_stores(copy)
    return copy.to_json()


def _watch(session: Session, *, request_id: int) -> _Watch:
    """The watch of ``session``'s current transaction, listening once per session."""
    if not session.info.get(_LISTENING):
        event.listen(session, "after_commit", _committed)
        event.listen(session, "after_transaction_end", _ended)
        session.info[_LISTENING] = True
    found = session.info.get(_WATCH)
    if not isinstance(found, _Watch) or found.request_id != request_id:
        found = _Watch(request_id)
        session.info[_WATCH] = found
    return found


def _committed(session: Session) -> None:
    if not session.in_nested_transaction():  # the job's work committed: nothing to keep apart
        session.info.pop(_WATCH, None)


def _ended(session: Session, transaction: SessionTransaction) -> None:
    """The job's transaction ended without a commit: write the checkpoint on its own."""
    if transaction.nested or transaction.parent is not None:
        return  # a savepoint: the job's transaction (and its locks) is still there
    watch = session.info.pop(_WATCH, None)
    if not isinstance(watch, _Watch):
        return
    try:
        with Session(bind=session.get_bind()) as own, own.begin():
            request = own.get(DsrRequest, watch.request_id, with_for_update=True)
            if request is not None and request.status in _OPEN:
                request.store_results = merge_checkpoint(request.store_results, watch.checkpoint)
    except Exception:  # the job's own error is what the worker reports; this one is logged
        log.exception("request %s: the stores' results could not be kept", watch.request_id)


def _data(text: str | None) -> dict[str, Any]:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def merge_checkpoint(current: str | None, checkpoint: str) -> str:
    """``current`` ``store_results`` with the stores ``checkpoint`` keeps that it does not.

    What was written meanwhile wins (a processor's confirmation, a closed task):
    stores kept in ``current`` keep their entries, and other keys are only added.
    Per-store maps (the fields each store knew) get the newly kept stores' items.
    """
    data, ours = _data(current), _data(checkpoint)
    kept = {str(name) for name in data.get(KEPT) or ()}
    new = {str(name) for name in ours.get(KEPT) or ()} - kept
    stores = [e for e in data.get("stores") or () if isinstance(e, dict)]
    stores = [e for e in stores if e.get("store") not in new]
    stores.extend(
        e for e in ours.get("stores") or () if isinstance(e, dict) and e.get("store") in new
    )
    data["stores"] = stores  # a list even when none answered: the sealed address is read back
    data[KEPT] = sorted(kept | new)
    for key, value in ours.items():
        if key in ("stores", KEPT):
            continue
        if key not in data:
            data[key] = value
        elif key != ANSWER_TO and isinstance(value, dict) and isinstance(data[key], dict):
            data[key].update({name: item for name, item in value.items() if name in new})
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# --- the address to answer at -------------------------------------------------------------------


def _request_key(request: DsrRequest, master: MasterKey) -> bytes | None:
    """The request's own data key (see :mod:`tutela.dsr.envelope`); ``None`` once shredded."""
    if request.wrapped_key is None:
        return None
    return unwrap_key(master, request.wrapped_key, key_id=f"dsr:{request.reference}")


def seal_answer_to(request: DsrRequest, *, master: MasterKey, address: str | None) -> Any:
    """``address`` sealed under the request's key, as JSON; ``None`` when it cannot be sealed."""
    key = _request_key(request, master)
    if key is None:
        return None
    if address is None:
        return {"sealed": None}
    sealed = encrypt(key, address.encode("utf-8"), context=_ANSWER_CONTEXT)
    return {"sealed": base64.b64encode(sealed).decode("ascii")}


def open_answer_to(request: DsrRequest, *, master: MasterKey, kept: Any) -> OnFile | None:
    """The address kept by :func:`seal_answer_to`; ``None`` when there is none to read."""
    if not isinstance(kept, dict) or "sealed" not in kept:
        return None
    if kept["sealed"] is None:
        return OnFile(known=False, address=None)
    key = _request_key(request, master)
    if key is None:
        return None
    try:
        raw = decrypt(key, base64.b64decode(str(kept["sealed"])), context=_ANSWER_CONTEXT)
    except (DecryptionError, ValueError):
        return None
    return OnFile(known=True, address=raw.decode("utf-8"))


def answer_channel(fulfilment: Fulfilment, run: Run, subject: Subject | None) -> OnFile:
    """The channel to answer at: kept from an earlier run, or looked up now and kept sealed.

    Call it before any store runs: what a store erases or changes may be the address.
    """
    request, master = fulfilment.request, fulfilment.runtime.master
    kept = open_answer_to(request, master=master, kept=run.extra.get(ANSWER_TO))
    if kept is not None:
        return kept
    on_file = channel_of(fulfilment, subject)
    sealed = seal_answer_to(request, master=master, address=on_file.address)
    if sealed is not None:
        run.extra[ANSWER_TO] = sealed
    return on_file


def answer_run(
    fulfilment: Fulfilment,
    run: Run,
    *,
    on_file: OnFile,
    not_done: list[dict[str, str]],
    **context: Any,
) -> RequestOutcome:
    """Complete the request and send the answer (:func:`answers.answer`), dropping the kept
    address and store list; a step that could not be done (a manual task, a refused
    change) makes it partial, named in ``outcome_reason`` and in the mail's ``not_done``."""
    run.extra.pop(ANSWER_TO, None)
    run.extra.pop(KEPT, None)
    outcome = None
    if not_done:
        outcome = RequestOutcome.PARTIALLY_FULFILLED
        named = "; ".join(f"{item['store']}: {item['reason']}" for item in not_done)
        fulfilment.request.outcome_reason = f"not done: {named}"[:MAX_REASON]
    return answer(fulfilment, run, on_file=on_file, outcome=outcome, not_done=not_done, **context)

"""Manual tasks: steps of a request that staff carry out by hand and then confirm.

A manual store (:mod:`tutela.connectors.builtin.manual`) answers every erasure,
rectification and restriction with a task. Once every other store has answered,
:func:`await_tasks` records one task per manual store in ``store_results``
(``tasks``) and keeps the request ``in_progress`` with ``last_error`` saying that
it waits for staff. Nothing is answered and, for an erasure, Tutela's own data
stay until then: the task names the identities staff look the person up by.

Staff close each task in the console or with the CLI: :func:`confirm_task` with
evidence of what was done, or :func:`task_not_done` with the reason it could not
be done. When the last task closes, the ``dsr.fulfil`` job is queued again; the
handler runs once more without asking the stores again (they are kept, see
:mod:`tutela.dsr.progress`), turns confirmed tasks into ``done`` reports and
answers the ordinary way. A task not done ends the request ``partially_fulfilled``
with the store and the reason named.

Evidence and reasons are kept in ``store_results`` and as the audit entry's
``reason``, never in the event payload (ids, store and operation only). They are
the proof that the step was taken and must outlive the erasure of the person, so
they may not hold personal data (:func:`personal_data_in`): a text with an e-mail
address, with any identity of the person (compared without regard to case, phone
numbers by their digits), or with a run of seven or more digits is refused, and
the form says why. Seven, because a phone number written with its area code has
at least seven digits, and a bare digit string cannot be told from one; shorter
numbers, counts and dates (2026-03-02, 02.03.2026) pass, and longer ticket or file
numbers pass when letters lead them (T-4711, INC0012345).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.audit.events import DomainEvent
from tutela.clock import Clock
from tutela.connectors.builtin.manual import MAX_EVIDENCE, check_evidence, confirmed_report
from tutela.crypto import MasterKey
from tutela.dsr.answers import Run
from tutela.dsr.events import request_target
from tutela.dsr.evidence import personal_data_in
from tutela.dsr.fulfilment import FULFIL_ATTEMPTS, FULFIL_JOB, Fulfilment
from tutela.dsr.models import DsrRequest
from tutela.dsr.person import person_of
from tutela.dsr.progress import keep_stores
from tutela.dsr.terms import Status
from tutela.dsr.workflow import SYSTEM_ACTOR, start
from tutela.errors import Conflict, InvalidInput, NotFound
from tutela.jobs import enqueue

__all__ = [
    "DONE",
    "NOT_DONE",
    "OPEN",
    "TASKS",
    "Task",
    "TaskConfirmed",
    "TaskNotDone",
    "TasksWaiting",
    "await_tasks",
    "close_tasks",
    "confirm_task",
    "personal_data_in",
    "task_not_done",
    "tasks_of",
    "waiting_text",
]

TASKS: Final = "tasks"
OPEN: Final = "open"
DONE: Final = "done"
NOT_DONE: Final = "not_done"


@dataclass(frozen=True, kw_only=True)
class TasksWaiting(DomainEvent):
    """Fulfilment waits for staff to carry out the manual tasks of ``stores``."""

    action: ClassVar[str] = "dsr.tasks_waiting"
    request_id: int
    stores: tuple[str, ...]

    def target(self) -> str:
        return request_target(self.request_id)


@dataclass(frozen=True, kw_only=True)
class _TaskClosed(DomainEvent):
    request_id: int
    store: str
    operation: str
    open_left: int
    """How many manual tasks of the request are still open."""

    def target(self) -> str:
        return request_target(self.request_id)


@dataclass(frozen=True, kw_only=True)
class TaskConfirmed(_TaskClosed):
    """Staff confirmed a manual task; the evidence travels as the entry's ``reason``."""

    action: ClassVar[str] = "dsr.task_confirmed"


@dataclass(frozen=True, kw_only=True)
class TaskNotDone(_TaskClosed):
    """Staff could not carry out a manual task; the reason travels as the entry's ``reason``."""

    action: ClassVar[str] = "dsr.task_not_done"


@dataclass(frozen=True, slots=True)
class Task:
    """One manual task of a request, as staff see it."""

    store: str
    operation: str
    text: str
    state: str
    by: str | None = None
    at: str | None = None
    note: str | None = None
    """The evidence (confirmed) or the reason (not done)."""

    @property
    def is_open(self) -> bool:
        return self.state == OPEN


def _entries(data: dict[str, Any]) -> list[dict[str, Any]]:
    found = data.get(TASKS)
    if not isinstance(found, list):
        return []
    return [dict(item) for item in found if isinstance(item, dict) and "store" in item]


def _data(request: DsrRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.store_results or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _task(entry: dict[str, Any]) -> Task:
    return Task(
        store=str(entry["store"]),
        operation=str(entry.get("operation", "")),
        text=str(entry.get("task") or ""),
        state=str(entry.get("state", OPEN)),
        by=entry.get("by"),
        at=entry.get("at"),
        note=entry.get("note"),
    )


def tasks_of(request: DsrRequest) -> list[Task]:
    """The manual tasks recorded on ``request`` (open and closed), in store order."""
    return [_task(entry) for entry in _entries(_data(request))]


def waiting_text(stores: list[str]) -> str:
    """The ``last_error`` of a request that waits for staff."""
    return (
        f"waiting for staff to confirm {len(stores)} manual task(s): {', '.join(stores)}; "
        "confirm each on the request's page (with evidence) or mark it as not done"
    )


# --- inside the fulfilment ----------------------------------------------------------------------


def await_tasks(fulfilment: Fulfilment, run: Run) -> bool:
    """Record the run's manual tasks; keep the request open while one is open (``True``)."""
    tasks = _entries(run.extra)
    known = {entry["store"] for entry in tasks}
    new = [report for report in run.tasks() if report.store not in known]
    for report in new:
        table = report.outcomes[0].table if report.outcomes else report.store
        tasks.append(
            {
                "store": report.store,
                "operation": report.operation.value,
                "table": table,
                "task": report.task,
                "state": OPEN,
            }
        )
    if tasks:
        run.extra[TASKS] = tasks
    waiting = [entry["store"] for entry in tasks if entry.get("state") == OPEN]
    if not waiting:
        return False
    request, session, clock = fulfilment.request, fulfilment.session, fulfilment.clock
    if request.status == Status.VERIFIED.value:
        start(session, request=request, actor=SYSTEM_ACTOR, clock=clock)
    keep_stores(run)
    request.store_results = run.to_json()
    request.last_error = waiting_text(waiting)
    if new:
        stores = tuple(sorted(report.store for report in new))
        emit(
            session,
            TasksWaiting(request_id=request.id, stores=stores),
            actor=SYSTEM_ACTOR,
            clock=clock,
        )
    return True


def close_tasks(run: Run) -> list[dict[str, str]]:
    """Swap each confirmed task's report for a ``done`` one and drop the tasks not done.

    Returns the tasks not done as ``{"store", "reason"}`` (the answer names them).
    """
    states = {entry["store"]: entry for entry in _entries(run.extra)}
    reports = []
    not_done: list[dict[str, str]] = []
    for report in run.reports:
        entry = states.get(report.store)
        state = entry.get("state") if entry is not None else None
        if entry is None or not report.task or state == OPEN:
            reports.append(report)
        elif state == DONE:
            reports.append(
                confirmed_report(
                    report.store,
                    report.operation,
                    table=str(entry.get("table") or report.store),
                    evidence=str(entry.get("note") or ""),
                    confirmed_by=str(entry.get("by") or "staff"),
                )
            )
        else:
            not_done.append({"store": report.store, "reason": str(entry.get("note") or "")})
    run.reports = reports
    return not_done


# --- staff closing a task -----------------------------------------------------------------------


def _plain_text(
    session: Session, text: str, *, field: str, request: DsrRequest, master: MasterKey
) -> None:
    """Refuse a text that names the person: it stays in the audit trail for good."""
    identities = person_of(session, request=request, master=master).identities
    why = personal_data_in(text, identities)
    if why is not None:
        raise InvalidInput(
            f"{field}: {why}. The text is kept in the audit trail for good, so describe "
            "what was done without personal data; refer to tickets or files by a number "
            "that starts with letters, such as T-4711, and write dates like 2026-03-02.",
            field=field,
            problem="personal_data",
        )


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(
            "reason: say why the task could not be done; the person is told.", field="reason"
        )
    if len(text) > MAX_EVIDENCE:
        raise InvalidInput(
            f"reason: at most {MAX_EVIDENCE} characters; summarise why the task could not be done.",
            field="reason",
        )
    return text


def _close(
    session: Session,
    *,
    request: DsrRequest,
    store: str,
    state: str,
    text: str,
    actor: str,
    clock: Clock,
) -> Task:
    session.refresh(request, with_for_update=True)  # two staff closing tasks at once
    if not request.is_open:
        raise Conflict(
            f"request {request.reference}: it is closed ({request.status}); its tasks cannot "
            "change any more.",
            reference=request.reference,
        )
    data = _data(request)
    tasks = _entries(data)
    entry = next((item for item in tasks if item["store"] == store), None)
    if entry is None:
        names = ", ".join(item["store"] for item in tasks if item.get("state") == OPEN)
        raise NotFound(
            f"store: request {request.reference} has no manual task for {store!r}; "
            f"open tasks: {names or 'none'}.",
            field="store",
        )
    if entry.get("state") != OPEN:
        raise Conflict(
            f"request {request.reference}: the task of {store} was closed already "
            f"({entry.get('state')}, by {entry.get('by')}); add a note to correct it.",
            reference=request.reference,
        )
    entry.update(state=state, by=actor, at=clock.now().isoformat(), note=text)
    data[TASKS] = tasks
    request.store_results = json.dumps(
        data, ensure_ascii=False, separators=(",", ":"), sort_keys=True
    )
    left = [item["store"] for item in tasks if item.get("state") == OPEN]
    kind: type[_TaskClosed] = TaskConfirmed if state == DONE else TaskNotDone
    event = kind(
        request_id=request.id,
        store=store,
        operation=str(entry.get("operation", "")),
        open_left=len(left),
    )
    logged = emit(session, event, actor=actor, clock=clock, reason=text)
    if left:
        request.last_error = waiting_text(left)
    else:
        request.last_error = "every manual task is closed; the answer is being prepared"
        enqueue(  # a key per closing: a later round of tasks must not be swallowed
            session,
            kind=FULFIL_JOB,
            payload={"request_id": request.id},
            clock=clock,
            idempotency_key=f"{FULFIL_JOB}:{request.id}:tasks:{logged.sequence}",
            max_attempts=FULFIL_ATTEMPTS,
        )
    return _task(entry)


def confirm_task(
    session: Session,
    *,
    request: DsrRequest,
    store: str,
    evidence: str,
    actor: str,
    master: MasterKey,
    clock: Clock,
) -> Task:
    """Staff did the task of ``store``; ``evidence`` says what and where (no personal data)."""
    text = check_evidence(evidence)
    _plain_text(session, text, field="evidence", request=request, master=master)
    return _close(
        session, request=request, store=store, state=DONE, text=text, actor=actor, clock=clock
    )


def task_not_done(
    session: Session,
    *,
    request: DsrRequest,
    store: str,
    reason: str,
    actor: str,
    master: MasterKey,
    clock: Clock,
) -> Task:
    """The task of ``store`` cannot be done; ``reason`` is told to the person in the answer."""
    text = _reason(reason)
    _plain_text(session, text, field="reason", request=request, master=master)
    return _close(
        session, request=request, store=store, state=NOT_DONE, text=text, actor=actor, clock=clock
    )

"""Settling a carried-out request: store results, fail-closed decisions and the answer mail.

A run over the stores ends in one of three ways:

* a store that is down (``failed`` and retryable) → :class:`StoreUnavailable` is
  raised, the job retries and the request stays open;
* a store that failed for good or fields no strategy could handle → the request
  stays ``in_progress`` with ``store_results`` naming them and ``last_error`` saying
  why; staff decide (:class:`~tutela.dsr.events.FulfilmentHeld`);
* otherwise the request is completed — ``partially_fulfilled`` while a manual
  store still has a task — and one answer goes to the channel on file, in the
  request's language, saying what each store did (:func:`answer`).

``store_results`` holds names, statuses, counts, dates and rules, never values.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from tutela.audit import emit
from tutela.connectors import Action, Status, StoreReport, StoreUnavailable
from tutela.dsr.events import FulfilmentHeld, RequestAnswered
from tutela.dsr.fulfilment import Fulfilment
from tutela.dsr.notices import (
    OnFile,
    find_on_file,
    notice_context,
    policy_facts,
    send_mail,
    template_of,
)
from tutela.dsr.queue import Notice
from tutela.dsr.terms import Outcome
from tutela.dsr.terms import Status as RequestStatus
from tutela.dsr.workflow import SYSTEM_ACTOR, move, start
from tutela.subjects import Subject

__all__ = ["KEPT", "Run", "answer", "channel_of", "entry_of", "hold_open", "raise_if_down"]

KEPT: Final = "kept"
"""``store_results`` key: the stores whose reports are final (see :mod:`tutela.dsr.progress`)."""
MAX_ERROR: Final = 500


def entry_of(report: StoreReport) -> dict[str, Any]:
    """One store's report as JSON-safe data without personal values."""
    return {
        "store": report.store,
        "operation": report.operation.value,
        "status": report.status.value,
        "rows": dict(report.rows),
        "error": report.error,
        "retryable": report.retryable,
        "task": report.task,
        "outcomes": [
            {
                "table": item.table,
                "action": item.action.value,
                "fields": list(item.fields),
                "rows": item.rows,
                "until": item.until.isoformat() if item.until else None,
                "rule": item.rule,
                "reason": item.reason,
            }
            for item in report.outcomes
        ],
    }


@dataclass
class Run:
    """The reports of one fulfilment and what Tutela did itself, kept on the request."""

    reports: list[StoreReport] = field(default_factory=list)
    unhandled: list[str] = field(default_factory=list)
    """Names of what was left outside the stores' reports (``store.table.field`` or a text)."""
    extra: dict[str, Any] = field(default_factory=dict)

    def left(self) -> list[str]:
        names = [
            f"{report.store}.{item.table}.{name}"
            for report in self.reports
            for item in report.unhandled
            for name in (item.fields or ("*",))
        ]
        return [*names, *self.unhandled]

    def failed(self) -> list[StoreReport]:
        return [report for report in self.reports if report.status is Status.FAILED]

    def tasks(self) -> list[StoreReport]:
        return [report for report in self.reports if report.task and not report.error]

    def to_json(self) -> str:
        data = {
            "stores": [entry_of(report) for report in self.reports],
            "unhandled": self.left(),
            **self.extra,
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def raise_if_down(run: Run) -> None:
    """Raise :class:`StoreUnavailable` naming every store that could not be reached."""
    down = [report for report in run.reports if report.status is Status.FAILED and report.retryable]
    if down:
        named = "; ".join(f"{report.store}: {report.error}" for report in down)
        raise StoreUnavailable(
            f"store(s) not reachable ({named[:MAX_ERROR]}); the request stays open and "
            "is tried again."
        )


def _ensure_started(fulfilment: Fulfilment) -> None:
    if fulfilment.request.status == RequestStatus.VERIFIED.value:
        start(
            fulfilment.session,
            request=fulfilment.request,
            actor=SYSTEM_ACTOR,
            clock=fulfilment.clock,
        )


def _final(report: StoreReport) -> bool:
    """Done, or waiting for someone outside Tutela (a processor's confirmation, a manual task)."""
    return report.status is Status.DONE or (report.status is Status.PARTIAL and bool(report.task))


def _keep_final(run: Run) -> None:
    """Mark the stores whose reports are final as kept: a later run does not ask them again."""
    failed = {report.store for report in run.failed()}
    names = set(run.extra.get(KEPT) or ())
    names |= {report.store for report in run.reports if _final(report)}
    names -= failed
    if names or KEPT in run.extra:
        run.extra[KEPT] = sorted(names)


def hold_open(fulfilment: Fulfilment, run: Run) -> bool:
    """Keep the request open (``in_progress``) when a store failed or something was left.

    Returns ``True`` when the request was held; staff see ``store_results`` and
    ``last_error`` and decide. Stores that are done, and stores waiting for a
    processor's confirmation or a manual task, are kept: the run after a
    processor confirms uses their reports instead of asking again (a store that
    erased rows would find nothing the second time and report nothing).
    """
    failed, left = run.failed(), run.left()
    if not failed and not left:
        return False
    request = fulfilment.request
    _ensure_started(fulfilment)
    _keep_final(run)
    request.store_results = run.to_json()
    reasons = [f"{report.store} failed: {report.error}" for report in failed]
    if left:
        reasons.append("not handled: " + ", ".join(left))
    request.last_error = ("; ".join(reasons))[:MAX_ERROR]
    event = FulfilmentHeld(
        request_id=request.id,
        stores=tuple(sorted({report.store for report in failed} | _stores_of(run))),
        unhandled=len(left),
    )
    emit(fulfilment.session, event, actor=SYSTEM_ACTOR, clock=fulfilment.clock)
    return True


def _stores_of(run: Run) -> set[str]:
    return {report.store for report in run.reports if report.unhandled}


def channel_of(fulfilment: Fulfilment, subject: Subject | None) -> OnFile:
    """The channel on file for the answer; look it up BEFORE anything is erased."""
    return find_on_file(
        fulfilment.session,
        request=fulfilment.request,
        subject=subject,
        runtime=fulfilment.runtime,
    )


def _plain(reports: Sequence[StoreReport]) -> list[dict[str, Any]]:
    """What the mail says per store: counts, holds and open tasks (no values)."""
    stores: list[dict[str, Any]] = []
    for report in reports:
        holds = [
            {"table": item.table, "rows": item.rows, "until": item.until, "rule": item.rule or ""}
            for item in report.held
        ]
        changed = sum(
            1
            for item in report.outcomes
            if item.action not in (Action.HELD, Action.KEPT, Action.TASK, Action.NOT_HANDLED)
        )
        stores.append(
            {
                "name": report.store,
                "operation": report.operation.value,
                "rows": sum(report.rows.values()),
                "changed": changed,
                "holds": holds,
                "task": bool(report.task),
                "by_hand": not report.task
                and any(item.action is Action.TASK for item in report.outcomes),
            }
        )
    return stores


def _told_by_webhook(fulfilment: Fulfilment, run: Run) -> None:
    """Recipients whose webhook store (``recipient:``) took the request were told by it."""
    reached = {report.store for report in run.reports if report.status is not Status.FAILED}
    stores = {
        getattr(store, "recipient", None): store.name
        for store in fulfilment.stores
        if store.name in reached
    }
    for item in run.extra.get("recipients", []):
        name = stores.get(item.get("id"))
        if name is not None:
            item.update(notice="webhook", store=name)


def answer(
    fulfilment: Fulfilment,
    run: Run,
    *,
    on_file: OnFile,
    outcome: Outcome | None = None,
    **context: Any,
) -> Outcome:
    """Complete the request and mail the answer to the channel on file (one audit entry).

    ``outcome`` defaults to ``fulfilled``, or ``partially_fulfilled`` while a store
    has an open task. ``context`` adds template values (``recipients``, ``purposes`` …).
    """
    request, session, clock = fulfilment.request, fulfilment.session, fulfilment.clock
    chosen = outcome or (Outcome.PARTIALLY_FULFILLED if run.tasks() else Outcome.FULFILLED)
    _told_by_webhook(fulfilment, run)
    request.store_results = run.to_json()
    request.last_error = None
    message_id = None
    if on_file.address is not None:
        facts = policy_facts(session, settings=fulfilment.runtime.settings, clock=clock)
        values = notice_context(
            request,
            facts,
            stores=_plain(run.reports),
            open_tasks=[report.store for report in run.tasks()],
            outcome=chosen.value,
            **context,
        )
        message_id = send_mail(
            to=on_file.address,
            template=template_of(Notice.DONE),
            language=request.language,
            context=values,
            clock=clock,
        )
    move(request, RequestStatus.COMPLETED)
    request.closed_at = clock.now()
    request.outcome = chosen.value
    event = RequestAnswered(
        request_id=request.id,
        outcome=chosen.value,
        notice=Notice.DONE.value,
        delivered=message_id is not None,
        message_id=message_id,
        stores=len(run.reports),
    )
    emit(session, event, actor=SYSTEM_ACTOR, clock=clock)
    return chosen

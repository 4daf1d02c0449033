"""Erasure (Art. 17, CCPA delete) and rectification (Art. 16, CCPA correct) across the stores.

Erasure runs ``erase`` on every connected store (one transaction per store) and
then settles the request (:mod:`tutela.dsr.answers`): a store that is down is
retried without asking again the stores that answered (:mod:`tutela.dsr.progress`),
a field left or a store failed keeps the request ``in_progress`` for staff, a
manual store's task keeps it ``in_progress`` until staff confirm it
(:mod:`tutela.dsr.tasks`), and otherwise the request is completed and answered.
Records a statutory hold keeps (§ 147 AO, § 257 HGB) are restricted by the store
until the hold ends; the answer names the store, the records, the date and the law.

The address to answer at is looked up before anything is erased and kept sealed
until the answer goes out. Tutela's own data about the person are
crypto-shredded once every store and every manual task is settled (staff look
the person up by the identities Tutela holds until then). With the answer, the
request's own sealed identity and details are shredded as well
(:func:`tutela.dsr.envelope.shred`): the request keeps its reference, dates, type,
status, outcome and store results, which prove it was handled. Suppression
entries stay: they are blind indexes that name no one and keep an erased person
who objected to marketing from being subscribed again by a later import. Every
recipient the declaration names is listed for an Art. 19 notice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy.orm import Session

from tutela.clock import Clock
from tutela.connectors import Connector, Dataset, IdentitySet, Operation, StoreReport
from tutela.consent.declarations import current_policy
from tutela.consent.suppression import is_suppressed
from tutela.consent.terms import DIRECT_MARKETING
from tutela.dsr.answers import Run, hold_open
from tutela.dsr.envelope import open_details, shred
from tutela.dsr.fulfilment import Fulfilment, handles
from tutela.dsr.person import person_of
from tutela.dsr.progress import answer_channel, answer_run, load_progress, run_stores
from tutela.dsr.rectify import WAITING, maps, screen_changes
from tutela.dsr.tasks import await_tasks, close_tasks
from tutela.dsr.terms import RequestType
from tutela.dsr.workflow import SYSTEM_ACTOR
from tutela.errors import Conflict, InvalidInput
from tutela.subjects import erase_subject

__all__ = ["SEALED", "fulfil_erasure", "fulfil_rectification", "recipients_to_tell"]

RECIPIENT_NOTICE: Final = "manual"
"""How a recipient without a webhook store of its own is told: a task for staff."""
RECTIFIED: Final = "rectified"
"""``store_results`` key: the fields each store knew, by store (kept across runs)."""


SEALED: Final = "request_data"
"""``store_results`` key: ``shredded`` once the request's sealed identity and details are gone.

No audit entry of its own: the shredding commits with the answer, whose
``dsr.completed`` entry covers both (an erasure stays within its row budget, P16)."""


def recipients_to_tell(session: Session, *, clock: Clock) -> list[dict[str, str]]:
    """The declaration's recipients, each to be told of the change (Art. 19 GDPR)."""
    try:
        declaration = current_policy(session, clock=clock).declaration
    except Conflict:
        return []
    return [
        {"id": item.id, "name": item.name, "notice": RECIPIENT_NOTICE}
        for item in declaration.recipients
    ]


def _holds(run: Run) -> list[dict[str, Any]]:
    return [
        {
            "store": report.store,
            "table": item.table,
            "rows": item.rows,
            "until": item.until.isoformat() if item.until else None,
            "rule": item.rule,
        }
        for report in run.reports
        for item in report.held
    ]


def _shred_request(fulfilment: Fulfilment, run: Run) -> None:
    """Destroy the request's sealed identity and details; commits with the answer."""
    shred(fulfilment.request)
    run.extra[SEALED] = "shredded"


@handles(RequestType.ERASURE, RequestType.DELETE)
def fulfil_erasure(fulfilment: Fulfilment) -> None:
    """Erase the person in every store and in Tutela; answer, or hold the request open."""
    request, session = fulfilment.request, fulfilment.session
    if not request.is_open:
        return
    person = person_of(session, request=request, master=fulfilment.runtime.master)
    progress = load_progress(request, operation=Operation.ERASE)
    run = progress.new_run()
    on_file = answer_channel(fulfilment, run, person.subject)  # before anything is erased
    if person.identities:
        identities, today = person.identities, fulfilment.today
        run_stores(fulfilment, progress, run, lambda store: [store.erase(identities, today=today)])
    run.extra["holds"] = _holds(run)
    if hold_open(fulfilment, run) or await_tasks(fulfilment, run):
        return
    not_done = close_tasks(run)
    kept = is_suppressed(
        session,
        scopes=[DIRECT_MARKETING],
        subject_id=None if person.subject is None else person.subject.id,
        kind=request.identity_kind,
        index=request.identity_index,
    )
    if person.subject is not None:
        erase_subject(
            session,
            subject=person.subject,
            clock=fulfilment.clock,
            actor=SYSTEM_ACTOR,
            reason=f"erasure request {request.reference}",
        )
    recipients = recipients_to_tell(session, clock=fulfilment.clock)
    run.extra.update(
        tutela={"subject": "shredded" if person.subject is not None else "none"},
        suppression_kept=kept,
        recipients=recipients,
    )
    _shred_request(fulfilment, run)  # the address is open already; both commit with the answer
    answer_run(
        fulfilment,
        run,
        on_file=on_file,
        not_done=not_done,
        recipients=[item["name"] for item in recipients],
        suppression_kept=kept,
        shredded=person.subject is not None,
    )


def _rectify(
    store: Connector, identities: IdentitySet, changes: Mapping[str, str]
) -> tuple[list[StoreReport], set[str]]:
    """Rectify what ``store`` maps; returns its reports and the fields it knew."""
    try:
        return [store.rectify(identities, dict(changes))], set(changes)
    except InvalidInput:
        pass  # some field is not mapped here
    dataset = getattr(store, "dataset", None)
    if isinstance(dataset, Dataset):  # the fields it maps, in one call (an email changed
        mapped = {k: v for k, v in changes.items() if maps(dataset, k)}  # first would
        if not mapped:  # otherwise no longer find the person for the next field)
            return [], set()
        try:
            return [store.rectify(identities, mapped)], set(mapped)
        except InvalidInput:
            pass
    reports: list[StoreReport] = []  # a store without a dataset: field by field
    known: set[str] = set()
    for name, value in changes.items():
        try:
            reports.append(store.rectify(identities, {name: value}))
        except InvalidInput:
            continue
        known.add(name)
    return reports, known


@handles(RequestType.RECTIFICATION, RequestType.CORRECT)
def fulfil_rectification(fulfilment: Fulfilment) -> None:
    """Set the changes the request names on every store that maps the field.

    The old channel was told when the request was verified (V-3, contact data).
    A change no store maps keeps the request open with the field named.
    """
    request, session = fulfilment.request, fulfilment.session
    if not request.is_open:
        return
    master = fulfilment.runtime.master
    person = person_of(session, request=request, master=master)
    details = open_details(request, master=master)
    changes = dict(details.changes) if details is not None and details.changes else {}
    progress = load_progress(request, operation=Operation.RECTIFY)
    run = progress.new_run()
    on_file = answer_channel(fulfilment, run, person.subject)  # the address may be changed
    if not changes:
        run.unhandled.append("no changes named: staff must enter the fields and new values")
    screened = screen_changes(fulfilment.stores, changes, request.scope)
    # contact data without the alert waits for staff; a change no request may make is
    # refused in the answer (the request ends partially fulfilled, naming field and why)
    run.unhandled.extend(f"{ref}: {WAITING}" for ref in screened.needs_alert)
    refused = [{"store": ref, "reason": f"refused: {why}"} for ref, why in screened.refused]
    if refused:
        run.extra["refused"] = [f"{item['store']}: {item['reason']}" for item in refused]
    changes = screened.apply
    known_by_store: dict[str, list[str]] = dict(run.extra.get(RECTIFIED) or {})
    run.extra[RECTIFIED] = known_by_store  # the same dict: a checkpoint carries it

    def work(store: Connector) -> list[StoreReport]:
        reports, fields = _rectify(store, person.identities, changes)
        known_by_store[store.name] = sorted(fields)
        return reports

    if person.identities and changes:
        run_stores(fulfilment, progress, run, work)
    stored = {report.store for report in run.reports}
    known = {name for store, names in known_by_store.items() if store in stored for name in names}
    run.unhandled.extend(
        f"{name}: no connected store maps this field" for name in changes if name not in known
    )
    run.extra["fields"] = sorted(known)
    if hold_open(fulfilment, run) or await_tasks(fulfilment, run):
        return
    not_done = close_tasks(run) + refused
    recipients = recipients_to_tell(session, clock=fulfilment.clock)
    run.extra["recipients"] = recipients
    answer_run(
        fulfilment,
        run,
        on_file=on_file,
        not_done=not_done,
        recipients=[item["name"] for item in recipients],
        fields=sorted(known),
    )

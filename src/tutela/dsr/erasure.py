"""Erasure (Art. 17, CCPA delete) and rectification (Art. 16, CCPA correct) across the stores.

Erasure runs ``erase`` on every connected store (one transaction per store) and
then settles the request (:mod:`tutela.dsr.answers`): a store that is down is
retried, a field left or a store failed keeps the request ``in_progress`` for
staff, and otherwise the request is completed and answered. Records a statutory
hold keeps (§ 147 AO, § 257 HGB) are restricted by the store until the hold
ends; the answer names the store, the records, the date and the law.

Tutela's own data about the person are crypto-shredded once every store is
settled (the answer needs the address on file until then). Suppression entries
stay: they are blind indexes that name no one and keep an erased person who
objected to marketing from being subscribed again by a later import. Every
recipient the declaration names is listed for an Art. 19 notice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy.orm import Session

from tutela.clock import Clock
from tutela.connectors import Connector, IdentitySet, StoreReport
from tutela.consent.declarations import current_policy
from tutela.consent.suppression import is_suppressed
from tutela.consent.terms import DIRECT_MARKETING
from tutela.dsr.answers import Run, answer, channel_of, hold_open, raise_if_down
from tutela.dsr.envelope import open_details
from tutela.dsr.fulfilment import Fulfilment, handles
from tutela.dsr.person import person_of
from tutela.dsr.terms import RequestType
from tutela.dsr.workflow import SYSTEM_ACTOR
from tutela.errors import Conflict, InvalidInput
from tutela.subjects import erase_subject

__all__ = ["fulfil_erasure", "fulfil_rectification", "recipients_to_tell"]

RECIPIENT_NOTICE: Final = "manual"
"""How a recipient without a webhook store of its own is told: a task for staff."""


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


@handles(RequestType.ERASURE, RequestType.DELETE)
def fulfil_erasure(fulfilment: Fulfilment) -> None:
    """Erase the person in every store and in Tutela; answer, or hold the request open."""
    request, session = fulfilment.request, fulfilment.session
    if not request.is_open:
        return
    person = person_of(session, request=request, master=fulfilment.runtime.master)
    on_file = channel_of(fulfilment, person.subject)  # before anything is erased
    run = Run()
    if person.identities:
        run.reports = [
            store.erase(person.identities, today=fulfilment.today) for store in fulfilment.stores
        ]
    raise_if_down(run)
    run.extra["holds"] = _holds(run)
    if hold_open(fulfilment, run):
        return
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
    answer(
        fulfilment,
        run,
        on_file=on_file,
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
        pass  # some field is not mapped here: take the fields one by one
    reports: list[StoreReport] = []
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
    on_file = channel_of(fulfilment, person.subject)
    details = open_details(request, master=master)
    changes = dict(details.changes) if details is not None and details.changes else {}
    run = Run()
    if not changes:
        run.unhandled.append("no changes named: staff must enter the fields and new values")
    known: set[str] = set()
    if person.identities and changes:
        for store in fulfilment.stores:
            reports, fields = _rectify(store, person.identities, changes)
            run.reports.extend(reports)
            known |= fields
    raise_if_down(run)
    run.unhandled.extend(
        f"{name}: no connected store maps this field" for name in changes if name not in known
    )
    run.extra["fields"] = sorted(known)
    if hold_open(fulfilment, run):
        return
    recipients = recipients_to_tell(session, clock=fulfilment.clock)
    run.extra["recipients"] = recipients
    answer(
        fulfilment,
        run,
        on_file=on_file,
        recipients=[item["name"] for item in recipients],
        fields=sorted(known),
    )

"""A person's consent records as ISO/IEC TS 27560-shaped JSON receipts.

One record per purpose the ledger holds events for, with the field names of
the W3C DPV guide to ISO/IEC TS 27560:2023 (``record_id``, ``receipt_id``,
``pii_principal_id``, ``pii_controllers``, ``purposes`` with ``lawful_basis``,
``privacy_notice``, ``events`` with ``event_time`` / ``event_type`` /
``event_state`` …). The subject appears only by its public id. An event's
``event_state`` uses the DPV consent states (``ConsentGiven``,
``ConsentRefused``, ``ConsentWithdrawn``, ``ConsentExpired``); an objection,
which DPV does not list, is ``Objected``.

``record_id`` is stable for a person and purpose; ``receipt_id`` changes
whenever a new event is added, so equal ids mean equal content.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any, Final

from sqlalchemy.orm import Session

from tutela.clock import Clock
from tutela.consent.checks import check
from tutela.consent.declarations import CurrentPolicy, current_policy, policy_version
from tutela.consent.ledger import events_of, ledger_head, open_proof
from tutela.consent.models import ConsentEvent
from tutela.consent.rules import max_age_of
from tutela.consent.terms import Action
from tutela.crypto import MasterKey
from tutela.policy.models import Declaration, LegalBasis, Purpose
from tutela.subjects import Subject

__all__ = ["RECEIPT_SCHEMA", "receipts"]

RECEIPT_SCHEMA: Final = "https://tutela.dev/schemas/consent-receipt/v1"
SCHEMA_VERSION: Final = "ISO/IEC TS 27560:2023 (DPV profile)"
_NAMESPACE: Final = uuid.UUID("9b0f3c6e-8c1d-5b7a-9d38-2f0e6a4c1b57")
_STATES: Final = {
    Action.GIVEN.value: "ConsentGiven",
    Action.CONFIRMED.value: "ConsentGiven",
    Action.REFUSED.value: "ConsentRefused",
    Action.WITHDRAWN.value: "ConsentWithdrawn",
    Action.EXPIRED.value: "ConsentExpired",
    Action.OBJECTED.value: "Objected",
}
_TYPES: Final = {Action.CONFIRMED.value: "explicit", Action.EXPIRED.value: "automatic"}
_ARTICLES: Final = {
    LegalBasis.CONSENT: "Art. 6(1)(a) GDPR",
    LegalBasis.CONTRACT: "Art. 6(1)(b) GDPR",
    LegalBasis.LEGAL_OBLIGATION: "Art. 6(1)(c) GDPR",
    LegalBasis.VITAL_INTERESTS: "Art. 6(1)(d) GDPR",
    LegalBasis.PUBLIC_TASK: "Art. 6(1)(e) GDPR",
    LegalBasis.LEGITIMATE_INTERESTS: "Art. 6(1)(f) GDPR",
}


def _controller(declaration: Declaration) -> dict[str, Any]:
    controller = declaration.controller
    address = controller.address
    return {
        "party_id": "controller",
        "party_name": controller.name,
        "party_role": "controller",
        "party_type": "legal entity",
        "party_address": f"{address.street}, {address.postal_code} {address.city}, "
        f"{address.country}",
        "party_contact": str(controller.contacts.email),
        "party_email": str(controller.contacts.email),
        "party_phone": controller.contacts.phone,
        "party_url": controller.contacts.web,
    }


def _purpose(purpose: Purpose, language: str, declaration: Declaration) -> dict[str, Any]:
    return {
        "purpose_id": purpose.id,
        "purpose": purpose.name.get(language),
        "description": purpose.description.get(language),
        "purpose_type": purpose.data_use,
        "lawful_basis": purpose.legal_basis.value,
        "lawful_basis_reference": _ARTICLES[purpose.legal_basis],
        "soft_opt_in": purpose.soft_opt_in,
        "direct_marketing": purpose.is_direct_marketing,
        "double_opt_in": purpose.needs_double_opt_in,
        "pii_information": purpose.categories.all(),
        "recipient_third_parties": [
            found.name
            for found in (declaration.recipient(rid) for rid in purpose.recipients)
            if found is not None
        ],
        "retention_period": (
            purpose.retention.period.iso()
            if purpose.retention is not None and purpose.retention.period is not None
            else None
        ),
        "withdrawal_method": [channel.value for channel in purpose.objection_channels],
    }


def _event(
    session: Session,
    event: ConsentEvent,
    *,
    subject: Subject,
    master: MasterKey,
    validity: str | None,
) -> dict[str, Any]:
    return {
        "sequence": event.sequence,
        "event_time": event.occurred_at.isoformat(),
        "event_type": _TYPES.get(event.action, "expressed"),
        "event_state": _STATES[event.action],
        "action": event.action,
        "collection_method": event.channel,
        "entity_id": event.actor,
        "policy_version": event.policy_version,
        "language": event.language,
        "notice_hash": event.notice_hash,
        "validity_duration": validity if event.action == Action.GIVEN.value else None,
        "proof": open_proof(session, event=event, subject=subject, master=master),
        "hash": event.hash,
    }


def _describing(
    session: Session, current: CurrentPolicy, purpose_id: str, last: ConsentEvent
) -> tuple[Declaration, Purpose] | None:
    """The declaration that describes the purpose: today's, else the one of its last event."""
    found = current.declaration.purpose(purpose_id)
    if found is not None:
        return current.declaration, found
    older = policy_version(session, last.policy_version)
    if older is None:
        return None
    purpose = older.declaration.purpose(purpose_id)
    return None if purpose is None else (older.declaration, purpose)


def _record(
    session: Session,
    *,
    subject: Subject,
    purpose_id: str,
    events: list[ConsentEvent],
    current: CurrentPolicy,
    master: MasterKey,
    clock: Clock,
) -> dict[str, Any]:
    last = events[-1]
    shown = next((e for e in reversed(events) if e.action == Action.GIVEN.value), last)
    described = _describing(session, current, purpose_id, last)
    validity = None
    purposes: list[dict[str, Any]] = []
    if described is not None:
        declaration, purpose = described
        age = max_age_of(purpose, declaration)
        validity = None if age is None else age.iso()
        purposes.append(_purpose(purpose, shown.language, declaration))
    record_id = uuid.uuid5(_NAMESPACE, f"{subject.public_id}/{purpose_id}")
    declared = current.declaration.purpose(purpose_id) is not None
    status: dict[str, Any] = {"state": last.action, "declared": declared}
    if declared:
        decision = check(
            session,
            purpose_id=purpose_id,
            master=master,
            clock=clock,
            declaration=current.declaration,
            subject=subject,
        )
        status.update(allowed=decision.allowed, reason=decision.reason.value)
    else:
        status.update(allowed=False, reason=None)
    return {
        "schema_version": SCHEMA_VERSION,
        "record_id": str(record_id),
        "receipt_id": str(uuid.uuid5(record_id, f"{last.sequence}/{last.hash}")),
        "pii_principal_id": subject.public_id,
        "pii_controllers": [_controller(current.declaration)],
        "jurisdiction": current.declaration.controller.address.country,
        "language": shown.language,
        "purposes": purposes,
        "privacy_notice": {
            "policy_version": shown.policy_version,
            "notice_hash": shown.notice_hash,
            "language": shown.language,
            "url": f"/privacy/v/{shown.policy_version}",
        },
        "collection_method": events[0].channel,
        "events": [
            _event(session, event, subject=subject, master=master, validity=validity)
            for event in events
        ],
        "status": status,
    }


def receipts(
    session: Session,
    *,
    subject: Subject,
    master: MasterKey,
    clock: Clock,
    policy: CurrentPolicy | None = None,
) -> dict[str, Any]:
    """Every consent record of ``subject``, one per purpose, as a JSON-ready document.

    After erasure the events remain (without readable proof: ``proof`` is null).
    """
    current = policy if policy is not None else current_policy(session, clock=clock)
    grouped: dict[str, list[ConsentEvent]] = defaultdict(list)
    for event in events_of(session, subject=subject):
        grouped[event.purpose_id].append(event)
    head_sequence, head_hash = ledger_head(session)
    records = [
        _record(
            session,
            subject=subject,
            purpose_id=purpose_id,
            events=events,
            current=current,
            master=master,
            clock=clock,
        )
        for purpose_id, events in sorted(grouped.items())
    ]
    return {
        "schema": RECEIPT_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "generated_at": clock.now().isoformat(),
        "pii_principal_id": subject.public_id,
        "erased": subject.erased_at is not None,
        "policy_version": current.number,
        "ledger_head": {"sequence": head_sequence, "hash": head_hash},
        "records": records,
    }

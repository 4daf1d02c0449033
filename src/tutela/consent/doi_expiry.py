"""Unconfirmed double opt-in sign-ups expire: the job that deletes them.

A sign-up not confirmed within its link's lifetime is recorded as ``expired``; the
person is erased (crypto-shredded) when nothing else refers to them.
"""

from __future__ import annotations

import datetime as dt
import importlib
import threading
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from tutela.clock import Clock
from tutela.consent.declarations import CurrentPolicy, current_policy
from tutela.consent.double_opt_in import (
    _DAY,
    _OWN_TABLES,
    _SIGN_UP_ONLY,
    DEFAULT_EXPIRY,
    EXPIRE_JOB,
    SYSTEM_ACTOR,
)
from tutela.consent.ledger import record
from tutela.consent.models import ConsentEvent, ConsentState
from tutela.consent.proof import Proof
from tutela.consent.terms import Action, Channel
from tutela.crypto import MasterKey
from tutela.errors import (
    ConfigurationError,
)
from tutela.jobs import JobContext, registry
from tutela.policy.versions import get_version
from tutela.subjects import (
    IdentityKind,
    Subject,
    SubjectIdentity,
    erase_subject,
)


def _has_other_records(session: Session, subject: Subject, purpose_id: str) -> bool:
    """Does anything but this one unconfirmed sign-up refer to ``subject``?"""
    identities = session.scalars(
        select(SubjectIdentity.kind).where(SubjectIdentity.subject_id == subject.id)
    ).all()
    if list(identities) != [IdentityKind.EMAIL.value]:
        return True
    other_events = select(ConsentEvent.sequence).where(
        ConsentEvent.subject_id == subject.id,
        (ConsentEvent.purpose_id != purpose_id) | ConsentEvent.action.not_in(_SIGN_UP_ONLY),
    )
    if session.execute(select(exists(other_events))).scalar():
        return True
    metadata = importlib.import_module("tutela.storage.metadata").target_metadata
    for table in metadata.tables.values():
        if table.name in _OWN_TABLES:
            continue
        for key in table.foreign_keys:
            if key.column.table.name == "subjects" and key.column.name == "id":
                query = select(exists().where(key.parent == subject.id))
                if session.execute(query).scalar():
                    return True
    return False


def _policy_of(session: Session, number: int) -> CurrentPolicy:
    version = get_version(session, number)
    return CurrentPolicy(
        number=version.number, content_hash=version.content_hash, declaration=version.declaration()
    )


def expire_unconfirmed(
    session: Session,
    *,
    master: MasterKey,
    clock: Clock,
    expiry: dt.timedelta = DEFAULT_EXPIRY,
    subject_id: int | None = None,
    purpose_id: str | None = None,
    actor: str = SYSTEM_ACTOR,
) -> int:
    """Expire grants of double opt-in purposes left unconfirmed for ``expiry``; return how many.

    Each gets an ``expired`` event; a subject that exists only because of that
    sign-up is then erased. Without ``subject_id`` / ``purpose_id`` every such
    grant is swept.
    """
    now = clock.now()
    query = select(ConsentState).where(
        ConsentState.status == Action.GIVEN.value, ConsentState.given_at <= now - expiry
    )
    if subject_id is not None:
        query = query.where(ConsentState.subject_id == subject_id)
    if purpose_id is not None:
        query = query.where(ConsentState.purpose_id == purpose_id)
    states = list(session.scalars(query.order_by(ConsentState.subject_id)))
    if not states:
        return 0
    policy = current_policy(session, clock=clock)
    expired = 0
    for state in states:
        granted_under = policy
        purpose = policy.declaration.purpose(state.purpose_id)
        if purpose is None and state.policy_version:
            # the purpose left the declaration since: judge it by the version signed up under
            granted_under = _policy_of(session, state.policy_version)
            purpose = granted_under.declaration.purpose(state.purpose_id)
        subject = session.get(Subject, state.subject_id)
        if purpose is None or not purpose.needs_double_opt_in or subject is None:
            continue
        if subject.erased_at is not None:
            continue
        proof = Proof(
            channel=Channel.API,
            extra={"double_opt_in": "expired", "unconfirmed_for_days": expiry / _DAY},
        )
        record(
            session,
            subject=subject,
            purpose_id=purpose.id,
            action=Action.EXPIRED,
            proof=proof,
            master=master,
            clock=clock,
            actor=actor,
            policy=granted_under,
        )
        expired += 1
        if not _has_other_records(session, subject, purpose.id):
            erase_subject(
                session,
                subject=subject,
                clock=clock,
                actor=actor,
                reason="unconfirmed double opt-in sign-up expired",
            )
    return expired


_lock = threading.Lock()
_master: MasterKey | None = None


def install_expiry_master(master: MasterKey | None) -> MasterKey | None:
    """Give the ``consent.doi_expire`` job of this process its master key; return the old one."""
    global _master
    with _lock:
        previous, _master = _master, master
    return previous


@registry.handler(EXPIRE_JOB)
def expire_job(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    """Expire one sign-up (payload ``subject_id``, ``purpose_id``) or sweep all (empty payload)."""
    master = _master
    if master is None:
        raise ConfigurationError(
            f"The {EXPIRE_JOB} job needs the master key; call "
            "tutela.consent.double_opt_in.install_expiry_master(master) when starting the worker."
        )
    seconds = payload.get("expiry_seconds")
    expiry = dt.timedelta(seconds=int(seconds)) if seconds is not None else DEFAULT_EXPIRY
    raw_subject = payload.get("subject_id")
    raw_purpose = payload.get("purpose_id")
    expire_unconfirmed(
        session,
        master=master,
        clock=ctx.clock,
        expiry=expiry,
        subject_id=None if raw_subject is None else int(raw_subject),
        purpose_id=None if raw_purpose is None else str(raw_purpose),
    )

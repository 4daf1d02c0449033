"""The declaration version consent is recorded and checked against.

That is the published version in effect on today's German date. Parsing a
declaration is the expensive part of a check, so parsed declarations are kept
per content hash: a published version never changes, so a kept one cannot go
stale, and a new version comes with a new hash.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Final, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from tutela.calendar import german_date
from tutela.clock import Clock
from tutela.errors import Conflict, NotFound
from tutela.policy.models import Declaration, Purpose
from tutela.policy.models_db import PolicyVersion

__all__ = ["CurrentPolicy", "current_policy", "policy_version", "purpose_of"]

_KEEP: Final = 16
_parsed: dict[str, Declaration] = {}
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class CurrentPolicy:
    """A published version: its number, content hash and parsed declaration."""

    number: int
    content_hash: str
    declaration: Declaration


def _declaration(session: Session, number: int, content_hash: str) -> Declaration:
    with _lock:
        found = _parsed.get(content_hash)
    if found is not None:
        return found
    document = session.scalars(
        select(PolicyVersion.document).where(PolicyVersion.number == number)
    ).one()
    parsed = Declaration.model_validate_json(document)
    with _lock:
        if len(_parsed) >= _KEEP:
            _parsed.pop(next(iter(_parsed)))
        _parsed[content_hash] = parsed
    return parsed


_VERSIONS = cast(Table, PolicyVersion.__table__)
_IN_EFFECT = (
    select(_VERSIONS.c.number, _VERSIONS.c.content_hash)
    .where(_VERSIONS.c.effective_at <= bindparam("today"))
    .order_by(_VERSIONS.c.number.desc())
    .limit(1)
)


def current_policy(session: Session, *, clock: Clock) -> CurrentPolicy:
    """The version in effect today; :class:`Conflict` when none has been published."""
    today = german_date(clock.now())
    row = session.connection().execute(_IN_EFFECT, {"today": today}).first()
    if row is None:
        raise Conflict(
            "No version of the declaration is in effect yet, so there are no purposes to "
            "record or check consent for; publish one with `tutela policy publish`."
        )
    number, content_hash = int(row.number), str(row.content_hash)
    return CurrentPolicy(
        number=number,
        content_hash=content_hash,
        declaration=_declaration(session, number, content_hash),
    )


def policy_version(session: Session, number: int) -> CurrentPolicy | None:
    """Published version ``number`` (in effect or not), or ``None`` if there is none."""
    content_hash = session.scalars(
        select(PolicyVersion.content_hash).where(PolicyVersion.number == number)
    ).one_or_none()
    if content_hash is None:
        return None
    return CurrentPolicy(
        number=number,
        content_hash=content_hash,
        declaration=_declaration(session, number, content_hash),
    )


def purpose_of(policy: CurrentPolicy, purpose_id: str) -> Purpose:
    """The purpose ``purpose_id`` of ``policy``; :class:`NotFound` names it and the choices."""
    purpose = policy.declaration.purpose(purpose_id)
    if purpose is not None:
        return purpose
    known = ", ".join(p.id for p in policy.declaration.purposes)
    raise NotFound(
        f"purpose {purpose_id[:64]!r}: the declaration in effect (version {policy.number}) has no "
        f"such purpose; use one of {known}.",
        field="purpose",
        purpose=purpose_id,
    )

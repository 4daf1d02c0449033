"""Publishing the declaration as immutable, numbered versions with an effective date.

A version is identified by the SHA-256 of the declaration's canonical JSON, so
layout, comments and key order of the YAML do not change it. The first version
may take effect on the day it is published; every later one only after the
notice period of its ``change_notice`` has run (law notes § 2.5, W-4/W-5):
count the days from the day after publication and take effect the day after the
last counted day. Rows are only ever inserted; there is no update path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.calendar import Unit, effective_after_notice, german_date
from tutela.clock import Clock
from tutela.errors import Conflict, InvalidInput, NotFound, PolicyViolation
from tutela.policy.events import PolicyPublished
from tutela.policy.lint import Finding, has_errors, lint
from tutela.policy.models import ChangeNotice, Declaration, NoticeUnit
from tutela.policy.models_db import ACTOR_LENGTH, PolicyVersion

__all__ = [
    "PolicyVersion",
    "canonical_json",
    "content_hash",
    "current_version",
    "earliest_effective_on",
    "get_version",
    "latest_version",
    "list_versions",
    "publish",
    "upcoming_version",
]

_UNITS: dict[NoticeUnit, Unit] = {
    NoticeUnit.WERKTAGE: "werktage",
    NoticeUnit.ARBEITSTAGE: "arbeitstage",
    NoticeUnit.CALENDAR_DAYS: "calendar_days",
}


def canonical_json(declaration: Declaration) -> str:
    """The declaration as JSON with sorted keys, no whitespace and unescaped Unicode."""
    return json.dumps(
        declaration.model_dump(mode="json"),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def content_hash(declaration: Declaration) -> str:
    """SHA-256 (hex) of :func:`canonical_json`: equal for equal content, whatever the YAML."""
    return hashlib.sha256(canonical_json(declaration).encode("utf-8")).hexdigest()


def publish(
    session: Session,
    *,
    declaration: Declaration,
    source_text: str,
    actor: str,
    clock: Clock,
    effective_on: dt.date | None = None,
    note: str | None = None,
) -> PolicyVersion:
    """Publish ``declaration`` as the next version and record it in the audit trail.

    Refused with :class:`PolicyViolation` while the lint reports errors or when
    ``effective_on`` is before the end of the notice period, and with
    :class:`Conflict` when the content equals the newest version or another
    publication took the same number meanwhile (then roll back and try again).
    Nothing is written when refused.
    """
    if not actor.strip() or len(actor) > ACTOR_LENGTH:
        raise InvalidInput(
            f"actor: who publishes must be named in 1 to {ACTOR_LENGTH} characters; "
            "pass the staff member or tool that publishes."
        )
    now = clock.now()
    today = german_date(now)
    _refuse_lint_errors(lint(declaration, today=today))
    document = canonical_json(declaration)
    digest = hashlib.sha256(document.encode("utf-8")).hexdigest()
    latest = latest_version(session)
    if latest is not None and latest.content_hash == digest:
        raise Conflict(
            f"The declaration is identical to version {latest.number} (content hash "
            f"{digest[:12]}); nothing to publish. Change the declaration first."
        )
    earliest = _earliest(_notices(session, declaration, today=today), today=today)
    effective = _effective(effective_on, earliest=earliest, first=latest is None)
    number = 1 if latest is None else latest.number + 1
    version = PolicyVersion(
        number=number,
        content_hash=digest,
        document=document,
        source_text=source_text,
        published_at=now,
        effective_at=effective,
        notice_on=today,
        published_by=actor,
        note=note,
    )
    session.add(version)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"Version {number} was published by someone else at the same moment; "
            "nothing was written. Check the newest version and try again."
        ) from exc
    event = PolicyPublished(
        number=number,
        content_hash=digest,
        effective_at=effective,
        notice_on=today,
        previous=None if latest is None else latest.number,
    )
    emit(session, event, actor=actor, clock=clock, reason=note)
    return version


def earliest_effective_on(session: Session, *, declaration: Declaration, clock: Clock) -> dt.date:
    """The earliest date on which ``declaration`` could take effect if published now."""
    today = german_date(clock.now())
    return _earliest(_notices(session, declaration, today=today), today=today)


def list_versions(session: Session) -> list[PolicyVersion]:
    """Every published version, newest first."""
    return list(session.scalars(select(PolicyVersion).order_by(PolicyVersion.number.desc())))


def latest_version(session: Session) -> PolicyVersion | None:
    """The version published last, whether in effect yet or not."""
    query = select(PolicyVersion).order_by(PolicyVersion.number.desc()).limit(1)
    return session.scalars(query).first()


MAX_VERSION_NUMBER = 2**31 - 1


def get_version(session: Session, number: int) -> PolicyVersion:
    """The version with ``number``; :class:`NotFound` says which numbers exist."""
    version = None
    if 1 <= number <= MAX_VERSION_NUMBER:  # beyond that no database column can hold it
        version = session.scalars(
            select(PolicyVersion).where(PolicyVersion.number == number)
        ).first()
    if version is not None:
        return version
    newest = session.scalar(select(func.max(PolicyVersion.number)))
    if newest is None:
        raise NotFound(
            f"version {number}: no declaration version has been published yet; publish one first."
        )
    raise NotFound(
        f"version {number}: there is no such published version; "
        f"the published versions are numbered 1 to {newest}."
    )


def current_version(session: Session, *, on: dt.date) -> PolicyVersion | None:
    """The version in effect on ``on``: the newest one whose effective date has come.

    A later version supersedes an earlier one even if the earlier one was meant
    to take effect later still; such an earlier version never takes effect.
    """
    query = (
        select(PolicyVersion)
        .where(PolicyVersion.effective_at <= on)
        .order_by(PolicyVersion.number.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def upcoming_version(session: Session, *, on: dt.date) -> PolicyVersion | None:
    """The version that will be the next to take effect after ``on``, if any.

    Of the versions published after the current one and not yet in effect, that
    is the one with the earliest effective date (the newest one on a tie).
    """
    current = current_version(session, on=on)
    query = (
        select(PolicyVersion)
        .where(PolicyVersion.effective_at > on)
        .where(PolicyVersion.number > (current.number if current is not None else 0))
        .order_by(PolicyVersion.effective_at.asc(), PolicyVersion.number.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def _refuse_lint_errors(findings: list[Finding]) -> None:
    if not has_errors(findings):
        return
    errors = [f for f in findings if f.severity == "error"]
    listed = "; ".join(f"{f.id} at {f.path or '(top level)'}" for f in errors)
    raise PolicyViolation(
        f"The declaration cannot be published: the lint reports {len(errors)} "
        f"error{'s' if len(errors) != 1 else ''} ({listed}). Fix them following each "
        "finding's hint and publish again.",
        errors=[{"id": f.id, "path": f.path, "message": f.message} for f in errors],
    )


def _notices(session: Session, declaration: Declaration, *, today: dt.date) -> list[ChangeNotice]:
    """The notice rules a new version must honour: its own, and those already promised.

    Nothing published yet: none (the first version may take effect at once). Otherwise
    the new declaration's rule and the rules of the version in effect and of the newest
    version — a change cannot shorten the notice that the statement people read promises.
    """
    latest = latest_version(session)
    if latest is None:
        return []
    rules = [declaration.change_notice, latest.declaration().change_notice]
    current = current_version(session, on=today)
    if current is not None and current.number != latest.number:
        rules.append(current.declaration().change_notice)
    return rules


def _earliest(notices: list[ChangeNotice], *, today: dt.date) -> dt.date:
    earliest = today
    for notice in notices:
        states = "all" if notice.states == "all" else [state.value for state in notice.states]
        date = effective_after_notice(today, notice.days, unit=_UNITS[notice.unit], states=states)
        earliest = max(earliest, date)
    return earliest


def _effective(requested: dt.date | None, *, earliest: dt.date, first: bool) -> dt.date:
    if requested is None:
        return earliest
    if requested < earliest:
        why = (
            "the first version cannot take effect in the past"
            if first
            else "the notice period of change_notice must run first"
        )
        raise PolicyViolation(
            f"effective_on: {requested.isoformat()} is too early; {why}. The earliest "
            f"allowed date is {earliest.isoformat()}: choose that date or a later one.",
            earliest=earliest.isoformat(),
        )
    return requested

"""Verification (law.md § 5.2): one-time links and codes to the channel on file, and V-5.

* A **link** (24 hours) carries a random token; a **code** (6 digits, 15 minutes,
  5 attempts) is typed in with the request's reference. Only digests are stored:
  SHA-256 of the link token, a keyed HMAC of reference and code (a bare hash of
  six digits would fall to a table of a million entries). Each is used once;
  issuing a new code voids the older ones.
* Tampered, expired, used, foreign or unknown links and codes all raise the same
  :class:`UnknownVerification`, so no answer tells them apart.
* Links and codes go only to the channel on file (:mod:`tutela.dsr.notices`);
  verifying an erasure or a contact-data rectification queues a notice to that
  channel as well (:func:`tutela.dsr.workflow.mark_verified`).
* :func:`lower_assurance` (V-5, in :mod:`tutela.dsr.approvals`): the required
  level drops only when a second, different staff member approves.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.clock import Clock
from tutela.crypto import MasterKey, blind_index, random_token, token_digest
from tutela.dsr.approvals import Lowering, lower_assurance
from tutela.dsr.events import VerificationFailed
from tutela.dsr.models import DsrRequest, DsrVerification
from tutela.dsr.queue import Notice, enqueue_notice
from tutela.dsr.terms import Method, Status
from tutela.dsr.workflow import mark_verified
from tutela.errors import NotFound

__all__ = [
    "CODE_ATTEMPTS",
    "CODE_LIFETIME",
    "LINK_LIFETIME",
    "Lowering",
    "UnknownVerification",
    "consume_code",
    "consume_link",
    "issue_code",
    "issue_link",
    "lower_assurance",
    "may_send_code",
    "peek_link",
    "request_code",
    "verification_url",
]

LINK_LIFETIME: Final = dt.timedelta(hours=24)
CODE_LIFETIME: Final = dt.timedelta(minutes=15)
CODE_ATTEMPTS: Final = 5
CODES_PER_HOUR: Final = 3
CODES_PER_REQUEST: Final = 10
"""At most this many codes per request in all: 50 guesses of a six-digit code, ever."""
PUBLIC_ACTOR: Final = "public:dsr-verify"
_CODE_KIND: Final = "dsr_code"


class UnknownVerification(NotFound):
    """A link or code that is malformed, forged, expired, used up or for another request."""

    code = "unknown-verification"
    title = "The link or code is not valid"

    def __init__(self) -> None:
        super().__init__(
            "This link or code is not valid or no longer applies; ask for a new code on the "
            "request page or submit the request again."
        )


def verification_url(base_url: str, token: str) -> str:
    """The address of the page that confirms a request with ``token`` (GET shows, POST confirms)."""
    return f"{base_url.rstrip('/')}/requests/verify/{token}"


def _waiting(request: DsrRequest) -> bool:
    return request.status == Status.AWAITING_VERIFICATION.value


def issue_link(session: Session, *, request: DsrRequest, clock: Clock) -> tuple[int, str]:
    """Store a new link for ``request``; return the row id and the token (to mail, never store)."""
    token = random_token()
    now = clock.now()
    row = DsrVerification(
        request_id=request.id,
        method=Method.LINK.value,
        token_digest=token_digest(token),
        created_at=now,
        expires_at=now + LINK_LIFETIME,
        attempts_left=1,
    )
    session.add(row)
    session.flush()
    return row.id, token


def _code_digest(master: MasterKey, reference: str, code: str) -> str:
    return blind_index(master, _CODE_KIND, f"{reference}:{code}")


def issue_code(
    session: Session, *, request: DsrRequest, master: MasterKey, clock: Clock
) -> tuple[int, str]:
    """Store a new 6-digit code (older unused codes stop working); return row id and code."""
    for older in session.scalars(
        select(DsrVerification).where(
            DsrVerification.request_id == request.id,
            DsrVerification.method == Method.CODE.value,
            DsrVerification.used_at.is_(None),
            DsrVerification.attempts_left > 0,
        )
    ):
        older.attempts_left = 0
    code = f"{secrets.randbelow(10**6):06d}"
    now = clock.now()
    row = DsrVerification(
        request_id=request.id,
        method=Method.CODE.value,
        token_digest=_code_digest(master, request.reference, code),
        created_at=now,
        expires_at=now + CODE_LIFETIME,
        attempts_left=CODE_ATTEMPTS,
    )
    session.add(row)
    session.flush()
    return row.id, code


def _link(session: Session, token: str, now: dt.datetime) -> tuple[DsrVerification, DsrRequest]:
    if not token or len(token) > 200 or not token.isascii():
        raise UnknownVerification()
    row = session.scalars(
        select(DsrVerification)
        .where(
            DsrVerification.token_digest == token_digest(token),
            DsrVerification.method == Method.LINK.value,
        )
        .with_for_update()
    ).one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise UnknownVerification()
    request = session.get(DsrRequest, row.request_id)
    if request is None or not _waiting(request):
        raise UnknownVerification()
    return row, request


def peek_link(session: Session, *, token: str, clock: Clock) -> DsrRequest:
    """The request a valid link confirms, changing nothing (the page a GET shows)."""
    return _link(session, token, clock.now())[1]


def consume_link(
    session: Session, *, token: str, clock: Clock, actor: str = PUBLIC_ACTOR
) -> DsrRequest:
    """Use a link once: the request becomes ``verified``; :class:`UnknownVerification` otherwise."""
    now = clock.now()
    row, request = _link(session, token, now)
    row.used_at = now
    row.attempts_left = 0
    mark_verified(
        session,
        request=request,
        method=Method.LINK,
        actor=actor,
        clock=clock,
        verification_id=row.id,
    )
    return request


def _request_for(session: Session, reference: str) -> DsrRequest | None:
    if not reference or len(reference) > 40:
        return None
    return session.scalars(
        select(DsrRequest).where(DsrRequest.reference == reference.strip().upper())
    ).one_or_none()


def consume_code(
    session: Session,
    *,
    reference: str,
    code: str,
    master: MasterKey,
    clock: Clock,
    actor: str = PUBLIC_ACTOR,
) -> DsrRequest | None:
    """Check a code typed in with the request's reference; the request, now ``verified``.

    A wrong code uses up one of the 5 attempts and returns ``None``: the attempt is
    recorded in the session, so commit as usual and answer as for
    :class:`UnknownVerification`, which is raised when there is no code to try
    (unknown reference, no request waiting, no live code, attempts used up).
    """
    request = _request_for(session, reference)
    if request is None or not _waiting(request):
        raise UnknownVerification()
    now = clock.now()
    row = session.scalars(
        select(DsrVerification)
        .where(
            DsrVerification.request_id == request.id,
            DsrVerification.method == Method.CODE.value,
            DsrVerification.used_at.is_(None),
            DsrVerification.attempts_left > 0,
            DsrVerification.expires_at > now,
        )
        .order_by(DsrVerification.id.desc())
        .limit(1)
        .with_for_update()
    ).one_or_none()
    if row is None:
        raise UnknownVerification()
    row.attempts_left -= 1
    typed = "".join((code or "").split())[:32]
    expected = row.token_digest.encode("ascii")
    if not typed.isdigit() or not hmac.compare_digest(
        _code_digest(master, request.reference, typed).encode("ascii"), expected
    ):
        event = VerificationFailed(
            request_id=request.id,
            verification_id=row.id,
            method=Method.CODE.value,
            attempts_left=row.attempts_left,
        )
        emit(session, event, actor=actor, clock=clock)
        return None
    row.used_at = now
    mark_verified(
        session,
        request=request,
        method=Method.CODE,
        actor=actor,
        clock=clock,
        verification_id=row.id,
    )
    return request


def request_code(session: Session, *, reference: str, clock: Clock) -> None:
    """Queue a new code to the channel on file; silently nothing when none may be sent.

    The caller answers every call alike: whether the reference exists, waits for
    verification or has asked too often in the last hour is never revealed.
    """
    request = _request_for(session, reference)
    if request is None or not may_send_code(session, request=request, clock=clock):
        return
    enqueue_notice(session, request_id=request.id, notice=Notice.CODE, clock=clock)


def may_send_code(session: Session, *, request: DsrRequest, clock: Clock) -> bool:
    """Whether a code may go out now: the request waits, a link reached a channel on file,
    fewer than :data:`CODES_PER_HOUR` codes were issued in the last hour and fewer than
    :data:`CODES_PER_REQUEST` in all (after that, only the link or a new request)."""
    if not _waiting(request):
        return False
    since = clock.now() - dt.timedelta(hours=1)
    linked, recent, issued = session.execute(
        select(
            func.count().filter(DsrVerification.method == Method.LINK.value),
            func.count().filter(
                DsrVerification.method == Method.CODE.value, DsrVerification.created_at > since
            ),
            func.count().filter(DsrVerification.method == Method.CODE.value),
        ).where(DsrVerification.request_id == request.id)
    ).one()
    return int(linked) > 0 and int(recent) < CODES_PER_HOUR and int(issued) < CODES_PER_REQUEST

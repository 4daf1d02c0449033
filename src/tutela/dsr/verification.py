"""Verification (law.md § 5.2): one-time links and codes to the channel on file, and V-5.

* A **link** (24 hours) carries a random token; a **code** (6 digits, 15 minutes,
  5 attempts) is typed in with the request's reference. Only digests are stored:
  SHA-256 of the link token, a keyed HMAC of reference and code (a bare hash of
  six digits would fall to a table of a million entries). Each is used once;
  issuing a new code voids the older ones.
* Tampered, expired, used, foreign or unknown links and codes all raise the same
  :class:`UnknownVerification`, so no answer tells them apart.
* V-6 on the public pages: checking a code and asking for one do the same work
  and run the same statements whether or not the reference exists, waits for
  verification or has a live code (the digest is always computed and compared,
  an attempt is always counted and recorded); the decision to send a code is
  taken in the ``dsr.notice`` job, out of the request path.
* :func:`release_flagged`: staff send the link for a request held as one of
  too many submissions, when it comes from the person after all.
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
from dataclasses import dataclass
from typing import ClassVar, Final, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from tutela.audit import DomainEvent, emit
from tutela.clock import Clock
from tutela.crypto import MasterKey, blind_index, random_token, token_digest
from tutela.dsr.approvals import Lowering, lower_assurance
from tutela.dsr.events import RequestNoted, VerificationFailed
from tutela.dsr.intake import FLAG_REPEATED
from tutela.dsr.models import DsrRequest, DsrVerification
from tutela.dsr.queue import Notice, enqueue_intake, enqueue_notice
from tutela.dsr.terms import Method, Status
from tutela.dsr.workflow import mark_verified
from tutela.errors import Conflict, InvalidInput, NotFound

__all__ = [
    "CODE_ATTEMPTS",
    "CODE_LIFETIME",
    "LINK_LIFETIME",
    "CodeRefused",
    "Lowering",
    "UnknownVerification",
    "consume_code",
    "consume_link",
    "issue_code",
    "issue_link",
    "lower_assurance",
    "may_send_code",
    "peek_link",
    "release_flagged",
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
MAX_REASON: Final = 2000
NO_REQUEST: Final = 0
"""The request id a code request for an unknown reference queues (its job finds nothing)."""
_CODE_KIND: Final = "dsr_code"
_MAX_REFERENCE: Final = 40
_MAX_TOKEN: Final = 200
_NO_DIGEST: Final = "0" * 64
"""What a typed code is compared with when no live code matches (the same work)."""
_VERIFICATIONS = cast(Table, DsrVerification.__table__)
_COUNT_ATTEMPT = (
    update(_VERIFICATIONS)
    .where(_VERIFICATIONS.c.id == bindparam("row_id"))
    .values(attempts_left=_VERIFICATIONS.c.attempts_left - 1)
)
"""One attempt used up; run with ``row_id`` 0 (no row) when there is no live code."""


@dataclass(frozen=True, kw_only=True)
class CodeRefused(DomainEvent):
    """A code was typed in for a reference without a live code (unknown, closed, expired).

    No request is named: finding it would take other work than a wrong code does.
    """

    action: ClassVar[str] = "dsr.code_refused"
    method: str = Method.CODE.value

    def target(self) -> str:
        return "dsr_code:unmatched"


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
    """The link row and its request, found with one statement whatever the token is."""
    shaped = bool(token) and len(token) <= _MAX_TOKEN and token.isascii()
    found = session.execute(
        select(DsrVerification, DsrRequest)
        .join(DsrRequest, DsrRequest.id == DsrVerification.request_id)
        .where(
            DsrVerification.token_digest == token_digest(token if shaped else ""),
            DsrVerification.method == Method.LINK.value,
        )
        .with_for_update(of=DsrVerification)
    ).one_or_none()
    if not shaped or found is None:
        raise UnknownVerification()
    row, request = found[0], found[1]
    if row.used_at is not None or row.expires_at <= now or not _waiting(request):
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


def _reference(reference: str) -> str:
    """A typed reference in the stored form (trimmed, upper case, at most 40 characters)."""
    return (reference or "").strip().upper()[:_MAX_REFERENCE]


def _live_code(session: Session, reference: str, now: dt.datetime) -> DsrVerification | None:
    """The newest usable code of the waiting request ``reference``: one statement, always."""
    return session.scalars(
        select(DsrVerification)
        .join(DsrRequest, DsrRequest.id == DsrVerification.request_id)
        .where(
            DsrRequest.reference == reference,
            DsrRequest.status == Status.AWAITING_VERIFICATION.value,
            DsrVerification.method == Method.CODE.value,
            DsrVerification.used_at.is_(None),
            DsrVerification.attempts_left > 0,
            DsrVerification.expires_at > now,
        )
        .order_by(DsrVerification.id.desc())
        .limit(1)
        .with_for_update(of=DsrVerification)
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

    Anything else returns ``None`` after the same work (V-6): a wrong code uses up
    one of the 5 attempts of the live code and records ``dsr.verification_failed``;
    an unknown reference, a request not waiting, no live code or attempts used up
    record ``dsr.code_refused``. Either way the caller commits and shows one answer.
    """
    now = clock.now()
    wanted = _reference(reference)
    typed = "".join((code or "").split())[:32]
    digest = _code_digest(master, wanted, typed).encode("ascii")
    # the request row first, for every reference alike (V-6): the code job locks it
    # before the code rows, so taking them in the same order never deadlocks
    session.execute(
        select(DsrRequest.id).where(DsrRequest.reference == wanted).with_for_update()
    ).first()
    row = _live_code(session, wanted, now)
    expected = (_NO_DIGEST if row is None else row.token_digest).encode("ascii")
    matches = hmac.compare_digest(digest, expected) and typed.isdigit()
    session.execute(_COUNT_ATTEMPT, {"row_id": NO_REQUEST if row is None else row.id})
    if row is None:
        emit(session, CodeRefused(), actor=actor, clock=clock)
        return None
    set_committed_value(row, "attempts_left", row.attempts_left - 1)
    if not matches:
        event = VerificationFailed(
            request_id=row.request_id,
            verification_id=row.id,
            method=Method.CODE.value,
            attempts_left=row.attempts_left,
        )
        emit(session, event, actor=actor, clock=clock)
        return None
    request = session.get_one(DsrRequest, row.request_id)
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
    """Queue the ``dsr.notice`` job for a new code; the job decides whether one may go out.

    The same two statements run for every reference (a lookup, the job), so
    neither the answer nor its timing tells whether the reference exists, waits
    for verification or asked too often (:func:`may_send_code`, checked by the job).
    """
    found = session.scalars(
        select(DsrRequest.id).where(DsrRequest.reference == _reference(reference))
    ).one_or_none()
    request_id = NO_REQUEST if found is None else found
    enqueue_notice(session, request_id=request_id, notice=Notice.CODE, clock=clock)


def release_flagged(
    session: Session,
    *,
    request: DsrRequest,
    staff_id: int,
    actor: str,
    reason: str,
    clock: Clock,
) -> None:
    """Send the link after all for a request held as one of too many submissions.

    Staff decide, with a ``reason`` for the audit trail, that the flagged request
    comes from the person: the flag is cleared and the request goes back through
    intake, which mails the one-time link to the channel on file (or the "no data"
    answer, or holds it when there is no channel). :class:`Conflict` when the
    request is not a flagged one waiting for verification.
    """
    text = (reason or "").strip()
    if not text or len(text) > MAX_REASON:
        raise InvalidInput(
            f"reason: say in at most {MAX_REASON} characters why this request comes from "
            "the person (it lands in the audit trail; keep personal data out of it).",
            field="reason",
        )
    waiting = (Status.RECEIVED.value, Status.AWAITING_VERIFICATION.value)
    if request.flag != FLAG_REPEATED or request.status not in waiting:
        raise Conflict(
            f"request {request.reference}: it is {request.status} and not held as a repeated "
            "submission, so there is no held link to send.",
            reference=request.reference,
            status=request.status,
        )
    request.flag = None
    if request.status == Status.AWAITING_VERIFICATION.value:
        request.status = Status.RECEIVED.value  # intake again: it sends the link
        enqueue_intake(session, request_id=request.id, clock=clock)
    event = RequestNoted(request_id=request.id, staff_id=staff_id, topic="release_flagged")
    emit(session, event, actor=actor, clock=clock, reason=text)


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

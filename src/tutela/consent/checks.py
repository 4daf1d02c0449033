"""May a purpose be pursued for this person (or for each of these many people)?

Checks read the database every time — no cache stands between a withdrawal
and the next answer. The single check and the bulk check share one lookup:
identities are normalised and blind-indexed in Python, then a chunk of them
costs two statements, one joining identities to the state for the purpose and
one finding suppressed addresses, however many values the chunk holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from typing import Final, Literal, NamedTuple

from sqlalchemy.orm import Session

from tutela.clock import Clock
from tutela.consent.declarations import CurrentPolicy, current_policy, purpose_of
from tutela.consent.lookup import identity_count, lookup, lookup_subject
from tutela.consent.normalizer import batch_normalizer, normalizer
from tutela.consent.notice import current_notice_hashes
from tutela.consent.rules import RESTRICTED_FLAG, Decision, Judge
from tutela.consent.scan import SCAN_MIN_VALUES, SCAN_SHARE, scan_decisions
from tutela.consent.suppression import scopes_for
from tutela.crypto import MasterKey
from tutela.errors import InvalidInput
from tutela.policy.models import Declaration, Purpose
from tutela.subjects import IdentityKind, Subject, index_many
from tutela.subjects.identity import identity_kind

__all__ = ["DEFAULT_CHUNK", "MAX_CHUNK", "BulkResult", "Strategy", "check", "check_bulk"]

DEFAULT_CHUNK: Final = 5000
MAX_CHUNK: Final = 10_000


Strategy = Literal["auto", "lookup", "scan"]


class BulkResult(NamedTuple):
    """The answer for one input line: a decision, or why the line could not be checked."""

    line: int
    value: str
    allowed: bool | None
    reason: str | None
    error: str | None = None


def _policy(
    session: Session, declaration: Declaration | None, clock: Clock, purpose_id: str
) -> tuple[Declaration, Purpose]:
    if declaration is None:
        policy = current_policy(session, clock=clock)
    else:
        policy = CurrentPolicy(number=0, content_hash="", declaration=declaration)
    return policy.declaration, purpose_of(policy, purpose_id)


def _judge(purpose: Purpose, declaration: Declaration, clock: Clock) -> Judge:
    return Judge(
        purpose,
        notice_hashes=current_notice_hashes(purpose),
        now=clock.now(),
        declaration=declaration,
    )


def _decide_chunk(
    session: Session,
    *,
    judge: Judge,
    kind: str,
    indexes: Sequence[str],
    purpose: Purpose,
    scopes: Sequence[str],
) -> list[Decision]:
    if not indexes:
        return []
    found = lookup(
        session,
        kind=kind,
        indexes=list(dict.fromkeys(indexes)),
        purpose_id=purpose.id,
        scopes=scopes,
        expires_before=judge.expires_before,
    )
    rows, listed, restricted = found.rows, found.suppressed_unknown, found.restricted_unknown
    decide_row, unknown = judge.decide_row, judge.unknown
    decisions: list[Decision] = []
    append = decisions.append
    for index in indexes:
        row = rows.get(index)
        if row is None:
            flag = RESTRICTED_FLAG if index in restricted else index in listed
            append(unknown(suppressed=flag))
        else:
            append(decide_row(*row))
    return decisions


def check(
    session: Session,
    *,
    purpose_id: str,
    master: MasterKey,
    clock: Clock,
    declaration: Declaration | None = None,
    subject: Subject | None = None,
    kind: IdentityKind | str | None = None,
    value: str | None = None,
    default_country_code: str = "49",
) -> Decision:
    """The decision for one person, given as ``subject`` or as an identity ``kind`` + ``value``.

    ``declaration`` defaults to the published version in effect (:class:`Conflict`
    when there is none); an unknown purpose raises :class:`NotFound`, a malformed
    value :class:`InvalidInput` naming the field.
    """
    if (subject is None) == (kind is None or value is None):
        raise InvalidInput(
            "subject: name the person either as a subject or as an identity kind and value, "
            "not both and not neither.",
            field="subject",
        )
    chosen, purpose = _policy(session, declaration, clock, purpose_id)
    judge = _judge(purpose, chosen, clock)
    scopes = scopes_for(purpose)
    if subject is not None or kind is None or value is None:
        assert subject is not None  # noqa: S101 - the test above rules out the rest
        return _check_subject(session, judge=judge, subject=subject, purpose=purpose, scopes=scopes)
    member = identity_kind(kind)
    normalized = normalizer(member, default_country_code=default_country_code)(value)
    indexes = index_many(master, member, [normalized])
    return _decide_chunk(
        session, judge=judge, kind=member.value, indexes=indexes, purpose=purpose, scopes=scopes
    )[0]


def _check_subject(
    session: Session, *, judge: Judge, subject: Subject, purpose: Purpose, scopes: Sequence[str]
) -> Decision:
    facts = lookup_subject(
        session,
        subject_id=subject.id,
        purpose_id=purpose.id,
        scopes=scopes,
        expires_before=judge.expires_before,
    )
    if facts is None or facts.erased or subject.erased_at is not None:
        return judge.decide(None, suppressed=False, erased=True)
    return judge.decide_row(*facts.row)


def check_bulk(
    session: Session,
    *,
    purpose_id: str,
    kind: IdentityKind | str,
    values: Iterable[str],
    master: MasterKey,
    clock: Clock,
    declaration: Declaration | None = None,
    chunk: int = DEFAULT_CHUNK,
    default_country_code: str = "49",
    strategy: Strategy = "auto",
) -> Iterator[BulkResult]:
    """Stream one :class:`BulkResult` per value, in order, numbering lines from 1.

    A malformed value yields a result with ``error`` (saying what is wrong,
    never repeating the value) and the rest are still checked. The purpose and
    the version are resolved before the first result.

    ``strategy`` ``lookup`` answers chunk by chunk with memory bounded by
    ``chunk``; ``scan`` reads all identities of the kind once (for a request
    covering much of the table; memory grows with the request and ``values``
    must be a sequence); ``auto`` scans a sequence of at least
    :data:`SCAN_MIN_VALUES` values holding at least 1/:data:`SCAN_SHARE` of
    the identities of the kind, and looks up otherwise.
    """
    if not 1 <= chunk <= MAX_CHUNK:
        raise InvalidInput(f"chunk: use 1 to {MAX_CHUNK} values per query.", field="chunk")
    member = identity_kind(kind)
    chosen, purpose = _policy(session, declaration, clock, purpose_id)
    judge = _judge(purpose, chosen, clock)
    if _scans(session, strategy, values, member):
        assert isinstance(values, Sequence)  # noqa: S101 - checked by _scans
        decisions, errors = scan_decisions(
            session,
            judge=judge,
            purpose_id=purpose.id,
            scopes=scopes_for(purpose),
            kind=member,
            values=values,
            master=master,
            chunk=chunk,
            default_country_code=default_country_code,
        )
        return _scanned(decisions, errors, values)
    return _stream(
        session,
        judge=judge,
        purpose=purpose,
        kind=member,
        values=values,
        master=master,
        chunk=chunk,
        default_country_code=default_country_code,
    )


def _scans(session: Session, strategy: Strategy, values: Iterable[str], kind: IdentityKind) -> bool:
    if strategy == "lookup":
        return False
    if not isinstance(values, Sequence) or isinstance(values, str):
        if strategy == "scan":
            raise InvalidInput(
                "values: a scan needs the values as a list; pass a list or use strategy='lookup'.",
                field="values",
            )
        return False
    if strategy == "scan":
        return True
    if len(values) < SCAN_MIN_VALUES:
        return False
    return len(values) * SCAN_SHARE >= identity_count(session, kind=kind.value)


def _scanned(
    decisions: list[Decision | None], errors: dict[int, str], values: Sequence[str]
) -> Iterator[BulkResult]:
    for position, value in enumerate(values):
        decision = decisions[position]
        if decision is None:
            yield BulkResult(position + 1, value, None, None, errors[position])
        else:
            yield BulkResult(position + 1, value, decision.allowed, decision.reason)


@dataclass(frozen=True, slots=True)
class _Chunk:
    """One chunk of input lines, normalised and blind-indexed, waiting for its decisions."""

    first_line: int
    values: list[str]
    indexes: list[str]
    errors: dict[int, str]


def _stream(
    session: Session,
    *,
    judge: Judge,
    purpose: Purpose,
    kind: IdentityKind,
    values: Iterable[str],
    master: MasterKey,
    chunk: int,
    default_country_code: str,
) -> Iterator[BulkResult]:
    """Decide chunk by chunk; the database lookup of one chunk overlaps the hashing of the next.

    The lookup runs on a helper thread only while this generator computes the
    next chunk, never while a result is handed out, so the caller's session is
    never used by two threads at once.
    """
    scopes = scopes_for(purpose)
    clean = batch_normalizer(kind, default_country_code=default_country_code)
    source = iter(values)

    def prepare(first_line: int) -> _Chunk | None:
        batch = list(islice(source, chunk))
        if not batch:
            return None
        normalized, errors = clean(batch)
        return _Chunk(first_line, batch, index_many(master, kind, normalized), errors)

    def decide(part: _Chunk) -> list[Decision]:
        return _decide_chunk(
            session,
            judge=judge,
            kind=kind.value,
            indexes=part.indexes,
            purpose=purpose,
            scopes=scopes,
        )

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="consent-lookup") as helper:
        current = prepare(1)
        while current is not None:
            pending = helper.submit(decide, current)
            following = prepare(current.first_line + len(current.values))
            yield from _results(current, pending.result())
            current = following


def _results(part: _Chunk, decisions: list[Decision]) -> Iterator[BulkResult]:
    answers = iter(decisions)
    errors = part.errors
    for offset, value in enumerate(part.values):
        number = part.first_line + offset
        if errors and offset in errors:
            yield BulkResult(number, value, None, None, errors[offset])
        else:
            decision = next(answers)
            yield BulkResult(number, value, decision.allowed, decision.reason)

"""The two statements behind every check of identities: state and suppression per chunk.

Both are plain SQL that SQLite and PostgreSQL read alike. The list of blind
indexes is bound as individual parameters; its length is rounded up to a few
fixed sizes (padding with an empty index no identity has). SQLAlchemy compiles
each size once per dialect; later calls hand the compiled SQL and the
parameters straight to the driver through the session's connection, because
building and checking thousands of bound parameters per call would cost more
than the lookup itself.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from sqlalchemy import Dialect, TextClause, bindparam, text
from sqlalchemy.orm import Session

from tutela.consent.models import ConsentState, Suppression
from tutela.consent.suppression import RESTRICTED
from tutela.storage.base import UTCDateTime
from tutela.subjects import Subject, SubjectIdentity

__all__ = [
    "Found",
    "SubjectFacts",
    "identity_count",
    "listed_indexes",
    "listed_subjects",
    "lookup",
    "lookup_subject",
    "scan_identities",
    "scan_states",
    "subject_range",
    "unpack_facts",
]

_PAD: Final = ""
_STEP: Final = 1024

_IDENTITIES = SubjectIdentity.__tablename__
_STATES = ConsentState.__tablename__
_SUPPRESSIONS = Suppression.__tablename__
_SUBJECTS = Subject.__tablename__

_STATE_SQL: Final = (
    "SELECT i.blind_index, s.status, s.notice_hash, "
    "CASE WHEN s.given_at IS NULL OR s.given_at < :expires_before THEN 1 ELSE 0 END, "
    "CASE WHEN s.confirmed_at IS NULL THEN 0 ELSE 1 END, "
    "COALESCE((SELECT MAX(CASE WHEN x.scope = :scope_r THEN 2 ELSE 1 END) "
    "FROM {identities} j JOIN {suppressions} x "
    "ON x.kind = j.kind AND x.blind_index = j.blind_index "
    "WHERE j.subject_id = i.subject_id AND x.scope IN (:scope_a, :scope_b, :scope_r)), 0) "
    "FROM {identities} i LEFT JOIN {states} s "
    "ON s.subject_id = i.subject_id AND s.purpose_id = :purpose "
    "WHERE i.kind = :kind AND i.blind_index IN ({binds})"
)
_SUBJECT_SQL: Final = (
    "SELECT CASE WHEN p.erased_at IS NULL THEN 0 ELSE 1 END, s.status, s.notice_hash, "
    "CASE WHEN s.given_at IS NULL OR s.given_at < :expires_before THEN 1 ELSE 0 END, "
    "CASE WHEN s.confirmed_at IS NULL THEN 0 ELSE 1 END, "
    "COALESCE((SELECT MAX(CASE WHEN x.scope = :scope_r THEN 2 ELSE 1 END) "
    "FROM {identities} j JOIN {suppressions} x "
    "ON x.kind = j.kind AND x.blind_index = j.blind_index "
    "WHERE j.subject_id = p.id AND x.scope IN (:scope_a, :scope_b, :scope_r)), 0) "
    "FROM {subjects} p LEFT JOIN {states} s "
    "ON s.subject_id = p.id AND s.purpose_id = :purpose "
    "WHERE p.id = :subject"
)
_SUPPRESSED_SQL: Final = (
    "SELECT blind_index, MAX(CASE WHEN scope = :scope_r THEN 2 ELSE 1 END) FROM {suppressions} "
    "WHERE kind = :kind AND scope IN (:scope_a, :scope_b, :scope_r) AND blind_index IN ({binds}) "
    "GROUP BY blind_index"
)
_COUNT_SQL: Final = "SELECT COUNT(*) FROM {identities} WHERE kind = :kind"
_IDENTITY_SCAN_SQL: Final = "SELECT blind_index, subject_id FROM {identities} WHERE kind = :kind"
_STATE_SCAN_SQL: Final = (
    "SELECT subject_id, "
    "COALESCE(status, '') || '|' || COALESCE(notice_hash, '') || '|' || "
    "CASE WHEN given_at IS NULL OR given_at < :expires_before THEN '1' ELSE '0' END || "
    "CASE WHEN confirmed_at IS NULL THEN '0' ELSE '1' END "
    "FROM {states} WHERE purpose_id = :purpose"
)
_SUBJECT_RANGE_SQL: Final = "SELECT COALESCE(MAX(id), 0), COUNT(*) FROM {subjects}"
_LISTED_SUBJECTS_SQL: Final = (
    "SELECT j.subject_id, MAX(CASE WHEN x.scope = :scope_r THEN 2 ELSE 1 END) "
    "FROM {suppressions} x JOIN {identities} j "
    "ON j.kind = x.kind AND j.blind_index = x.blind_index "
    "WHERE x.scope IN (:scope_a, :scope_b, :scope_r) GROUP BY j.subject_id"
)
_LISTED_INDEXES_SQL: Final = (
    "SELECT blind_index, MAX(CASE WHEN scope = :scope_r THEN 2 ELSE 1 END) FROM {suppressions} "
    "WHERE kind = :kind AND scope IN (:scope_a, :scope_b, :scope_r) GROUP BY blind_index"
)
_TABLES: Final = {
    "identities": _IDENTITIES,
    "states": _STATES,
    "suppressions": _SUPPRESSIONS,
    "subjects": _SUBJECTS,
}

Which = Literal[
    "state",
    "suppressed",
    "subject",
    "count",
    "identity_scan",
    "state_scan",
    "subject_range",
    "listed_subjects",
    "listed_indexes",
]
_TEMPLATES: Final = {
    "state": _STATE_SQL,
    "suppressed": _SUPPRESSED_SQL,
    "subject": _SUBJECT_SQL,
    "count": _COUNT_SQL,
    "identity_scan": _IDENTITY_SCAN_SQL,
    "state_scan": _STATE_SCAN_SQL,
    "subject_range": _SUBJECT_RANGE_SQL,
    "listed_subjects": _LISTED_SUBJECTS_SQL,
    "listed_indexes": _LISTED_INDEXES_SQL,
}
_SCAN_BATCH: Final = 10_000


@dataclass(frozen=True, slots=True)
class Found:
    """What the database holds for the blind indexes of one chunk."""

    rows: dict[str, tuple[str | None, str | None, int, int, int]]
    """index → (status, notice hash, expired, confirmed, suppressed) for known identities;
    suppressed is 2 for a restricted person, 1 for a listed one, else 0."""
    suppressed_unknown: frozenset[str]
    """Indexes no subject holds that are on the suppression list."""
    restricted_unknown: frozenset[str] = frozenset()
    """Those of them listed as restricted (Art. 18): every purpose is denied."""


@dataclass(frozen=True, slots=True)
class SubjectFacts:
    """What the database holds for one subject and purpose."""

    erased: bool
    row: tuple[str | None, str | None, int, int, int]
    """(status, notice hash, expired, confirmed, suppressed); status ``None``: no state."""


def _scopes(scopes: Sequence[str]) -> dict[str, str]:
    """The three scope parameters: two ordinary scopes and the restriction scope.

    ``scope_r`` is ``restricted`` when ``scopes`` names it (the suppressed flag is then 2
    for a restricted person), else an empty text no entry has.
    """
    plain = [scope for scope in scopes if scope != RESTRICTED] or [_PAD]
    restricted = RESTRICTED if RESTRICTED in scopes else _PAD
    return {"scope_a": plain[0], "scope_b": plain[-1], "scope_r": restricted}


def _size(count: int) -> int:
    """Round up to a power of two below ``_STEP``, else to a multiple of ``_STEP``."""
    if count <= _STEP:
        return 1 << max(count - 1, 0).bit_length()
    return -(-count // _STEP) * _STEP


@functools.lru_cache(maxsize=64)
def _names(size: int) -> tuple[str, ...]:
    return tuple(f"b{number}" for number in range(size))


def _clause(which: Which, size: int) -> TextClause:
    binds = ", ".join(f":{name}" for name in _names(size))
    template = _TEMPLATES[which]
    clause = text(template.format(binds=binds, **_TABLES))
    if ":expires_before" not in template:
        return clause
    return clause.bindparams(bindparam("expires_before", type_=UTCDateTime()))


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A statement compiled once for one dialect: its SQL and how to pass parameters.

    For positional parameter styles the indexes sit in one run between the
    fixed parameters, so a call builds one tuple without looking up names.
    """

    sql: str
    size: int
    before: tuple[str, ...] | None
    """Fixed parameter names ahead of the indexes (``None``: the style is named)."""
    after: tuple[str, ...]
    stamp: Callable[[Any], Any] | None
    """Turns a datetime into what the driver expects (``None``: passed as it is)."""

    def params(
        self, fixed: dict[str, Any], indexes: Sequence[str]
    ) -> tuple[Any, ...] | dict[str, Any]:
        if "expires_before" in fixed and self.stamp is not None:
            fixed = {**fixed, "expires_before": self.stamp(fixed["expires_before"])}
        padding = (_PAD,) * (self.size - len(indexes))
        if self.before is None:
            named = dict(fixed)
            named.update(zip(_names(self.size), (*indexes, *padding), strict=True))
            return named
        return (
            *(fixed[name] for name in self.before),
            *indexes,
            *padding,
            *(fixed[name] for name in self.after),
        )


@functools.lru_cache(maxsize=128)
def _prepare(dialect: Dialect, which: Which, size: int) -> _Prepared:
    compiled = _clause(which, size).compile(dialect=dialect)
    before: tuple[str, ...] | None = None
    after: tuple[str, ...] = ()
    if compiled.positional:
        order = list(compiled.positiontup or ())
        names = list(_names(size))
        start = order.index(names[0]) if names else len(order)
        if order[start : start + size] != names:  # pragma: no cover - a compiler change
            raise RuntimeError("the blind indexes are not bound in one run")
        before, after = tuple(order[:start]), tuple(order[start + size :])
    return _Prepared(
        sql=compiled.string,
        size=size,
        before=before,
        after=after,
        stamp=UTCDateTime().bind_processor(dialect),
    )


def _run(
    session: Session, which: Which, fixed: dict[str, Any], indexes: Sequence[str] = ()
) -> list[Any]:
    """Execute through the session's connection (events fire; nothing is compiled again)."""
    prepared = _prepare(session.get_bind().dialect, which, _size(len(indexes)) if indexes else 0)
    params = prepared.params(fixed, indexes)
    return list(session.connection().exec_driver_sql(prepared.sql, params).fetchall())


def lookup(
    session: Session,
    *,
    kind: str,
    indexes: Sequence[str],
    purpose_id: str,
    scopes: Sequence[str],
    expires_before: dt.datetime | None,
) -> Found:
    """State and suppression for distinct ``indexes`` of one ``kind``: at most two statements."""
    if not indexes:
        return Found(rows={}, suppressed_unknown=frozenset())
    bound = _scopes(scopes)
    fixed = {"kind": kind, "purpose": purpose_id, "expires_before": expires_before, **bound}
    rows = {
        row[0]: (row[1], row[2], row[3], row[4], row[5])
        for row in _run(session, "state", fixed, indexes)
    }
    unknown = [index for index in indexes if index not in rows]
    suppressed: frozenset[str] = frozenset()
    restricted: frozenset[str] = frozenset()
    if unknown:
        listed = _run(session, "suppressed", {"kind": kind, **bound}, unknown)
        suppressed = frozenset(row[0] for row in listed)
        restricted = frozenset(row[0] for row in listed if int(row[1]) == 2)
    return Found(rows=rows, suppressed_unknown=suppressed, restricted_unknown=restricted)


def lookup_subject(
    session: Session,
    *,
    subject_id: int,
    purpose_id: str,
    scopes: Sequence[str],
    expires_before: dt.datetime | None,
) -> SubjectFacts | None:
    """Erasure, state and suppression of one subject in one statement (``None``: no subject)."""
    fixed = {
        "subject": subject_id,
        "purpose": purpose_id,
        "expires_before": expires_before,
        **_scopes(scopes),
    }
    rows = _run(session, "subject", fixed)
    if not rows:
        return None
    found = rows[0]
    return SubjectFacts(
        erased=bool(found[0]), row=(found[1], found[2], found[3], found[4], found[5])
    )


def identity_count(session: Session, *, kind: str) -> int:
    """How many identities of ``kind`` there are."""
    return int(_run(session, "count", {"kind": kind})[0][0])


def listed_subjects(session: Session, *, scopes: Sequence[str]) -> dict[int, int]:
    """Subjects with any identity on the suppression list for one of ``scopes``, each with
    its flag: 2 when restricted, else 1."""
    rows = _run(session, "listed_subjects", _scopes(scopes))
    return {int(row[0]): int(row[1]) for row in rows}


def listed_indexes(session: Session, *, kind: str, scopes: Sequence[str]) -> dict[str, int]:
    """Blind indexes of ``kind`` on the suppression list for one of ``scopes``, each with
    its flag: 2 when restricted, else 1."""
    fixed = {"kind": kind, **_scopes(scopes)}
    return {str(row[0]): int(row[1]) for row in _run(session, "listed_indexes", fixed)}


def _batches(session: Session, which: Which, fixed: dict[str, Any]) -> Iterator[Sequence[Any]]:
    """The rows of a statement without bound indexes, in batches of driver rows."""
    prepared = _prepare(session.get_bind().dialect, which, 0)
    result = session.connection().exec_driver_sql(prepared.sql, prepared.params(fixed, ()))
    # Read the driver's rows directly (no per-row wrapping for a million rows); without
    # stream_results nothing is buffered in between.
    cursor = result.cursor
    try:
        while rows := cursor.fetchmany(_SCAN_BATCH):
            yield rows
    finally:
        result.close()


def scan_identities(session: Session, *, kind: str) -> Iterator[Sequence[Any]]:
    """Every identity of ``kind`` as (blind index, subject id), in batches (one statement)."""
    return _batches(session, "identity_scan", {"kind": kind})


def scan_states(
    session: Session, *, purpose_id: str, expires_before: dt.datetime | None
) -> Iterator[Sequence[Any]]:
    """Every state of the purpose as (subject id, facts), in batches (one statement).

    The facts are packed into one text ``status|notice hash|expired confirmed``
    (see :func:`unpack_facts`) so that the many rows sharing them are decided once.
    """
    fixed = {"purpose": purpose_id, "expires_before": expires_before}
    return _batches(session, "state_scan", fixed)


def subject_range(session: Session) -> tuple[int, int]:
    """(highest subject id, number of subjects)."""
    row = _run(session, "subject_range", {})[0]
    return int(row[0]), int(row[1])


def unpack_facts(facts: str) -> tuple[str | None, str | None, int, int]:
    """(status, notice hash, expired, confirmed) from the packed text of :func:`scan_states`."""
    status, notice, flags = facts.split("|")
    return status or None, notice or None, int(flags[0]), int(flags[1])

"""The bulk check for requests that cover much of the identity table: two ordered passes.

Looking up a million blind indexes one by one in a table of a million rows
touches a random page of each index for every value. When a request names at
least a quarter of all identities of its kind, reading the tables once and
matching them against the request in memory is several times faster:

1. while the request is normalised and blind-indexed, a helper thread reads
   the states of the purpose (and the suppressed subjects) into a table of one
   small code per subject id — the database work of that pass runs outside
   the interpreter lock, overlapping the hashing;
2. then the identities of the kind are read in one pass and each one the
   request names gets the decision of its subject's code.

The price is memory proportional to the request (about 300 bytes per value)
plus a byte per subject id, which is why it is only chosen for a request whose
size is known in advance.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from tutela.consent.lookup import (
    listed_indexes,
    listed_subjects,
    scan_identities,
    scan_states,
    subject_range,
    unpack_facts,
)
from tutela.consent.normalizer import batch_normalizer
from tutela.consent.rules import Decision, Judge
from tutela.crypto import MasterKey
from tutela.subjects import IdentityKind, index_many

__all__ = ["SCAN_MIN_VALUES", "SCAN_SHARE", "scan_decisions"]

SCAN_MIN_VALUES: Final = 50_000
"""Smaller requests are always answered by lookups."""
SCAN_SHARE: Final = 4
"""A request is scanned when it holds at least 1/SCAN_SHARE of the identities of its kind."""
_DENSE_MIN: Final = 1 << 20
"""Subject ids up to this (or up to 16 per subject) get a byte table instead of a mapping."""
_MAX_CODES: Final = 256


@dataclass(frozen=True, slots=True)
class _Subjects:
    """The decision for each subject of the purpose: a byte code per id, or a mapping."""

    choices: list[Decision]
    """Decision per code; code 0 is a known subject with nothing recorded."""
    codes: bytearray | None
    by_subject: dict[int, Decision] | None


def dense(highest: int, count: int) -> bool:
    """Whether subject ids up to ``highest`` (``count`` subjects) get a byte table."""
    return highest <= max(16 * count, _DENSE_MIN)


def _subjects(
    session: Session, *, judge: Judge, purpose_id: str, scopes: Sequence[str]
) -> _Subjects:
    """Read the states of the purpose and the suppressed subjects (two statements + one)."""
    highest, count = subject_range(session)
    if not dense(highest, count):
        return _mapped(session, judge=judge, purpose_id=purpose_id, scopes=scopes)
    nothing = judge.decide_row(None, None, 0, 0, 0)
    choices: list[Decision] = [nothing]
    code_of: dict[int, int] = {id(nothing): 0}
    by_facts: dict[str, int] = {}
    codes = bytearray(highest + 1)

    def code_for(decision: Decision) -> int | None:
        code = code_of.get(id(decision))
        if code is None and len(choices) < _MAX_CODES:
            code = code_of[id(decision)] = len(choices)
            choices.append(decision)
        return code

    for rows in scan_states(session, purpose_id=purpose_id, expires_before=judge.expires_before):
        for subject_id, facts in rows:
            code = by_facts.get(facts)
            if code is None:
                found = code_for(judge.decide_row(*unpack_facts(facts), 0))
                if found is None:  # more distinct decisions than a byte holds
                    return _mapped(session, judge=judge, purpose_id=purpose_id, scopes=scopes)
                code = by_facts[facts] = found
            if subject_id >= len(codes):  # newer than the range (PostgreSQL reads afresh)
                codes.extend(bytes(subject_id + 1 - len(codes)))
            codes[subject_id] = code
    listed = _listed(session, judge=judge, scopes=scopes)
    for decision, subject_ids in listed:
        code = code_for(decision)
        if code is None:
            return _mapped(session, judge=judge, purpose_id=purpose_id, scopes=scopes)
        newest = max(subject_ids)
        if newest >= len(codes):
            codes.extend(bytes(newest + 1 - len(codes)))
        for subject_id in subject_ids:
            codes[subject_id] = code
    return _Subjects(choices=choices, codes=codes, by_subject=None)


def _listed(
    session: Session, *, judge: Judge, scopes: Sequence[str]
) -> list[tuple[Decision, list[int]]]:
    """Listed subjects grouped by their decision (suppressed, or restricted)."""
    groups: dict[int, list[int]] = {}
    for subject_id, flag in listed_subjects(session, scopes=scopes).items():
        groups.setdefault(flag, []).append(subject_id)
    return [(judge.decide_row(None, None, 0, 0, flag), ids) for flag, ids in groups.items()]


def _mapped(session: Session, *, judge: Judge, purpose_id: str, scopes: Sequence[str]) -> _Subjects:
    """The same as a mapping from subject id to decision (for scattered ids)."""
    by_facts: dict[str, Decision] = {}
    by_subject: dict[int, Decision] = {}
    for rows in scan_states(session, purpose_id=purpose_id, expires_before=judge.expires_before):
        for subject_id, facts in rows:
            decision = by_facts.get(facts)
            if decision is None:
                decision = by_facts[facts] = judge.decide_row(*unpack_facts(facts), 0)
            by_subject[subject_id] = decision
    for decision, subject_ids in _listed(session, judge=judge, scopes=scopes):
        for subject_id in subject_ids:
            by_subject[subject_id] = decision
    nothing = judge.decide_row(None, None, 0, 0, 0)
    return _Subjects(choices=[nothing], codes=None, by_subject=by_subject)


def _prepare(
    values: Sequence[str],
    *,
    kind: IdentityKind,
    master: MasterKey,
    chunk: int,
    default_country_code: str,
) -> tuple[dict[str, int], list[tuple[int, int]], dict[int, str]]:
    """Index every value: first position per index, repeated positions, errors by position."""
    clean = batch_normalizer(kind, default_country_code=default_country_code)
    wanted: dict[str, int] = {}
    repeats: list[tuple[int, int]] = []
    errors: dict[int, str] = {}
    for start in range(0, len(values), chunk):
        batch = values[start : start + chunk]
        normalized, failed = clean(batch)
        indexes = index_many(master, kind, normalized)
        positions: Sequence[int] = range(start, start + len(batch))
        if failed:
            for offset, text in failed.items():
                errors[start + offset] = text
            positions = [start + o for o in range(len(batch)) if o not in failed]
        fresh = dict(zip(indexes, positions, strict=True))
        if len(fresh) == len(indexes) and not fresh.keys() & wanted.keys():
            wanted.update(fresh)
            continue
        for position, index in zip(positions, indexes, strict=True):
            first = wanted.setdefault(index, position)
            if first != position:
                repeats.append((position, first))
    return wanted, repeats, errors


def scan_decisions(
    session: Session,
    *,
    judge: Judge,
    purpose_id: str,
    scopes: Sequence[str],
    kind: IdentityKind,
    values: Sequence[str],
    master: MasterKey,
    chunk: int,
    default_country_code: str,
) -> tuple[list[Decision | None], dict[int, str]]:
    """A decision per position (``None`` where ``errors`` holds why the value is malformed).

    The helper thread is the only user of ``session`` until it has finished;
    the request is prepared meanwhile without touching the database.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="consent-scan") as helper:
        pending = helper.submit(
            _subjects, session, judge=judge, purpose_id=purpose_id, scopes=scopes
        )
        # Should this raise, leaving the block still waits for the helper to finish.
        wanted, repeats, errors = _prepare(
            values,
            kind=kind,
            master=master,
            chunk=chunk,
            default_country_code=default_country_code,
        )
        known = pending.result()
    decisions: list[Decision | None] = [None] * len(values)
    found = wanted.get
    choices, codes, by_subject = known.choices, known.codes, known.by_subject
    nothing = choices[0]
    for rows in scan_identities(session, kind=kind.value):
        if codes is not None:
            try:
                for index, subject_id in rows:
                    position = found(index)
                    if position is not None:
                        decisions[position] = choices[codes[subject_id]]
            except IndexError:  # a subject newer than the table (PostgreSQL reads per statement)
                limit = len(codes)
                for index, subject_id in rows:
                    position = found(index)
                    if position is not None:
                        code = codes[subject_id] if subject_id < limit else 0
                        decisions[position] = choices[code]
        else:
            assert by_subject is not None  # noqa: S101 - one of the two is always set
            decide = by_subject.get
            for index, subject_id in rows:
                position = found(index)
                if position is not None:
                    decisions[position] = decide(subject_id, nothing)
    listed = listed_indexes(session, kind=kind.value, scopes=scopes).get
    for index, position in wanted.items():
        if decisions[position] is None:
            decisions[position] = judge.unknown(suppressed=listed(index, 0))
    for position, first in repeats:
        decisions[position] = decisions[first]
    return decisions, errors

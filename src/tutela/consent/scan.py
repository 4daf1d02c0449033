"""The bulk check for requests that cover much of the identity table: one ordered pass.

Looking up a million blind indexes one by one in a table of a million rows
touches a random page of each index for every value. When a request names at
least a quarter of all identities of its kind, reading the whole table once
(identities joined to the state of the purpose) and matching it against the
request in memory is several times faster. The price is memory proportional
to the request (about 300 bytes per value), which is why it is only chosen
for a request whose size is known in advance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlalchemy.orm import Session

from tutela.consent.lookup import listed_indexes, listed_subjects, scan, unpack_facts
from tutela.consent.normalizer import batch_normalizer
from tutela.consent.rules import Decision, Judge
from tutela.crypto import MasterKey
from tutela.subjects import IdentityKind, index_many

__all__ = ["SCAN_MIN_VALUES", "SCAN_SHARE", "scan_decisions"]

SCAN_MIN_VALUES: Final = 50_000
"""Smaller requests are always answered by lookups."""
SCAN_SHARE: Final = 4
"""A request is scanned when it holds at least 1/SCAN_SHARE of the identities of its kind."""


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
    """A decision per position (``None`` where ``errors`` holds why the value is malformed)."""
    wanted, repeats, errors = _prepare(
        values, kind=kind, master=master, chunk=chunk, default_country_code=default_country_code
    )
    decisions: list[Decision | None] = [None] * len(values)
    subjects = listed_subjects(session, scopes=scopes)
    found = wanted.get
    suppressed = judge.decide_row(None, None, 0, 0, 1)
    known: dict[str, Decision] = {}
    for rows in scan(
        session, kind=kind.value, purpose_id=purpose_id, expires_before=judge.expires_before
    ):
        for index, subject_id, facts in rows:
            position = found(index)
            if position is None:
                continue
            if subject_id in subjects:
                decisions[position] = suppressed
                continue
            decision = known.get(facts)
            if decision is None:
                decision = known[facts] = judge.decide_row(*unpack_facts(facts), 0)
            decisions[position] = decision
    listed = listed_indexes(session, kind=kind.value, scopes=scopes)
    for index, position in wanted.items():
        if decisions[position] is None:
            decisions[position] = judge.unknown(suppressed=index in listed)
    for position, first in repeats:
        decisions[position] = decisions[first]
    return decisions, errors

"""The hash chain: canonical encodings, entry hashes and the in-order checker.

This module knows nothing about the database, so the same checker verifies the
stored trail and an exported JSON Lines file.

Entry hash (version 1): SHA-256 of the UTF-8 bytes of the compact JSON array
``["tutela-audit-v1", sequence, occurred_at, actor, action, target, reason,
payload_digest, prev_hash]``. JSON quoting makes the encoding unambiguous (no
separator can be smuggled into a field) and keeps ``reason`` = null apart from
an empty reason. ``occurred_at`` is UTC ISO 8601 with microseconds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64
HASH_VERSION = "tutela-audit-v1"


@dataclass(frozen=True, kw_only=True)
class VerifyResult:
    """Outcome of a chain check; ``first_bad_sequence`` names where it broke."""

    ok: bool
    checked: int
    first_bad_sequence: int | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class ChainRecord:
    """One entry as plain values, from a row or an exported line."""

    sequence: int
    occurred_at: str
    actor: str
    action: str
    target: str
    reason: str | None
    payload: str
    payload_digest: str
    prev_hash: str
    hash: str


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, no NaN: equal data gives equal text."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def timestamp_text(moment: dt.datetime) -> str:
    """The form of ``occurred_at`` that enters the hash."""
    if moment.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def entry_hash(
    *,
    sequence: int,
    occurred_at: str,
    actor: str,
    action: str,
    target: str,
    reason: str | None,
    payload_digest: str,
    prev_hash: str,
) -> str:
    encoded = json.dumps(
        [
            HASH_VERSION,
            sequence,
            occurred_at,
            actor,
            action,
            target,
            reason,
            payload_digest,
            prev_hash,
        ],
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return sha256_hex(encoded)


def record_hash(record: ChainRecord) -> str:
    return entry_hash(
        sequence=record.sequence,
        occurred_at=record.occurred_at,
        actor=record.actor,
        action=record.action,
        target=record.target,
        reason=record.reason,
        payload_digest=record.payload_digest,
        prev_hash=record.prev_hash,
    )


class ChainChecker:
    """Feed records in sequence order; the first problem found is kept.

    ``start`` is the sequence the first record must carry and ``prev_hash`` the
    hash it must link to (the genesis value for a whole chain).
    """

    def __init__(self, *, start: int = 1, prev_hash: str = GENESIS_HASH) -> None:
        self.expected = start
        self.prev_hash = prev_hash
        self.checked = 0
        self.bad_sequence: int | None = None
        self.problem = ""

    @property
    def failed(self) -> bool:
        return self.bad_sequence is not None

    @property
    def last_sequence(self) -> int:
        return self.expected - 1

    def fail(self, sequence: int, problem: str) -> None:
        if self.bad_sequence is None:
            self.bad_sequence = sequence
            self.problem = problem

    def feed(self, record: ChainRecord) -> bool:
        """Check one record; ``False`` once the chain is broken."""
        if self.failed:
            return False
        seq = record.sequence
        if seq > self.expected:
            self.fail(
                self.expected,
                f"entry {self.expected} is missing: the entry after {self.expected - 1} is {seq}",
            )
        elif seq < self.expected:
            self.fail(seq, f"entry {seq} appears out of order after entry {self.expected - 1}")
        elif record.prev_hash != self.prev_hash:
            self.fail(seq, f"entry {seq} does not link to the hash of entry {seq - 1}")
        elif sha256_hex(record.payload) != record.payload_digest:
            self.fail(seq, f"the payload of entry {seq} does not match its digest")
        elif record_hash(record) != record.hash:
            self.fail(seq, f"the content of entry {seq} does not match its hash")
        if self.failed:
            return False
        self.prev_hash = record.hash
        self.expected += 1
        self.checked += 1
        return True

    def check_head(self, *, last_sequence: int, last_hash: str) -> None:
        """Compare the end of the chain with an independently kept head."""
        mine = self.last_sequence
        if last_sequence > mine:
            self.fail(
                mine + 1,
                f"the chain ends at entry {mine} but the head records entry "
                f"{last_sequence}: entries at the end were removed",
            )
        elif last_sequence < mine:
            self.fail(
                last_sequence + 1,
                f"entries after {last_sequence} were added outside the trail "
                "(the head does not record them)",
            )
        elif last_hash != self.prev_hash:
            self.fail(mine, f"the head hash does not match the hash of entry {mine}")

    def result(self) -> VerifyResult:
        if self.failed:
            return VerifyResult(
                ok=False,
                checked=self.checked,
                first_bad_sequence=self.bad_sequence,
                reason=self.problem,
            )
        return VerifyResult(
            ok=True,
            checked=self.checked,
            first_bad_sequence=None,
            reason=f"{self.checked} entries verified",
        )

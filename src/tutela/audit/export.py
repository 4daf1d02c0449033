"""JSON Lines export of the trail, and its verification without the database.

Each line is one entry with keys in a fixed order: sequence, occurred_at,
actor, action, target, reason, payload, payload_digest, prev_hash, hash. The
payload is written as a JSON object; its digest is taken over its canonical
form, so an auditor can recompute every hash from the file alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any

from sqlalchemy.orm import Session

from tutela.audit.chain import (
    GENESIS_HASH,
    ChainChecker,
    ChainRecord,
    VerifyResult,
    canonical_json,
)
from tutela.audit.trail import stored_records
from tutela.errors import IntegrityError

FIELDS = (
    "sequence",
    "occurred_at",
    "actor",
    "action",
    "target",
    "reason",
    "payload",
    "payload_digest",
    "prev_hash",
    "hash",
)


def export_jsonl(session: Session, out: IO[str], *, since: int | None = None) -> int:
    """Write the entries after sequence ``since`` (or all) to ``out``; return the count.

    Keep the last exported sequence and pass it as ``since`` to export only what
    was added since then.
    """
    after = 0 if since is None else max(since, 0)
    count = 0
    while True:
        batch = stored_records(session, after=after)
        for record in batch:
            out.write(record_line(record) + "\n")
            count += 1
        if not batch:
            return count
        after = batch[-1].sequence


def record_line(record: ChainRecord) -> str:
    line: dict[str, Any] = {
        "sequence": record.sequence,
        "occurred_at": record.occurred_at,
        "actor": record.actor,
        "action": record.action,
        "target": record.target,
        "reason": record.reason,
        "payload": _payload_object(record),
        "payload_digest": record.payload_digest,
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


def _payload_object(record: ChainRecord) -> Any:
    try:
        return json.loads(record.payload)
    except json.JSONDecodeError as exc:
        raise IntegrityError(
            f"The payload of audit entry {record.sequence} is not JSON, so it cannot be "
            "exported; run `verify` on the trail and investigate the change."
        ) from exc


def verify_lines(lines: Iterable[str], *, head_hash: str | None = None) -> VerifyResult:
    """Verify an export offline.

    An export that starts at sequence 1 must link to the genesis hash; a partial
    one (made with ``since``) is checked from its first entry on, whose link to
    the entry before it is taken as given. Pass the published
    ``head_hash`` to also detect entries missing at the end.
    """
    checker: ChainChecker | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        expected = 1 if checker is None else checker.expected
        try:
            record = parse_line(line)
        except ValueError as exc:
            return VerifyResult(
                ok=False,
                checked=0 if checker is None else checker.checked,
                first_bad_sequence=expected,
                reason=f"line {number} cannot be read: {exc}",
            )
        if checker is None:
            start_hash = GENESIS_HASH if record.sequence == 1 else record.prev_hash
            checker = ChainChecker(start=record.sequence, prev_hash=start_hash)
        if not checker.feed(record):
            return checker.result()
    if checker is None:
        checker = ChainChecker()
    if head_hash is not None and head_hash != checker.prev_hash:
        checker.fail(
            checker.last_sequence + 1,
            f"the export ends at entry {checker.last_sequence} whose hash is not the "
            "expected head hash: entries at the end are missing or changed",
        )
    return checker.result()


def parse_line(line: str) -> ChainRecord:
    """One exported line as a record; ``ValueError`` names what is wrong."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    missing = [name for name in FIELDS if name not in data]
    if missing:
        raise ValueError(f"missing keys {', '.join(missing)}")
    texts = ("occurred_at", "actor", "action", "target", "payload_digest", "prev_hash", "hash")
    for name in texts:
        if not isinstance(data[name], str):
            raise ValueError(f"'{name}' must be text")
    if not isinstance(data["sequence"], int) or isinstance(data["sequence"], bool):
        raise ValueError("'sequence' must be a whole number")
    if data["reason"] is not None and not isinstance(data["reason"], str):
        raise ValueError("'reason' must be text or null")
    if not isinstance(data["payload"], dict):
        raise ValueError("'payload' must be a JSON object")
    return ChainRecord(
        sequence=data["sequence"],
        occurred_at=data["occurred_at"],
        actor=data["actor"],
        action=data["action"],
        target=data["target"],
        reason=data["reason"],
        payload=canonical_json(data["payload"]),
        payload_digest=data["payload_digest"],
        prev_hash=data["prev_hash"],
        hash=data["hash"],
    )

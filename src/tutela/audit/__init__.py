"""Append-only, hash-chained audit trail: emit events, verify the chain, export it.

Services never write audit rows themselves; they call :func:`emit` with a
:class:`DomainEvent` in the same transaction as the state change it records.
"""

from tutela.audit.chain import GENESIS_HASH, VerifyResult
from tutela.audit.events import DomainEvent
from tutela.audit.export import export_jsonl, verify_lines
from tutela.audit.models import AuditEntry
from tutela.audit.trail import ChainHead, emit, entries, head, verify

__all__ = [
    "GENESIS_HASH",
    "AuditEntry",
    "ChainHead",
    "DomainEvent",
    "VerifyResult",
    "emit",
    "entries",
    "export_jsonl",
    "head",
    "verify",
    "verify_lines",
]

"""Consent: the append-only ledger with proof, the current state, checks and receipts.

* :func:`record` appends a grant, confirmation, refusal, withdrawal, objection
  or expiry with its proof and updates the state in the same transaction;
  :func:`verify_ledger` checks the ledger's hash chain.
* :func:`check` and :func:`check_bulk` answer whether a purpose may be pursued
  for a person, with a stable reason code (:class:`Reason`), following the
  purpose's legal basis (:func:`decide`).
* An objection to direct marketing puts the person's addresses on the
  suppression list for good (:func:`suppress_address`, :func:`lift_suppression`).
* :func:`receipts` exports a person's records as ISO/IEC TS 27560-shaped JSON.
"""

from tutela.consent.batch import record_many
from tutela.consent.checks import BulkResult, check, check_bulk
from tutela.consent.declarations import CurrentPolicy, current_policy, policy_version, purpose_of
from tutela.consent.ledger import (
    LedgerItem,
    events_of,
    ledger_head,
    open_proof,
    record,
    verify_ledger,
)
from tutela.consent.models import ConsentEvent, ConsentLedgerHead, ConsentState, Suppression
from tutela.consent.network import truncate_ip
from tutela.consent.normalizer import normalizer
from tutela.consent.notice import current_notice_hashes, notice_hash
from tutela.consent.proof import Proof
from tutela.consent.receipts import receipts
from tutela.consent.rules import Decision, Judge, StateRow, decide, max_age_of
from tutela.consent.suppression import (
    is_suppressed,
    lift_suppression,
    scopes_for,
    suppress_address,
    suppress_subject,
)
from tutela.consent.terms import DIRECT_MARKETING, Action, Channel, Reason

__all__ = [
    "DIRECT_MARKETING",
    "Action",
    "BulkResult",
    "Channel",
    "ConsentEvent",
    "ConsentLedgerHead",
    "ConsentState",
    "CurrentPolicy",
    "Decision",
    "Judge",
    "LedgerItem",
    "Proof",
    "Reason",
    "StateRow",
    "Suppression",
    "check",
    "check_bulk",
    "current_notice_hashes",
    "current_policy",
    "decide",
    "events_of",
    "is_suppressed",
    "ledger_head",
    "lift_suppression",
    "max_age_of",
    "normalizer",
    "notice_hash",
    "open_proof",
    "policy_version",
    "purpose_of",
    "receipts",
    "record",
    "record_many",
    "scopes_for",
    "suppress_address",
    "suppress_subject",
    "truncate_ip",
    "verify_ledger",
]

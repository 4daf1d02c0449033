"""Data-subject requests: intake, verification, deadlines and the request workflow.

A request is stored without looking the person up (identical answers for known
and unknown people, V-6); a job then mails a one-time link to the channel on
file, or the neutral "no data held" answer. Deadlines follow Art. 12(3) GDPR and
the CCPA regulations; every step is an audit event on ``dsr:<id>``.

Job handlers live in :mod:`tutela.dsr.jobs` (importing it registers them).
"""

from tutela.dsr.assertion import Assertion, InvalidAssertion, sign_assertion, verify_assertion
from tutela.dsr.deadlines import Deadlines, deadlines_for, gdpr_deadline, gdpr_extension_limit
from tutela.dsr.envelope import Details, open_details, open_identity, shred
from tutela.dsr.intake import Receipt, controller_state, record_staff_entry, submit, submit_in_app
from tutela.dsr.models import DsrApproval, DsrRequest, DsrVerification
from tutela.dsr.notices import Directory, DsrRuntime, OnFile
from tutela.dsr.queue import Notice
from tutela.dsr.terms import (
    Assurance,
    Channel,
    Jurisdiction,
    Method,
    Outcome,
    RequestType,
    Scope,
    Status,
    jurisdiction_of,
    required_assurance,
)
from tutela.dsr.verification import (
    Lowering,
    UnknownVerification,
    consume_code,
    consume_link,
    lower_assurance,
    peek_link,
    request_code,
    verification_url,
)
from tutela.dsr.workflow import (
    DueRequest,
    complete,
    deny,
    due,
    expire_unverified,
    extend,
    get_request,
    start,
    timeline,
)

__all__ = [
    "Assertion",
    "Assurance",
    "Channel",
    "Deadlines",
    "Details",
    "Directory",
    "DsrApproval",
    "DsrRequest",
    "DsrRuntime",
    "DsrVerification",
    "DueRequest",
    "InvalidAssertion",
    "Jurisdiction",
    "Lowering",
    "Method",
    "Notice",
    "OnFile",
    "Outcome",
    "Receipt",
    "RequestType",
    "Scope",
    "Status",
    "UnknownVerification",
    "complete",
    "consume_code",
    "consume_link",
    "controller_state",
    "deadlines_for",
    "deny",
    "due",
    "expire_unverified",
    "extend",
    "gdpr_deadline",
    "gdpr_extension_limit",
    "get_request",
    "jurisdiction_of",
    "lower_assurance",
    "open_details",
    "open_identity",
    "peek_link",
    "record_staff_entry",
    "request_code",
    "required_assurance",
    "shred",
    "sign_assertion",
    "start",
    "submit",
    "submit_in_app",
    "timeline",
    "verification_url",
    "verify_assertion",
]

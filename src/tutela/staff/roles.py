"""Staff roles and what each role may do.

Three roles exist. ``admin`` runs the installation (staff accounts, API keys);
``dpo`` (the data protection officer) owns the declaration and the requests;
``support`` answers people and reads what the others publish; every role may
open a person's consent records (with a reason, see :mod:`tutela.staff.access`)
and record a withdrawal that reached staff; only the DPO and admins may lift a
suppression (putting an address back into reach of direct marketing). Every role sees
the queue of data-subject requests; the DPO and support handle them (deny, extend,
notes, staff entry); approving a lower required assurance (the second person of V-5)
is for the DPO and admins. The web layer
asks :func:`allows` before showing a page; services that change state call
:func:`require`.
"""

from __future__ import annotations

from enum import StrEnum

from tutela.errors import InvalidInput, PermissionDenied


class Role(StrEnum):
    ADMIN = "admin"
    DPO = "dpo"
    SUPPORT = "support"


class Permission(StrEnum):
    VIEW_VERSIONS = "view_versions"
    PUBLISH_VERSIONS = "publish_versions"
    VIEW_AUDIT = "view_audit"
    MANAGE_STAFF = "manage_staff"
    MANAGE_API_KEYS = "manage_api_keys"
    VIEW_CONSENT = "view_consent"
    OPEN_SUBJECT_RECORDS = "open_subject_records"
    RECORD_WITHDRAWALS = "record_withdrawals"
    LIFT_SUPPRESSIONS = "lift_suppressions"
    EXPORT_CONSENT_RECEIPTS = "export_consent_receipts"
    VIEW_REQUESTS = "view_requests"
    HANDLE_REQUESTS = "handle_requests"
    APPROVE_ASSURANCE = "approve_assurance"
    VIEW_PROCESSING_RECORD = "view_processing_record"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.DPO: frozenset(
        {
            Permission.VIEW_VERSIONS,
            Permission.PUBLISH_VERSIONS,
            Permission.VIEW_AUDIT,
            Permission.VIEW_CONSENT,
            Permission.OPEN_SUBJECT_RECORDS,
            Permission.RECORD_WITHDRAWALS,
            Permission.LIFT_SUPPRESSIONS,
            Permission.EXPORT_CONSENT_RECEIPTS,
            Permission.VIEW_REQUESTS,
            Permission.HANDLE_REQUESTS,
            Permission.APPROVE_ASSURANCE,
            Permission.VIEW_PROCESSING_RECORD,
        }
    ),
    Role.SUPPORT: frozenset(
        {
            Permission.VIEW_VERSIONS,
            Permission.VIEW_CONSENT,
            Permission.OPEN_SUBJECT_RECORDS,
            Permission.RECORD_WITHDRAWALS,
            Permission.VIEW_REQUESTS,
            Permission.HANDLE_REQUESTS,
        }
    ),
}


def parse_role(value: str) -> Role:
    """The role named ``value``, or InvalidInput naming the allowed roles."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InvalidInput(
            f"role: {value!r} is not a staff role; use one of {allowed}.", field="role"
        ) from None


def allows(role: Role | str, permission: Permission) -> bool:
    """Whether ``role`` may do ``permission`` (unknown roles may do nothing)."""
    try:
        return permission in GRANTS[Role(role)]
    except ValueError:
        return False


def require(role: Role | str, permission: Permission) -> None:
    """Raise PermissionDenied unless ``role`` may do ``permission``."""
    if not allows(role, permission):
        raise PermissionDenied(
            f"The role {role!s} may not {permission.value.replace('_', ' ')}; "
            "ask an administrator for a role that may.",
            permission=permission.value,
        )

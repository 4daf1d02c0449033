"""V-5: the required assurance of a request drops only with a second, different approver.

Support staff under pressure ("I lost access to that mailbox, just send it to my
new address") is how impostors get data. So the level computed by policy
(:func:`tutela.dsr.terms.required_assurance`) can be lowered only by two active
staff members, one asking and another approving, one of the two a DPO or admin;
both steps and their reason are in the audit trail, and the approval is a row of
its own (``dsr_approvals``) that the database refuses to hold with one person twice.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.clock import Clock
from tutela.dsr.events import AssuranceLowered, AssuranceLoweringRequested
from tutela.dsr.models import DsrApproval, DsrRequest
from tutela.dsr.terms import Assurance, Method, Status
from tutela.dsr.workflow import mark_verified
from tutela.errors import Conflict, InvalidInput, PermissionDenied
from tutela.staff.models import StaffUser

__all__ = ["Lowering", "lower_assurance"]

_DECIDERS: Final = frozenset({"dpo", "admin"})


class Lowering(StrEnum):
    """What a call of :func:`lower_assurance` did."""

    PENDING = "pending"
    APPLIED = "applied"


def _staff(session: Session, staff_id: int) -> StaffUser:
    staff = session.get(StaffUser, staff_id)
    if staff is None or not staff.active:
        raise PermissionDenied(
            f"staff_id: there is no active staff member {staff_id}; sign in with an active "
            "account.",
            field="staff_id",
        )
    return staff


def lower_assurance(
    session: Session,
    *,
    request: DsrRequest,
    to: Assurance | str,
    reason: str,
    staff_id: int,
    clock: Clock,
) -> Lowering:
    """Ask for, or approve, a lower required assurance for ``request`` (V-5).

    The first call records the wish (``pending``); the same call by a *different*
    active staff member applies it (``applied``); one of the two must be a DPO or
    admin. The asker may change a pending wish by calling again. Lowered to
    ``none``, a request waiting for verification becomes ``verified``
    (method ``staff_approval``).
    """
    target = Assurance(to)
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(
            "reason: say why the usual verification cannot be used and how the person was "
            "identified instead.",
            field="reason",
        )
    if not request.is_open:
        raise Conflict(
            f"request {request.reference}: it is closed ({request.status}); nothing to lower.",
            reference=request.reference,
        )
    current = Assurance(request.required_assurance)
    if target.rank >= current.rank:
        raise InvalidInput(
            f"to: the request needs {current.value}; choose a lower level than that.", field="to"
        )
    staff = _staff(session, staff_id)
    pending = session.scalars(
        select(DsrApproval)
        .where(DsrApproval.request_id == request.id, DsrApproval.approved_by.is_(None))
        .order_by(DsrApproval.id.desc())
        .limit(1)
        .with_for_update()
    ).one_or_none()
    now = clock.now()
    if pending is None or pending.requested_by == staff.id:
        if pending is not None and pending.to_level == target.value:
            raise Conflict(
                f"request {request.reference}: you asked for this already; a second, different "
                "staff member must approve it.",
                reference=request.reference,
            )
        if pending is None:
            pending = DsrApproval(request_id=request.id, requested_by=staff.id)
            session.add(pending)
        pending.from_level, pending.to_level = current.value, target.value
        pending.reason, pending.requested_at = text, now
        session.flush()
        asked = AssuranceLoweringRequested(
            request_id=request.id,
            approval_id=pending.id,
            staff_id=staff.id,
            from_level=current.value,
            to_level=target.value,
        )
        emit(session, asked, actor=f"staff:{staff.id}", clock=clock, reason=text)
        return Lowering.PENDING
    if pending.to_level != target.value or pending.from_level != current.value:
        raise Conflict(
            f"request {request.reference}: staff:{pending.requested_by} asked to lower "
            f"{pending.from_level} to {pending.to_level}; approve exactly that, or ask them to "
            "change it.",
            reference=request.reference,
        )
    asker = _staff(session, pending.requested_by)
    if asker.role not in _DECIDERS and staff.role not in _DECIDERS:
        raise PermissionDenied(
            "staff_id: one of the two people lowering an assurance level must be a DPO or an "
            "admin; ask one of them to approve.",
            field="staff_id",
        )
    pending.approved_by, pending.approved_at = staff.id, now
    request.required_assurance = target.value
    actor = f"staff:{staff.id}"
    lowered = AssuranceLowered(
        request_id=request.id,
        approval_id=pending.id,
        requested_by=pending.requested_by,
        approved_by=staff.id,
        from_level=current.value,
        to_level=target.value,
    )
    emit(session, lowered, actor=actor, clock=clock, reason=text)
    waiting = (Status.RECEIVED.value, Status.AWAITING_VERIFICATION.value)
    if target is Assurance.NONE and request.status in waiting:
        mark_verified(
            session, request=request, method=Method.STAFF_APPROVAL, actor=actor, clock=clock
        )
    return Lowering.APPLIED

"""V-5 on both databases: lowering the required assurance needs two different people."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.dsr.harness import KNOWN, load
from tutela.audit import entries
from tutela.clock import FrozenClock
from tutela.dsr import DsrApproval, Lowering, Receipt, get_request, lower_assurance
from tutela.errors import Conflict, InvalidInput, PermissionDenied
from tutela.storage import transaction


def actions(factory: sessionmaker[Session], request_id: int) -> list[str]:
    with factory() as session:
        found = entries(session, target=f"dsr:{request_id}")
        return [entry.action for entry in sorted(found, key=lambda e: e.sequence)]


@pytest.mark.promise("P16")
def test_lowering_assurance_needs_two_different_people(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    staff: Callable[[str], int],
    clock: FrozenClock,
) -> None:
    reference = file_request("K-0001", "access", kind="customer_id").reference
    first, second, dpo = staff("support"), staff("support"), staff("dpo")

    def lower(staff_id: int, to: str = "none") -> Lowering:
        with transaction(session_factory) as session:
            request = get_request(session, reference=reference)
            return lower_assurance(
                session,
                request=request,
                to=to,
                reason="Customer came to the shop with the contract",
                staff_id=staff_id,
                clock=clock,
            )

    assert lower(first) is Lowering.PENDING
    with pytest.raises(Conflict, match="second, different staff member"):
        lower(first)
    with pytest.raises(PermissionDenied, match="DPO or an admin"):
        lower(second)
    assert lower(dpo) is Lowering.APPLIED
    request = load(session_factory, reference)
    assert request.required_assurance == "none"
    assert request.status == "verified"
    assert request.verification_method == "staff_approval"
    with session_factory() as session:
        [approval] = session.scalars(select(DsrApproval)).all()
        assert (approval.requested_by, approval.approved_by) == (first, dpo)
    assert actions(session_factory, request.id) == [
        "dsr.received",
        "dsr.assurance_lowering_requested",
        "dsr.assurance_lowered",
        "dsr.verified",
    ]


def test_the_approver_must_approve_the_level_asked_for(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    staff: Callable[[str], int],
    clock: FrozenClock,
) -> None:
    reference = file_request(KNOWN, "erasure").reference
    asker, dpo = staff("support"), staff("dpo")
    for staff_id, to in ((asker, "channel"), (asker, "none")):  # the asker may change the wish
        with transaction(session_factory) as session:
            request = get_request(session, reference=reference)
            lower_assurance(
                session,
                request=request,
                to=to,
                reason="lost mailbox",
                staff_id=staff_id,
                clock=clock,
            )
    with transaction(session_factory) as session:
        request = get_request(session, reference=reference)
        with pytest.raises(Conflict, match="approve exactly that"):
            lower_assurance(
                session, request=request, to="channel", reason="ok", staff_id=dpo, clock=clock
            )
    with session_factory() as session:
        [approval] = session.scalars(select(DsrApproval)).all()
        assert (approval.to_level, approval.approved_by) == ("none", None)


def test_lowering_refuses_a_level_that_is_not_lower(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    staff: Callable[[str], int],
    clock: FrozenClock,
) -> None:
    reference = file_request(KNOWN, "access").reference
    dpo = staff("dpo")
    with transaction(session_factory) as session:
        request = get_request(session, reference=reference)
        with pytest.raises(InvalidInput, match="lower level"):
            lower_assurance(
                session, request=request, to="channel", reason="x", staff_id=dpo, clock=clock
            )
        with pytest.raises(InvalidInput, match="reason"):
            lower_assurance(
                session, request=request, to="none", reason=" ", staff_id=dpo, clock=clock
            )
        with pytest.raises(PermissionDenied):
            lower_assurance(
                session, request=request, to="none", reason="x", staff_id=999, clock=clock
            )

"""Which role may do what."""

from __future__ import annotations

import pytest

from tutela.errors import InvalidInput, PermissionDenied
from tutela.staff.roles import Permission, Role, allows, parse_role, require


@pytest.mark.promise("P19")
@pytest.mark.parametrize("role", list(Role))
def test_every_role_may_view_versions(role: Role) -> None:
    assert allows(role, Permission.VIEW_VERSIONS)


@pytest.mark.promise("P19")
def test_only_admins_manage_staff_and_keys() -> None:
    for permission in (Permission.MANAGE_STAFF, Permission.MANAGE_API_KEYS):
        assert allows(Role.ADMIN, permission)
        assert not allows(Role.DPO, permission)
        assert not allows(Role.SUPPORT, permission)
    with pytest.raises(PermissionDenied, match="support may not manage staff"):
        require("support", Permission.MANAGE_STAFF)


def test_unknown_roles_may_do_nothing() -> None:
    assert not any(allows("root", p) for p in Permission)


def test_parse_role_names_the_choices() -> None:
    assert parse_role(" DPO ") is Role.DPO
    with pytest.raises(InvalidInput, match="admin, dpo, support"):
        parse_role("owner")


@pytest.mark.promise("P19")
def test_support_may_list_but_not_lift_a_suppression() -> None:
    assert allows(Role.SUPPORT, Permission.RECORD_WITHDRAWALS)
    assert not allows(Role.SUPPORT, Permission.LIFT_SUPPRESSIONS)
    assert allows(Role.DPO, Permission.LIFT_SUPPRESSIONS)
    assert allows(Role.ADMIN, Permission.LIFT_SUPPRESSIONS)

"""V-3: the assurance each request type needs, and the vocabularies."""

from __future__ import annotations

import pytest

from tutela.dsr.terms import (
    Assurance,
    Jurisdiction,
    RequestType,
    Scope,
    jurisdiction_of,
    parse_request_type,
    required_assurance,
)
from tutela.errors import InvalidInput


@pytest.mark.promise("P16")
@pytest.mark.parametrize(
    ("request_type", "scope", "expected"),
    [
        ("access", None, Assurance.CHANNEL),
        ("portability", None, Assurance.CHANNEL),
        ("know", None, Assurance.CHANNEL),
        ("restriction", None, Assurance.CHANNEL),
        ("rectification", None, Assurance.CHANNEL),
        ("rectification", "contact_data", Assurance.CHANNEL_AND_NOTICE),
        ("correct", "contact_data", Assurance.CHANNEL_AND_NOTICE),
        ("erasure", None, Assurance.CHANNEL_AND_NOTICE),
        ("delete", None, Assurance.CHANNEL_AND_NOTICE),
        ("objection", "marketing", Assurance.NONE),
        ("objection", None, Assurance.CHANNEL),
        ("consent_withdrawal", "marketing", Assurance.NONE),
        ("consent_withdrawal", "general", Assurance.CHANNEL),
        ("opt_out_sale_share", None, Assurance.NONE),
        ("limit_sensitive", None, Assurance.NONE),
    ],
)
def test_required_assurance_follows_v3(
    request_type: str, scope: str | None, expected: Assurance
) -> None:
    assert required_assurance(request_type, scope) is expected


def test_every_type_has_a_level_and_a_jurisdiction() -> None:
    ccpa = {"know", "delete", "correct", "opt_out_sale_share", "limit_sensitive"}
    for kind in RequestType:
        assert required_assurance(kind) in set(Assurance)
        expected = Jurisdiction.CCPA if kind.value in ccpa else Jurisdiction.GDPR
        assert jurisdiction_of(kind) is expected


def test_levels_are_ordered() -> None:
    assert Assurance.NONE.rank < Assurance.CHANNEL.rank < Assurance.CHANNEL_AND_NOTICE.rank


@pytest.mark.parametrize(
    ("request_type", "scope", "field"),
    [
        ("access", "marketing", "scope"),
        ("erasure", "contact_data", "scope"),
        ("access", "everything", "scope"),
        ("teleport", None, "request_type"),
    ],
)
def test_unfit_scopes_and_unknown_types_are_refused(
    request_type: str, scope: str | None, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        required_assurance(request_type, scope)
    assert caught.value.extra["field"] == field
    assert "use" in caught.value.detail


def test_parse_names_the_choices() -> None:
    with pytest.raises(InvalidInput, match="access, portability"):
        parse_request_type("copy")
    assert Scope("marketing") is Scope.MARKETING

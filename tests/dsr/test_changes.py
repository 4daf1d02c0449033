"""The new values of a rectification: references, limits, the form's lines, clear refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutela.dsr.changes import (
    MAX_CHANGES,
    changes_from_lines,
    check_changes,
    details_of,
    looks_like_contact,
    scope_for_changes,
)
from tutela.dsr.terms import RequestType, Scope
from tutela.errors import InvalidInput

SECRET = "+49 151 2345678"


def test_changes_are_trimmed_and_kept() -> None:
    checked = check_changes(
        RequestType.RECTIFICATION,
        {" customers.phone ": f"  {SECRET} ", "user.name.last": "Beispiel"},
    )
    assert checked == {"customers.phone": SECRET, "user.name.last": "Beispiel"}
    assert check_changes(RequestType.CORRECT, {"crm.contacts.city": "Köln"}) == {
        "crm.contacts.city": "Köln"
    }
    assert check_changes(RequestType.ACCESS, None) is None
    assert check_changes(RequestType.ACCESS, {}) is None


@pytest.mark.parametrize(
    ("request_type", "changes", "message"),
    [
        (RequestType.ACCESS, {"customers.phone": SECRET}, "not to access"),
        (RequestType.ERASURE, {"customers.phone": SECRET}, "rectification or correction"),
        (
            RequestType.RECTIFICATION,
            {f"t.c{i}": SECRET for i in range(MAX_CHANGES + 1)},
            "at most 20 fields",
        ),
        (RequestType.RECTIFICATION, {"phone": SECRET}, "table.column"),
        (RequestType.RECTIFICATION, {"customers.": SECRET}, "table.column"),
        (RequestType.RECTIFICATION, {"customers.phone number": SECRET}, "table.column"),
        (RequestType.RECTIFICATION, {"t." + "c" * 119: SECRET}, "at most 120 characters"),
        (RequestType.RECTIFICATION, {"customers.phone": "   "}, "is empty"),
        (RequestType.RECTIFICATION, {"customers.phone": "9" * 501}, "longer than 500"),
        (RequestType.RECTIFICATION, {"customers.phone": f"{SECRET}\nx"}, "on one line"),
        (RequestType.RECTIFICATION, {"customers.phone": 4930}, "is empty"),
        (RequestType.RECTIFICATION, {"a.b": "x", " a.b": "y"}, "named twice"),
        (RequestType.RECTIFICATION, [("a.b", "x")], "give an object"),
    ],
)
def test_bad_changes_name_the_field_and_the_rule_but_never_the_value(
    request_type: RequestType, changes: object, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_changes(request_type, changes)  # type: ignore[arg-type]
    assert caught.value.extra["field"] == "changes"
    assert caught.value.detail.startswith("changes: ")
    assert message in caught.value.detail
    assert SECRET not in caught.value.detail


def test_the_form_lines_become_changes() -> None:
    text = (
        f"customers.phone: {SECRET}\n\n  user.contact.address.street : Hauptstr. 1: Hinterhaus \n"
    )
    assert changes_from_lines(text) == {
        "customers.phone": f" {SECRET}",
        "user.contact.address.street": " Hauptstr. 1: Hinterhaus ",
    }
    assert changes_from_lines("") is None
    assert changes_from_lines(" \n\n") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"customers.phone {SECRET}", "line 1 has no colon"),
        (f"a.b: x\ncustomers.phone {SECRET}", "line 2 has no colon"),
        ("a.b: x\n\na.b: y", "named twice (line 3)"),
        ("\n".join(f"t.c{i}: x" for i in range(MAX_CHANGES + 1)), "at most 20 fields"),
    ],
)
def test_bad_form_lines_say_which_line(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        changes_from_lines(text)
    assert caught.value.extra["field"] == "changes"
    assert message in caught.value.detail
    assert SECRET not in caught.value.detail


NAME = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
REFERENCE = st.lists(NAME, min_size=2, max_size=4).map(".".join)
VALUE = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=80
).filter(lambda value: value.strip() != "" and value.strip() == value and "\x85" not in value)


@given(changes=st.dictionaries(REFERENCE, VALUE, max_size=MAX_CHANGES))
def test_written_lines_read_back_as_the_same_changes(changes: dict[str, str]) -> None:
    text = "\n".join(f"{reference}: {value}" for reference, value in changes.items())
    parsed = changes_from_lines(text)
    assert check_changes(RequestType.RECTIFICATION, parsed) == (changes or None)


@pytest.mark.parametrize(
    "reference",
    [
        "user.contact.email",
        "user.contact",  # the bare category is contact data too
        "user.contact.address.street",
        "customers.email",
        "customers.phone",
        "crm.mobilePhone",
        "crm.contact_email",
        "kunden.strasse",
        "addresses.postal_code",
        "users.phonenumber",  # words run together
        "users.mobilenumber",
        "kunden.telefonnummer",
        "crm.emailadresse",
        "orders.mailbox_size",  # a false alarm costs one alert more, never one fewer
    ],
)
def test_a_change_of_contact_data_raises_the_scope(reference: str) -> None:
    assert looks_like_contact(reference)
    assert scope_for_changes(Scope.GENERAL, {"user.name.last": "B", reference: "x"}) is (
        Scope.CONTACT_DATA
    )


@pytest.mark.parametrize(
    "reference",
    ["user.name.last", "customers.last_name", "user.contactless_payment", "orders.total"],
)
def test_other_changes_keep_the_scope(reference: str) -> None:
    assert not looks_like_contact(reference)
    assert scope_for_changes(Scope.GENERAL, {reference: "B"}) is Scope.GENERAL
    assert scope_for_changes(Scope.GENERAL, None) is Scope.GENERAL


@given(
    scope=st.sampled_from(list(Scope)),
    changes=st.dictionaries(REFERENCE, st.just("x"), max_size=MAX_CHANGES),
)
def test_the_scope_is_only_ever_raised_to_contact_data(
    scope: Scope, changes: dict[str, str]
) -> None:
    raised = scope_for_changes(scope, changes)
    assert raised is scope or (scope is Scope.GENERAL and raised is Scope.CONTACT_DATA)
    assert (raised is Scope.CONTACT_DATA) is (
        scope is Scope.CONTACT_DATA
        or (scope is Scope.GENERAL and any(map(looks_like_contact, changes)))
    )


def test_details_carry_the_changes() -> None:
    details = details_of(text=None, contact=None, changes={"a.b": "c"})
    assert details is not None
    assert details.changes == {"a.b": "c"}
    assert details_of(text=" ", contact=None) is None
    with pytest.raises(InvalidInput) as caught:
        details_of(text="x" * 10_001, contact=None)
    assert caught.value.extra["field"] == "text"

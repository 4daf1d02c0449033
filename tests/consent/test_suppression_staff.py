"""Staff entries on the suppression list: reasons, scopes, look-ups and masked addresses."""

from __future__ import annotations

import json
import string
from collections.abc import Callable

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from tutela.audit import entries
from tutela.clock import FrozenClock
from tutela.consent.models import Suppression
from tutela.consent.staff_text import staff_reason
from tutela.consent.suppression import (
    MAX_STAFF_REASON,
    STAFF_ENTRY,
    Listing,
    check_scope,
    lift_suppression,
    listing_of,
    masked,
    scope_choices,
    suppress_address,
)
from tutela.crypto import MasterKey
from tutela.errors import InvalidInput
from tutela.policy.models import Declaration
from tutela.subjects import Subject, add_identity, normalize

Person = Callable[..., Subject]
ALNUM = string.ascii_letters + string.digits


def test_scope_choices_follow_the_declaration(declaration: Declaration) -> None:
    choices = scope_choices(declaration)
    assert choices[0] == "direct_marketing"
    assert {"newsletter", "similar_offers", "leads"} <= set(choices)
    assert "contract" not in choices  # a contract is not something one is listed against
    assert scope_choices(None) == ("direct_marketing",)
    assert check_scope(" newsletter ", choices=choices) == "newsletter"
    with pytest.raises(InvalidInput) as caught:
        check_scope("contract", choices=choices)
    assert caught.value.extra["field"] == "scope"
    assert "'contract' is not a suppression scope; use one of direct_marketing," in str(
        caught.value
    )


@pytest.mark.promise("P05")
def test_a_staff_entry_keeps_its_reason_in_the_trail_only(
    session: Session, master: MasterKey, clock: FrozenClock
) -> None:
    with session.begin():
        assert suppress_address(
            session,
            kind="phone",
            value="0151 2345678",
            master=master,
            clock=clock,
            actor="staff:2",
            reason="  asked by phone,\n ticket 9 ",
        )
    with session.begin():
        [row] = session.scalars(select(Suppression))
        [entry] = entries(session, action="consent.suppressed")
    assert (row.kind, row.scope, row.reason) == ("phone", "direct_marketing", STAFF_ENTRY)
    assert entry.reason == "asked by phone, ticket 9"
    assert json.loads(entry.payload) == {
        "subject_id": None,
        "scope": "direct_marketing",
        "kinds": ["phone"],
        "added": 1,
    }
    assert "2345678" not in entry.payload + entry.target


@pytest.mark.parametrize(
    ("reason", "issue"),
    [
        ("call from ben@example.org", "address"),
        ("BEN@EXAMPLE.ORG wants mail again", "address"),
        ("x" * (MAX_STAFF_REASON + 1), "too_long"),
        (" \n ", "missing"),
    ],
)
def test_a_lift_reason_must_be_usable_and_never_the_address(
    session: Session, master: MasterKey, clock: FrozenClock, reason: str, issue: str
) -> None:
    with session.begin():
        suppress_address(
            session, kind="email", value="ben@example.org", master=master, clock=clock, actor="t"
        )
    with session.begin(), pytest.raises(InvalidInput) as caught:
        lift_suppression(
            session,
            kind="email",
            value="Ben@Example.org",
            master=master,
            clock=clock,
            actor="staff:1",
            reason=reason,
        )
    assert (caught.value.extra["field"], caught.value.extra["issue"]) == ("reason", issue)
    with session.begin():
        assert len(list(session.scalars(select(Suppression)))) == 1
        assert entries(session, action="consent.suppression_lifted") == []


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        ("phone", "+49 151 2345678", "called from 0151 2345678"),
        ("phone", "+49 151 2345678", "called from (0151) 234-56-78"),
        ("phone", "0151 2345678", "called from +49 151 23456 78"),
        ("phone", "0151 2345678", "called from 0049 1512345678"),
        ("email", "anna.beispiel@example.org", "letter from anna.beispiel, ticket 9"),
        ("email", "anna.beispiel+news@example.org", "Anna Beispiel wrote, ticket 9"),
        ("email", "Anna.Beispiel@Example.org", "ANNA.BEISPIEL+NEWS asked"),
    ],
)
@pytest.mark.promise("P05")
def test_a_reason_may_not_repeat_the_address_in_another_spelling(
    session: Session, master: MasterKey, clock: FrozenClock, kind: str, value: str, reason: str
) -> None:
    with session.begin(), pytest.raises(InvalidInput) as caught:
        suppress_address(
            session, kind=kind, value=value, master=master, clock=clock, actor="t", reason=reason
        )
    assert (caught.value.extra["field"], caught.value.extra["issue"]) == ("reason", "address")
    with session.begin():
        assert list(session.scalars(select(Suppression))) == []
        assert entries(session, action="consent.suppressed") == []
        assert suppress_address(
            session,
            kind=kind,
            value=value,
            master=master,
            clock=clock,
            actor="t",
            reason="asked by phone, ticket 9",  # a reason without the address is taken
        )


SEPARATORS = st.text(alphabet=" -/.()", max_size=2)


@given(
    area=st.text(alphabet=string.digits, min_size=2, max_size=4),
    line=st.text(alphabet=string.digits, min_size=5, max_size=8),
    gaps=st.tuples(SEPARATORS, SEPARATORS),
    typed_national=st.booleans(),
)
def test_a_german_number_is_found_in_a_reason_in_either_format(
    area: str, line: str, gaps: tuple[str, str], typed_national: bool
) -> None:
    national = f"0{'1' + area}{gaps[0]}{line}"
    international = f"+49{gaps[1]}{'1' + area}{gaps[0]}{line}"
    typed, said = (national, international) if typed_national else (international, national)
    normalized = normalize("phone", typed)
    assert normalize("phone", said) == normalized
    with pytest.raises(InvalidInput) as caught:
        staff_reason(f"ticket 7: {said} called", value=typed, normalized=normalized, required=True)
    assert caught.value.extra["issue"] == "address"


@given(
    local=st.text(alphabet=string.ascii_lowercase + string.digits, min_size=6, max_size=30),
    tag=st.sampled_from(["", "+news", "+2026"]),
    domain=st.sampled_from(["example.org", "mail.example.net"]),
)
def test_the_part_before_the_at_is_found_in_a_reason(local: str, tag: str, domain: str) -> None:
    assume(local not in "perletterticket7")  # the reason accepted below
    value = f"{local}{tag}@{domain}"
    normalized = normalize("email", value)
    for said in (local, local.upper(), f"{local}{tag}"):
        with pytest.raises(InvalidInput):
            staff_reason(f"per {said}; ticket 7", value=value, normalized=normalized, required=True)
    assert (
        staff_reason("per letter; ticket 7", value=value, normalized=normalized, required=True)
        == "per letter; ticket 7"
    )


def test_listing_names_own_scopes_and_those_of_the_person(
    session: Session, master: MasterKey, clock: FrozenClock, person: Person
) -> None:
    anna = person("anna@example.org")
    with session.begin():
        add_identity(
            session,
            subject=anna,
            kind="customer_id",
            value="K-1001",
            master=master,
            clock=clock,
            actor="t",
        )
        for scope in ("newsletter", "direct_marketing"):
            suppress_address(
                session,
                kind="email",
                value="anna@example.org",
                scope=scope,
                master=master,
                clock=clock,
                actor="t",
            )
        suppress_address(
            session, kind="customer_id", value="K-1001", master=master, clock=clock, actor="t"
        )
    with session.begin():
        email = listing_of(session, kind="email", value="ANNA@example.org", master=master)
        customer = listing_of(session, kind="customer_id", value=" K-1001 ", master=master)
        stranger = listing_of(session, kind="email", value="zoe@example.org", master=master)
    assert email == Listing(
        own=("direct_marketing", "newsletter"), through_person=("direct_marketing",)
    )
    assert customer == Listing(
        own=("direct_marketing",), through_person=("direct_marketing", "newsletter")
    )
    assert stranger == Listing(own=(), through_person=())
    assert email.listed
    assert not stranger.listed


def test_phone_numbers_use_the_country_code_given(
    session: Session, master: MasterKey, clock: FrozenClock
) -> None:
    with session.begin():
        suppress_address(
            session,
            kind="phone",
            value="01 23 45 67 89",
            master=master,
            clock=clock,
            actor="t",
            default_country_code="33",
        )
    with session.begin():
        french = listing_of(session, kind="phone", value="+33 1 23 45 67 89", master=master)
        german = listing_of(session, kind="phone", value="+49 1 23 45 67 89", master=master)
    assert (french.listed, german.listed) == (True, False)


def test_masked_examples() -> None:
    assert masked("email", " Anna.Muster@Example.org") == "a***@example.org"
    assert masked("phone", "0151 2345678") == "+49***78"
    assert masked("customer_id", "K-100234") == "K***4"
    assert masked("customer_id", "K-12") == "***"
    with pytest.raises(InvalidInput) as caught:
        masked("email", "not an address")
    assert caught.value.extra["field"] == "email"


@given(
    local=st.text(alphabet=ALNUM, min_size=1, max_size=40),
    domain=st.sampled_from(["example.org", "Example.COM", "mail.example.net"]),
)
def test_a_masked_e_mail_address_never_shows_the_address(local: str, domain: str) -> None:
    value = f"{local}@{domain}"
    shown = masked("email", value)
    normalized = normalize("email", value)
    assert normalized not in shown
    assert shown == f"{normalized[0]}***@{domain.lower()}"
    assert masked("email", value.upper()) == shown


@given(
    first=st.sampled_from("123456789"),
    digits=st.text(alphabet=string.digits, min_size=6, max_size=10),
)
def test_a_masked_phone_number_keeps_only_country_code_and_two_digits(
    first: str, digits: str
) -> None:
    value = f"0{first}{digits}"
    shown = masked("phone", value)
    normalized = normalize("phone", value)
    assert shown == f"+49***{normalized[-2:]}"
    assert normalized not in shown
    assert sum(ch.isdigit() for ch in shown) == 4


@given(value=st.text(alphabet=ALNUM + "-/", min_size=1, max_size=128))
def test_a_masked_customer_number_never_shows_the_number(value: str) -> None:
    shown = masked("customer_id", value)
    assert normalize("customer_id", value) not in shown
    assert len(shown) <= 5

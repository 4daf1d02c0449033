"""Rules from the declaration and the mapping: periods, events, holds, fields, problems."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.retention.conftest import account_declaration
from tests.retention.store import DATASET, MAPPING
from tutela.calendar import GERMAN_TIME
from tutela.connectors import Dataset, parse_dataset
from tutela.errors import ConfigurationError
from tutela.policy.duration import Period
from tutela.policy.terms import RetentionEvent
from tutela.retention import derive_rules, parse_mapping
from tutela.retention.conditions import moment_before
from tutela.retention.mapping import MAPPING_FILE
from tutela.retention.rules import Keep, Rule

DATASETS = {"crm": parse_dataset(DATASET)}


def _rules(mapping: str = MAPPING) -> dict[str, Rule]:
    rules = derive_rules(account_declaration(), parse_mapping(mapping), DATASETS)
    return {rule.id: rule for rule in rules}


@pytest.mark.promise("P18")
def test_rules_come_from_the_declared_periods() -> None:
    rules = _rules()
    visits = rules["crm.visits:server_logs"]
    assert visits.delete_rows
    assert visits.keeps == ()
    assert [(e.column, e.period, e.event) for e in visits.expiries] == [
        ("at", Period(days=7), RetentionEvent.COLLECTION)
    ]
    customers = rules["crm.customers:customer_account"]
    assert [(e.column, e.event) for e in customers.expiries] == [
        ("closed_on", RetentionEvent.ACCOUNT_CLOSED)
    ]
    tickets = rules["crm.tickets:support"]
    assert set(tickets.fields) == {"email", "body"}
    assert tickets.expiries[0].period == Period(years=2)


@pytest.mark.promise("P11")
def test_the_vat_ip_rule_runs_from_the_contract_end_apart_from_the_contract_rule() -> None:
    rules = _rules()
    vat = rules["crm.contracts:vat_place_of_supply"]
    assert vat.fields == ("signup_ip",)
    assert [(e.column, e.period, e.event) for e in vat.expiries] == [
        ("ended_on", Period(days=1), RetentionEvent.CONTRACT_END)
    ]
    assert vat.keeps == ()  # the field is held: false, so the business-letter hold does not keep it
    contract = rules["crm.contracts:contract"]
    assert "signup_ip" not in contract.fields
    assert "plan" in contract.fields
    assert contract.keeps == (Keep("§ 257(1) Nr. 3 HGB (business letters)", "started_on", 6),)


def test_statutory_only_purposes_expire_when_their_hold_ends() -> None:
    invoices = _rules()["crm.invoices:invoicing"]
    assert invoices.expiries == ()
    assert [(k.column, k.years) for k in invoices.keeps] == [("issued_on", 8)]
    assert "147" in invoices.keeps[0].law


def test_a_purpose_with_criteria_only_is_not_swept() -> None:
    mapping = "crm:\n  tickets: {purposes: [connected_calendar], dates: {}}\n"
    rules = derive_rules(account_declaration(), parse_mapping(mapping), {"crm": _calendar()})
    (rule,) = rules
    assert not rule.sweeps
    assert "connected_calendar" in (rule.note or "")


def _calendar() -> Dataset:
    text = DATASET.replace(
        "body: {category: user.content", "body: {category: x_terminfuchs.connected_account_tokens"
    )
    return parse_dataset(text)


def test_a_field_shared_with_a_longer_purpose_waits_for_it() -> None:
    mapping = (
        "crm:\n  tickets:\n    purposes: [support, call_recording]\n"
        "    dates: {request_closed: closed_at, collection: closed_at}\n"
    )
    rules = _rules(mapping)
    assert set(rules) == {"crm.tickets:support"}  # call recordings hold no ticket field


def test_problems_are_listed_together() -> None:
    mapping = (
        "crm:\n"
        "  visits: {purposes: [nonexistent]}\n"
        "  invoices: {purposes: [invoicing]}\n"
        "  missing_table: {purposes: [server_logs]}\n"
        "  customers: {purposes: [customer_account]}\n"
        "other: {t: {purposes: [server_logs]}}\n"
    )
    with pytest.raises(ConfigurationError) as caught:
        _rules(mapping)
    problems = caught.value.extra["problems"]
    assert len(problems) == 5
    text = caught.value.detail
    assert "no purpose 'nonexistent'" in text
    assert "no table 'missing_table'" in text
    assert "no SQL store of that name" in text
    assert "add dates: {account_closed: <column>}" in text
    assert "add dates: {collection: <column>}" in text
    assert f"{MAPPING_FILE} line" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, "write {} for none"),
        ("crm:\n  visits: {purposes: []}\n", "at least 1"),
        (
            "crm:\n  visits: {purposes: [server_logs], dates: {closed: at}}\n",
            "not a retention event",
        ),
        ("crm:\n  visits: {purposes: [server_logs], keep: 3}\n", "unknown key 'keep'"),
        ("crm:\n  visits: {dates: {collection: at}}\n", "'purposes' is required"),
        ("crm: [visits]\n", "list its tables as a mapping"),
        ("- crm\n", "mapping of store names"),
    ],
)
def test_mapping_errors_name_the_place_and_the_fix(text: str | None, expected: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_mapping(text or "")
    assert expected in caught.value.detail


def test_an_empty_mapping_maps_nothing() -> None:
    assert parse_mapping("{}\n").tables == ()


@given(
    moment=st.datetimes(
        min_value=dt.datetime(2000, 1, 1),
        max_value=dt.datetime(2090, 12, 31),
        timezones=st.just(dt.UTC),
    ),
    years=st.integers(0, 20),
    months=st.integers(0, 30),
    days=st.integers(0, 400),
)
def test_moment_before_goes_back_on_the_german_calendar(
    moment: dt.datetime, years: int, months: int, days: int
) -> None:
    period = Period(years=years, months=months, days=days)
    earlier = moment_before(moment, period)
    assert earlier <= moment
    local_then, local_now = earlier.astimezone(GERMAN_TIME), moment.astimezone(GERMAN_TIME)
    if not (years or months):
        assert local_now.date() - local_then.date() == dt.timedelta(days=days)
    else:
        # adding the period back never overshoots today (month ends clamp)
        assert period.add_to(local_then.date()) <= local_now.date()
    if not days:
        assert local_then.day == min(local_now.day, _month_end(local_then))
        months_back = (local_now.year - local_then.year) * 12 + local_now.month - local_then.month
        assert months_back == 12 * years + months


def _month_end(moment: dt.datetime) -> int:
    import calendar

    return calendar.monthrange(moment.year, moment.month)[1]


@pytest.mark.parametrize(
    ("period", "shown"),
    [(Period(days=0), "P0D, zero"), (Period(hours=12), "PT12H, under a day")],
)
def test_a_period_under_a_day_is_refused_naming_the_purpose(period: Period, shown: str) -> None:
    declaration = account_declaration()
    logs = declaration.purpose("server_logs")
    assert logs is not None
    assert logs.retention is not None
    short = logs.model_copy(
        update={"retention": logs.retention.model_copy(update={"period": period})}
    )
    purposes = [short if p.id == "server_logs" else p for p in declaration.purposes]
    declaration = declaration.model_copy(update={"purposes": purposes})
    with pytest.raises(ConfigurationError) as caught:
        derive_rules(declaration, parse_mapping(MAPPING), DATASETS)
    (problem,) = caught.value.extra["problems"]
    assert "table crm.visits: the purpose 'server_logs' keeps its data for " + shown in problem
    assert "at least P1D" in problem

"""Legal holds: placed with a reason, stored without identity values, released, audited."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from tests.retention.conftest import MASTER
from tests.retention.store import HELD_EMAIL, contents
from tutela.audit import AuditEntry
from tutela.clock import FrozenClock
from tutela.errors import Conflict, InvalidInput, NotFound
from tutela.retention import (
    SweepContext,
    list_holds,
    place_records_hold,
    place_subject_hold,
    release_hold,
    run_sweep,
)
from tutela.retention.models import LegalHold
from tutela.retention.report import recent_runs
from tutela.storage import transaction


def _records(
    session: Session, clock: FrozenClock, context: SweepContext, **kwargs: object
) -> LegalHold:
    values: dict[str, object] = {
        "store": "crm",
        "table": "visits",
        "column": "id",
        "reason": "Tax audit 2026",
        "until": None,
        "clock": clock,
        "actor": "dpo",
        "stores": context.stores,
    }
    values.update(kwargs)
    return place_records_hold(session, **values)  # type: ignore[arg-type]


def test_a_person_hold_keeps_no_identity_value(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    with transaction(session_factory) as session:
        hold = place_subject_hold(
            session,
            kind="email",
            value=" C6@Example.org ",
            reason="Court case 4 O 12/26",
            until=dt.date(2027, 1, 31),
            master=MASTER,
            clock=clock,
            actor="staff:7",
        )
        hold_id = hold.id
    with session_factory() as session:
        stored = session.get(LegalHold, hold_id)
        assert stored is not None
        assert stored.subject_id is not None
        assert len(stored.blind_index or "") == 64
        columns = [str(getattr(stored, c.key)) for c in sa.inspect(LegalHold).columns]
        assert not any(HELD_EMAIL in value.lower() for value in columns)
        entry = session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "retention.hold_placed")
        ).one()
    assert entry.reason == "Court case 4 O 12/26"
    assert json.loads(entry.payload)["until"] == "2027-01-31"
    assert HELD_EMAIL not in entry.payload.lower()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"value": "7", "low": "1"}, "value"),
        ({}, "value"),
        ({"value": "7", "store": "nowhere"}, "store"),
        ({"value": "7", "table": "nothing"}, "table"),
        ({"value": "7", "reason": "  "}, "reason"),
        ({"value": "7", "reason": "x" * 1001}, "reason"),
        ({"value": "7", "until": dt.date(2026, 3, 1)}, "until"),
        ({"value": ""}, "value"),
    ],
)
def test_a_records_hold_needs_a_place_a_value_and_a_reason(
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
    context: SweepContext,
    kwargs: dict[str, object],
    field: str,
) -> None:
    with transaction(session_factory) as session, pytest.raises(InvalidInput) as caught:
        _records(session, clock, context, **kwargs)
    assert caught.value.extra["field"] == field


@pytest.mark.parametrize(
    ("kwargs", "field", "expected"),
    [
        ({"column": "no_such_column", "value": "1"}, "column", "has no column 'no_such_column'"),
        ({"column": "at", "value": "24.12.2025"}, "value", "holds timestamps"),
        ({"column": "id", "low": "ten"}, "value", "holds whole numbers"),
        ({"column": "id", "low": "40", "high": "30"}, "value", "starts after it ends"),
        (
            {"table": "contracts", "column": "ended_on", "value": "2025-13-01"},
            "value",
            "holds dates (write YYYY-MM-DD)",
        ),
    ],
)
def test_a_records_hold_must_fit_the_column_when_it_is_placed(
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
    context: SweepContext,
    kwargs: dict[str, object],
    field: str,
    expected: str,
) -> None:
    with transaction(session_factory) as session, pytest.raises(InvalidInput) as caught:
        _records(session, clock, context, **kwargs)
    assert caught.value.extra["field"] == field
    assert expected in caught.value.detail
    with session_factory() as session:
        assert list_holds(session) == []


@pytest.mark.parametrize(
    ("table", "column", "why"),
    [
        ("customers", "email", "identifies a person (identity email)"),
        ("customers", "id", "identifies a person (identity customer_id)"),
        ("visits", "path", "personal data (user.behavior.browsing_history)"),
        ("visits", "customer_id", "personal data (user.unique_id)"),
    ],
)
def test_a_records_hold_never_names_a_personal_column(
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
    context: SweepContext,
    table: str,
    column: str,
    why: str,
) -> None:
    """Its value would sit in the hold list in plain text: the person is held instead."""
    with transaction(session_factory) as session, pytest.raises(InvalidInput) as caught:
        _records(session, clock, context, table=table, column=column, value=HELD_EMAIL)
    assert caught.value.extra["field"] == "column"
    assert why in caught.value.detail
    assert "Hold the person instead" in caught.value.detail


def test_release_ends_a_hold_once(
    session_factory: sessionmaker[Session], clock: FrozenClock, context: SweepContext
) -> None:
    with transaction(session_factory) as session:
        hold_id = _records(session, clock, context, low="10", high="20").id
    with transaction(session_factory) as session:
        assert [h.id for h in list_holds(session)] == [hold_id]
        release_hold(session, hold_id=hold_id, reason="Audit closed", clock=clock, actor="dpo")
    with transaction(session_factory) as session:
        assert list_holds(session) == []
        assert [h.id for h in list_holds(session, include_released=True)] == [hold_id]
        with pytest.raises(Conflict):
            release_hold(session, hold_id=hold_id, reason="again", clock=clock, actor="dpo")
        with pytest.raises(NotFound):
            release_hold(session, hold_id=999, reason="none", clock=clock, actor="dpo")
    with session_factory() as session:
        actions = session.scalars(
            sa.select(AuditEntry.action).where(AuditEntry.action.like("retention.hold_%"))
        ).all()
    assert actions == ["retention.hold_placed", "retention.hold_released"]


@pytest.mark.usefixtures("published")
def test_a_range_hold_keeps_rows(
    session_factory: sessionmaker[Session],
    context: SweepContext,
    clock: FrozenClock,
    store_url: str,
) -> None:
    with transaction(session_factory) as session:
        _records(session, clock, context, low="30", high="40")
    run_sweep(session_factory, context=context, clock=clock, actor="t")
    visits = {int(row[0]) for row in contents(store_url)["visits"]}
    assert set(range(30, 41)) <= visits  # expired, but held
    assert 29 not in visits
    assert 41 not in visits


@pytest.mark.usefixtures("published")
@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("no_such_column", "1", "crm.customers.no_such_column, which the table does not have"),
        ("closed_on", "24.12.2025", "its value does not fit the column, which holds dates"),
    ],
)
def test_a_hold_that_cannot_be_applied_stops_its_rule(
    session_factory: sessionmaker[Session],
    context: SweepContext,
    clock: FrozenClock,
    store_url: str,
    column: str,
    value: str,
    expected: str,
) -> None:
    """A hold placed before the column changed: the rule fails, and keeps every row."""
    with transaction(session_factory) as session:
        session.add(
            LegalHold(
                kind="records",
                store="crm",
                table_name="customers",
                column_name=column,
                value=value,
                reason="placed before the table changed",
                created_by="dpo",
                created_at=clock.now(),
            )
        )
    run_sweep(session_factory, context=context, clock=clock, actor="t")
    with session_factory() as session:
        steps = {s.rule: s for s in recent_runs(session)[0].steps}
    failed = steps["crm.customers:customer_account"]
    assert failed.status == "failed"
    assert expected in (failed.note or "")
    assert "does not run" in (failed.note or "")
    assert steps["crm.visits:server_logs"].status == "done"  # other tables go on
    assert {int(row[0]) for row in contents(store_url)["customers"]} == {1, 2, 4, 5, 6}

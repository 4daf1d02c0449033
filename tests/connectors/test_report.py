from __future__ import annotations

import datetime as dt

import pytest

from tutela.connectors import Action, Operation, Outcome, Status, StoreReport


def test_status_follows_the_content() -> None:
    done = StoreReport.build(
        "shop", Operation.ERASE, [Outcome("customers", Action.NULLED, ("phone",), 1)]
    )
    assert done.status is Status.DONE
    left = Outcome("customers", Action.NOT_HANDLED, ("phone",), 1, reason="NOT NULL")
    partial = StoreReport.build("shop", Operation.ERASE, [left])
    assert partial.status is Status.PARTIAL
    assert partial.unhandled == (left,)
    failed = StoreReport.build("shop", Operation.ERASE, [left], error="boom")
    assert failed.status is Status.FAILED


def test_a_report_cannot_claim_done_while_a_field_is_left() -> None:
    left = Outcome("customers", Action.NOT_HANDLED, ("phone",), 1, reason="NOT NULL")
    with pytest.raises(ValueError, match="cannot be done"):
        StoreReport("shop", Operation.ERASE, Status.DONE, (left,))
    with pytest.raises(ValueError, match="needs the error"):
        StoreReport("shop", Operation.ERASE, Status.FAILED)


def test_holds_and_the_summary() -> None:
    outcomes = [
        Outcome(
            "invoices",
            Action.HELD,
            ("billing_name",),
            2,
            until=dt.date(2033, 12, 31),
            rule="§ 147 AO",
        ),
        Outcome(
            "invoices",
            Action.HELD,
            ("billing_name",),
            1,
            until=dt.date(2031, 12, 31),
            rule="§ 147 AO",
        ),
        Outcome("logins", Action.DELETED, rows=3),
    ]
    report = StoreReport.build("shop", Operation.ERASE, outcomes, rows={"invoices": 3})
    assert report.held_until == dt.date(2033, 12, 31)
    assert report.rows["invoices"] == 3
    text = report.summary()
    assert "invoices.billing_name: held (2 rows) until 2033-12-31 under § 147 AO" in text
    assert "logins: deleted (3 rows)" in text

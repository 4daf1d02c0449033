from __future__ import annotations

import datetime as dt

import pytest

from tutela.connectors import Action, Connector, IdentitySet, Operation, Status
from tutela.connectors.builtin.manual import (
    MAX_EVIDENCE,
    ManualConnector,
    check_evidence,
    confirmed_report,
    create_manual,
)
from tutela.errors import InvalidInput

PERSON = IdentitySet.of(email="anna@example.com", customer_id="42")


def test_every_operation_is_a_task_until_staff_confirm() -> None:
    archive = create_manual(
        {
            "name": "archive",
            "system": "the paper archive",
            "instructions": {"erase": "shred the folder of {system}"},
        }
    )
    assert isinstance(archive, Connector)
    archive.check()
    erase = archive.erase(PERSON, today=dt.date(2026, 1, 15))
    assert erase.status is Status.PARTIAL
    assert erase.task is not None
    assert erase.task.startswith("Staff must shred the folder of the paper archive.")
    assert "customer_id, email" in erase.task
    assert "anna@example.com" not in erase.task  # values stay in the request, not the report
    assert erase.outcomes[0].action is Action.TASK
    rectify = archive.rectify(PERSON, {"letters.address": "new"})
    assert rectify.task is not None
    assert "letters.address" in rectify.task
    restrict = archive.restrict(PERSON, until=dt.date(2030, 1, 1))
    assert restrict.task is not None
    assert "2030-01-01" in restrict.task
    with archive.access(PERSON) as result:
        assert list(result) == []
        report = result.report()
    assert report.status is Status.PARTIAL
    assert report.task is not None
    assert "export every record" in report.task


def test_confirmation_with_evidence_is_done() -> None:
    archive = ManualConnector(name="archive")
    done = archive.confirm(
        Operation.ERASE, evidence="Folder 2019/112 shredded on 15 Jan.", confirmed_by="staff:3"
    )
    assert done.status is Status.DONE
    assert done.evidence == "Folder 2019/112 shredded on 15 Jan."
    assert done.outcomes[0].reason == "confirmed by staff:3"
    with pytest.raises(InvalidInput, match="evidence is too short"):
        archive.confirm(Operation.ERASE, evidence="done", confirmed_by="staff:3")
    with pytest.raises(InvalidInput, match="confirmed_by"):
        archive.confirm(Operation.ERASE, evidence="Folder shredded today.", confirmed_by=" ")


def test_evidence_is_limited_and_the_report_can_be_built_without_the_store() -> None:
    assert check_evidence("  Folder 2019/112 shredded.  ") == "Folder 2019/112 shredded."
    with pytest.raises(InvalidInput, match="too long") as caught:
        check_evidence("x" * (MAX_EVIDENCE + 1))
    assert caught.value.extra["field"] == "evidence"
    assert check_evidence("x" * MAX_EVIDENCE) == "x" * MAX_EVIDENCE
    done = confirmed_report(
        "archive",
        Operation.RESTRICT,
        table="the paper archive",
        evidence="Folder 2019/112 marked as restricted.",
        confirmed_by="staff:3",
    )
    assert done.status is Status.DONE
    assert done.operation is Operation.RESTRICT
    assert done.outcomes[0].table == "the paper archive"
    assert done == ManualConnector(name="archive", system="the paper archive").confirm(
        Operation.RESTRICT, evidence="Folder 2019/112 marked as restricted.", confirmed_by="staff:3"
    )

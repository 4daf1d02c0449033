"""Receipts: a person's consent records in the shape of ISO/IEC TS 27560."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from tutela.clock import FrozenClock
from tutela.consent import ConsentEvent, notice_hash, receipts
from tutela.crypto import MasterKey
from tutela.policy.models import Declaration
from tutela.subjects import Subject, erase_subject

RECORD_KEYS = {
    "schema_version",
    "record_id",
    "receipt_id",
    "pii_principal_id",
    "pii_controllers",
    "jurisdiction",
    "language",
    "purposes",
    "privacy_notice",
    "collection_method",
    "events",
    "status",
}


@pytest.mark.promise("P07")
@pytest.mark.usefixtures("published")
def test_receipts_show_what_when_how_and_which_text(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    declaration: Declaration,
    person: Callable[..., Subject],
    note: Callable[..., ConsentEvent],
) -> None:
    anna = person()
    note(anna, "newsletter", "given", ip="2001:db8:abcd:12::7", form_url="https://example.de/nl")
    clock.advance(dt.timedelta(minutes=3))
    note(anna, "newsletter", "confirmed", channel="link_in_message")
    note(anna, "similar_offers", "objected", channel="one_click", language="en")
    with session.begin():
        document = receipts(session, subject=anna, master=master, clock=clock)
    json.dumps(document)  # plain JSON all the way down
    assert document["pii_principal_id"] == anna.public_id
    assert document["policy_version"] == 1
    assert document["erased"] is False
    assert document["ledger_head"]["sequence"] == 3
    assert "anna" not in json.dumps(document)
    records = {r["purposes"][0]["purpose_id"]: r for r in document["records"]}
    assert set(records) == {"newsletter", "similar_offers"}
    newsletter = records["newsletter"]
    assert set(newsletter) == RECORD_KEYS
    assert newsletter["pii_controllers"][0]["party_name"] == declaration.controller.name
    assert newsletter["jurisdiction"] == "DE"
    purpose = newsletter["purposes"][0]
    assert (purpose["lawful_basis"], purpose["lawful_basis_reference"]) == (
        "consent",
        "Art. 6(1)(a) GDPR",
    )
    assert purpose["double_opt_in"] is True
    assert purpose["recipient_third_parties"]
    expected_hash = notice_hash(declaration.purpose("newsletter"), "de")  # type: ignore[arg-type]
    assert newsletter["privacy_notice"] == {
        "policy_version": 1,
        "notice_hash": expected_hash,
        "language": "de",
        "url": "/privacy/v/1",
    }
    given, confirmed = newsletter["events"]
    assert (given["event_state"], given["action"], given["collection_method"]) == (
        "ConsentGiven",
        "given",
        "web_form",
    )
    assert given["proof"]["ip"] == "2001:db8:abcd::"
    assert given["proof"]["form_url"] == "https://example.de/nl"
    assert confirmed["event_type"] == "explicit"
    assert confirmed["collection_method"] == ("link_in_message")
    assert dt.datetime.fromisoformat(confirmed["event_time"]) - dt.datetime.fromisoformat(
        given["event_time"]
    ) == dt.timedelta(minutes=3)
    assert newsletter["status"] == {
        "state": "confirmed",
        "declared": True,
        "allowed": False,
        "reason": "suppressed",
    }
    offers = records["similar_offers"]
    assert offers["events"][0]["event_state"] == "Objected"
    assert offers["language"] == "en"
    assert offers["status"]["reason"] == "suppressed"


@pytest.mark.usefixtures("published")
def test_receipt_ids_are_stable_until_something_happens(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    person: Callable[..., Subject],
    note: Callable[..., ConsentEvent],
) -> None:
    anna = person()
    note(anna, "web_analytics", "given", channel="banner")
    with session.begin():
        first = receipts(session, subject=anna, master=master, clock=clock)["records"][0]
        again = receipts(session, subject=anna, master=master, clock=clock)["records"][0]
    assert (first["record_id"], first["receipt_id"]) == (again["record_id"], again["receipt_id"])
    assert first["events"][0]["validity_duration"] == "P13M"
    note(anna, "web_analytics", "withdrawn", channel="banner")
    with session.begin():
        later = receipts(session, subject=anna, master=master, clock=clock)["records"][0]
    assert later["record_id"] == first["record_id"]
    assert later["receipt_id"] != first["receipt_id"]
    assert later["status"]["reason"] == "withdrawn"


@pytest.mark.usefixtures("published")
def test_receipts_after_erasure_keep_the_history_without_proof(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    person: Callable[..., Subject],
    note: Callable[..., ConsentEvent],
) -> None:
    anna = person()
    note(anna, "newsletter", "given", ip="203.0.113.9")
    with session.begin():
        erase_subject(session, subject=anna, clock=clock, actor="test", reason="request 3")
    with session.begin():
        document = receipts(session, subject=anna, master=master, clock=clock)
    assert document["erased"] is True
    (only,) = document["records"]
    assert only["events"][0]["proof"] is None
    assert only["status"]["reason"] == "erased"

"""Staff look up one person's records in the connected stores (read only, deny-list applied)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy.orm import Session

from tests.dsr.fulfil_harness import snapshot
from tests.dsr.test_stores import shop_database, shop_store
from tutela.audit import entries
from tutela.clock import FrozenClock
from tutela.connectors import AccessResult, Connector, IdentitySet, StoreUnavailable, create
from tutela.connectors.sample import customer_email, customer_phone
from tutela.crypto import MasterKey
from tutela.dsr.lookup import (
    StoreRecords,
    check_search,
    check_statement,
    find_person,
    read_records,
    record_opening,
)
from tutela.errors import InvalidInput
from tutela.subjects import add_identity, get_or_create_subject, index_of

SECRET_COLUMNS = {("logins", "password_hash"), ("logins", "mfa_secret")}


@pytest.fixture
def shop_url(db_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with shop_database(db_url, request, tmp_path) as url:
        yield url


@pytest.fixture
def shop(shop_url: str) -> Iterator[Connector]:
    store = shop_store(shop_url)
    yield store
    store.close()


class _Down:
    """A store that cannot be reached."""

    name = "crm"

    def access(self, identities: IdentitySet) -> AccessResult:
        raise StoreUnavailable("store crm: the CRM cannot be reached (ConnectError).")

    def close(self) -> None:
        return None


def _tables(result: StoreRecords) -> dict[str, list[dict[str, str]]]:
    return {
        t.table: [dict(zip(t.columns, row, strict=True)) for row in t.rows] for t in result.tables
    }


@pytest.mark.promise("P09")
def test_an_unknown_person_is_found_in_the_shop_with_secrets_left_out(
    session: Session, master: MasterKey, shop: Connector, shop_url: str
) -> None:
    before = snapshot(shop_url)
    with session.begin():
        person = find_person(session, kind="email", value=customer_email(1).upper(), master=master)
    assert person.subject_id is None
    assert person.digest == index_of(master, "email", customer_email(1))
    assert person.target == f"lookup:{person.digest}"
    [result] = read_records([shop], person.identities)
    tables = _tables(result)
    assert (result.store, result.error) == ("shop", None)
    assert [row["email"] for row in tables["customers"]] == [customer_email(1)]
    assert result.found == sum(t.found for t in result.tables) >= 2
    left_out = {(w.table, w.field) for w in result.withheld if not w.masked}
    assert left_out >= SECRET_COLUMNS
    for row in tables["logins"]:
        assert not {"password_hash", "mfa_secret"} & set(row)
    assert all(
        not value.startswith("$argon2")
        for rows in tables.values()
        for r in rows
        for value in r.values()
    )
    assert snapshot(shop_url) == before  # nothing was written to the store


@pytest.mark.promise("P09")
def test_a_known_person_is_searched_by_every_identity_tutela_holds(
    session: Session, master: MasterKey, shop: Connector, clock: FrozenClock
) -> None:
    with session.begin():
        subject, _ = get_or_create_subject(
            session, kind="email", value=customer_email(2), master=master, clock=clock, actor="t"
        )
        add_identity(
            session,
            subject=subject,
            kind="customer_id",
            value="2",
            master=master,
            clock=clock,
            actor="t",
        )
        person = find_person(session, kind="customer_id", value=" 2 ", master=master)
    assert person.subject_id == subject.id
    assert person.target == f"subject:{subject.id}"
    assert person.identities.get("email") == {customer_email(2)}
    [result] = read_records([shop], person.identities)
    assert [row["id"] for row in _tables(result)["customers"]] == ["2"]


@pytest.mark.promise("P09")
def test_nobody_found_gives_the_same_shape(
    session: Session, master: MasterKey, shop: Connector
) -> None:
    with session.begin():
        person = find_person(session, kind="phone", value="+49 30 99999999", master=master)
    [result] = read_records([shop], person.identities)
    assert (result.store, result.tables, result.found, result.error) == ("shop", (), 0, None)


@pytest.mark.promise("P09")
def test_a_store_that_is_down_is_named_and_the_others_are_read(
    session: Session, master: MasterKey, shop: Connector, tmp_path: Path
) -> None:
    manual = create("manual", {"name": "crm-desk", "system": "the CRM"})
    with session.begin():
        person = find_person(session, kind="email", value=customer_email(3), master=master)
    down, found, by_hand = read_records([cast(Connector, _Down()), shop, manual], person.identities)
    assert "cannot be reached" in (down.error or "")
    assert down.tables == ()
    assert found.found >= 1
    assert by_hand.task
    assert by_hand.tables == ()


def test_rows_are_capped_per_table_but_counted(
    session: Session, master: MasterKey, shop: Connector
) -> None:
    with session.begin():
        person = find_person(session, kind="email", value=customer_email(1), master=master)
    [full] = read_records([shop], person.identities)
    [capped] = read_records([shop], person.identities, max_rows=1)
    assert [(t.table, t.found) for t in capped.tables] == [(t.table, t.found) for t in full.tables]
    assert all(len(t.rows) == min(t.found, 1) for t in capped.tables)


@pytest.mark.promise("P09")
def test_the_opening_is_audited_with_reason_and_never_the_value(
    session: Session, master: MasterKey, clock: FrozenClock
) -> None:
    phone = customer_phone(4)
    with session.begin():
        subject, _ = get_or_create_subject(
            session, kind="email", value=customer_email(4), master=master, clock=clock, actor="t"
        )
        add_identity(
            session,
            subject=subject,
            kind="customer_id",
            value="K-100234",
            master=master,
            clock=clock,
            actor="t",
        )
        known = find_person(session, kind="email", value=customer_email(4), master=master)
        stranger = find_person(session, kind="phone", value=phone, master=master)
        for note in ("about K-100234", f"mail from {customer_email(4)}", "call 030 1000004"):
            with pytest.raises(InvalidInput) as refused:
                record_opening(
                    session,
                    person=known,
                    reason="support_case",
                    note=f"T-1 {note}",
                    actor="staff:1",
                    staff_id=1,
                    clock=clock,
                )
            assert refused.value.extra["issue"] == "personal_data"
        record_opening(
            session,
            person=known,
            reason="support_case",
            note="T-4711",
            actor="staff:1",
            staff_id=1,
            clock=clock,
        )
        record_opening(
            session,
            person=stranger,
            reason="technical_problem",
            note="sync stuck, INC0012345",
            actor="staff:1",
            staff_id=1,
            clock=clock,
        )
    with session.begin():
        rows = entries(session, action="staff.records_looked_up")
    assert [r.target for r in reversed(rows)] == [f"subject:{subject.id}", stranger.target]
    assert json.loads(rows[0].payload)["kind"] == "phone"
    text = " ".join(r.payload + r.target + (r.reason or "") + r.actor for r in rows)
    for value in (customer_email(4), "customer-4", phone, phone[3:], "K-100234"):
        assert value.lower() not in text.lower()


@pytest.mark.promise("P09")
@pytest.mark.parametrize(
    ("kind", "value", "field"),
    [
        ("visitor_id", "v" * 20, "kind"),
        ("email", "not-an-address", "email"),
        ("phone", "12", "phone"),
    ],
)
def test_searches_are_checked_before_anyone_is_looked_up(kind: str, value: str, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_search(kind, value)
    assert refused.value.extra["field"] == field


def test_the_statement_is_checked_against_the_searched_value() -> None:
    ids = IdentitySet.of(customer_id="K-100234")
    with pytest.raises(InvalidInput, match="identity of the person"):
        check_statement("legal_obligation", "court order about K-100234", identities=ids)
    with pytest.raises(InvalidInput, match="note: say in a few words"):
        check_statement("legal_obligation", "", identities=ids)
    assert check_statement("legal_obligation", "court order 12/2026", identities=ids).note

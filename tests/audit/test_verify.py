"""Tampering with the stored trail is detected and located (P07)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, delete, text
from sqlalchemy.orm import Session, sessionmaker

from tests.audit.sample import START, SampleRecorded, build_chain, stored
from tutela.audit import emit, verify
from tutela.audit.chain import entry_hash, sha256_hex
from tutela.audit.models import AuditHead
from tutela.clock import FrozenClock
from tutela.storage import UTCDateTime, transaction

COUNT = 6

pytestmark = pytest.mark.promise("P07")


@pytest.fixture
def chain(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with transaction(session_factory) as session:
        build_chain(session, COUNT)
    return session_factory


def tamper(factory: sessionmaker[Session], sql: str, **params: Any) -> None:
    with transaction(factory) as session:
        session.execute(text(sql), params)


def verified(factory: sessionmaker[Session]) -> tuple[bool, int | None, str]:
    with factory() as session:
        result = verify(session)
    return result.ok, result.first_bad_sequence, result.reason


def test_clean_chain_verifies(chain: sessionmaker[Session]) -> None:
    with chain() as session:
        result = verify(session)
    assert result.ok
    assert result.checked == COUNT
    assert result.first_bad_sequence is None


def test_empty_trail_verifies(session: Session) -> None:
    result = verify(session)
    assert (result.ok, result.checked) == (True, 0)


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("actor", "staff:99", "content of entry 4"),
        ("action", "sample.erased", "content of entry 4"),
        ("target", "sample:other", "content of entry 4"),
        ("reason", "a better story", "content of entry 4"),
        ("payload", '{"data":{},"ref":"4"}', "payload of entry 4"),
        ("payload_digest", "a" * 64, "payload of entry 4"),
        ("prev_hash", "b" * 64, "entry 4 does not link"),
        ("hash", "c" * 64, "content of entry 4"),
    ],
)
def test_changed_text_column_is_found(
    chain: sessionmaker[Session], column: str, value: str, problem: str
) -> None:
    tamper(chain, f"UPDATE audit_entries SET {column} = :v WHERE sequence = 4", v=value)
    ok, bad, reason = verified(chain)
    assert (ok, bad) == (False, 4)
    assert problem in reason


def test_reason_removed_is_found(chain: sessionmaker[Session]) -> None:
    tamper(chain, "UPDATE audit_entries SET reason = NULL WHERE sequence = 2")
    assert verified(chain)[:2] == (False, 2)


def test_changed_timestamp_is_found(chain: sessionmaker[Session]) -> None:
    with transaction(chain) as session:
        statement = text("UPDATE audit_entries SET occurred_at = :v WHERE sequence = 3").bindparams(
            bindparam("v", type_=UTCDateTime())
        )
        session.execute(statement, {"v": START + dt.timedelta(days=1)})
    assert verified(chain)[:2] == (False, 3)


def test_deleted_middle_entry_is_found(chain: sessionmaker[Session]) -> None:
    tamper(chain, "DELETE FROM audit_entries WHERE sequence = 3")
    ok, bad, reason = verified(chain)
    assert (ok, bad) == (False, 3)
    assert "entry 3 is missing" in reason


def test_deleted_first_entry_is_found(chain: sessionmaker[Session]) -> None:
    tamper(chain, "DELETE FROM audit_entries WHERE sequence = 1")
    assert verified(chain)[:2] == (False, 1)


def test_deleted_last_entry_is_found(chain: sessionmaker[Session]) -> None:
    tamper(chain, "DELETE FROM audit_entries WHERE sequence = :s", s=COUNT)
    ok, bad, reason = verified(chain)
    assert (ok, bad) == (False, COUNT)
    assert "entries at the end were removed" in reason


def test_wiped_trail_is_found(chain: sessionmaker[Session]) -> None:
    tamper(chain, "DELETE FROM audit_entries")
    assert verified(chain)[:2] == (False, 1)


def test_deleted_head_is_found(chain: sessionmaker[Session]) -> None:
    with transaction(chain) as session:
        session.execute(delete(AuditHead))
    ok, _bad, reason = verified(chain)
    assert not ok
    assert "head record is missing" in reason


def _forged(sequence: int, prev_hash: str) -> dict[str, Any]:
    payload = '{"data":{},"ref":"forged"}'
    fields: dict[str, Any] = {
        "sequence": sequence,
        "occurred_at": START,
        "actor": "staff:1",
        "action": "sample.recorded",
        "target": "sample:forged",
        "reason": None,
        "payload_digest": sha256_hex(payload),
        "prev_hash": prev_hash,
    }
    iso = "2024-05-06T10:00:00.123456+00:00"
    fields["hash"] = entry_hash(**{**fields, "occurred_at": iso})
    fields["payload"] = payload
    return fields


def _insert(session: Session, fields: dict[str, Any]) -> None:
    statement = text(
        "INSERT INTO audit_entries (sequence, occurred_at, actor, action, target, reason, "
        "payload, payload_digest, prev_hash, hash) VALUES (:sequence, :occurred_at, :actor, "
        ":action, :target, :reason, :payload, :payload_digest, :prev_hash, :hash)"
    ).bindparams(bindparam("occurred_at", type_=UTCDateTime()))
    session.execute(statement, fields)


def test_forged_entry_inserted_in_the_middle_is_found(chain: sessionmaker[Session]) -> None:
    with transaction(chain) as session:
        prev = stored(session, 2).hash
        # make room at 3: shift 3..6 to 4..7 in two steps (unique keys hold at every row)
        session.execute(
            text("UPDATE audit_entries SET sequence = sequence + 1000 WHERE sequence >= 3")
        )
        session.execute(
            text("UPDATE audit_entries SET sequence = sequence - 999 WHERE sequence > 1000")
        )
        _insert(session, _forged(3, prev))
        session.execute(text("UPDATE audit_head SET last_sequence = last_sequence + 1"))
    ok, bad, reason = verified(chain)
    # the forgery itself is consistent; the genuine entry after it no longer is
    assert (ok, bad) == (False, 4)
    assert "entry 4" in reason


def test_forged_entry_appended_behind_the_head_is_found(chain: sessionmaker[Session]) -> None:
    with transaction(chain) as session:
        _insert(session, _forged(COUNT + 1, stored(session, COUNT).hash))
    ok, bad, reason = verified(chain)
    assert (ok, bad) == (False, COUNT + 1)
    assert "added outside the trail" in reason


def test_swapped_entries_are_found(chain: sessionmaker[Session]) -> None:
    columns = [*TEXT_FIELDS, "occurred_at", "prev_hash", "hash"]
    with transaction(chain) as session:
        two, five = stored(session, 2), stored(session, 5)
        values = {name: (getattr(two, name), getattr(five, name)) for name in columns}
        session.expunge_all()
        for sequence, index in ((2, 1), (5, 0)):
            assignments = ", ".join(f"{name} = :{name}" for name in columns)
            statement = text(
                f"UPDATE audit_entries SET {assignments} WHERE sequence = :sequence"
            ).bindparams(bindparam("occurred_at", type_=UTCDateTime()))
            params = {name: pair[index] for name, pair in values.items()}
            session.execute(statement, {**params, "sequence": sequence})
    assert verified(chain)[:2] == (False, 2)


def test_appends_after_verification_keep_verifying(chain: sessionmaker[Session]) -> None:
    with transaction(chain) as session:
        emit(session, SampleRecorded(ref="late"), actor="system", clock=FrozenClock(START))
    ok, bad, _reason = verified(chain)
    assert (ok, bad) == (True, None)


TEXT_FIELDS = ("actor", "action", "target", "reason", "payload", "payload_digest")
FIELDS = (*TEXT_FIELDS, "prev_hash", "hash", "occurred_at")
safe_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=30
).filter(lambda value: bool(value.strip()))


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_single_field_change_is_found_at_its_entry(
    session_factory: sessionmaker[Session], data: st.DataObject
) -> None:
    count = data.draw(st.integers(min_value=1, max_value=6), label="count")
    clock = FrozenClock(START)
    with session_factory() as session:
        session.begin()
        for number in range(count):
            emit(
                session,
                SampleRecorded(
                    ref=str(number),
                    data=data.draw(st.dictionaries(safe_text, st.integers() | safe_text)),
                ),
                actor=data.draw(safe_text, label="actor"),
                clock=clock,
                reason=data.draw(st.none() | safe_text, label="reason"),
            )
            clock.advance(dt.timedelta(microseconds=data.draw(st.integers(0, 10**9))))
        victim = data.draw(st.integers(min_value=1, max_value=count), label="victim")
        field = data.draw(st.sampled_from(FIELDS), label="field")
        entry = stored(session, victim)
        old = getattr(entry, field)
        if field == "occurred_at":
            new: Any = old + dt.timedelta(microseconds=data.draw(st.integers(1, 10**9)))
        elif field in ("prev_hash", "hash"):
            new = data.draw(st.text("0123456789abcdef", min_size=64, max_size=64))
        elif field == "payload":
            new = data.draw(st.dictionaries(safe_text, st.integers()).map(str))
        else:
            new = data.draw(safe_text)
        if new == old:
            session.rollback()
            return
        statement = text(f"UPDATE audit_entries SET {field} = :v WHERE sequence = :s")
        if field == "occurred_at":
            statement = statement.bindparams(bindparam("v", type_=UTCDateTime()))
        session.execute(statement, {"v": new, "s": victim})
        session.expunge_all()
        result = verify(session)
        session.rollback()
    assert not result.ok
    assert result.first_bad_sequence == victim, result.reason


def test_forged_entry_before_the_start_is_detected(chain: sessionmaker[Session]) -> None:
    tamper(
        chain,
        "INSERT INTO audit_entries (sequence, occurred_at, actor, action, target, reason,"
        " payload, payload_digest, prev_hash, hash)"
        " SELECT 0, occurred_at, actor, action, target, reason, payload, payload_digest,"
        " prev_hash, hash FROM audit_entries WHERE sequence = 1",
    )
    ok, bad, reason = verified(chain)
    assert (ok, bad) == (False, 0)
    assert "before the start" in reason


def test_unreadable_timestamp_is_reported_not_raised(
    chain: sessionmaker[Session], engine: Any
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL refuses a malformed timestamp at write time")
    tamper(chain, "UPDATE audit_entries SET occurred_at = 'yesterday' WHERE sequence = 3")
    ok, bad, reason = verified(chain)
    assert (ok, bad) == (False, 3)
    assert "cannot be read" in reason

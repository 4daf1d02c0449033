from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.audit.sample import START, SampleRecorded, build_chain
from tutela.audit import GENESIS_HASH, AuditEntry, emit, entries, head, verify
from tutela.audit.chain import entry_hash
from tutela.audit.models import AuditHead
from tutela.audit.trail import emit_many
from tutela.clock import FrozenClock
from tutela.errors import InvalidInput
from tutela.storage import transaction


def test_emit_appends_a_linked_entry(session: Session) -> None:
    clock = FrozenClock(START)
    first = emit(
        session,
        SampleRecorded(ref="7", data={"b": 2, "a": "ä"}),
        actor="staff:1",
        clock=clock,
        reason="support ticket",
    )
    assert first.sequence == 1
    assert first.prev_hash == GENESIS_HASH
    assert first.occurred_at == START
    assert (first.action, first.target, first.actor) == ("sample.recorded", "sample:7", "staff:1")
    assert first.payload == '{"data":{"a":"ä","b":2},"ref":"7"}'
    assert first.payload_digest == hashlib.sha256(first.payload.encode()).hexdigest()
    assert first.hash == entry_hash(
        sequence=1,
        occurred_at="2024-05-06T10:00:00.123456+00:00",
        actor="staff:1",
        action="sample.recorded",
        target="sample:7",
        reason="support ticket",
        payload_digest=first.payload_digest,
        prev_hash=GENESIS_HASH,
    )
    second = emit(session, SampleRecorded(ref="8"), actor="system", clock=clock)
    assert second.sequence == 2
    assert second.prev_hash == first.hash
    assert second.reason is None
    recorded = head(session)
    assert (recorded.last_sequence, recorded.last_hash) == (2, second.hash)


def test_reason_none_and_empty_hash_differently() -> None:
    common: dict[str, Any] = {
        "sequence": 1,
        "occurred_at": "2024-05-06T10:00:00.000000+00:00",
        "actor": "a",
        "action": "b.c",
        "target": "",
        "payload_digest": "0" * 64,
        "prev_hash": GENESIS_HASH,
    }
    assert entry_hash(reason=None, **common) != entry_hash(reason="", **common)
    assert entry_hash(reason="null", **common) != entry_hash(reason=None, **common)


def test_fields_cannot_shift_into_each_other() -> None:
    common: dict[str, Any] = {
        "sequence": 1,
        "occurred_at": "2024-05-06T10:00:00.000000+00:00",
        "action": "b.c",
        "reason": None,
        "payload_digest": "0" * 64,
        "prev_hash": GENESIS_HASH,
    }
    one = entry_hash(actor="ab", target="c", **common)
    two = entry_hash(actor="a", target="bc", **common)
    assert one != two


def test_rolled_back_entries_leave_no_gap(session_factory: sessionmaker[Session]) -> None:
    clock = FrozenClock(START)
    with session_factory() as session:
        session.begin()
        emit(session, SampleRecorded(ref="lost"), actor="system", clock=clock)
        session.rollback()
    with transaction(session_factory) as session:
        entry = emit(session, SampleRecorded(ref="kept"), actor="system", clock=clock)
        assert entry.sequence == 1
    with session_factory() as session:
        assert verify(session).ok
        assert head(session).last_sequence == 1


def test_missing_head_row_is_recreated_for_an_empty_trail(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        session.execute(delete(AuditHead))
    with session_factory() as session:
        assert head(session).last_sequence == 0
        assert verify(session).ok
    with transaction(session_factory) as session:
        build_chain(session, 3)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(AuditHead)) == 1
        result = verify(session)
        assert result.ok, result.reason
        assert result.checked == 3


def test_entries_lists_newest_first_with_filters(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        build_chain(session, 5)
    with session_factory() as session:
        assert [e.sequence for e in entries(session, limit=2)] == [5, 4]
        assert [e.sequence for e in entries(session, limit=2, offset=2)] == [3, 2]
        assert [e.sequence for e in entries(session, target="sample:3")] == [3]
        assert [e.sequence for e in entries(session, action="sample.recorded")] == [5, 4, 3, 2, 1]
        assert entries(session, action="other.thing") == []
        with pytest.raises(InvalidInput, match="limit"):
            entries(session, limit=0)


def test_timestamps_survive_the_database(session_factory: sessionmaker[Session]) -> None:
    clock = FrozenClock(dt.datetime(2024, 3, 31, 2, 30, 0, 999999, tzinfo=dt.UTC))
    with transaction(session_factory) as session:
        emit(session, SampleRecorded(ref="1"), actor="system", clock=clock)
    with session_factory() as session:
        stored = session.scalars(select(AuditEntry)).one()
        assert stored.occurred_at == clock.now()
        assert json.loads(stored.payload) == {"ref": "1", "data": {}}
        assert verify(session).ok


def test_emit_many_appends_one_linked_run(session_factory: sessionmaker[Session]) -> None:
    clock = FrozenClock(START)
    with transaction(session_factory) as session:
        first = emit(session, SampleRecorded(ref="0"), actor="system", clock=clock)
        run = emit_many(
            session,
            [SampleRecorded(ref=str(n), data={"n": n}) for n in range(1, 4)],
            actor="staff:2",
            clock=clock,
            reason="import",
        )
        last = emit(session, SampleRecorded(ref="4"), actor="system", clock=clock)
    assert [entry.sequence for entry in run] == [2, 3, 4]
    assert run[0].prev_hash == first.hash
    assert [entry.prev_hash for entry in run[1:]] == [entry.hash for entry in run[:-1]]
    assert last.prev_hash == run[-1].hash
    assert run[1].hash == entry_hash(
        sequence=3,
        occurred_at="2024-05-06T10:00:00.123456+00:00",
        actor="staff:2",
        action="sample.recorded",
        target="sample:2",
        reason="import",
        payload_digest=hashlib.sha256(b'{"data":{"n":2},"ref":"2"}').hexdigest(),
        prev_hash=run[0].hash,
    )
    with session_factory() as session:
        result = verify(session)
        assert (result.ok, result.checked) == (True, 5), result.reason
        recorded = head(session)
        assert (recorded.last_sequence, recorded.last_hash) == (5, last.hash)
        stored = session.scalars(select(AuditEntry.hash).order_by(AuditEntry.sequence)).all()
        assert stored == [first.hash, *(entry.hash for entry in run), last.hash]


def test_emit_many_checks_every_event_before_writing(
    session_factory: sessionmaker[Session],
) -> None:
    clock = FrozenClock(START)
    with transaction(session_factory) as session:
        build_chain(session, 2)
    with session_factory() as session:
        session.begin()
        events = [SampleRecorded(ref="ok"), SampleRecorded(ref="x" * 300)]
        with pytest.raises(InvalidInput, match="target"):
            emit_many(session, events, actor="system", clock=clock)
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 2
        assert head(session).last_sequence == 2
        assert emit_many(session, [], actor="system", clock=clock) == []
        session.rollback()
    with session_factory() as session:
        assert verify(session).checked == 2

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar

import pytest
from sqlalchemy.orm import Session

from tests.audit.sample import START, SampleRecorded
from tutela.audit import DomainEvent, emit
from tutela.audit.events import json_safe
from tutela.clock import FrozenClock
from tutela.errors import InvalidInput


class Colour(Enum):
    RED = "red"


@dataclass(frozen=True)
class Part:
    name: str
    when: dt.date


@dataclass(frozen=True, kw_only=True)
class Rich(DomainEvent):
    action: ClassVar[str] = "sample.rich"
    at: dt.datetime
    colour: Colour
    tags: frozenset[str]
    part: Part
    amount: Decimal
    ident: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class NoAction(DomainEvent):
    value: int = 1


@dataclass(frozen=True, kw_only=True)
class Opaque(DomainEvent):
    action: ClassVar[str] = "sample.opaque"
    thing: Any


def test_payload_is_json_safe() -> None:
    event = Rich(
        at=dt.datetime(2024, 1, 2, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        colour=Colour.RED,
        tags=frozenset({"b", "a"}),
        part=Part(name="p", when=dt.date(2024, 3, 1)),
        amount=Decimal("1.50"),
        ident=uuid.UUID(int=7),
    )
    assert event.payload() == {
        "at": "2024-01-02T02:05:00+00:00",
        "colour": "red",
        "tags": ["a", "b"],
        "part": {"name": "p", "when": "2024-03-01"},
        "amount": "1.50",
        "ident": "00000000-0000-0000-0000-000000000007",
    }
    assert event.target() == ""


def test_json_safe_rejects_unknown_types() -> None:
    with pytest.raises(TypeError, match="object"):
        json_safe(object())


def test_subclass_target_and_payload() -> None:
    event = SampleRecorded(ref="9", data={"k": 1})
    assert event.target() == "sample:9"
    assert event.payload() == {"ref": "9", "data": {"k": 1}}


def test_emit_requires_an_action(session: Session) -> None:
    with pytest.raises(InvalidInput, match="NoAction has no valid 'action'"):
        emit(session, NoAction(), actor="system", clock=FrozenClock(START))


@pytest.mark.parametrize("actor", ["", "   ", "x" * 201])
def test_emit_requires_an_actor(session: Session, actor: str) -> None:
    with pytest.raises(InvalidInput, match=r"actor for sample\.recorded"):
        emit(session, SampleRecorded(ref="1"), actor=actor, clock=FrozenClock(START))


def test_emit_rejects_payloads_that_are_not_json(session: Session) -> None:
    with pytest.raises(InvalidInput, match=r"payload of sample\.opaque"):
        emit(session, Opaque(thing=object()), actor="system", clock=FrozenClock(START))
    with pytest.raises(InvalidInput, match=r"payload of sample\.opaque"):
        emit(session, Opaque(thing=float("nan")), actor="system", clock=FrozenClock(START))

"""A master key and a frozen clock for the subjects tests."""

from __future__ import annotations

import datetime as dt

import pytest

from tutela.clock import FrozenClock
from tutela.crypto import MasterKey

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def master() -> MasterKey:
    return MasterKey(bytes(range(32)))


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)

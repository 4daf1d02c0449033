from __future__ import annotations

import datetime as dt

import pytest

from tutela.clock import FrozenClock, SystemClock


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None
    assert now.utcoffset() == dt.timedelta(0)


def test_frozen_clock_moves_only_when_told() -> None:
    start = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    clock = FrozenClock(start)
    assert clock.now() == start
    clock.advance(dt.timedelta(days=2))
    assert clock.now() == start + dt.timedelta(days=2)


def test_frozen_clock_refuses_naive() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FrozenClock(dt.datetime(2026, 1, 1))

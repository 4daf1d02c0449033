"""A sweep that would empty a table, or almost empty it, waits for a person to confirm."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.retention.conftest import make_context
from tests.retention.store import VISITS, contents
from tutela.clock import FrozenClock
from tutela.retention import plan, recent_runs, run_sweep
from tutela.retention.models import SweepStep

ONLY_VISITS = "crm:\n  visits: {purposes: [server_logs], dates: {collection: at}}\n"
EXPIRED = 36  # of the test store's own visits


def _visits(
    factory: sessionmaker[Session], url: str, clock: FrozenClock, **kwargs: object
) -> tuple[SweepStep, bool]:
    """Sweep the visits only; the step, and whether the plan asked for confirmation."""
    context = make_context(url, ONLY_VISITS)
    try:
        with factory() as session:
            (planned,) = plan(session, context=context, clock=clock).rules
        run_sweep(factory, context=context, clock=clock, actor="t", **kwargs)  # type: ignore[arg-type]
    finally:
        context.close()
    with factory() as session:
        (step,) = recent_runs(session)[0].steps
    assert planned.counts is not None
    return step, planned.counts.needs_confirmation


@pytest.mark.usefixtures("published")
def test_almost_every_row_needs_confirmation(
    session_factory: sessionmaker[Session], clock: FrozenClock, make_store: Callable[..., str]
) -> None:
    url = make_store(extra_visits=1200)  # 1,236 of 1,264 visits expired: 97 %
    step, flagged = _visits(session_factory, url, clock)
    assert flagged
    assert step.status == "refused"
    note = step.note or ""
    assert "1236 of the 1264 rows of crm.visits (97 %)" in note
    assert "at least 90 % and more than 1,000 rows" in note
    assert "--confirm-everything crm.visits" in note
    assert len(contents(url)["visits"]) == VISITS + 4 + 1200
    step, _flagged = _visits(session_factory, url, clock, confirmed=["crm.visits"])
    assert (step.status, step.rows_done) == ("done", EXPIRED + 1200)


@pytest.mark.usefixtures("published")
@pytest.mark.parametrize(
    "extra",
    [
        200,  # 236 of 264 (89 %): below the share
        700,  # 736 of 764 (96 %), but not more than 1,000 rows
        0,  # 36 of 64: a small sweep
    ],
)
def test_a_share_below_ninety_percent_or_a_thousand_rows_or_fewer_runs(
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
    make_store: Callable[..., str],
    extra: int,
) -> None:
    url = make_store(extra_visits=extra)
    step, flagged = _visits(session_factory, url, clock)
    assert not flagged
    assert (step.status, step.rows_done) == ("done", EXPIRED + extra)

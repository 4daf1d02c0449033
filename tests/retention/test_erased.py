"""Fields a sweep hashed or pseudonymised count as done: later sweeps leave them alone."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from tests.retention.conftest import MASTER
from tests.retention.store import DATASET, contents
from tutela.clock import FrozenClock
from tutela.connectors import parse_dataset
from tutela.retention import SweepContext, SweepStore, parse_mapping, recent_runs, run_sweep
from tutela.retention.models import SweepStep
from tutela.storage import make_engine

TICKETS = "crm:\n  tickets: {purposes: [support], dates: {request_closed: closed_at}}\n"
FORMS = {"hash": r"^[0-9a-f]{64}$", "pseudonym": r"^erased-[0-9a-f]{16}$"}


def _sweep(
    factory: sessionmaker[Session], context: SweepContext, clock: FrozenClock, **kwargs: object
) -> SweepStep:
    run_sweep(factory, context=context, clock=clock, actor="t", **kwargs)  # type: ignore[arg-type]
    with factory() as session:
        (step,) = recent_runs(session)[0].steps
    return step


@pytest.mark.promise("P18")
@pytest.mark.usefixtures("published")
@pytest.mark.parametrize("strategy", ["hash", "pseudonym"])
def test_an_erased_field_is_not_erased_again(
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
    make_store: Callable[..., str],
    strategy: str,
) -> None:
    url = make_store()
    engine = make_engine(url, check=False)
    with engine.begin() as conn:  # every ticket closed long ago: every row has expired
        conn.execute(
            sa.text("UPDATE tickets SET closed_at = :day"), {"day": dt.datetime(2023, 1, 1)}
        )
    engine.dispose()
    dataset = parse_dataset(DATASET.replace("strategy: pseudonym", f"strategy: {strategy}"))
    store = SweepStore.sql(name="crm", url=url, dataset=dataset, master=MASTER)
    context = SweepContext(stores=[store], mapping=parse_mapping(TICKETS), master=MASTER)
    try:
        first = _sweep(session_factory, context, clock, confirmed=["crm.tickets"])
        erased = contents(url)["tickets"]
        second = _sweep(session_factory, context, clock)
        clock.advance(dt.timedelta(days=1))
        third = _sweep(session_factory, context, clock)
    finally:
        context.close()
    assert (first.status, first.before, first.rows_done, first.after) == ("done", 3, 3, 0)
    assert all(re.fullmatch(FORMS[strategy], row[2]) for row in erased)
    assert all(row[3] == "[erased]" for row in erased)
    # nothing left to do: not counted, not rewritten, not refused as "every row"
    for later in (second, third):
        assert (later.status, later.before, later.rows_done, later.after) == ("done", 0, 0, 0)
    assert contents(url)["tickets"] == erased

"""Resuming a sweep redoes what did not run: refused rules confirmed now, rules that failed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

import tutela.retention.chunk as chunk_module
import tutela.retention.sweep as sweep_module
from tests.retention.conftest import make_context
from tests.retention.store import contents
from tutela.clock import FrozenClock
from tutela.connectors import StoreUnavailable
from tutela.retention import (
    StepOutcome,
    SweepContext,
    Trigger,
    open_run,
    recent_runs,
    run_sweep,
    sweep_step,
)
from tutela.retention.report import RunReport
from tutela.storage import transaction

pytestmark = pytest.mark.usefixtures("published")
ONLY_VISITS = "crm:\n  visits: {purposes: [server_logs], dates: {collection: at}}\n"


def _open(factory: sessionmaker[Session], context: SweepContext, clock: FrozenClock) -> int:
    with transaction(factory) as session:
        run, resumed = open_run(
            session, context=context, trigger=Trigger.MANUAL, actor="t", clock=clock, chunk_size=5
        )
        assert not resumed
        return run.id


def _step(
    factory: sessionmaker[Session], run_id: int, context: SweepContext, clock: FrozenClock
) -> StepOutcome | None:
    with transaction(factory) as session:
        return sweep_step(session, run_id=run_id, context=context, clock=clock)


def _report(factory: sessionmaker[Session]) -> RunReport:
    with factory() as session:
        return recent_runs(session)[0]


def test_a_refused_rule_runs_when_the_resumed_sweep_confirms_it(
    session_factory: sessionmaker[Session], clock: FrozenClock, make_store: Callable[..., str]
) -> None:
    url = make_store()
    clock.advance(dt.timedelta(days=30))  # every visit has expired: the rule empties the table
    context = make_context(url, ONLY_VISITS)
    try:
        run_id = _open(session_factory, context, clock)
        refused = _step(session_factory, run_id, context, clock)
        assert refused is not None
        assert refused.status == "refused"
        # the process stops here; a person reads the refusal and confirms
        resumed = run_sweep(
            session_factory, context=context, clock=clock, actor="t", confirmed=["crm.visits"]
        )
    finally:
        context.close()
    assert resumed == run_id
    report = _report(session_factory)
    (step,) = report.steps
    assert (report.run.status, step.status, step.rows_done, step.after) == ("done", "done", 64, 0)
    assert contents(url)["visits"] == []


def test_a_rule_whose_store_was_down_is_retried_on_resume(
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
    make_store: Callable[..., str],
    tmp_path: Path,
) -> None:
    reference, url = make_store(), make_store()
    quiet = make_context(reference)
    try:
        run_sweep(session_factory, context=quiet, clock=clock, actor="t")
    finally:
        quiet.close()
    down = make_context(f"sqlite:///{tmp_path / 'missing-folder' / 'crm.db'}")
    up = make_context(url)
    try:
        run_id = _open(session_factory, down, clock)
        failed = _step(session_factory, run_id, down, clock)
        assert failed is not None
        assert failed.status == "failed"
        # the process stops; the store is back when the sweep is started again
        resumed = run_sweep(session_factory, context=up, clock=clock, actor="t")
    finally:
        down.close()
        up.close()
    assert resumed == run_id
    report = _report(session_factory)
    assert report.run.status == "done"
    assert {step.status for step in report.steps} == {"done"}
    assert len(report.steps) == 6
    assert contents(url) == contents(reference)


def test_a_rule_that_failed_mid_way_goes_on_from_its_checkpoint(
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
    make_store: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = make_store()
    real = chunk_module.run_chunk
    calls = {"visits": 0}

    def flaky(conn: Any, sql: Any, **kwargs: Any) -> Any:
        if sql.rule.table == "visits":
            calls["visits"] += 1
            if calls["visits"] == 3:
                raise StoreUnavailable("The store 'crm' cannot be reached: connection reset.")
        return real(conn, sql, **kwargs)

    monkeypatch.setattr(sweep_module, "run_chunk", flaky)
    context = make_context(url, ONLY_VISITS)
    try:
        run_id = _open(session_factory, context, clock)
        while (outcome := _step(session_factory, run_id, context, clock)) is not None:
            if outcome.status == "failed":
                break  # the process stops after the failure
        (failed,) = _report(session_factory).steps
        assert (failed.status, failed.rows_done, failed.chunks) == ("failed", 10, 2)
        assert "connection reset" in (failed.note or "")
        resumed = run_sweep(session_factory, context=context, clock=clock, actor="t")
    finally:
        context.close()
    assert resumed == run_id
    (step,) = _report(session_factory).steps
    assert (step.status, step.before, step.rows_done, step.after, step.note) == (
        "done",
        36,
        36,
        0,
        None,
    )
    assert len(contents(url)["visits"]) == 28

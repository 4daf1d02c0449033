"""A sweep killed mid-way (SIGKILL) resumes and ends in the state of an uninterrupted one."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from tests.retention.conftest import make_context
from tests.retention.store import contents
from tutela.audit import AuditEntry
from tutela.clock import FrozenClock
from tutela.retention import recent_runs, run_sweep
from tutela.retention.models import SweepStep

ROOT = Path(__file__).resolve().parents[2]
CHUNK = 10
KILL_AFTER = 6
EXTRA = 200


def _run_until_killed(db_url: str, store_url: str) -> list[str]:
    """Start the sweeper, kill it with SIGKILL after KILL_AFTER chunks; its output lines."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.retention.sweeper", db_url, store_url, str(CHUNK), "0.2"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    lines: list[str] = []
    deadline = time.monotonic() + 120
    try:
        assert process.stdout is not None
        while sum(line.startswith("chunk") for line in lines) < KILL_AFTER:
            line = process.stdout.readline()
            if not line:
                _out, err = process.communicate()
                pytest.fail(f"the sweeper ended early: {lines} {err}")
            lines.append(line.strip())
            assert time.monotonic() < deadline, "the sweeper is too slow"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    assert "finished" not in lines
    return lines


@pytest.mark.promise("P18")
@pytest.mark.usefixtures("published")
def test_a_killed_sweep_resumes_and_ends_like_an_uninterrupted_one(
    db_url: str,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
    make_store: Callable[..., str],
) -> None:
    reference, killed = make_store(extra_visits=EXTRA), make_store(extra_visits=EXTRA)
    context = make_context(reference)
    try:
        run_sweep(session_factory, context=context, clock=clock, actor="t", chunk_size=CHUNK)
    finally:
        context.close()

    lines = _run_until_killed(db_url, killed)
    with session_factory() as session:
        interrupted = recent_runs(session)[0]
        assert interrupted.run.status == "running"
        done_before = sum(step.rows_done for step in interrupted.steps)
        assert 0 < done_before < 36 + EXTRA
    assert contents(killed) != contents(reference)

    later = FrozenClock(clock.now() + dt.timedelta(days=1))  # the run keeps its own cutoffs
    context = make_context(killed)
    try:
        resumed_id = run_sweep(
            session_factory, context=context, clock=later, actor="t", chunk_size=CHUNK
        )
    finally:
        context.close()

    assert resumed_id == interrupted.run.id
    assert contents(killed) == contents(reference)
    with session_factory() as session:
        runs = {r.run.id: r for r in recent_runs(session)}
        resumed = runs[resumed_id]
        assert resumed.run.status == "done"
        visits = next(s for s in resumed.steps if s.rule == "crm.visits:server_logs")
        assert visits.before == 36 + EXTRA
        assert visits.after == 0
        steps = session.scalars(sa.select(SweepStep).where(SweepStep.run_id == resumed_id)).all()
        assert len(steps) == len({s.rule for s in steps})  # one checkpoint per rule
        started = session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "retention.sweep_started")
        ).all()
        assert [json.loads(e.payload)["run_id"] for e in started].count(resumed_id) == 1
    assert any(line.startswith("chunk crm.visits") for line in lines)

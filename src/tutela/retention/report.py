"""Reading sweeps back: recent runs with the counts of each rule (for the console and the CLI)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tutela.errors import NotFound
from tutela.retention.models import SweepRun, SweepStep

__all__ = ["RunReport", "recent_runs", "run_report"]


@dataclass(frozen=True, slots=True)
class RunReport:
    run: SweepRun
    steps: tuple[SweepStep, ...]

    @property
    def rows_done(self) -> int:
        return sum(step.rows_done for step in self.steps)

    @property
    def problems(self) -> tuple[SweepStep, ...]:
        return tuple(s for s in self.steps if s.status in ("failed", "refused"))


def _steps(session: Session, run_ids: list[int]) -> dict[int, list[SweepStep]]:
    found: dict[int, list[SweepStep]] = {run_id: [] for run_id in run_ids}
    if not run_ids:
        return found
    query = (
        select(SweepStep)
        .where(SweepStep.run_id.in_(run_ids))
        .order_by(SweepStep.run_id, SweepStep.position, SweepStep.id)
    )
    for step in session.scalars(query):
        found[step.run_id].append(step)
    return found


def recent_runs(session: Session, *, limit: int = 10) -> list[RunReport]:
    """The newest runs first, each with its rules in the order they ran."""
    runs = list(session.scalars(select(SweepRun).order_by(SweepRun.id.desc()).limit(limit)))
    steps = _steps(session, [run.id for run in runs])
    return [RunReport(run, tuple(steps[run.id])) for run in runs]


def run_report(session: Session, *, run_id: int) -> RunReport:
    run = session.get(SweepRun, run_id)
    if run is None:
        raise NotFound(f"There is no sweep {run_id}; the console lists the recent ones.")
    return RunReport(run, tuple(_steps(session, [run_id])[run_id]))

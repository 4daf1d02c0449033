"""Retention: rules from the declaration, legal holds, and sweeps over the connected stores.

* :mod:`~tutela.retention.mapping` — ``retention.yaml``: which table serves which purpose
  and which column dates its event;
* :mod:`~tutela.retention.rules` — the rules derived from the declaration in effect;
* :mod:`~tutela.retention.plan` — the dry run (what would go, what holds keep);
* :mod:`~tutela.retention.sweep` — runs, chunks and checkpoints, resumable;
* :mod:`~tutela.retention.holds` — manual legal holds per person or record set;
* :mod:`~tutela.retention.restriction` — held rows marked restricted until the hold ends;
* :mod:`~tutela.retention.jobs` — the daily job (importing it registers the handlers).
"""

from tutela.retention.context import SweepContext
from tutela.retention.holds import (
    list_holds,
    place_records_hold,
    place_subject_hold,
    release_hold,
)
from tutela.retention.mapping import RetentionMapping, load_mapping, parse_mapping
from tutela.retention.models import LegalHold, SweepRun, SweepStep, Trigger
from tutela.retention.plan import Plan, PlannedRule, plan
from tutela.retention.report import RunReport, recent_runs, run_report
from tutela.retention.rules import Rule, derive_rules
from tutela.retention.stores import SweepStore, sweep_stores
from tutela.retention.sweep import DEFAULT_CHUNK, StepOutcome, open_run, run_sweep, sweep_step

__all__ = [
    "DEFAULT_CHUNK",
    "LegalHold",
    "Plan",
    "PlannedRule",
    "RetentionMapping",
    "Rule",
    "RunReport",
    "StepOutcome",
    "SweepContext",
    "SweepRun",
    "SweepStep",
    "SweepStore",
    "Trigger",
    "derive_rules",
    "list_holds",
    "load_mapping",
    "open_run",
    "parse_mapping",
    "place_records_hold",
    "place_subject_hold",
    "plan",
    "recent_runs",
    "release_hold",
    "run_report",
    "run_sweep",
    "sweep_step",
    "sweep_stores",
]

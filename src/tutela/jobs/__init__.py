"""Durable jobs in the application database: enqueue with the state change, run later.

No domain logic lives here; domain packages register handlers on a
:class:`JobRegistry` and enqueue jobs in their own transactions.
"""

from tutela.jobs.models import Job, JobStatus
from tutela.jobs.queue import (
    backoff,
    claim,
    enqueue,
    ensure_job,
    get_job,
    purge_finished,
    requeue,
)
from tutela.jobs.registry import (
    Handler,
    JobContext,
    JobRegistry,
    Postpone,
    UnknownJobKind,
    registry,
)
from tutela.jobs.worker import Worker, WorkerThread, run_one, start_in_thread

__all__ = [
    "Handler",
    "Job",
    "JobContext",
    "JobRegistry",
    "JobStatus",
    "Postpone",
    "UnknownJobKind",
    "Worker",
    "WorkerThread",
    "backoff",
    "claim",
    "enqueue",
    "ensure_job",
    "get_job",
    "purge_finished",
    "registry",
    "requeue",
    "run_one",
    "start_in_thread",
]

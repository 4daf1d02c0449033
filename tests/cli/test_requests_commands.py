"""``tutela requests …``: list a request's manual tasks and close them from the shell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

import tutela.dsr.fulfil_job  # noqa: F401 - registers the fulfilment job and handlers
from tests.cli.conftest import Run
from tutela.audit import AuditEntry
from tutela.clock import SystemClock
from tutela.config import Settings
from tutela.connectors import create
from tutela.crypto import load_or_create_master_key
from tutela.dsr import DsrRuntime, Method, get_request, submit
from tutela.dsr.fulfil_job import run_fulfilment
from tutela.dsr.fulfilment import FULFIL_JOB
from tutela.dsr.workflow import mark_verified
from tutela.jobs.models import Job
from tutela.storage import make_engine, make_session_factory

ADDRESS = "lena.probe@example.org"
EVIDENCE = "Archive folder A-17 shredded by the records office"


@pytest.fixture
def waiting(db_args: list[str], db_url: str, tmp_path: Path) -> str:
    """An erasure request waiting for the manual task of the store ``archive``."""
    data = tmp_path / "data"
    master = load_or_create_master_key(data, None)
    settings = Settings(data_dir=data, controller_state="BY")
    runtime = DsrRuntime(
        master=master,
        settings=settings,
        stores=(create("manual", {"name": "archive", "system": "the paper archive"}),),
    )
    clock = SystemClock()
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    try:
        with factory() as session, session.begin():
            receipt = submit(
                session,
                request_type="erasure",
                identity_kind="email",
                identity_value=ADDRESS,
                language="en",
                master=master,
                clock=clock,
                settings=settings,
            )
            found = get_request(session, reference=receipt.reference)
            mark_verified(
                session, request=found, method=Method.STAFF_APPROVAL, actor="staff:1", clock=clock
            )
            run_fulfilment(session, request_id=found.id, runtime=runtime, clock=clock)
            assert found.status == "in_progress"
            return receipt.reference
    finally:
        engine.dispose()


def _trail(db_url: str, action: str) -> list[AuditEntry]:
    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as session:
            found = list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
            session.expunge_all()
            return found
    finally:
        engine.dispose()


def _settle_jobs(db_url: str) -> int:
    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as session:
            keys = session.scalars(select(Job.idempotency_key).where(Job.kind == FULFIL_JOB))
            return sum(1 for key in keys if key and ":tasks:" in key)
    finally:
        engine.dispose()


def test_staff_list_and_confirm_a_task_from_the_shell(
    run: Run, db_args: list[str], db_url: str, waiting: str
) -> None:
    listed = run(*db_args, "requests", "tasks", waiting)
    assert listed.code == 0, listed.err
    assert "1 of 1 manual task(s) open" in listed.out
    assert "archive (erase): open" in listed.out
    assert "Staff must erase the person's records in the paper archive" in listed.out

    base = (*db_args, "requests", "confirm-task", waiting, "--store", "archive")
    short = run(*base, "--evidence", "done", "--actor", "staff:4")
    assert short.code == 2
    assert "evidence" in short.err
    named = run(*base, "--evidence", f"Shredded the folder of {ADDRESS}", "--actor", "staff:4")
    assert named.code == 2
    assert "e-mail address" in named.err
    other = (*db_args, "requests", "confirm-task", waiting, "--store", "crm")
    unknown = run(*other, "--evidence", EVIDENCE, "--actor", "staff:4")
    assert unknown.code == 2
    assert "no manual task for 'crm'" in unknown.err
    assert _trail(db_url, "dsr.task_confirmed") == []

    done = run(*base, "--evidence", EVIDENCE, "--actor", "staff:4")
    assert done.code == 0, done.err
    assert "no manual task is open" in done.out
    (entry,) = _trail(db_url, "dsr.task_confirmed")
    assert (entry.actor, entry.reason) == ("staff:4", EVIDENCE)
    assert _settle_jobs(db_url) == 1

    refuse = (*db_args, "requests", "task-not-done", waiting, "--store", "archive")
    again = run(*refuse, "--reason", "Folder could not be found", "--actor", "staff:4")
    assert again.code == 1
    assert "closed already" in again.err
    shown = run(*db_args, "requests", "tasks", waiting, "--format", "json")
    assert shown.code == 0
    (task,) = json.loads(shown.out)["tasks"]
    assert (task["store"], task["state"], task["by"], task["note"]) == (
        "archive",
        "done",
        "staff:4",
        EVIDENCE,
    )


def test_a_task_not_done_needs_a_reason_and_an_unknown_request_is_named(
    run: Run, db_args: list[str], db_url: str, waiting: str
) -> None:
    base = (*db_args, "requests", "task-not-done", waiting, "--store", "archive")
    empty = run(*base, "--reason", " ", "--actor", "staff:4")
    assert empty.code == 2
    assert "reason" in empty.err
    marked = run(*base, "--reason", "The archive was destroyed by water in 2023", "--actor", "s:4")
    assert marked.code == 0, marked.err
    assert len(_trail(db_url, "dsr.task_not_done")) == 1
    missing = run(*db_args, "requests", "tasks", "DSR-0000-0000-0000")
    assert missing.code == 2
    assert "reference" in missing.err

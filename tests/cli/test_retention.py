"""``tutela retention …``: plan, sweep with confirmation, runs, legal holds, schedule."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from sqlalchemy.orm import Session

from tests.cli.conftest import Run
from tests.retention.conftest import EXAMPLE, account_declaration, store_database
from tests.retention.store import NOW, build_store, contents, write_files
from tutela.cli import retention as retention_commands
from tutela.cli.app import app
from tutela.clock import FrozenClock, SystemClock
from tutela.policy.versions import publish
from tutela.storage import make_engine, make_session_factory


@pytest.fixture(autouse=True)
def _registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mount the group as ``tutela retention`` (cli/app.py does so once it is wired in)."""
    if not any(group.name == "retention" for group in app.registered_groups):
        groups = [
            *app.registered_groups,
            typer.models.TyperInfo(retention_commands.app, name="retention"),
        ]
        monkeypatch.setattr(app, "registered_groups", groups)
    monkeypatch.setattr(SystemClock, "now", lambda self: NOW)


@pytest.fixture
def store(
    db_url: str, tmp_path: Path, request: pytest.FixtureRequest, db_args: list[str]
) -> Iterator[str]:
    """The test store, wired in through DATA_DIR/stores.yaml, with the declaration published."""
    with store_database(db_url, tmp_path, request) as url:
        build_store(url)
        write_files(tmp_path / "data", url)
        engine = make_engine(db_url)
        try:
            with make_session_factory(engine)() as session, session.begin():
                _publish(session)
        finally:
            engine.dispose()
        yield url


def _publish(session: Session) -> None:
    publish(
        session,
        declaration=account_declaration(),
        source_text=EXAMPLE.read_text(encoding="utf-8"),
        actor="test",
        clock=FrozenClock(NOW),
    )


@pytest.mark.promise("P18")
def test_plan_shows_what_would_go_and_changes_nothing(
    run: Run, db_args: list[str], store: str
) -> None:
    before = contents(store)
    result = run(*db_args, "retention", "plan")
    assert result.code == 0, result.err
    assert "crm.visits:server_logs" in result.out
    assert "36 of 64 rows would go" in result.out
    assert "2 kept by a statutory hold until 2032-12-31 at the latest" in result.out
    assert "3 still referred to by other rows" in result.out
    document = json.loads(run(*db_args, "retention", "plan", "--format", "json").out)
    rules = {rule["rule"]: rule for rule in document["rules"]}
    assert rules["crm.contracts:vat_place_of_supply"]["would_go"] == 3
    assert rules["crm.contracts:vat_place_of_supply"]["action"] == "erase signup_ip"
    assert contents(store) == before


@pytest.mark.promise("P18")
def test_sweep_runs_with_a_progress_bar_and_reports(
    run: Run, db_args: list[str], store: str
) -> None:
    result = run(*db_args, "retention", "sweep", "--chunk-size", "10")
    assert result.code == 0, result.err
    assert "started sweep 1" in result.err
    assert "crm.visits:server_logs: done, 36 of 36 rows" in result.out
    assert "sweep 1: done" in result.out
    assert len(contents(store)["visits"]) == 28
    listed = run(*db_args, "retention", "runs")
    assert "sweep 1 (manual, done)" in listed.out
    assert "crm.visits:server_logs: done; before 36, done 36, after 0" in listed.out


def test_emptying_a_table_needs_the_flag(
    run: Run, db_args: list[str], store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data" / "retention.yaml").write_text(
        "crm:\n  invoices: {purposes: [invoicing], dates: {collection: issued_on}}\n",
        encoding="utf-8",
    )
    later = NOW.replace(year=2033)
    monkeypatch.setattr(SystemClock, "now", lambda self: later)
    refused = run(*db_args, "retention", "sweep")
    assert refused.code == 1
    assert "--confirm-everything crm.invoices" in refused.out
    assert len(contents(store)["invoices"]) == 3
    confirmed = run(*db_args, "retention", "sweep", "--confirm-everything", "crm.invoices")
    assert confirmed.code == 0, confirmed.out
    assert contents(store)["invoices"] == []


def test_holds_are_added_listed_and_released(run: Run, db_args: list[str], store: str) -> None:
    person = run(
        *db_args,
        "retention",
        "hold",
        "add",
        "--email",
        "c6@example.org",
        "--reason",
        "Court case 4 O 12/26",
        "--until",
        "2027-01-31",
    )
    assert person.code == 0, person.err
    records = run(
        *db_args,
        "retention",
        "hold",
        "add",
        "--store",
        "crm",
        "--table",
        "visits",
        "--column",
        "id",
        "--from",
        "41",
        "--to",
        "42",
        "--reason",
        "Attack analysis",
    )
    assert records.code == 0, records.err
    listed = run(*db_args, "retention", "hold", "list").out
    assert "1: person (subject" in listed
    assert "c6@example.org" not in listed
    assert "2: crm.visits where id from 41 to 42" in listed
    assert run(*db_args, "retention", "sweep").code == 0
    kept = {row[0] for row in contents(store)["visits"]}
    assert {41, 42, 102, 103} <= kept
    released = run(*db_args, "retention", "hold", "release", "2", "--reason", "Closed")
    assert released.code == 0
    assert "2: crm.visits" not in run(*db_args, "retention", "hold", "list").out


RECORDS = ("--store", "crm", "--table", "visits")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--reason", "x"], "Hold either one person"),
        (["--email", "a@example.org", "--store", "crm", "--reason", "x"], "Hold either one"),
        (["--store", "crm", "--table", "visits", "--reason", "x"], "--column"),
        (["--email", "a@example.org", "--reason", "x", "--until", "soon"], "YYYY-MM-DD"),
        (
            ["--store", "shop", "--table", "t", "--column", "c", "--value", "1", "--reason", "x"],
            "no SQL store 'shop'",
        ),
        (
            [*RECORDS, "--column", "ip", "--value", "192.0.2.9", "--reason", "x"],
            "Hold the person instead",
        ),
        (
            [*RECORDS, "--column", "at", "--value", "24.12.2025", "--reason", "x"],
            "holds timestamps",
        ),
    ],
)
def test_hold_add_explains_bad_input(
    run: Run, db_args: list[str], store: str, args: list[str], expected: str
) -> None:
    result = run(*db_args, "retention", "hold", "add", *args)
    assert result.code == 2
    assert expected in result.err


def test_a_missing_mapping_is_named(
    run: Run, db_args: list[str], store: str, tmp_path: Path
) -> None:
    (tmp_path / "data" / "retention.yaml").unlink()
    result = run(*db_args, "retention", "plan")
    assert result.code == 2
    assert "retention.yaml: the retention mapping does not exist" in result.err


def test_schedule_queues_the_daily_sweep_once(run: Run, db_args: list[str], store: str) -> None:
    first = run(*db_args, "retention", "schedule")
    assert "daily sweep queued for 2026-03-03 02:00 UTC" in first.out
    assert "already queued" in run(*db_args, "retention", "schedule").out

"""The retention report in the admin console: sweeps, counts per rule, holds; by role."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.retention.conftest import (
    EXAMPLE,
    MASTER,
    account_declaration,
    make_context,
    store_database,
)
from tests.retention.store import HELD_EMAIL, build_store
from tests.web.conftest import log_in
from tutela.clock import FrozenClock
from tutela.policy.versions import publish
from tutela.retention import place_records_hold, place_subject_hold, run_sweep
from tutela.storage import transaction
from tutela.web.admin.retention import router

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """A client whose app serves the report, registered or not in web/app.py yet."""
    made = make_client()
    app = made.app
    assert isinstance(app, FastAPI)
    if not any(getattr(route, "path", "") == "/admin/retention" for route in app.routes):
        app.include_router(router)
    return made


@pytest.fixture
def swept(
    db_url: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
) -> Iterator[None]:
    """One sweep of the test store with two legal holds, then one refused sweep."""
    with store_database(db_url, tmp_path, request) as url:
        build_store(url)
        with transaction(session_factory) as session:
            publish(
                session,
                declaration=account_declaration(),
                source_text=EXAMPLE.read_text(encoding="utf-8"),
                actor="test",
                clock=clock,
            )
            place_subject_hold(
                session,
                kind="email",
                value=HELD_EMAIL,
                reason="Court case 4 O 12/26",
                until=None,
                master=MASTER,
                clock=clock,
                actor="staff:2",
            )
        context = make_context(url)
        with transaction(session_factory) as session:
            place_records_hold(  # the two visits on /dispute
                session,
                store="crm",
                table="visits",
                column="id",
                low="41",
                high="42",
                reason=f"Attack analysis {SCRIPT}",
                until=dt.date(2026, 6, 30),
                clock=clock,
                actor="staff:2",
                stores=context.stores,
            )
        try:
            run_sweep(session_factory, context=context, clock=clock, actor="test")
        finally:
            context.close()
        everything = make_context(
            url, "crm:\n  invoices: {purposes: [invoicing], dates: {collection: issued_on}}\n"
        )
        later = FrozenClock(dt.datetime(2033, 1, 2, 9, 0, tzinfo=dt.UTC))
        try:
            run_sweep(session_factory, context=everything, clock=later, actor="test")
        finally:
            everything.close()
        yield


def test_login_is_required(client: TestClient) -> None:
    response = client.get("/admin/retention", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login"


def test_support_may_not_see_the_report(client: TestClient, staff: dict[str, str]) -> None:
    log_in(client, staff["support"])
    assert client.get("/admin/retention").status_code == 403


def test_the_report_is_empty_before_any_sweep(client: TestClient, staff: dict[str, str]) -> None:
    log_in(client, staff["dpo"])
    page = client.get("/admin/retention?lang=en")
    assert page.status_code == 200
    assert "No sweep has run yet" in page.text
    assert "No legal hold is in force." in page.text


@pytest.mark.promise("P18")
@pytest.mark.parametrize("role", ["dpo", "admin"])
@pytest.mark.usefixtures("swept")
def test_the_report_shows_counts_per_rule_and_what_holds_kept(
    client: TestClient, staff: dict[str, str], role: str
) -> None:
    log_in(client, staff[role])
    page = client.get("/admin/retention?lang=en")
    assert page.status_code == 200
    text = page.text
    assert "Sweep 1" in text
    assert "Sweep 2" in text
    assert text.index("Sweep 2") < text.index("Sweep 1")  # newest first
    visits = text[text.index("crm.visits:server_logs") :].split("</tr>")[0]
    cells = [cell.split(">")[-1] for cell in visits.split("</td>")[:-1]]
    # action, status, before, erased, after, statutory, legal, referenced, note
    assert cells[:8] == ["delete_row", "done", "32", "32", "0", "0", "4", "0"]
    assert "(until 31 December 2032)" in text
    assert "declaration version 1. Finished" in text
    assert "refused: would empty or almost empty the table" in text
    assert "--confirm-everything crm.invoices" in text
    assert "Court case 4 O 12/26" in text
    assert "the records of subject" in text
    assert HELD_EMAIL not in text
    assert "203.0.113" not in text
    assert SCRIPT not in text
    assert "&lt;script&gt;" in text


@pytest.mark.usefixtures("swept")
def test_the_report_speaks_german(client: TestClient, staff: dict[str, str]) -> None:
    log_in(client, staff["dpo"])
    page = client.get("/admin/retention?lang=de")
    assert page.status_code == 200
    assert page.headers["content-language"] == "de"
    assert "crm.visits:server_logs" in page.text

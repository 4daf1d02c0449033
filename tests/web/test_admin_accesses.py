"""The DPO's page of accesses to people's records, per staff member and period."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.web.conftest import START, log_in
from tests.web.test_admin_people import with_people
from tutela.audit import emit
from tutela.clock import FrozenClock
from tutela.dsr.events import RequestDetailsOpened
from tutela.staff.access import record_access, record_lookup
from tutela.staff.service import find_staff

DIGEST = "5e" * 32


def _ids(factory: sessionmaker[Session], staff: dict[str, str]) -> dict[str, int]:
    with factory() as session:
        found = {role: find_staff(session, email=email) for role, email in staff.items()}
    return {role: user.id for role, user in found.items() if user is not None}


@pytest.fixture
def ids(session_factory: sessionmaker[Session], staff: dict[str, str]) -> dict[str, int]:
    """Support: three openings (one 40 days ago); the DPO: one; the command line: one."""
    ids = _ids(session_factory, staff)
    support, dpo = ids["support"], ids["dpo"]

    def at(days: float) -> FrozenClock:
        return FrozenClock(START - dt.timedelta(days=days))

    with session_factory() as session, session.begin():
        record_lookup(
            session,
            kind="email",
            subject_id=None,
            lookup=DIGEST,
            reason="support_case",
            note="=SUM(4711)",
            actor=f"staff:{support}",
            staff_id=support,
            clock=at(1),
        )
        record_access(
            session,
            subject_id=3,
            reason="support_case",  # the stored code of every support ticket, old and new
            note="T-12",
            actor=f"staff:{support}",
            staff_id=support,
            clock=at(2),
        )
        record_access(
            session,
            subject_id=4,
            reason="legal_obligation",
            actor=f"staff:{support}",
            staff_id=support,
            clock=at(40),
        )
        emit(
            session,
            RequestDetailsOpened(request_id=9, staff_id=dpo, reason="request_from_person"),
            actor=f"staff:{dpo}",
            clock=at(3),
            reason="request_from_person: letter of 1 March",
        )
        record_access(session, subject_id=5, reason="technical_problem", actor="cli", clock=at(0.5))
    return ids


def _row(html: str, actor: str) -> list[str]:
    found = re.search(rf'<tr data-actor="{actor}">(.*?)</tr>', html, re.S)
    assert found, actor
    return re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", found.group(1), re.S)


@pytest.mark.promise("P09")
def test_the_dpo_sees_accesses_per_staff_member_for_the_last_30_days(
    client: TestClient, staff: dict[str, str], ids: dict[str, int]
) -> None:
    log_in(with_people(client), staff["dpo"])
    page = client.get("/admin/accesses?lang=en")
    assert page.status_code == 200
    text = page.text
    assert "Accesses from 1 February 2026 to 2 March 2026: 4" in text
    header = re.search(r'<table class="data" id="per-staff">.*?</thead>', text, re.S)
    assert header
    columns = re.findall(r'<th scope="col">(.*?)</th>', header.group(0))
    assert columns == [
        "Staff member",
        "Request from the person",
        "Support ticket",
        "Technical problem",
        "Total",
    ]
    assert _row(text, f"staff:{ids['support']}") == ["Support Person", "0", "2", "0", "2"]
    assert _row(text, f"staff:{ids['dpo']}") == ["Dpo Person", "1", "0", "0", "1"]
    assert _row(text, "cli") == ["cli", "0", "0", "1", "1"]
    listed = text.split('id="accesses"')[1]
    assert listed.count("<tr>") == 5  # the header row and the four accesses
    assert "letter of 1 March" in listed
    assert "Request details" in listed
    assert f"<code>lookup:{DIGEST}</code>" in listed
    assert "<code>subject:4</code>" not in listed  # 40 days ago


@pytest.mark.promise("P09")
def test_filters_by_staff_member_and_dates(
    client: TestClient, staff: dict[str, str], ids: dict[str, int]
) -> None:
    log_in(with_people(client), staff["admin"])
    support = ids["support"]
    page = client.get(f"/admin/accesses?lang=en&staff={support}&start=2026-01-01&end=2026-03-02")
    assert page.status_code == 200
    assert "Accesses from 1 January 2026 to 2 March 2026: 3" in page.text
    assert _row(page.text, f"staff:{support}")[-1] == "3"
    assert 'data-actor="cli"' not in page.text
    assert f'<option value="{support}" selected>' in page.text
    narrow = client.get("/admin/accesses?lang=en&start=2026-02-28&end=2026-02-28")
    assert "Accesses from 28 February 2026 to 28 February 2026: 1" in narrow.text


@pytest.mark.promise("P09")
@pytest.mark.parametrize(
    "query",
    ["start=2026-13-01", "start=2026-03-02&end=2026-03-01", "start=2024-01-01", "staff=anna"],
)
def test_bad_filters_are_refused_with_a_sentence(
    client: TestClient, staff: dict[str, str], ids: dict[str, int], query: str
) -> None:
    log_in(with_people(client), staff["dpo"])
    page = client.get(f"/admin/accesses?lang=en&{query}")
    assert page.status_code == 422
    assert 'role="alert"' in page.text
    assert 'id="per-staff"' not in page.text


@pytest.mark.promise("P09")
def test_only_the_dpo_and_admins_see_the_page(
    client: TestClient, staff: dict[str, str], ids: dict[str, int]
) -> None:
    log_in(with_people(client), staff["support"])
    assert client.get("/admin/accesses").status_code == 403
    assert client.get("/admin/accesses.csv").status_code == 403


@pytest.mark.promise("P09")
def test_the_csv_download_lists_every_access_without_running_formulas(
    client: TestClient, staff: dict[str, str], ids: dict[str, int]
) -> None:
    log_in(with_people(client), staff["dpo"])
    response = client.get("/admin/accesses.csv?start=2026-01-01&end=2026-03-02")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert (
        'filename="accesses-2026-01-01-2026-03-02.csv"' in response.headers["content-disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["reason"] for r in rows] == [
        "technical_problem",
        "support_case",
        "support_case",
        "request_from_person",
        "legal_obligation",
    ]
    lookup = rows[1]
    assert lookup["opened"] == "store_records"
    assert lookup["note"] == "'=SUM(4711)"
    assert lookup["target"] == f"lookup:{DIGEST}"
    assert lookup["staff_name"] == "Support Person"
    assert rows[0]["actor"] == "cli"
    assert rows[0]["staff_id"] == ""

"""The console's request pages on both databases: queue order, actions, details with a reason."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.web.conftest import form_token, log_in
from tutela.audit import AuditEntry
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.crypto import MasterKey, load_or_create_master_key
from tutela.dsr import DsrRequest, record_staff_entry, submit
from tutela.policy.models_db import PolicyVersion
from tutela.storage import transaction

ADDRESS = "berta.muster@example.org"
SECRET_TEXT = "Please send it to my office"


@pytest.fixture
def master(settings: Settings) -> MasterKey:
    return load_or_create_master_key(settings.data_dir, None)


@pytest.fixture
def published(publish_version: Callable[..., PolicyVersion]) -> PolicyVersion:
    return publish_version()


@pytest.fixture
def filed(
    session_factory: sessionmaker[Session],
    master: MasterKey,
    clock: FrozenClock,
    settings: Settings,
    published: PolicyVersion,
) -> Callable[..., str]:
    """File a request (by staff entry when ``days_ago`` is given); return its reference."""

    def run(days_ago: int | None = None, request_type: str = "access") -> str:
        with transaction(session_factory) as session:
            if days_ago is None:
                return submit(
                    session,
                    request_type=request_type,
                    identity_kind="email",
                    identity_value=ADDRESS,
                    language="en",
                    master=master,
                    clock=clock,
                    settings=settings,
                    text=SECRET_TEXT,
                ).reference
            return record_staff_entry(
                session,
                request_type=request_type,
                identity_kind="email",
                identity_value=ADDRESS,
                language="en",
                channel="letter",
                received_at=clock.now() - dt.timedelta(days=days_ago),
                actor="staff:1",
                master=master,
                clock=clock,
                settings=settings,
            ).reference

    return run


def console(client: TestClient, email: str) -> TestClient:
    return log_in(client, email)


def status_of(factory: sessionmaker[Session], reference: str) -> str:
    with factory() as session:
        return session.scalars(
            select(DsrRequest.status).where(DsrRequest.reference == reference)
        ).one()


def trail(factory: sessionmaker[Session], action: str) -> list[AuditEntry]:
    with factory() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_the_queue_orders_by_deadline_and_marks_urgency_in_words(
    client: TestClient, staff: dict[str, str], filed: Callable[..., str]
) -> None:
    fresh = filed()
    overdue = filed(days_ago=40)
    near = filed(days_ago=25)
    page = console(client, staff["support"]).get("/admin/requests?lang=en")
    assert page.status_code == 200
    positions = [page.text.index(ref) for ref in (overdue, near, fresh)]
    assert positions == sorted(positions)
    assert "Overdue by" in page.text
    assert "Due soon" in page.text
    assert 'href="/admin/requests"' in page.text  # the menu entry


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_pages_speak_both_languages(
    client: TestClient, staff: dict[str, str], filed: Callable[..., str], lang: str
) -> None:
    reference = filed()
    console(client, staff["dpo"])
    for path in ("/admin/requests", f"/admin/requests/{reference}", "/admin/requests/new"):
        page = client.get(f"{path}?lang={lang}")
        assert page.status_code == 200, path
        assert page.headers["content-language"] == lang
    german = client.get(f"/admin/requests/{reference}?lang=de")
    if lang == "de":
        assert "Zeitverlauf" in german.text


def test_an_action_needs_the_form_token_and_a_reason(
    client: TestClient,
    staff: dict[str, str],
    filed: Callable[..., str],
    session_factory: sessionmaker[Session],
) -> None:
    reference = filed()
    console(client, staff["dpo"])
    page = client.get(f"/admin/requests/{reference}?lang=en")
    token = form_token(page.text)
    no_token = client.post(
        f"/admin/requests/{reference}/deny", data={"reason": "Manifestly unfounded"}
    )
    assert no_token.status_code == 403
    no_reason = client.post(
        f"/admin/requests/{reference}/deny?lang=en", data={"reason": " ", "csrf_token": token}
    )
    assert no_reason.status_code == 422
    assert "Give a reason" in no_reason.text
    assert status_of(session_factory, reference) == "received"
    denied = client.post(
        f"/admin/requests/{reference}/deny?lang=en",
        data={"reason": "Manifestly unfounded", "csrf_token": token},
        follow_redirects=False,
    )
    assert denied.status_code == 303
    assert status_of(session_factory, reference) == "denied"
    shown = client.get(denied.headers["location"])
    assert "Manifestly unfounded" in shown.text
    assert "dsr.denied" in shown.text


def test_approving_a_lower_level_needs_the_permission_and_a_second_person(
    make_client: Callable[..., TestClient],
    staff: dict[str, str],
    filed: Callable[..., str],
    session_factory: sessionmaker[Session],
) -> None:
    reference = filed()
    dpo = console(make_client(), staff["dpo"])
    token = form_token(dpo.get(f"/admin/requests/{reference}").text)
    reason = "Mailbox lost; identified by a video call with the customer number"
    asked = dpo.post(
        f"/admin/requests/{reference}/lower?lang=en",
        data={"to": "none", "reason": reason, "csrf_token": token},
        follow_redirects=False,
    )
    assert asked.status_code == 303
    assert "lowering_pending" in asked.headers["location"]
    again = dpo.post(
        f"/admin/requests/{reference}/lower?lang=en",
        data={"to": "none", "reason": reason, "csrf_token": token},
    )
    assert again.status_code == 409
    support = console(make_client(), staff["support"])
    page = support.get(f"/admin/requests/{reference}?lang=en")
    assert "asks to lower" in page.text
    refused = support.post(
        f"/admin/requests/{reference}/lower?lang=en",
        data={"to": "none", "reason": reason, "csrf_token": form_token(page.text)},
    )
    assert refused.status_code == 403
    admin = console(make_client(), staff["admin"])
    approved = admin.post(
        f"/admin/requests/{reference}/lower?lang=en",
        data={
            "to": "none",
            "reason": reason,
            "csrf_token": form_token(admin.get(f"/admin/requests/{reference}").text),
        },
        follow_redirects=False,
    )
    assert approved.status_code == 303
    assert "lowering_applied" in approved.headers["location"]
    assert status_of(session_factory, reference) == "verified"


@pytest.mark.promise("P09")
def test_opening_the_details_needs_a_reason_and_is_audited(
    client: TestClient,
    staff: dict[str, str],
    filed: Callable[..., str],
    session_factory: sessionmaker[Session],
) -> None:
    reference = filed()
    console(client, staff["support"])
    page = client.get(f"/admin/requests/{reference}?lang=en")
    assert SECRET_TEXT not in page.text
    assert ADDRESS not in page.text
    token = form_token(page.text)
    missing = client.post(
        f"/admin/requests/{reference}/open?lang=en", data={"reason": "", "csrf_token": token}
    )
    assert missing.status_code == 422
    assert trail(session_factory, "dsr.details_opened") == []
    opened = client.post(
        f"/admin/requests/{reference}/open?lang=en",
        data={"reason": "request_from_person", "note": "T-1234", "csrf_token": token},
    )
    assert opened.status_code == 200
    assert SECRET_TEXT in opened.text
    assert ADDRESS in opened.text
    entries = trail(session_factory, "dsr.details_opened")
    assert len(entries) == 1
    assert entries[0].reason == "request_from_person: T-1234"
    assert entries[0].actor.startswith("staff:")
    assert ADDRESS not in entries[0].payload


def test_a_note_lands_in_the_timeline(
    client: TestClient,
    staff: dict[str, str],
    filed: Callable[..., str],
    session_factory: sessionmaker[Session],
) -> None:
    reference = filed()
    console(client, staff["support"])
    token = form_token(client.get(f"/admin/requests/{reference}").text)
    added = client.post(
        f"/admin/requests/{reference}/note?lang=en",
        data={"note": "Called back, ticket T-99", "csrf_token": token},
    )
    assert added.status_code == 200
    assert "Called back, ticket T-99" in added.text
    assert [e.reason for e in trail(session_factory, "dsr.noted")] == ["Called back, ticket T-99"]


def test_staff_enter_a_letter_with_the_day_it_arrived(
    client: TestClient,
    staff: dict[str, str],
    published: PolicyVersion,
    session_factory: sessionmaker[Session],
) -> None:
    console(client, staff["support"])
    page = client.get("/admin/requests/new?lang=en")
    token = form_token(page.text)
    data = {
        "request_type": "erasure",
        "identity_kind": "email",
        "identity": ADDRESS,
        "language": "de",
        "channel": "letter",
        "received": "2026-02-20",
        "csrf_token": token,
    }
    future = client.post("/admin/requests/new?lang=en", data={**data, "received": "2026-04-01"})
    assert future.status_code == 422
    assert "not in the future" in future.text
    entered = client.post("/admin/requests/new?lang=en", data=data, follow_redirects=False)
    assert entered.status_code == 303
    found = re.search(r"DSR-[0-9A-Z-]+", entered.headers["location"])
    assert found
    with session_factory() as session:
        stored = session.scalars(
            select(DsrRequest).where(DsrRequest.reference == found.group(0))
        ).one()
        assert stored.channel == "letter"
        assert stored.legal_deadline == dt.date(2026, 3, 20)


def test_starting_by_hand_is_refused_while_unverified(
    client: TestClient, staff: dict[str, str], filed: Callable[..., str]
) -> None:
    reference = filed(request_type="objection")
    console(client, staff["dpo"])
    token = form_token(client.get(f"/admin/requests/{reference}").text)
    answer = client.post(
        f"/admin/requests/{reference}/start?lang=en",
        data={"reason": "Working on it", "csrf_token": token},
    )
    assert answer.status_code == 409
    assert "does not fit" in answer.text or "by itself" in answer.text

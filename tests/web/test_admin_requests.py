"""The console's request pages on both databases: queue order, actions, details with a reason."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

import tutela.dsr.fulfil_job  # noqa: F401 - registers the fulfilment job and handlers
from tests.web.conftest import form_token, log_in
from tutela.audit import AuditEntry
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.connectors import create
from tutela.crypto import MasterKey, load_or_create_master_key
from tutela.dsr import DsrRequest, DsrRuntime, Method, get_request, record_staff_entry, submit
from tutela.dsr.jobs import install_runtime
from tutela.dsr.workflow import mark_verified
from tutela.jobs import Worker, registry
from tutela.mail import FileOutbox, MailDelivery, install_delivery
from tutela.policy.models_db import PolicyVersion
from tutela.staff.roles import GRANTS, Permission, Role
from tutela.storage import transaction
from tutela.subjects import SubjectVault, get_or_create_subject

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
    no_ticket = client.post(
        f"/admin/requests/{reference}/open?lang=en",
        data={"reason": "support_case", "note": "phone call", "csrf_token": token},
    )
    assert no_ticket.status_code == 422
    assert "note: for a support ticket, give the ticket" in no_ticket.text
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


# --- manual tasks and shredded requests ---------------------------------------------------------

EVIDENCE = "CRM contact 4711 deleted by the CRM administrator, ticket T-812"


@pytest.fixture
def crm_worker(
    settings: Settings,
    master: MasterKey,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
) -> Iterator[Callable[[], int]]:
    """The request jobs with one manual store (``crm``) and a file outbox; runs the worker."""
    delivery = MailDelivery(
        mailer=FileOutbox(settings.outbox_dir),
        vault=SubjectVault(master),
        sender="privacy@example.org",
        message_id_domain="example.org",
    )
    crm = create("manual", {"name": "crm", "system": "the CRM"})
    previous_delivery = install_delivery(delivery)
    previous = install_runtime(DsrRuntime(master=master, settings=settings, stores=(crm,)))
    worker = Worker(session_factory, clock=clock, registry=registry, worker_id="test")
    yield worker.run_until_idle
    install_runtime(previous)
    install_delivery(previous_delivery)


@pytest.fixture
def carried_out(
    session_factory: sessionmaker[Session],
    master: MasterKey,
    clock: FrozenClock,
    filed: Callable[..., str],
    crm_worker: Callable[[], int],
) -> Callable[[str], str]:
    """A request of a known person, confirmed by staff and carried out by the worker."""

    def run(request_type: str) -> str:
        with transaction(session_factory) as session:
            get_or_create_subject(
                session, kind="email", value=ADDRESS, master=master, clock=clock, actor="test"
            )
        reference = filed(request_type=request_type)
        with transaction(session_factory) as session:
            found = get_request(session, reference=reference)
            mark_verified(
                session, request=found, method=Method.STAFF_APPROVAL, actor="staff:1", clock=clock
            )
        crm_worker()
        return reference

    return run


def _fetch(factory: sessionmaker[Session], reference: str) -> DsrRequest:
    with factory() as session:
        found = get_request(session, reference=reference)
        session.expunge(found)
        return found


@pytest.mark.promise("P17")
def test_staff_confirm_a_manual_task_on_the_page_and_the_request_is_answered(
    client: TestClient,
    staff: dict[str, str],
    carried_out: Callable[[str], str],
    crm_worker: Callable[[], int],
    session_factory: sessionmaker[Session],
) -> None:
    reference = carried_out("erasure")
    assert _fetch(session_factory, reference).status == "in_progress"
    console(client, staff["support"])
    page = client.get(f"/admin/requests/{reference}?lang=en")
    assert "Waiting for staff to confirm 1 manual task." in page.text
    assert f"/admin/requests/{reference}/tasks/confirm" in page.text
    token = form_token(page.text)
    path = f"/admin/requests/{reference}/tasks/confirm?lang=en"
    no_token = client.post(path, data={"store": "crm", "evidence": EVIDENCE})
    assert no_token.status_code == 403
    short = client.post(path, data={"store": "crm", "evidence": "done", "csrf_token": token})
    assert short.status_code == 422
    assert "Describe what was done in 10 to 2,000 characters" in short.text
    named = client.post(
        path,
        data={"store": "crm", "evidence": f"Deleted {ADDRESS} from the CRM", "csrf_token": token},
    )
    assert named.status_code == 422
    assert "The text names the person" in named.text
    assert trail(session_factory, "dsr.task_confirmed") == []
    confirmed = client.post(
        path,
        data={"store": "crm", "evidence": EVIDENCE, "csrf_token": token},
        follow_redirects=False,
    )
    assert confirmed.status_code == 303
    assert "done=task_confirmed" in confirmed.headers["location"]
    assert "The task is confirmed" in client.get(confirmed.headers["location"]).text
    (entry,) = trail(session_factory, "dsr.task_confirmed")
    assert entry.reason == EVIDENCE
    assert entry.actor.startswith("staff:")
    assert EVIDENCE not in entry.payload

    crm_worker()
    done = _fetch(session_factory, reference)
    assert (done.status, done.outcome) == ("completed", "fulfilled")
    page = client.get(f"/admin/requests/{reference}?lang=en")
    assert EVIDENCE in page.text
    assert "Waiting for staff" not in page.text
    assert "were destroyed when the erasure was answered" in page.text
    assert f"/admin/requests/{reference}/open" not in page.text  # nothing left to open
    refused = client.post(
        f"/admin/requests/{reference}/open?lang=en",
        data={"reason": "request_from_person", "csrf_token": token},
    )
    assert refused.status_code == 409
    assert "There is nothing to open" in refused.text
    assert trail(session_factory, "dsr.details_opened") == []


def test_a_task_marked_not_done_on_the_page_ends_partially_fulfilled(
    client: TestClient,
    staff: dict[str, str],
    carried_out: Callable[[str], str],
    crm_worker: Callable[[], int],
    session_factory: sessionmaker[Session],
) -> None:
    reference = carried_out("restriction")
    console(client, staff["dpo"])
    token = form_token(client.get(f"/admin/requests/{reference}?lang=en").text)
    path = f"/admin/requests/{reference}/tasks/not-done?lang=en"
    empty = client.post(path, data={"store": "crm", "reason": " ", "csrf_token": token})
    assert empty.status_code == 422
    assert "Say why the task cannot be done" in empty.text
    unknown = client.post(path, data={"store": "shop", "reason": "Gone", "csrf_token": token})
    assert unknown.status_code == 422
    assert "no manual task for that store" in unknown.text
    reason = "The CRM contract ended; the supplier deleted the whole database."
    marked = client.post(
        path, data={"store": "crm", "reason": reason, "csrf_token": token}, follow_redirects=False
    )
    assert marked.status_code == 303
    crm_worker()
    done = _fetch(session_factory, reference)
    assert (done.status, done.outcome) == ("completed", "partially_fulfilled")
    page = client.get(f"/admin/requests/{reference}?lang=en")
    assert reason in page.text
    assert "Not done" in page.text
    again = client.post(path, data={"store": "crm", "reason": reason, "csrf_token": token})
    assert again.status_code == 409


def test_closing_a_task_needs_the_permission_to_handle_requests(
    client: TestClient,
    staff: dict[str, str],
    carried_out: Callable[[str], str],
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reference = carried_out("erasure")
    reduced = GRANTS[Role.SUPPORT] - {Permission.HANDLE_REQUESTS}
    monkeypatch.setitem(GRANTS, Role.SUPPORT, reduced)
    console(client, staff["support"])
    page = client.get(f"/admin/requests/{reference}?lang=en")
    assert "Waiting for staff to confirm 1 manual task." in page.text
    assert "/tasks/confirm" not in page.text
    refused = client.post(
        f"/admin/requests/{reference}/tasks/confirm?lang=en",
        data={"store": "crm", "evidence": EVIDENCE, "csrf_token": form_token(page.text)},
    )
    assert refused.status_code == 403
    assert trail(session_factory, "dsr.task_confirmed") == []
    assert _fetch(session_factory, reference).status == "in_progress"


def test_an_access_copy_names_the_stores_left_to_staff(
    client: TestClient,
    staff: dict[str, str],
    carried_out: Callable[[str], str],
    session_factory: sessionmaker[Session],
) -> None:
    reference = carried_out("access")
    done = _fetch(session_factory, reference)
    assert (done.status, done.outcome) == ("completed", "partially_fulfilled")
    console(client, staff["support"])
    page = client.get(f"/admin/requests/{reference}?lang=en")
    assert "The copy sent left out these stores, which staff handle by hand: crm." in page.text


def test_staff_send_the_link_for_a_flagged_request_from_the_page(
    client: TestClient,
    staff: dict[str, str],
    filed: Callable[..., str],
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    references = [filed() for _ in range(settings.dsr_submissions_per_day + 1)]
    plain, flagged = references[0], references[-1]
    assert _fetch(session_factory, flagged).flag is not None
    console(client, staff["support"])
    page = client.get(f"/admin/requests/{flagged}?lang=en")
    assert "Send the link after all" in page.text
    assert "Send the link after all" not in client.get(f"/admin/requests/{plain}?lang=en").text
    token = form_token(page.text)
    refused = client.post(
        f"/admin/requests/{plain}/release?lang=en",
        data={"reason": "She called from the number on file.", "csrf_token": token},
    )
    assert refused.status_code == 409
    released = client.post(
        f"/admin/requests/{flagged}/release?lang=en",
        data={"reason": "She called from the number on file.", "csrf_token": token},
    )
    assert released.status_code == 200
    assert "The flag is cleared" in released.text
    assert _fetch(session_factory, flagged).flag is None
    noted = trail(session_factory, "dsr.noted")
    assert [e.reason for e in noted] == ["She called from the number on file."]


def test_an_action_during_a_running_fulfilment_is_answered_409_not_left_hanging(
    client: TestClient,
    staff: dict[str, str],
    filed: Callable[..., str],
    session_factory: sessionmaker[Session],
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time; there is no row lock to wait on")
    import tutela.web.admin.requests_actions as actions

    monkeypatch.setattr(actions, "LOCK_WAIT", "300ms")
    reference = filed()
    console(client, staff["support"])
    token = form_token(client.get(f"/admin/requests/{reference}?lang=en").text)
    with session_factory() as run, run.begin():  # as a fulfilment run holds the request
        run.execute(
            select(DsrRequest.id).where(DsrRequest.reference == reference).with_for_update()
        ).one()
        answer = client.post(
            f"/admin/requests/{reference}/deny?lang=en",
            data={"reason": "Not the person.", "csrf_token": token},
        )
    assert answer.status_code == 409
    assert "carrying the request out right now" in answer.text
    assert status_of(session_factory, reference) != "denied"

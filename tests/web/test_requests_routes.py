"""The privacy center over HTTP on both databases: form, identical answers, link, code, limits."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from tests.web.test_newsletter_routes import mails
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.crypto import MasterKey, load_or_create_master_key
from tutela.dsr import DsrRequest, DsrRuntime, open_details
from tutela.dsr.jobs import install_runtime
from tutela.jobs import Worker, registry
from tutela.mail import FileOutbox, MailDelivery, install_delivery
from tutela.policy.models_db import PolicyVersion
from tutela.storage import transaction
from tutela.subjects import SubjectVault, get_or_create_subject
from tutela.web.public import requests as requests_page

KNOWN = "anna.beispiel@example.org"
UNKNOWN = "nobody.here@example.org"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_PROOF = re.compile(r'name="proof" value="([^"]+)"')
_REFERENCE = re.compile(r"DSR-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")
_LINK = re.compile(r"/requests/verify/([A-Za-z0-9_-]+)")
_CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture
def master(settings: Settings) -> MasterKey:
    return load_or_create_master_key(settings.data_dir, None)


@pytest.fixture
def outbox(settings: Settings, master: MasterKey) -> Iterator[FileOutbox]:
    """The file outbox and the request jobs' runtime, installed for the test."""
    box = FileOutbox(settings.outbox_dir)
    delivery = MailDelivery(
        mailer=box,
        vault=SubjectVault(master),
        sender="privacy@example.org",
        message_id_domain="example.org",
    )
    previous_delivery = install_delivery(delivery)
    previous_runtime = install_runtime(DsrRuntime(master=master, settings=settings))
    yield box
    install_runtime(previous_runtime)
    install_delivery(previous_delivery)


@pytest.fixture
def worker(session_factory: sessionmaker[Session], clock: FrozenClock) -> Worker:
    return Worker(session_factory, clock=clock, registry=registry, worker_id="test")


@pytest.fixture
def published(publish_version: Callable[..., PolicyVersion]) -> PolicyVersion:
    return publish_version()


@pytest.fixture
def known(session_factory: sessionmaker[Session], master: MasterKey, clock: FrozenClock) -> int:
    with transaction(session_factory) as session:
        subject, _ = get_or_create_subject(
            session, kind="email", value=KNOWN, master=master, clock=clock, actor="test"
        )
        return subject.id


def form_fields(client: TestClient, lang: str = "en") -> dict[str, str]:
    page = client.get(f"/requests?lang={lang}")
    assert page.status_code == 200
    found = _TOKEN.search(page.text)
    assert found
    return {"csrf_token": found.group(1), "lang": lang}


def file_request(
    client: TestClient, address: str = KNOWN, request_type: str = "access", **extra: str
) -> Any:
    data = {
        **form_fields(client, extra.pop("lang", "en")),
        "request_type": request_type,
        "identity_kind": "email",
        "identity": address,
        "language": "en",
        **extra,
    }
    return client.post("/requests", data=data)


def body_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def link_token(box: FileOutbox) -> str:
    for message in reversed(mails(box)):
        found = _LINK.search(body_text(message))
        if found:
            return found.group(1)
    raise AssertionError("no verification link in the outbox")


def status_of(factory: sessionmaker[Session], reference: str) -> str:
    with factory() as session:
        return session.scalars(
            select(DsrRequest.status).where(DsrRequest.reference == reference)
        ).one()


def test_the_form_shows_both_headings_descriptions_and_no_cache(
    client: TestClient, published: PolicyVersion
) -> None:
    page = client.get("/requests?lang=en")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["content-security-policy"]
    assert "California residents (CCPA)" in page.text
    assert "a copy of my data" in page.text
    assert 'value="opt_out_sale_share"' in page.text
    german = client.get("/requests?lang=de")
    assert "Ihre Datenschutz-Anfragen" in german.text
    assert german.headers["content-language"] == "de"


@pytest.mark.promise("P16")
def test_known_and_unknown_get_the_same_answer_after_the_same_statements(
    client: TestClient, engine: Engine, published: PolicyVersion, known: int
) -> None:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    assert file_request(client, address="warm.up@example.org").status_code == 200  # daily sweep
    answers = []
    counts = []
    for address in (KNOWN, UNKNOWN):
        fields = form_fields(client)
        statements.clear()
        event.listen(engine, "before_cursor_execute", record)
        try:
            answers.append(
                client.post(
                    "/requests",
                    data={
                        **fields,
                        "request_type": "access",
                        "identity_kind": "email",
                        "identity": address,
                        "language": "en",
                    },
                )
            )
        finally:
            event.remove(engine, "before_cursor_execute", record)
        counts.append(list(statements))
    first, second = answers
    assert first.status_code == second.status_code == 200
    references = [_REFERENCE.search(a.text) for a in answers]
    assert all(references)
    assert _REFERENCE.sub("REF", first.text) == _REFERENCE.sub("REF", second.text)
    assert first.headers["cache-control"] == "no-store"
    assert len(counts[0]) == len(counts[1])
    assert counts[0] == counts[1]


def test_a_bad_address_names_the_field(client: TestClient, published: PolicyVersion) -> None:
    answer = file_request(client, address="not an address")
    assert answer.status_code == 422
    assert "Enter the email address or phone number" in answer.text
    assert 'aria-invalid="true"' in answer.text


def test_the_form_needs_its_token(client: TestClient, published: PolicyVersion) -> None:
    answer = client.post(
        "/requests",
        data={"request_type": "access", "identity_kind": "email", "identity": KNOWN},
    )
    assert answer.status_code == 403


def test_too_many_submissions_from_one_client_are_slowed(
    client: TestClient, published: PolicyVersion
) -> None:
    for _ in range(requests_page.SUBMISSIONS_PER_WINDOW):
        assert file_request(client, address=UNKNOWN).status_code == 200
    slowed = file_request(client, address=KNOWN)
    assert slowed.status_code == 429
    assert int(slowed.headers["retry-after"]) > 0
    assert KNOWN not in slowed.text


def test_an_oversized_form_is_refused(client: TestClient, published: PolicyVersion) -> None:
    answer = client.post(
        "/requests",
        content=b"text=" + b"x" * (requests_page.MAX_FORM + 10),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413


def test_opening_the_link_never_confirms_and_the_button_confirms_once(
    client: TestClient,
    session_factory: sessionmaker[Session],
    published: PolicyVersion,
    known: int,
    outbox: FileOutbox,
    worker: Worker,
) -> None:
    answer = file_request(client)
    found = _REFERENCE.search(answer.text)
    assert found
    reference = found.group(0)
    worker.run_until_idle()
    token = link_token(outbox)
    for _ in range(2):
        page = client.get(f"/requests/verify/{token}?lang=en")
        assert page.status_code == 200
        assert reference in page.text
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "no-referrer"
    assert status_of(session_factory, reference) == "awaiting_verification"
    proof = _PROOF.search(page.text)
    assert proof
    done = client.post(f"/requests/verify/{token}?lang=en", data={"proof": proof.group(1)})
    assert done.status_code == 200
    assert "is confirmed" in done.text
    assert status_of(session_factory, reference) == "verified"
    again = client.post(f"/requests/verify/{token}?lang=en", data={"proof": proof.group(1)})
    assert again.status_code == 404
    assert token not in again.text


def test_a_confirmation_without_its_proof_is_refused(
    client: TestClient,
    session_factory: sessionmaker[Session],
    published: PolicyVersion,
    known: int,
    outbox: FileOutbox,
    worker: Worker,
) -> None:
    reference = _REFERENCE.search(file_request(client).text)
    assert reference
    worker.run_until_idle()
    token = link_token(outbox)
    refused = client.post(f"/requests/verify/{token}", data={"proof": "1.forged"})
    assert refused.status_code == 403
    assert status_of(session_factory, reference.group(0)) == "awaiting_verification"


@pytest.mark.parametrize("token", ["unknown-token", "x" * 300, "tampered" + "A" * 40])
def test_bad_tokens_get_the_same_neutral_page(
    client: TestClient, published: PolicyVersion, token: str
) -> None:
    pages = [
        client.get(f"/requests/verify/{token}?lang=en"),
        client.post(f"/requests/verify/{token}?lang=en", data={"proof": "1.x"}),
    ]
    assert pages[0].status_code == 404
    assert "This link is not valid" in pages[0].text
    assert token not in pages[0].text
    assert pages[1].status_code in (403, 404)


def test_a_code_confirms_and_a_wrong_code_answers_like_an_unknown_reference(
    client: TestClient,
    session_factory: sessionmaker[Session],
    published: PolicyVersion,
    known: int,
    outbox: FileOutbox,
    worker: Worker,
) -> None:
    found = _REFERENCE.search(file_request(client).text)
    assert found
    reference = found.group(0)
    worker.run_until_idle()
    page = client.get("/requests/code?lang=en")
    proof = _PROOF.search(page.text)
    assert proof
    sent = client.post(
        "/requests/code/send?lang=en", data={"proof": proof.group(1), "reference": reference}
    )
    unknown_sent = client.post(
        "/requests/code/send?lang=en",
        data={"proof": proof.group(1), "reference": "DSR-0000-0000-0000"},
    )
    assert sent.status_code == unknown_sent.status_code == 200
    assert sent.text.replace(reference, "R") == unknown_sent.text.replace("DSR-0000-0000-0000", "R")
    worker.run_until_idle()
    code_mail = [
        m for m in mails(outbox) if reference in body_text(m) and _CODE.search(body_text(m))
    ]
    assert code_mail
    code_found = _CODE.search(body_text(code_mail[-1]))
    assert code_found
    code = code_found.group(1)
    wrong = client.post(
        "/requests/code?lang=en",
        data={
            "proof": proof.group(1),
            "reference": reference,
            "code": "000000" if code != "000000" else "111111",
        },
    )
    stranger = client.post(
        "/requests/code?lang=en",
        data={"proof": proof.group(1), "reference": "DSR-0000-0000-0000", "code": "123456"},
    )
    assert wrong.status_code == stranger.status_code == 422
    assert wrong.text.replace(reference, "R") == stranger.text.replace("DSR-0000-0000-0000", "R")
    done = client.post(
        "/requests/code?lang=en",
        data={"proof": proof.group(1), "reference": reference, "code": code},
    )
    assert done.status_code == 200
    assert status_of(session_factory, reference) == "verified"


@pytest.mark.parametrize("path", ["/requests", "/requests/code"])
@pytest.mark.parametrize("lang", ["de", "en"])
def test_pages_speak_both_languages(
    client: TestClient, published: PolicyVersion, path: str, lang: str
) -> None:
    page = client.get(f"{path}?lang={lang}")
    assert page.status_code == 200
    assert page.headers["content-language"] == lang
    assert f'<html lang="{lang}">' in page.text


def test_the_download_page_shows_the_neutral_page_for_an_unknown_token(
    client: TestClient, published: PolicyVersion
) -> None:
    page = client.get("/requests/download/not-a-real-token?lang=en")
    assert page.status_code == 404
    assert "not-a-real-token" not in page.text
    assert page.headers["cache-control"] == "no-store"


@pytest.mark.promise("P16")
def test_a_code_for_a_known_and_an_unknown_reference_runs_the_same_statements(
    client: TestClient,
    engine: Engine,
    published: PolicyVersion,
    known: int,
    outbox: FileOutbox,
    worker: Worker,
) -> None:
    found = _REFERENCE.search(file_request(client).text)
    assert found
    reference = found.group(0)
    worker.run_until_idle()
    proof = _PROOF.search(client.get("/requests/code?lang=en").text)
    assert proof
    client.post("/requests/code/send", data={"proof": proof.group(1), "reference": reference})
    worker.run_until_idle()
    coded = [body_text(m) for m in mails(outbox) if "/requests/verify/" not in body_text(m)]
    code = _CODE.search(coded[-1])
    assert code  # a live code waits for the known reference
    wrong = "000000" if code.group(1) != "000000" else "111111"
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    runs = []
    for candidate in (reference, "DSR-0000-0000-0000"):
        statements.clear()
        event.listen(engine, "before_cursor_execute", record)
        try:
            answer = client.post(
                "/requests/code?lang=en",
                data={"proof": proof.group(1), "reference": candidate, "code": wrong},
            )
        finally:
            event.remove(engine, "before_cursor_execute", record)
        runs.append((answer.status_code, answer.text.replace(candidate, "R"), list(statements)))
    assert runs[0] == runs[1]
    assert runs[0][0] == 422


def test_a_rectification_sends_its_new_values_from_the_form(
    client: TestClient,
    session_factory: sessionmaker[Session],
    master: MasterKey,
    published: PolicyVersion,
) -> None:
    lines = "user.contact.phone_number: +49 30 1234567\r\nuser.name.last:  Beispiel\r\n"
    answer = file_request(client, request_type="rectification", changes=lines)
    assert answer.status_code == 200
    found = _REFERENCE.search(answer.text)
    assert found
    with session_factory() as session:
        request = session.scalars(
            select(DsrRequest).where(DsrRequest.reference == found.group(0))
        ).one()
        details = open_details(request, master=master)
    assert details is not None
    assert details.changes == {
        "user.contact.phone_number": "+49 30 1234567",
        "user.name.last": "Beispiel",
    }
    assert request.scope == "contact_data"  # the old channel is told (V-3)
    page = client.get("/requests?lang=en")
    assert 'name="changes"' in page.text
    assert "New values (only for a rectification or correction" in page.text


@pytest.mark.parametrize(
    ("request_type", "changes", "sentence"),
    [
        ("access", "user.name.last: Beispiel", "apply only to a rectification or correction"),
        ("rectification", "user.name.last Beispiel", "one per line as field, colon, new value"),
        ("rectification", "name: Beispiel", "one per line as field, colon, new value"),
    ],
)
def test_bad_new_values_name_the_box(
    client: TestClient,
    published: PolicyVersion,
    request_type: str,
    changes: str,
    sentence: str,
) -> None:
    answer = file_request(client, request_type=request_type, changes=changes)
    assert answer.status_code == 422
    assert sentence in answer.text
    box = re.search(r'<textarea id="changes"[^>]*>', answer.text)
    assert box
    assert 'aria-invalid="true"' in box.group(0)
    assert changes in answer.text  # what was typed stays in the box

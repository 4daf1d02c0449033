"""The newsletter pages and API over HTTP on both databases: form, 202, confirmation, errors."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jinja2.ext import babel_extract
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.consent.checks import check
from tutela.consent.doi_expiry import install_expiry_master
from tutela.consent.sign_up_queue import SIGN_UP_JOB, install_sign_up_master
from tutela.consent.terms import Reason
from tutela.crypto import MasterKey, load_or_create_master_key
from tutela.i18n import TEMPLATE_DIR
from tutela.jobs import Job, Worker, registry
from tutela.mail import FileOutbox, MailDelivery, install_delivery
from tutela.policy.models_db import PolicyVersion
from tutela.subjects import SubjectVault
from tutela.web.app import create_app
from tutela.web.public import newsletter

ADDRESS = "anna@example.org"
PROBLEM = "application/problem+json"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_PROOF = re.compile(r'name="proof" value="([^"]+)"')
_LINK = re.compile(r"/newsletter/confirm/([A-Za-z0-9_.=-]+)")


@pytest.fixture
def master(settings: Settings) -> MasterKey:
    return load_or_create_master_key(settings.data_dir, None)


@pytest.fixture
def outbox(settings: Settings, master: MasterKey) -> Iterator[FileOutbox]:
    box = FileOutbox(settings.outbox_dir)
    delivery = MailDelivery(
        mailer=box,
        vault=SubjectVault(master),
        sender="privacy@example.org",
        message_id_domain="example.org",
    )
    previous = install_delivery(delivery)
    previous_master = install_expiry_master(master)
    previous_sign_up = install_sign_up_master(master, settings)
    yield box
    install_delivery(previous)
    install_expiry_master(previous_master)
    install_sign_up_master(*previous_sign_up)


@pytest.fixture
def worker(session_factory: sessionmaker[Session], clock: FrozenClock) -> Worker:
    return Worker(session_factory, clock=clock, registry=registry, worker_id="test")


@pytest.fixture
def published(publish_version: Callable[..., PolicyVersion]) -> PolicyVersion:
    return publish_version()


def form_fields(
    client: TestClient, purpose: str = "newsletter", lang: str = "de"
) -> dict[str, str]:
    page = client.get(f"/newsletter?purpose={purpose}&lang={lang}")
    assert page.status_code == 200
    found = _TOKEN.search(page.text)
    assert found
    return {"csrf_token": found.group(1), "purpose": purpose, "lang": lang}


def submit(client: TestClient, address: str = ADDRESS, **extra: str) -> object:
    data = {**form_fields(client), "email": address, "consent": "yes", **extra}
    return client.post("/newsletter", data=data)


def mails(box: FileOutbox) -> list[EmailMessage]:
    found = []
    for path in sorted(box.directory.glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        found.append(parsed)
    return found


def confirm_token(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = _LINK.search(str(body.get_content()))
    assert found
    return found.group(1)


def reason(factory: sessionmaker[Session], master: MasterKey, clock: FrozenClock) -> Reason:
    with factory() as session, session.begin():
        return check(
            session,
            purpose_id="newsletter",
            master=master,
            clock=clock,
            kind="email",
            value=ADDRESS,
        ).reason


def test_the_form_shows_the_purpose_an_unticked_box_and_the_privacy_link(
    client: TestClient, published: PolicyVersion
) -> None:
    page = client.get("/newsletter?purpose=newsletter&lang=en")
    assert page.status_code == 200
    assert "Sign up for Newsletter" in page.text
    assert "When you subscribe to our newsletter" in page.text
    assert re.search(r'<input type="checkbox" id="consent" name="consent" value="yes">', page.text)
    assert 'href="/privacy?lang=en"' in page.text
    assert page.headers["set-cookie"].startswith("tutela_newsletter=")
    german = client.get("/newsletter?purpose=newsletter&lang=de")
    assert "Ja, ich möchte „Newsletter“ per E-Mail erhalten." in german.text
    assert client.get("/newsletter?purpose=similar_offers").status_code == 404
    missing = client.get("/newsletter?purpose=nothing_here&lang=en")
    assert missing.status_code == 404
    assert "nothing_here" in missing.text


@pytest.mark.promise("P04")
def test_sign_up_mails_a_link_whose_get_never_confirms_and_post_does(
    client: TestClient,
    published: PolicyVersion,
    outbox: FileOutbox,
    worker: Worker,
    master: MasterKey,
    clock: FrozenClock,
    session_factory: sessionmaker[Session],
) -> None:
    response = submit(client)
    assert response.status_code == 202  # type: ignore[attr-defined]
    worker.run_until_idle()
    [message] = mails(outbox)
    token = confirm_token(message)
    page = client.get(f"/newsletter/confirm/{token}?lang=en")
    assert page.status_code == 200
    assert 'method="post"' in page.text
    assert ">Confirm</button>" in page.text
    assert reason(session_factory, master, clock) is Reason.NOT_CONFIRMED
    proof = _PROOF.search(page.text)
    assert proof
    fresh = TestClient(client.app)  # no cookies: the link works in any browser
    refused = fresh.post(f"/newsletter/confirm/{token}", data={"proof": "1.forged"})
    assert refused.status_code == 403
    assert reason(session_factory, master, clock) is Reason.NOT_CONFIRMED
    done = fresh.post(f"/newsletter/confirm/{token}?lang=en", data={"proof": proof.group(1)})
    assert done.status_code == 200
    assert "You are signed up for Newsletter." in done.text
    assert reason(session_factory, master, clock) is Reason.CONSENT_CONFIRMED
    again = fresh.post(f"/newsletter/confirm/{token}?lang=en", data={"proof": proof.group(1)})
    assert again.status_code == 200
    assert "confirmed already" in again.text


def not_found(client: TestClient, method: str, path: str) -> tuple[int, str, dict[str, str]]:
    response = client.request(method, path, data={"proof": "1.x"} if method == "POST" else None)
    headers = dict(response.headers)
    return response.status_code, response.text, headers


@pytest.mark.promise("P04")
def test_expired_tampered_and_unknown_tokens_get_the_same_404(
    client: TestClient,
    published: PolicyVersion,
    outbox: FileOutbox,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    submit(client)
    worker.run_until_idle()
    token = confirm_token(mails(outbox)[0])
    random = f"1.{'A' * 22}.{int(clock.now().timestamp()) + 3600}.{'B' * 43}"
    tampered = token[:-3] + "xyz"
    clock.advance(dt.timedelta(days=7))
    for method in ("GET", "POST"):
        expected = not_found(client, method, f"/newsletter/confirm/{random}")
        assert expected[0] == 404
        assert random not in expected[1]
        for bad in (token, tampered, "garbage"):
            assert not_found(client, method, f"/newsletter/confirm/{bad}") == expected


def mail_jobs(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).where(Job.kind == "mail.send")) or 0)


@pytest.mark.promise("P04")
def test_every_address_state_gets_the_same_202_and_no_second_mail(
    client: TestClient,
    published: PolicyVersion,
    outbox: FileOutbox,
    worker: Worker,
    session_factory: sessionmaker[Session],
) -> None:
    first = submit(client)
    repeated = submit(client, "ANNA@example.org")
    other = submit(client, "bert@example.org")
    bodies = {r.text for r in (first, repeated, other)}  # type: ignore[attr-defined]
    assert {r.status_code for r in (first, repeated, other)} == {202}  # type: ignore[attr-defined]
    assert len(bodies) == 1
    assert mail_jobs(session_factory) == 0  # the worker carries the sign-ups out
    worker.run_until_idle()
    assert mail_jobs(session_factory) == 2
    assert sorted(str(m["To"]) for m in mails(outbox)) == [ADDRESS, "bert@example.org"]


def test_bad_form_input_names_the_field(
    client: TestClient, published: PolicyVersion, outbox: FileOutbox
) -> None:
    unticked = client.post("/newsletter", data={**form_fields(client), "email": ADDRESS})
    assert unticked.status_code == 422
    assert 'id="consent-error"' in unticked.text
    invalid = submit(client, "not-an-address")
    assert invalid.status_code == 422  # type: ignore[attr-defined]
    assert 'id="email-error"' in invalid.text  # type: ignore[attr-defined]
    assert 'aria-invalid="true"' in invalid.text  # type: ignore[attr-defined]
    no_token = client.post(
        "/newsletter",
        data={"purpose": "newsletter", "email": ADDRESS, "consent": "yes", "csrf_token": "x"},
    )
    assert no_token.status_code == 403
    huge = client.post(
        "/newsletter",
        content=b"email=" + b"a" * 10_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert huge.status_code == 413
    unknown = client.post("/newsletter", data={**form_fields(client), "purpose": "nope"})
    assert unknown.status_code == 404


def test_sign_ups_per_client_address_are_rate_limited(
    client: TestClient, published: PolicyVersion, outbox: FileOutbox
) -> None:
    codes = [
        submit(client, f"person{n}@example.org").status_code  # type: ignore[attr-defined]
        for n in range(newsletter.SIGN_UPS_PER_WINDOW + 1)
    ]
    assert codes[:-1] == [202] * newsletter.SIGN_UPS_PER_WINDOW
    assert codes[-1] == 429


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


API = "/api/v1/newsletter/subscriptions"


@pytest.mark.promise("P04")
def test_api_sign_up(
    client: TestClient,
    published: PolicyVersion,
    outbox: FileOutbox,
    worker: Worker,
    make_key: Callable[..., str],
    session_factory: sessionmaker[Session],
) -> None:
    writer = bearer(make_key("consent:write"))
    body = {"email": ADDRESS, "purpose": "newsletter", "language": "en", "ip": "203.0.113.9"}
    first = client.post(API, json=body, headers=writer)
    second = client.post(API, json={**body, "email": "other@example.org"}, headers=writer)
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json() == second.json()
    assert first.json()["status"] == "accepted"
    worker.run_until_idle()
    assert len(mails(outbox)) == 2
    assert client.post(API, json=body).status_code == 401
    reader = bearer(make_key("policy:read"))
    assert client.post(API, json=body, headers=reader).status_code == 403


def test_api_errors_are_problems_naming_the_field(
    client: TestClient,
    published: PolicyVersion,
    outbox: FileOutbox,
    make_key: Callable[..., str],
) -> None:
    writer = bearer(make_key("consent:write"))
    invalid = client.post(API, json={"email": "nope", "purpose": "newsletter"}, headers=writer)
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == PROBLEM
    assert invalid.json()["errors"][0]["field"] == "email"
    unknown = client.post(API, json={"email": ADDRESS, "purpose": "gossip"}, headers=writer)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == PROBLEM
    assert unknown.json()["purpose"] == "gossip"
    assert "gossip" in unknown.json()["detail"]
    extra = client.post(
        API, json={"email": ADDRESS, "purpose": "newsletter", "colour": "red"}, headers=writer
    )
    assert extra.status_code == 422
    assert extra.json()["errors"][0]["field"] == "colour"
    huge = client.post(API, content=b"{" + b" " * 5000 + b"}", headers=writer)
    assert huge.status_code == 413
    assert huge.headers["content-type"] == PROBLEM
    schema = client.get("/api/v1/openapi.json").json()
    assert API in schema["paths"]


def test_every_message_has_a_german_translation() -> None:
    found: set[str] = set(newsletter.MESSAGES)
    for path in sorted((TEMPLATE_DIR / "public").glob("*.j2")):
        if not path.name.startswith(("newsletter_", "unsubscribe_")):
            continue
        with path.open("rb") as handle:
            for _line, _func, message, _comments in babel_extract(handle, ("nl",), [], {}):
                text = message[0] if isinstance(message, tuple) else message
                if text:
                    found.add(str(text))
    assert len(found) > 30
    missing = sorted(m for m in found if newsletter.translate(m, "de") == m)
    assert missing == []
    placeholders = re.compile(r"%\((\w+)\)s")
    for message in found:
        german = newsletter.translate(message, "de")
        assert set(placeholders.findall(message)) == set(placeholders.findall(german)), message


def sql_of(engine: Engine, send: Callable[[], object]) -> list[str]:
    """The SQL text of every statement ``send`` makes the app run."""
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", note)
    try:
        send()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen


@pytest.mark.promise("P04")
def test_known_and_new_addresses_cost_the_same_statements_by_form_and_api(
    client: TestClient,
    engine: Engine,
    published: PolicyVersion,
    outbox: FileOutbox,
    worker: Worker,
    make_key: Callable[..., str],
) -> None:
    writer = bearer(make_key("consent:write"))
    client.post(API, json={"email": ADDRESS, "purpose": "newsletter"}, headers=writer)
    worker.run_until_idle()  # the address is now known, with a pending sign-up

    def by_form(address: str) -> list[str]:
        data = {**form_fields(client), "email": address, "consent": "yes"}
        return sql_of(engine, lambda: client.post("/newsletter", data=data))

    def by_api(address: str) -> list[str]:
        body = {"email": address, "purpose": "newsletter"}
        return sql_of(engine, lambda: client.post(API, json=body, headers=writer))

    for send in (by_form, by_api):
        known, new = send(ADDRESS), send("new@example.org")
        assert known == new
        assert any(s.lstrip().upper().startswith("INSERT INTO JOBS") for s in new)
    with engine.connect() as conn:
        payloads = list(conn.scalars(select(Job.payload).where(Job.kind == SIGN_UP_JOB)))
    assert len(payloads) == 5
    assert not [p for p in payloads if "example.org" in p]
    worker.run_until_idle()
    assert sorted(str(m["To"]) for m in mails(outbox)) == [ADDRESS, "new@example.org"]


def test_the_demo_worker_still_sends_the_confirmation_mail(db_url: str, tmp_path: Path) -> None:
    """What `make demo` runs: the composition root's handlers and keys, the app, a worker."""
    from tutela.cli.runtime import Runtime
    from tutela.cli.server import _demo_content, _demo_shop, init_data_dir, install_job_handlers

    runtime = Runtime(settings=Settings(data_dir=tmp_path / "demo", database_url=db_url))
    _demo_content(runtime, init_data_dir(runtime))
    _demo_shop(runtime)
    from tutela.dsr.jobs import install_runtime

    saved = (install_delivery(None), install_expiry_master(None), install_sign_up_master(None))
    saved_dsr = install_runtime(None)
    try:
        app = create_app(runtime.settings, engine=runtime.engine, clock=runtime.clock)
        with TestClient(app) as demo:
            assert submit(demo).status_code == 202  # type: ignore[attr-defined]
        install_sign_up_master(None)  # as in a `tutela worker` process of its own
        install_job_handlers(runtime)
        Worker(
            runtime.session_factory, registry=registry, worker_id="demo", clock=runtime.clock
        ).run_until_idle()
    finally:
        install_delivery(saved[0])
        install_expiry_master(saved[1])
        install_sign_up_master(*saved[2])
        install_runtime(saved_dsr)
        runtime.engine.dispose()
    [message] = mails(FileOutbox(runtime.settings.outbox_dir))
    assert message["To"] == ADDRESS
    assert confirm_token(message)

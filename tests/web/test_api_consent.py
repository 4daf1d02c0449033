"""The consent JSON API: events, single and bulk checks, receipts, and their problems."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tutela.clock import FrozenClock
from tutela.consent import checks as consent_checks
from tutela.policy.models_db import PolicyVersion
from tutela.staff.models import ApiKey
from tutela.web.api import consent_bulk as consent_api

PROBLEM = "application/problem+json"
EVENTS = "/api/v1/consent/events"
CHECK = "/api/v1/consent/check"
BULK = "/api/v1/consent/check-bulk"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail", "instance"} <= body.keys()
    return body


@pytest.fixture
def writer(make_key: Callable[..., str]) -> dict[str, str]:
    return bearer(make_key("consent:write", "consent:read"))


@pytest.fixture
def reader(make_key: Callable[..., str]) -> dict[str, str]:
    return bearer(make_key("consent:read"))


@pytest.fixture
def published(publish_version: Callable[..., PolicyVersion]) -> PolicyVersion:
    return publish_version()


def _event(**fields: Any) -> dict[str, Any]:
    body = {"kind": "email", "value": "anna@example.org", "purpose": "newsletter"}
    body.update(fields)
    return body


def _check(client: TestClient, headers: dict[str, str], **params: str) -> dict[str, Any]:
    response = client.get(CHECK, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.promise("P04")
@pytest.mark.promise("P06")
@pytest.mark.usefixtures("published")
def test_record_and_check_a_newsletter_subscription(
    client: TestClient, writer: dict[str, str], reader: dict[str, str]
) -> None:
    given = client.post(
        EVENTS,
        json=_event(action="given", channel="web_form", ip="203.0.113.77", user_agent="UA/1"),
        headers=writer,
    )
    assert given.status_code == 201, given.text
    body = given.json()
    assert (body["sequence"], body["action"], body["policy_version"]) == (1, "given", 1)
    assert body["decision"] == {"allowed": False, "reason": "not_confirmed"}
    assert len(body["notice_hash"]) == 64
    assert len(body["hash"]) == 64
    subject = body["subject"]
    confirmed = client.post(
        EVENTS,
        json={
            "subject": subject,
            "purpose": "newsletter",
            "action": "confirmed",
            "channel": "link_in_message",
        },
        headers=writer,
    )
    assert confirmed.json()["decision"] == {"allowed": True, "reason": "consent_confirmed"}
    assert _check(client, reader, purpose="newsletter", email="Anna@Example.org") == {
        "purpose": "newsletter",
        "allowed": True,
        "reason": "consent_confirmed",
        "policy_version": 1,
    }
    assert _check(client, reader, purpose="newsletter", subject=subject)["allowed"] is True
    client.post(EVENTS, json=_event(action="withdrawn", channel="email"), headers=writer)
    answer = _check(client, reader, purpose="newsletter", email="anna@example.org")
    assert (answer["allowed"], answer["reason"]) == (False, "withdrawn")


@pytest.mark.usefixtures("published")
def test_check_of_unknown_people_and_other_kinds(
    client: TestClient, reader: dict[str, str]
) -> None:
    answer = _check(client, reader, purpose="newsletter", phone="+49 30 1234567")
    assert (answer["allowed"], answer["reason"]) == (False, "unknown_subject")
    answer = _check(client, reader, purpose="contract", customer_id="K-1")
    assert (answer["allowed"], answer["reason"]) == (True, "contract")


@pytest.mark.usefixtures("published")
def test_bad_input_is_422_naming_the_field(
    client: TestClient, writer: dict[str, str], reader: dict[str, str]
) -> None:
    body = assert_problem(
        client.post(EVENTS, json=_event(action="given", value="anna(at)example"), headers=writer),
        422,
    )
    assert body["field"] == "value"
    assert "email" in body["detail"]
    body = assert_problem(
        client.post(EVENTS, json=_event(action="given", kind="phone", value="12"), headers=writer),
        422,
    )
    assert body["field"] == "value"
    assert body["detail"].startswith("phone:")
    body = assert_problem(
        client.post(EVENTS, json=_event(action="given", ip="999.1.1.1"), headers=writer), 422
    )
    assert body["field"] == "ip"
    body = assert_problem(client.post(EVENTS, json=_event(action="agreed"), headers=writer), 422)
    assert [e["field"] for e in body["errors"]] == ["body.action"]
    body = assert_problem(client.post(EVENTS, json=_event(action="confirmed"), headers=writer), 409)
    assert "pending grant" in body["detail"]
    body = assert_problem(client.get(CHECK, params={"purpose": "newsletter"}, headers=reader), 422)
    assert body["field"] == "subject"
    two = {"purpose": "newsletter", "email": "a@example.org", "phone": "+4930123456"}
    assert_problem(client.get(CHECK, params=two, headers=reader), 422)
    body = assert_problem(
        client.get(CHECK, params={"purpose": "newsletter", "email": "nope"}, headers=reader), 422
    )
    assert body["field"] == "email"


@pytest.mark.usefixtures("published")
def test_unknown_purpose_or_subject_is_404(
    client: TestClient,
    writer: dict[str, str],
    reader: dict[str, str],
    make_key: Callable[..., str],
) -> None:
    body = assert_problem(
        client.post(EVENTS, json=_event(action="given", purpose="lottery"), headers=writer), 404
    )
    assert "'lottery'" in body["detail"]
    assert body["purpose"] == "lottery"
    body = assert_problem(
        client.get(CHECK, params={"purpose": "lottery", "email": "a@example.org"}, headers=reader),
        404,
    )
    assert "'lottery'" in body["detail"]
    assert_problem(
        client.get(CHECK, params={"purpose": "newsletter", "subject": "nobody"}, headers=reader),
        404,
    )
    exporter = bearer(make_key("consent:export"))
    assert_problem(client.get("/api/v1/consent/subjects/nobody/receipts", headers=exporter), 404)
    # Nothing was created for the refused event.
    answer = _check(client, reader, purpose="newsletter", email="anna@example.org")
    assert answer["reason"] == "unknown_subject"


def test_without_a_published_version_it_is_409(client: TestClient, writer: dict[str, str]) -> None:
    body = assert_problem(client.post(EVENTS, json=_event(action="given"), headers=writer), 409)
    assert "publish" in body["detail"]


@pytest.mark.promise("P19")
def test_keys_and_scopes(client: TestClient, make_key: Callable[..., str]) -> None:
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("post", EVENTS, {"json": _event(action="given")}),
        ("get", CHECK, {"params": {"purpose": "newsletter", "email": "a@example.org"}}),
        ("post", CHECK, {"json": {"purpose": "newsletter", "email": "a@example.org"}}),
        ("post", BULK + "?purpose=newsletter&kind=email", {"content": b"a@example.org\n"}),
        ("get", "/api/v1/consent/subjects/x/receipts", {}),
    ]
    for method, path, kwargs in requests:
        response = getattr(client, method)(path, **kwargs)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")
    policy_only = bearer(make_key("policy:read"))
    for method, path, kwargs in requests:
        body = assert_problem(getattr(client, method)(path, headers=policy_only, **kwargs), 403)
        assert "consent:" in body["detail"]
    read_only = bearer(make_key("consent:read"))
    body = assert_problem(client.post(EVENTS, json=_event(action="given"), headers=read_only), 403)
    assert "consent:write" in body["detail"]


def _ndjson(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


@pytest.mark.promise("P04")
@pytest.mark.usefixtures("published")
@pytest.mark.parametrize("scan_from", [None, 1])
def test_bulk_check_streams_one_line_per_input_line(
    client: TestClient,
    writer: dict[str, str],
    reader: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    scan_from: int | None,
) -> None:
    if scan_from is not None:  # answer by one scan of the identities instead of lookups
        monkeypatch.setattr(consent_api, "SCAN_MIN_VALUES", scan_from)
        monkeypatch.setattr(consent_checks, "SCAN_MIN_VALUES", scan_from)
    for address in ("anna@example.org", "ben@example.org"):
        client.post(EVENTS, json=_event(value=address, action="given"), headers=writer)
        client.post(EVENTS, json=_event(value=address, action="confirmed"), headers=writer)
    client.post(
        EVENTS,
        json=_event(value="ben@example.org", purpose="similar_offers", action="objected"),
        headers=writer,
    )
    body = "Anna@Example.org\r\nben@example.org\nnot an address\n\ncara@example.org"
    lines = _ndjson(
        client.post(
            BULK,
            params={"purpose": "newsletter", "kind": "email"},
            content=body.encode(),
            headers=reader,
        )
    )
    assert lines[0] == {"line": 1, "allowed": True, "reason": "consent_confirmed"}
    assert lines[1] == {"line": 2, "allowed": False, "reason": "suppressed"}
    assert lines[2]["line"] == 3
    assert lines[2]["error"].startswith("email:")
    assert lines[3]["line"] == 4
    assert "empty" in lines[3]["error"]
    assert lines[4] == {"line": 5, "allowed": False, "reason": "unknown_subject"}
    assert len(lines) == 5


@pytest.mark.usefixtures("published")
def test_bulk_check_of_many_lines(client: TestClient, reader: dict[str, str]) -> None:
    body = "".join(f"person{n}@example.org\n" for n in range(12_000))
    lines = _ndjson(
        client.post(
            BULK,
            params={"purpose": "similar_offers", "kind": "email"},
            content=body.encode(),
            headers=reader,
        )
    )
    assert [item["line"] for item in lines] == list(range(1, 12_001))
    assert {item["reason"] for item in lines} == {"unknown_subject"}


@pytest.mark.usefixtures("published")
def test_bulk_check_limits_and_errors(
    client: TestClient, reader: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    params = {"purpose": "newsletter", "kind": "email"}
    monkeypatch.setattr(consent_api, "MAX_BULK_BYTES", 100)
    body = assert_problem(
        client.post(BULK, params=params, content=b"a@example.org\n" * 10, headers=reader), 413
    )
    assert "100" in body["detail"]

    def chunks() -> Any:
        for _ in range(20):
            yield b"a@example.org\n"

    assert_problem(client.post(BULK, params=params, content=chunks(), headers=reader), 413)
    monkeypatch.setattr(consent_api, "MAX_BULK_BYTES", 10_000)
    monkeypatch.setattr(consent_api, "MAX_BULK_LINES", 3)
    body = assert_problem(
        client.post(BULK, params=params, content=b"a@example.org\n" * 4, headers=reader), 413
    )
    assert "4 lines" in body["detail"]
    assert (
        len(_ndjson(client.post(BULK, params=params, content=b"a@b.de\n" * 3, headers=reader))) == 3
    )
    assert_problem(
        client.post(
            BULK, params={"purpose": "nope", "kind": "email"}, content=b"x", headers=reader
        ),
        404,
    )
    body = assert_problem(
        client.post(
            BULK, params={"purpose": "newsletter", "kind": "fax"}, content=b"x", headers=reader
        ),
        422,
    )
    assert body["errors"][0]["field"] == "query.kind"


@pytest.mark.promise("P07")
@pytest.mark.usefixtures("published")
def test_receipts(
    client: TestClient,
    writer: dict[str, str],
    reader: dict[str, str],
    make_key: Callable[..., str],
) -> None:
    created = client.post(
        EVENTS,
        json=_event(action="given", channel="web_form", language="en", ip="203.0.113.5"),
        headers=writer,
    ).json()
    url = f"/api/v1/consent/subjects/{created['subject']}/receipts"
    assert client.get(url, headers=reader).status_code == 403  # proof needs consent:export
    response = client.get(url, headers=bearer(make_key("consent:export")))
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["pii_principal_id"] == created["subject"]
    (record,) = document["records"]
    assert record["purposes"][0]["lawful_basis"] == "consent"
    assert record["privacy_notice"]["notice_hash"] == created["notice_hash"]
    assert record["privacy_notice"]["language"] == "en"
    assert record["events"][0]["proof"]["ip"] == "203.0.113.0"
    assert record["status"]["reason"] == "not_confirmed"
    assert "anna" not in response.text


def test_openapi_lists_the_consent_paths(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {EVENTS, CHECK, BULK, "/api/v1/consent/subjects/{public_id}/receipts"} <= set(paths)


@pytest.mark.usefixtures("published")
def test_posted_check_keeps_the_address_out_of_the_url(
    client: TestClient, writer: dict[str, str], reader: dict[str, str]
) -> None:
    client.post(EVENTS, json=_event(action="given", channel="web_form"), headers=writer)
    posted = client.post(
        CHECK, json={"purpose": "newsletter", "email": "anna@example.org"}, headers=reader
    )
    assert posted.status_code == 200, posted.text
    assert posted.json() == _check(client, reader, purpose="newsletter", email="anna@example.org")
    body = assert_problem(client.post(CHECK, json={"purpose": "newsletter"}, headers=reader), 422)
    assert "identity" in body["detail"].lower() or "subject" in body["detail"].lower()
    assert client.post(CHECK, json={"purpose": "newsletter"}).status_code == 401


@pytest.mark.usefixtures("published")
def test_the_check_records_when_its_key_was_last_used(
    client: TestClient,
    make_key: Callable[..., str],
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    """The check verifies its key in its own read transaction and still keeps last_used_at."""
    key = make_key("consent:read")
    params = {"purpose": "newsletter", "email": "a@example.org"}
    assert client.get(CHECK, params=params, headers=bearer(key)).status_code == 200
    with session_factory() as session:
        used = session.scalars(select(ApiKey.last_used_at)).one()
    assert used == clock.now()


@pytest.mark.promise("P19")
def test_a_check_without_a_key_is_401_before_its_input_is_looked_at(client: TestClient) -> None:
    response = client.get(CHECK, params={"purpose": "Not A Purpose!", "email": "x" * 600})
    assert_problem(response, 401)
    assert_problem(client.post(CHECK, json={"purpose": ["not", "text"]}), 401)

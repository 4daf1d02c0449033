"""``/api/v1/requests`` on both databases: scopes, identical answers, 413, 422, status, in-app."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.dsr import sign_assertion
from tutela.policy.models_db import PolicyVersion
from tutela.web.api import requests as api

PROBLEM = "application/problem+json"
APP_KEY = "app-signing-key-for-tests-0123456789abcdef"
BODY = {"request_type": "access", "identity_kind": "email", "identity": "anna@example.org"}


@pytest.fixture
def published(publish_version: Callable[..., PolicyVersion]) -> PolicyVersion:
    return publish_version()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_key_is_needed_and_must_carry_the_scope(
    client: TestClient, make_key: Callable[..., str], published: PolicyVersion
) -> None:
    missing = client.post("/api/v1/requests", json=BODY)
    assert missing.status_code == 401
    assert missing.headers["content-type"].startswith(PROBLEM)
    reader = make_key("requests:read")
    assert client.post("/api/v1/requests", json=BODY, headers=bearer(reader)).status_code == 403
    writer = make_key("requests:write")
    assert (
        client.get("/api/v1/requests/DSR-0000-0000-0000", headers=bearer(writer)).status_code == 403
    )


@pytest.mark.promise("P16")
def test_known_and_unknown_get_the_same_202(
    client: TestClient, make_key: Callable[..., str], published: PolicyVersion
) -> None:
    key = bearer(make_key("requests:write", "requests:read"))
    client.post("/api/v1/requests", json=BODY, headers=key)  # the first of the day queues the sweep
    answers = [
        client.post("/api/v1/requests", json={**BODY, "identity": address}, headers=key)
        for address in ("anna@example.org", "nobody.here@example.org")
    ]
    assert [a.status_code for a in answers] == [202, 202]
    first, second = (a.json() for a in answers)
    assert first.keys() == second.keys() == {"reference", "received_at", "legal_deadline"}
    assert first["legal_deadline"] == second["legal_deadline"]
    assert answers[0].headers["cache-control"] == "no-store"
    status = client.get(f"/api/v1/requests/{first['reference']}", headers=key)
    assert status.status_code == 200
    data = status.json()
    assert data["status"] == "received"
    assert data["channel"] == "api"
    assert "anna@example.org" not in status.text
    assert "identity" not in data


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**BODY, "request_type": "everything"}, "request_type"),
        ({**BODY, "identity": "not an address"}, "email"),
        ({**BODY, "language": "fr"}, "language"),
        ({**BODY, "scope": "marketing"}, "scope"),
        ({**BODY, "extra": 1}, "extra"),
    ],
)
def test_bad_fields_are_422_naming_the_field(
    client: TestClient,
    make_key: Callable[..., str],
    published: PolicyVersion,
    body: dict[str, object],
    field: str,
) -> None:
    answer = client.post("/api/v1/requests", json=body, headers=bearer(make_key("requests:write")))
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert field in [error["field"] for error in answer.json()["errors"]]


def test_an_oversized_body_is_413(client: TestClient, make_key: Callable[..., str]) -> None:
    big = {**BODY, "text": "x" * (api.MAX_JSON + 1)}
    answer = client.post("/api/v1/requests", json=big, headers=bearer(make_key("requests:write")))
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith(PROBLEM)


def test_an_unknown_reference_is_404(client: TestClient, make_key: Callable[..., str]) -> None:
    answer = client.get(
        "/api/v1/requests/DSR-0000-0000-0000", headers=bearer(make_key("requests:read"))
    )
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["field"] == "reference"


def test_in_app_requests_need_a_fresh_signed_assertion(
    make_client: Callable[..., TestClient],
    make_key: Callable[..., str],
    published: PolicyVersion,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, default_language="de", app_assertion_key=APP_KEY)
    client = make_client(settings)
    key = bearer(make_key("requests:write", "requests:read"))
    now = clock.now()
    fresh = sign_assertion(
        APP_KEY, kind="customer_id", value="K-4711", auth_time=now, issued_at=now
    )
    accepted = client.post(
        "/api/v1/requests/in-app",
        json={"assertion": fresh, "request_type": "access", "language": "en"},
        headers=key,
    )
    assert accepted.status_code == 202
    status = client.get(f"/api/v1/requests/{accepted.json()['reference']}", headers=key)
    assert status.json()["status"] == "verified"
    assert status.json()["verification_method"] == "assertion"
    old = now - dt.timedelta(minutes=30)
    stale = sign_assertion(
        APP_KEY, kind="customer_id", value="K-4711", auth_time=old, issued_at=now
    )
    refused = client.post(
        "/api/v1/requests/in-app",
        json={"assertion": stale, "request_type": "access"},
        headers=key,
    )
    assert refused.status_code == 401
    assert "sign in" in refused.json()["detail"]


def test_an_in_app_assertion_is_accepted_once(
    make_client: Callable[..., TestClient],
    make_key: Callable[..., str],
    published: PolicyVersion,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    client = make_client(Settings(data_dir=tmp_path, app_assertion_key=APP_KEY))
    key = bearer(make_key("requests:write"))
    now = clock.now()
    token = sign_assertion(
        APP_KEY, kind="email", value="anna@example.org", auth_time=now, issued_at=now
    )
    body = {"assertion": token, "request_type": "erasure", "language": "en"}
    assert client.post("/api/v1/requests/in-app", json=body, headers=key).status_code == 202
    replay = client.post("/api/v1/requests/in-app", json=body, headers=key)
    assert replay.status_code == 409
    assert replay.headers["content-type"].startswith(PROBLEM)
    problem = replay.json()
    assert problem["type"].endswith("/assertion-replayed")
    assert "already used" in problem["detail"]
    assert "sign a new one per request" in problem["detail"]
    assert problem["errors"][0]["field"] == "assertion"


@pytest.mark.promise("P16")
def test_a_rectification_carries_new_values(
    make_client: Callable[..., TestClient],
    make_key: Callable[..., str],
    published: PolicyVersion,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    client = make_client(Settings(data_dir=tmp_path, app_assertion_key=APP_KEY))
    key = bearer(make_key("requests:write"))
    changes = {"customers.phone": "+49 30 1234567"}
    plain = {**BODY, "request_type": "rectification", "changes": changes}
    assert client.post("/api/v1/requests", json=plain, headers=key).status_code == 202
    now = clock.now()
    token = sign_assertion(
        APP_KEY, kind="email", value="anna@example.org", auth_time=now, issued_at=now
    )
    in_app = {"assertion": token, "request_type": "correct", "changes": changes}
    assert client.post("/api/v1/requests/in-app", json=in_app, headers=key).status_code == 202


@pytest.mark.parametrize(
    ("changes", "request_type", "message"),
    [
        ({"customers.phone": "+49 30 1"}, "access", "rectification or correction"),
        ({"phone": "+49 30 1"}, "rectification", "table.column"),
        ({f"t.c{i}": "x" for i in range(21)}, "rectification", "at most 20"),
        ({"customers.phone": "x" * 501}, "rectification", "longer than 500"),
    ],
)
def test_bad_new_values_are_422_naming_changes(
    client: TestClient,
    make_key: Callable[..., str],
    published: PolicyVersion,
    changes: dict[str, str],
    request_type: str,
    message: str,
) -> None:
    body = {**BODY, "request_type": request_type, "changes": changes}
    answer = client.post("/api/v1/requests", json=body, headers=bearer(make_key("requests:write")))
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert answer.json()["errors"] == [{"field": "changes", "message": answer.json()["detail"]}]
    assert message in answer.json()["detail"]


def test_the_status_is_documented_as_for_operators_only(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/requests/{reference}"]["get"]
    assert "would reveal whether the person is known" in operation["description"]
    outcome = document["components"]["schemas"]["StatusOut"]["properties"]["outcome"]
    assert "never relay it" in outcome["description"]

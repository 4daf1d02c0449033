"""The JSON API: API keys and scopes, versions, the statement, the lint and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.web.conftest import EXAMPLE
from tutela.clock import FrozenClock
from tutela.policy.models_db import PolicyVersion
from tutela.staff.service import revoke_api_key

PROBLEM = "application/problem+json"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.headers["content-type"] == PROBLEM  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status
    assert {"type", "title", "detail", "instance"} <= body.keys()
    return body


@pytest.fixture
def reader(make_key: Callable[..., str]) -> dict[str, str]:
    return bearer(make_key("policy:read"))


@pytest.mark.promise("P19")
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer tut_aaaaaaaaaaaa_" + "b" * 40},
        {"Authorization": "Bearer not-a-key"},
    ],
)
def test_requests_without_a_valid_key_are_401(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/api/v1/versions", headers=headers)
    body = assert_problem(response, 401)
    assert body["instance"] == "/api/v1/versions"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.promise("P19")
def test_revoked_key_is_401(
    client: TestClient,
    make_key: Callable[..., str],
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    key = make_key("policy:read")
    assert client.get("/api/v1/versions", headers=bearer(key)).status_code == 200
    with session_factory() as session, session.begin():
        revoke_api_key(session, prefix=key, actor="test", clock=clock)
    assert_problem(client.get("/api/v1/versions", headers=bearer(key)), 401)


@pytest.mark.promise("P19")
def test_key_without_the_scope_is_403(client: TestClient, make_key: Callable[..., str]) -> None:
    key = make_key("audit:read", "staff:admin")
    for path in ("/api/v1/versions", "/api/v1/statement", "/api/v1/versions/1"):
        body = assert_problem(client.get(path, headers=bearer(key)), 403)
        assert "policy:read" in str(body["detail"])
    lint = client.post(
        "/api/v1/lint",
        content=b"controller: {}",
        headers={**bearer(key), "Content-Type": "application/yaml"},
    )
    assert_problem(lint, 403)


def test_versions_list_and_detail(
    client: TestClient,
    reader: dict[str, str],
    publish_version: Callable[..., PolicyVersion],
) -> None:
    assert client.get("/api/v1/versions", headers=reader).json() == {"versions": []}
    first = publish_version()
    second = publish_version(title="Revised")
    listing = client.get("/api/v1/versions", headers=reader)
    assert listing.status_code == 200
    versions = listing.json()["versions"]
    assert [v["number"] for v in versions] == [2, 1]
    assert versions[1]["content_hash"] == first.content_hash
    assert versions[1]["status"] == "current"
    assert versions[0]["status"] == "upcoming"
    assert versions[0]["effective_at"] == second.effective_at.isoformat()
    assert versions[0]["statement_url"] == "/privacy/v/2"
    detail = client.get("/api/v1/versions/2", headers=reader).json()
    assert detail["declaration"]["title"] == {"de": "Revised", "en": "Revised"}
    assert detail["declaration"]["controller"]["name"]
    missing = assert_problem(client.get("/api/v1/versions/7", headers=reader), 404)
    assert "1 to 2" in str(missing["detail"])
    invalid = assert_problem(client.get("/api/v1/versions/seven", headers=reader), 422)
    assert invalid["errors"]


def test_statement_endpoint(
    client: TestClient,
    reader: dict[str, str],
    publish_version: Callable[..., PolicyVersion],
) -> None:
    assert_problem(client.get("/api/v1/statement", headers=reader), 404)
    publish_version()
    html = client.get("/api/v1/statement?lang=en", headers=reader)
    assert html.status_code == 200
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert html.headers["content-language"] == "en"
    assert html.headers["tutela-version"] == "1"
    assert '<html lang="en">' in html.text
    markdown = client.get("/api/v1/statement?lang=de&format=md", headers=reader)
    assert markdown.headers["content-type"] == "text/markdown; charset=utf-8"
    assert markdown.text.startswith("# Datenschutzhinweise")
    negotiated = client.get("/api/v1/statement", headers={**reader, "Accept-Language": "en"})
    assert negotiated.headers["content-language"] == "en"
    body = assert_problem(client.get("/api/v1/statement?lang=fr", headers=reader), 422)
    assert "lang" in str(body["detail"])
    assert_problem(client.get("/api/v1/statement?format=pdf", headers=reader), 422)


def test_lint_accepts_a_good_declaration(client: TestClient, reader: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/lint",
        content=EXAMPLE.read_bytes(),
        headers={**reader, "Content-Type": "application/yaml"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["errors"] == 0
    assert body["warnings"] == len(body["findings"])


def test_lint_reports_problems_with_line_numbers(
    client: TestClient, reader: dict[str, str]
) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("controller:"))
    lines.insert(index + 1, "  unexpected_field: 1")
    response = client.post(
        "/api/v1/lint",
        content="\n".join(lines).encode(),
        headers={**reader, "Content-Type": "text/plain; charset=utf-8"},
    )
    body = assert_problem(response, 422)
    problems = body["problems"]
    assert isinstance(problems, list)
    assert problems
    assert problems[0]["line"] == index + 2
    assert problems[0]["column"] is not None
    assert "unexpected_field" in problems[0]["path"] + problems[0]["message"]


def test_lint_reports_yaml_syntax_errors(client: TestClient, reader: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/lint",
        content=b"controller:\n  name: [unclosed\n",
        headers={**reader, "Content-Type": "application/yaml"},
    )
    body = assert_problem(response, 422)
    problems = body["problems"]
    assert isinstance(problems, list)
    assert problems[0]["line"] is not None


def test_lint_refuses_other_content_types_and_bad_bytes(
    client: TestClient, reader: dict[str, str]
) -> None:
    wrong_type = client.post("/api/v1/lint", json={"controller": {}}, headers=reader)
    assert_problem(wrong_type, 415)
    not_utf8 = client.post(
        "/api/v1/lint", content=b"\xff\xfe", headers={**reader, "Content-Type": "text/plain"}
    )
    body = assert_problem(not_utf8, 422)
    assert "UTF-8" in str(body["detail"])


def test_api_errors_are_problems(client: TestClient, reader: dict[str, str]) -> None:
    assert_problem(client.get("/api/v1/nothing-here", headers=reader), 404)
    assert_problem(client.delete("/api/v1/versions", headers=reader), 405)


def test_openapi_document(client: TestClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "Tutela API"
    assert set(document["paths"]) == {
        "/api/v1/versions",
        "/api/v1/versions/{number}",
        "/api/v1/statement",
        "/api/v1/lint",
        "/api/v1/consent/check",
        "/api/v1/consent/check-bulk",
        "/api/v1/consent/events",
        "/api/v1/consent/subjects/{public_id}/receipts",
        "/api/v1/newsletter/subscriptions",
        "/api/v1/requests",
        "/api/v1/requests/in-app",
        "/api/v1/requests/{reference}",
        "/api/v1/requests/callbacks/{store}",
    }
    assert all(path.startswith("/api/v1/") for path in document["paths"])
    scheme = document["components"]["securitySchemes"]["ApiKey"]
    assert scheme == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "tut_<prefix>_<secret>",
        "description": scheme["description"],
    }
    lint = document["paths"]["/api/v1/lint"]["post"]
    assert "application/yaml" in lint["requestBody"]["content"]
    assert lint["security"] == [{"ApiKey": []}]

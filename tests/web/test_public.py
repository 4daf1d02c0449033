"""The public statement pages, the health check and the common error and header rules."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import EXAMPLE
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.policy.models_db import PolicyVersion
from tutela.storage import head_revision, make_engine
from tutela.web.app import create_app

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}
TITLE_DE = "Datenschutzhinweise der Terminfuchs GmbH"
TITLE_EN = "Privacy notice of Terminfuchs GmbH"


def h1(html: str) -> str:
    found = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert found, "no <h1> on the page"
    return found.group(1).strip()


def assert_security_headers(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value
    policy = headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "accept-language" in headers["vary"].lower()


@pytest.fixture
def published(publish_version: Callable[..., PolicyVersion]) -> PolicyVersion:
    return publish_version()


def test_privacy_follows_accept_language(client: TestClient, published: PolicyVersion) -> None:
    german = client.get("/privacy", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert german.status_code == 200
    assert german.headers["content-type"] == "text/html; charset=utf-8"
    assert german.headers["content-language"] == "de"
    assert '<html lang="de">' in german.text
    assert h1(german.text) == TITLE_DE
    english = client.get("/privacy", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert english.headers["content-language"] == "en"
    assert '<html lang="en">' in english.text
    assert h1(english.text) == TITLE_EN
    assert_security_headers(english)


def test_lang_parameter_overrides_the_header(client: TestClient, published: PolicyVersion) -> None:
    response = client.get("/privacy?lang=en", headers={"Accept-Language": "de"})
    assert response.headers["content-language"] == "en"
    assert h1(response.text) == TITLE_EN
    fallback = client.get("/privacy?lang=fr", headers={"Accept-Language": "en"})
    assert fallback.headers["content-language"] == "en"


def test_default_language_comes_from_settings(
    make_client: Callable[..., TestClient], tmp_path: Path, published: PolicyVersion
) -> None:
    english_site = make_client(Settings(data_dir=tmp_path, default_language="en"))
    assert english_site.get("/privacy").headers["content-language"] == "en"
    german_site = make_client(Settings(data_dir=tmp_path, default_language="de"))
    assert german_site.get("/privacy").headers["content-language"] == "de"


def test_markdown_variants(client: TestClient, published: PolicyVersion) -> None:
    for url in ("/privacy?format=md&lang=en", "/privacy.md?lang=en"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/markdown; charset=utf-8"
        assert response.text.startswith(f"# {TITLE_EN}\n")
        assert "<html" not in response.text
    german = client.get("/privacy.md", headers={"Accept-Language": "de"})
    assert german.text.startswith(f"# {TITLE_DE}\n")


def test_statement_names_the_published_version(
    client: TestClient, published: PolicyVersion
) -> None:
    html = client.get("/privacy?lang=en").text
    assert published.content_hash in html
    assert "/privacy/versions" in html
    assert 'class="tutela-bar"' not in html  # nothing to announce


def test_archived_and_upcoming_versions(
    client: TestClient,
    publish_version: Callable[..., PolicyVersion],
    clock: FrozenClock,
) -> None:
    first = publish_version()
    clock.advance(dt.timedelta(days=10))
    second = publish_version(title="Privacy notice, revised")
    assert second.effective_at > clock.now().date()
    today = client.get("/privacy?lang=en").text
    assert h1(today) == TITLE_EN
    assert "A new version takes effect on" in today
    assert f'href="/privacy/v/{second.number}?lang=en"' in today
    preview = client.get(f"/privacy/v/{second.number}?lang=en")
    assert h1(preview.text) == "Privacy notice, revised"
    clock.set(dt.datetime.combine(second.effective_at, dt.time(8), tzinfo=dt.UTC))
    assert h1(client.get("/privacy?lang=en").text) == "Privacy notice, revised"
    old = client.get(f"/privacy/v/{first.number}?lang=en")
    assert old.status_code == 200
    assert h1(old.text) == TITLE_EN
    assert "which is not the version in effect today" in old.text
    old_md = client.get(f"/privacy/v/{first.number}?lang=de&format=md")
    assert old_md.text.startswith("> **Dies ist nicht die heute gültige Version.**")
    listing = client.get("/privacy/versions?lang=en")
    assert listing.status_code == 200
    assert f'href="/privacy/v/{first.number}?lang=en"' in listing.text
    assert "superseded" in listing.text


def test_unknown_version_is_a_404_page(client: TestClient, published: PolicyVersion) -> None:
    response = client.get("/privacy/v/99", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "There is nothing at this address" in response.text
    assert client.get("/privacy/v/not-a-number").status_code == 404
    assert_security_headers(response)


def test_preview_before_first_publication(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    client = make_client(Settings(data_dir=tmp_path, declaration_path=EXAMPLE))
    german = client.get("/privacy")
    assert german.status_code == 200
    assert "Vorschau: Diese Erklärung ist noch nicht veröffentlicht." in german.text
    assert h1(german.text) == TITLE_DE
    assert '<link rel="stylesheet" href="/static/statement-bar.css">' in german.text
    english_md = client.get("/privacy.md?lang=en")
    assert english_md.text.startswith(
        "> **Preview: this statement has not been published yet.**\n\n# "
    )


def test_nothing_published_says_how_to_publish(client: TestClient) -> None:
    response = client.get("/privacy?lang=en")
    assert response.status_code == 404
    assert "No privacy statement has been published yet" in response.text
    assert "tutela policy publish" in response.text
    assert_security_headers(response)


def test_broken_declaration_file_is_not_previewed(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("controller: [unclosed\n", encoding="utf-8")
    client = make_client(Settings(data_dir=tmp_path, declaration_path=broken))
    response = client.get("/privacy?lang=en")
    assert response.status_code == 404
    assert "tutela policy lint" in response.text


def test_healthz_reports_the_schema(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "schema": head_revision()}
    assert_security_headers(response)


def test_healthz_is_503_when_the_database_is_gone(tmp_path: Path, clock: FrozenClock) -> None:
    unreachable = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", check=False)
    app = create_app(Settings(data_dir=tmp_path), engine=unreachable, clock=clock)
    with TestClient(app) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 503
    assert body["instance"] == "/healthz"
    assert {"type", "title", "detail"} <= body.keys()


def test_static_files_are_served_with_headers(client: TestClient) -> None:
    response = client.get("/static/tutela.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert_security_headers(response)


def test_wrong_method_on_a_page_is_a_405_page(client: TestClient) -> None:
    response = client.post("/privacy", headers={"Accept-Language": "en"})
    assert response.status_code == 405
    assert "does not accept this kind of request" in response.text


def test_server_errors_keep_status_and_headers(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(raise_server_exceptions=False)

    def boom() -> None:
        raise RuntimeError("simulated failure")

    client.app.add_api_route("/api/v1/boom", boom)  # type: ignore[attr-defined]
    client.app.add_api_route("/boom", boom)  # type: ignore[attr-defined]
    api = client.get("/api/v1/boom")
    assert api.status_code == 500
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json()["status"] == 500
    assert "simulated" not in api.text
    assert_security_headers(api)
    page = client.get("/boom", headers={"Accept-Language": "de"})
    assert page.status_code == 500
    assert "Bei uns ist etwas schiefgegangen" in page.text
    assert_security_headers(page)


def test_front_door_leads_to_the_statement(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/privacy"


def test_no_interactive_docs_outside_the_api(client: TestClient) -> None:
    assert client.get("/docs").status_code == 404
    assert client.get("/openapi.json").status_code == 404

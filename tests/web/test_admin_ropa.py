"""The admin page of the record of processing activities and its downloads, by role."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.web.conftest import EXAMPLE, log_in
from tutela.clock import FrozenClock
from tutela.policy.models import Declaration, Text
from tutela.policy.models_db import PolicyVersion
from tutela.policy.versions import publish
from tutela.web.admin.ropa import router

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """A client whose app serves the record page, registered or not in web/app.py yet."""
    made = make_client()
    app = made.app
    assert isinstance(app, FastAPI)
    if not any(getattr(route, "path", "") == "/admin/ropa" for route in app.routes):
        app.include_router(router)
    return made


def test_login_is_required(client: TestClient) -> None:
    for path in ("/admin/ropa", "/admin/ropa/export.csv"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/admin/login"


def test_support_may_not_see_the_record(
    client: TestClient, staff: dict[str, str], publish_version: Callable[..., PolicyVersion]
) -> None:
    publish_version()
    log_in(client, staff["support"])
    assert client.get("/admin/ropa").status_code == 403
    response = client.get("/admin/ropa/export.md")
    assert response.status_code == 403
    assert "Terminfuchs" not in response.text


@pytest.mark.parametrize("role", ["dpo", "admin"])
def test_owners_of_the_declaration_see_the_record(
    client: TestClient,
    staff: dict[str, str],
    publish_version: Callable[..., PolicyVersion],
    declaration: Declaration,
    role: str,
) -> None:
    publish_version()
    log_in(client, staff[role])
    page = client.get("/admin/ropa", params={"lang": "en"})
    assert page.status_code == 200
    assert page.headers["content-language"] == "en"
    html = page.text
    for purpose in declaration.purposes:
        assert f'id="activity-{purpose.id}"' in html
        assert purpose.name.en in html
    assert "Built from published version 1 of the declaration" in html
    assert "Art. 30(1)(e) GDPR" in html
    for fmt in ("csv", "md", "html"):
        for code in ("de", "en"):
            assert f'href="/admin/ropa/export.{fmt}?version=1&amp;lang={code}"' in html
    german = client.get("/admin/ropa")
    assert german.headers["content-language"] == "de"
    assert "Bereitstellung der Buchungssoftware" in german.text


def test_no_version_in_effect_yet(client: TestClient, staff: dict[str, str]) -> None:
    log_in(client, staff["dpo"])
    page = client.get("/admin/ropa", params={"lang": "en"})
    assert page.status_code == 200
    assert "No version of the declaration is in effect yet; publish one first." in page.text
    assert 'class="ropa-entry"' not in page.text
    assert client.get("/admin/ropa/export.csv").status_code == 404


def test_downloads(
    client: TestClient,
    staff: dict[str, str],
    publish_version: Callable[..., PolicyVersion],
    declaration: Declaration,
) -> None:
    publish_version()
    log_in(client, staff["dpo"])
    response = client.get("/admin/ropa/export.csv", params={"version": 1, "lang": "en"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="ropa-v1-en.csv"'
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:], newline="")))
    assert [row[1] for row in rows[1:]] == [p.id for p in declaration.purposes]
    markdown = client.get("/admin/ropa/export.md", params={"lang": "de"})
    assert markdown.headers["content-type"] == "text/markdown; charset=utf-8"
    assert markdown.headers["content-disposition"] == 'attachment; filename="ropa-v1-de.md"'
    assert "## 1. Bereitstellung der Buchungssoftware (`contract`)" in markdown.text
    document = client.get("/admin/ropa/export.html", params={"lang": "en"})
    assert document.headers["content-type"] == "text/html; charset=utf-8"
    assert document.text.startswith("<!DOCTYPE html>")
    assert client.get("/admin/ropa/export.pdf").status_code == 422


def test_version_choice_and_unknown_version(
    client: TestClient, staff: dict[str, str], publish_version: Callable[..., PolicyVersion]
) -> None:
    publish_version()
    publish_version(title="Zweite Fassung")
    log_in(client, staff["dpo"])
    page = client.get("/admin/ropa", params={"version": 1, "lang": "en"})
    assert page.status_code == 200
    assert '<option value="1" selected>' in page.text
    assert "Built from published version 1 of the declaration" in page.text
    assert client.get("/admin/ropa", params={"version": 7}).status_code == 404
    assert client.get("/admin/ropa/export.csv", params={"version": 7}).status_code == 404


def test_declared_markup_stays_inert(
    client: TestClient,
    staff: dict[str, str],
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
    declaration: Declaration,
) -> None:
    first = declaration.purposes[0].model_copy(
        update={"description": Text(de=SCRIPT, en=SCRIPT), "name": Text(de="A & B", en="A & B")}
    )
    hostile = declaration.model_copy(update={"purposes": [first, *declaration.purposes[1:]]})
    with session_factory() as session, session.begin():
        publish(
            session,
            declaration=hostile,
            source_text=EXAMPLE.read_text(encoding="utf-8"),
            actor="test",
            clock=clock,
        )
    log_in(client, staff["dpo"])
    for path in ("/admin/ropa", "/admin/ropa/export.html"):
        body = client.get(path).text
        assert SCRIPT not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        assert "A &amp; B" in body

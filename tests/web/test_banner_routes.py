"""The cookie banner's routes: script, stylesheet, configuration, decisions, GPC, demo page."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.web.conftest import EXAMPLE
from tutela.clock import FrozenClock
from tutela.consent.models import ConsentEvent
from tutela.i18n import catalog_path
from tutela.policy.duration import Period
from tutela.policy.models import Declaration
from tutela.policy.models_db import PolicyVersion
from tutela.policy.versions import earliest_effective_on, publish
from tutela.web.public import banner as banner_routes

VISITOR = "fedcba9876543210fedcba9876543210"


@pytest.fixture
def published(publish_version: Callable[..., PolicyVersion]) -> PolicyVersion:
    return publish_version()


@pytest.fixture
def publish_changed(
    session_factory: sessionmaker[Session], clock: FrozenClock, declaration: Declaration
) -> Callable[[Declaration], PolicyVersion]:
    """Publish ``changed`` as the next version and move the clock to the day it takes effect."""

    def run(changed: Declaration) -> PolicyVersion:
        with session_factory() as session, session.begin():
            day = earliest_effective_on(session, declaration=changed, clock=clock)
            version = publish(
                session,
                declaration=changed,
                source_text=EXAMPLE.read_text(encoding="utf-8"),
                actor="test",
                clock=clock,
                effective_on=day,
            )
        clock.set(dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC))
        return version

    return run


def config(client: TestClient, lang: str = "en", **headers: str) -> dict[str, Any]:
    response = client.get(f"/consent/config?lang={lang}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def decision(client: TestClient, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "visitor_id": VISITOR,
        "revision": config(client)["revision"],
        "language": "en",
        "categories": ["analytics"],
        "gpc": False,
        "gpc_opt_in": [],
        "method": "custom",
    }
    body.update(fields)
    return body


def event_count(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(ConsentEvent)) or 0)


def assert_problem(response: Any, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert field in body["detail"]
    assert field in [error["field"] for error in body.get("errors", [{"field": field}])]
    return body


# ---------------------------------------------------------------- script and stylesheet


def test_script_is_small_cacheable_and_csp_friendly(client: TestClient) -> None:
    response = client.get("/consent/banner.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "max-age" in response.headers["cache-control"]
    etag = response.headers["etag"]
    assert len(response.content) < 12 * 1024
    source = response.text
    for forbidden in ("eval(", "new Function", "innerHTML", "setAttribute('style'", ".style."):
        assert forbidden not in source, forbidden
    again = client.get("/consent/banner.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = client.get("/consent/banner.js", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200


def test_stylesheet(client: TestClient) -> None:
    response = client.get("/consent/banner.css")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    assert ".tcb-main" in response.text
    assert response.headers["etag"]


# ---------------------------------------------------------------- configuration


@pytest.mark.promise("P12")
def test_config_lists_categories_and_cookies_of_the_version_in_effect(
    client: TestClient, published: PolicyVersion
) -> None:
    response = client.get("/consent/config?lang=de")
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["content-language"] == "de"
    body = response.json()
    assert body["policy_version"] == published.number
    assert [c["id"] for c in body["categories"]] == [
        "necessary",
        "functional",
        "analytics",
        "marketing",
    ]
    marketing = body["categories"][3]
    assert marketing["name"] == "Marketing"
    assert marketing["gpc"] is True
    assert marketing["cookies"][0]["name"] == "adr_click"
    assert marketing["cookies"][0]["provider"] == "Adreach Inc."
    assert marketing["cookies"][0]["lifetime"] == "90 Tage"
    assert body["max_age_days"] == 395
    assert body["privacy_url"] == "/privacy?lang=de"
    assert body["signal"] == {"sec_gpc": False}
    english = config(client, "en", **{"Sec-GPC": "1"})
    assert english["categories"][3]["cookies"][0]["lifetime"] == "90 days"
    assert english["signal"] == {"sec_gpc": True}
    assert english["revision"] == body["revision"]


def test_config_language_falls_back_to_accept_language(
    client: TestClient, published: PolicyVersion
) -> None:
    response = client.get("/consent/config", headers={"Accept-Language": "en-GB"})
    assert response.json()["language"] == "en"


def test_config_refuses_an_unknown_language(client: TestClient, published: PolicyVersion) -> None:
    assert_problem(client.get("/consent/config?lang=fr"), 422, "lang")


def test_config_without_a_version_in_effect(client: TestClient) -> None:
    response = client.get("/consent/config?lang=de")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "tutela policy publish" in response.json()["detail"]


@pytest.mark.promise("P12")
def test_revision_changes_when_a_cookie_changes(
    client: TestClient,
    published: PolicyVersion,
    declaration: Declaration,
    publish_changed: Callable[[Declaration], PolicyVersion],
) -> None:
    first = config(client)["revision"]
    cookies = [
        c.model_copy(update={"lifetime": Period(months=6)}) if c.name == "adr_click" else c
        for c in declaration.cookies
    ]
    publish_changed(declaration.model_copy(update={"cookies": cookies}))
    changed = config(client)
    assert changed["revision"] != first
    assert changed["categories"][3]["cookies"][0]["lifetime"] == "6 months"
    stale = client.post("/consent/decision", json={**decision(client), "revision": first})
    assert_problem(stale, 409, "revision")


def test_revision_stays_when_nothing_about_cookies_changes(
    client: TestClient,
    published: PolicyVersion,
    declaration: Declaration,
    publish_changed: Callable[[Declaration], PolicyVersion],
) -> None:
    first = config(client)["revision"]
    version = publish_changed(declaration.model_copy(update={"security_measures": None}))
    assert config(client)["policy_version"] == version.number
    assert config(client)["revision"] == first


# ---------------------------------------------------------------- GPC


@pytest.mark.promise("P24")
def test_gpc_json_names_the_date_of_the_version_in_effect(
    client: TestClient, published: PolicyVersion
) -> None:
    response = client.get("/.well-known/gpc.json")
    assert response.status_code == 200
    assert response.json() == {"gpc": True, "lastUpdate": published.effective_at.isoformat()}


@pytest.mark.promise("P24")
def test_gpc_json_is_absent_when_the_declaration_does_not_honour_gpc(
    client: TestClient, declaration: Declaration, publish_changed: Callable[..., PolicyVersion]
) -> None:
    assert client.get("/.well-known/gpc.json").status_code == 404
    silent = declaration.model_copy(
        update={"us_privacy": declaration.us_privacy.model_copy(update={"honours_gpc": False})}
    )
    publish_changed(silent)
    response = client.get("/.well-known/gpc.json")
    assert response.status_code == 404
    assert "honours_gpc" in response.json()["detail"]


# ---------------------------------------------------------------- decisions


@pytest.mark.promise("P12")
def test_a_decision_is_logged_and_sets_no_cookie(
    client: TestClient, published: PolicyVersion, session_factory: sessionmaker[Session]
) -> None:
    response = client.post("/consent/decision", json=decision(client))
    assert response.status_code == 204
    assert response.content == b""
    assert "set-cookie" not in response.headers
    assert response.headers["access-control-allow-origin"] == "*"
    assert event_count(session_factory) == 3


def test_preflight_allows_posting_from_the_operators_site(client: TestClient) -> None:
    response = client.options(
        "/consent/decision",
        headers={"Origin": "https://www.example.de", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-methods"] == "POST"
    assert "Content-Type" in response.headers["access-control-allow-headers"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"visitor_id": "abc"}, "visitor_id"),
        ({"visitor_id": None}, "visitor_id"),
        ({"revision": "nothex"}, "revision"),
        ({"categories": ["tracking"]}, "categories"),
        ({"gpc_opt_in": ["everything"]}, "gpc_opt_in"),
        ({"language": "fr"}, "language"),
        ({"method": "maybe"}, "method"),
        ({"extra": 1}, "extra"),
    ],
)
def test_invalid_decisions_name_the_field(
    client: TestClient,
    published: PolicyVersion,
    session_factory: sessionmaker[Session],
    change: dict[str, Any],
    field: str,
) -> None:
    body = {**decision(client), **change}
    body = {k: v for k, v in body.items() if v is not None}
    assert_problem(client.post("/consent/decision", json=body), 422, field)
    assert event_count(session_factory) == 0


@pytest.mark.promise("P24")
def test_sec_gpc_header_refuses_marketing_without_its_own_opt_in(
    client: TestClient, published: PolicyVersion, session_factory: sessionmaker[Session]
) -> None:
    body = decision(client, categories=["analytics", "marketing"])
    refused = client.post("/consent/decision", json=body, headers={"Sec-GPC": "1"})
    assert_problem(refused, 422, "categories")
    assert event_count(session_factory) == 0
    opted = {**body, "gpc_opt_in": ["marketing"]}
    assert client.post("/consent/decision", json=opted, headers={"Sec-GPC": "1"}).status_code == 204


@pytest.mark.parametrize(
    ("content", "kind"),
    [(b"{not json", "application/json"), (b"[1, 2]", "application/json"), (b"\xff", "text/plain")],
)
def test_a_body_that_is_not_a_json_object(
    client: TestClient, published: PolicyVersion, content: bytes, kind: str
) -> None:
    response = client.post("/consent/decision", content=content, headers={"Content-Type": kind})
    assert_problem(response, 422, "body")


def test_a_form_body_is_refused(client: TestClient, published: PolicyVersion) -> None:
    response = client.post("/consent/decision", data={"visitor_id": VISITOR})
    assert_problem(response, 415, "body")


def test_oversized_bodies_are_refused(
    client: TestClient, published: PolicyVersion, session_factory: sessionmaker[Session]
) -> None:
    padded = {**decision(client), "visitor_id": VISITOR, "pad": "x" * 5000}
    response = client.post("/consent/decision", json=padded)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "4096 bytes" in response.json()["detail"]

    def chunks() -> Iterator[bytes]:
        yield b'{"visitor_id": "' + VISITOR.encode() + b'", "pad": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'

    streamed = client.post(
        "/consent/decision", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    assert event_count(session_factory) == 0


def test_decisions_are_rate_limited_per_address(
    client: TestClient, published: PolicyVersion
) -> None:
    body = decision(client, categories=[])
    answers = [
        client.post("/consent/decision", json=body).status_code
        for _ in range(banner_routes.DECISIONS_PER_MINUTE + 1)
    ]
    assert answers[:-1] == [204] * banner_routes.DECISIONS_PER_MINUTE
    assert answers[-1] == 429


# ---------------------------------------------------------------- demo page


@pytest.mark.promise("P12")
def test_demo_page_embeds_the_banner_and_three_inert_scripts(
    client: TestClient, published: PolicyVersion
) -> None:
    response = client.get("/demo/banner?lang=en")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="en">' in html
    assert "<h1>Cookie banner demo</h1>" in html
    assert '<script src="/consent/banner.js"></script>' in html
    tagged = re.findall(r'<script type="text/plain" data-tutela-category="(\w+)"', html)
    assert sorted(tagged) == ["analytics", "functional", "marketing"]
    assert 'data-marker="_mtr_id"' in html
    policy = response.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce is not None
    assert f'nonce="{nonce.group(1)}"' in html
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    assert response.headers["x-frame-options"] == "DENY"
    second = client.get("/demo/banner").headers["content-security-policy"]
    assert second != policy
    german = client.get("/demo/banner?lang=de").text
    assert "<h1>Cookie-Banner zum Ausprobieren</h1>" in german


def test_demo_page_without_a_version_says_what_to_do(client: TestClient) -> None:
    response = client.get("/demo/banner?lang=en")
    assert response.status_code == 200
    assert "tutela policy publish" in response.text


def test_demo_messages_have_german_translations() -> None:
    with catalog_path("de", "banner").open("rb") as handle:
        catalog = read_po(handle, locale="de")
    german = {str(m.id): str(m.string) for m in catalog if m.id and not m.fuzzy}
    assert [m for m in banner_routes.MESSAGES if not german.get(m)] == []

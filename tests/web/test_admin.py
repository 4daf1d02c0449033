"""The admin console: login, sessions, CSRF, roles and the login rate limit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.web.conftest import PASSWORD, form_token, log_in
from tutela.audit import entries
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.policy.models_db import PolicyVersion
from tutela.staff.models import StaffSession

pytestmark = pytest.mark.promise("P19")


def login_attempt(
    client: TestClient, email: str, password: str, *, token: str | None = None
) -> object:
    if token is None:
        token = form_token(client.get("/admin/login").text)
    return client.post(
        "/admin/login",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def test_login_sets_a_safe_session_cookie(client: TestClient, staff: dict[str, str]) -> None:
    page = client.get("/admin/login")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    login_cookie = page.headers["set-cookie"]
    assert "HttpOnly" in login_cookie
    assert "Path=/admin" in login_cookie
    assert "SameSite=strict" in login_cookie
    response = login_attempt(client, staff["dpo"], PASSWORD, token=form_token(page.text))
    assert response.status_code == 303  # type: ignore[attr-defined]
    cookies = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    session_cookie = next(c for c in cookies if c.startswith("tutela_session="))
    assert "HttpOnly" in session_cookie
    assert "Path=/admin" in session_cookie
    assert "SameSite=lax" in session_cookie
    assert "Max-Age=28800" in session_cookie
    assert "Secure" not in session_cookie
    assert any(c.startswith('tutela_login=""') for c in cookies)
    dashboard = client.get("/admin", headers={"Accept-Language": "en"})
    assert dashboard.status_code == 200
    assert "Welcome, Dpo Person" in dashboard.text


def test_cookie_is_secure_behind_https(
    make_client: Callable[..., TestClient], tmp_path: Path, staff: dict[str, str]
) -> None:
    settings = Settings(data_dir=tmp_path, base_url="https://privacy.example.org")
    client = make_client(settings, base_url="https://testserver")
    response = login_attempt(client, staff["dpo"], PASSWORD)
    cookies = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    assert all("Secure" in c for c in cookies)
    assert "max-age=" in response.headers["strict-transport-security"]  # type: ignore[attr-defined]


def test_session_token_is_not_stored(
    client: TestClient, staff: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    log_in(client, staff["dpo"])
    token = client.cookies["tutela_session"]
    with session_factory() as session:
        row = session.scalars(select(StaffSession)).one()
        assert token not in {row.token_digest, row.csrf_secret}


def test_wrong_password_and_unknown_email_look_the_same(
    client: TestClient, staff: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    token = form_token(client.get("/admin/login").text)
    wrong = login_attempt(client, staff["dpo"], "not the password at all", token=token)
    unknown = login_attempt(client, "ghost@example.org", PASSWORD, token=token)
    assert wrong.status_code == unknown.status_code == 401  # type: ignore[attr-defined]
    assert wrong.text == unknown.text  # type: ignore[attr-defined]
    assert "E-Mail-Adresse oder Passwort falsch" in wrong.text  # type: ignore[attr-defined]
    assert "tutela_session" not in client.cookies
    with session_factory() as session:
        assert len(entries(session, action="staff.login_failed")) == 2


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_login_without_a_valid_form_token_is_403(
    client: TestClient, staff: dict[str, str], token: str | None
) -> None:
    client.get("/admin/login")
    data = {"email": staff["dpo"], "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/admin/login", data=data, follow_redirects=False)
    assert response.status_code == 403
    assert "tutela_session" not in client.cookies


def test_login_token_expires(client: TestClient, staff: dict[str, str], clock: FrozenClock) -> None:
    token = form_token(client.get("/admin/login").text)
    clock.advance(dt.timedelta(minutes=31))
    assert login_attempt(client, staff["dpo"], PASSWORD, token=token).status_code == 403  # type: ignore[attr-defined]


def test_login_cookie_cannot_be_forged(
    make_client: Callable[..., TestClient], staff: dict[str, str]
) -> None:
    client = make_client()
    client.cookies.set("tutela_login", "chosen.1772442000.0000", path="/admin")
    response = login_attempt(client, staff["dpo"], PASSWORD, token="chosen")
    assert response.status_code == 403  # type: ignore[attr-defined]


def test_logout_needs_the_form_token_and_revokes_the_session(
    client: TestClient, staff: dict[str, str]
) -> None:
    log_in(client, staff["dpo"])
    page = client.get("/admin")
    token = client.cookies["tutela_session"]
    refused = client.post("/admin/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/admin").status_code == 200
    done = client.post(
        "/admin/logout", data={"csrf_token": form_token(page.text)}, follow_redirects=False
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/admin/login"
    client.cookies.set("tutela_session", token, path="/admin")
    again = client.get("/admin/versions", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"] == "/admin/login"


def test_session_expires_on_the_server(
    client: TestClient, staff: dict[str, str], clock: FrozenClock
) -> None:
    log_in(client, staff["support"])
    clock.advance(dt.timedelta(hours=7, minutes=59))
    assert client.get("/admin/versions").status_code == 200
    clock.advance(dt.timedelta(minutes=2))
    expired = client.get("/admin/versions", follow_redirects=False)
    assert expired.status_code == 303
    assert expired.headers["location"] == "/admin/login"


def test_pages_need_a_login(client: TestClient) -> None:
    for path in ("/admin", "/admin/versions", "/admin/staff"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/admin/login"
    client.cookies.set("tutela_session", "made-up", path="/admin")
    assert client.get("/admin", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("role", ["admin", "dpo", "support"])
def test_every_role_sees_the_versions(
    client: TestClient,
    staff: dict[str, str],
    publish_version: Callable[..., PolicyVersion],
    role: str,
) -> None:
    version = publish_version()
    log_in(client, staff[role])
    page = client.get("/admin/versions", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert version.content_hash[:12] in page.text
    assert 'href="/privacy/v/1?lang=en">1</a>' in page.text
    assert "in effect" in page.text
    assert "test" in page.text  # published by


def test_versions_page_marks_upcoming(
    client: TestClient,
    staff: dict[str, str],
    publish_version: Callable[..., PolicyVersion],
    clock: FrozenClock,
) -> None:
    publish_version()
    clock.advance(dt.timedelta(days=1))
    publish_version(title="Second")
    log_in(client, staff["dpo"])
    page = client.get("/admin/versions?lang=de").text
    assert "kommend" in page
    assert "gültig" in page


@pytest.mark.parametrize("role", ["dpo", "support"])
def test_staff_list_is_for_admins_only(
    client: TestClient, staff: dict[str, str], role: str
) -> None:
    log_in(client, staff[role])
    denied = client.get("/admin/staff", headers={"Accept-Language": "en"})
    assert denied.status_code == 403
    assert "You are not allowed to do this" in denied.text
    assert "admin@example.org" not in denied.text
    assert 'href="/admin/staff"' not in client.get("/admin").text


def test_admin_sees_the_staff_list(client: TestClient, staff: dict[str, str]) -> None:
    log_in(client, staff["admin"])
    page = client.get("/admin/staff", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    for email in staff.values():
        assert email in page.text
    assert "Data protection officer" in page.text
    assert PASSWORD not in page.text
    assert "argon2" not in page.text


def test_failed_logins_are_rate_limited(
    client: TestClient, staff: dict[str, str], clock: FrozenClock
) -> None:
    token = form_token(client.get("/admin/login").text)
    for _ in range(10):
        failed = login_attempt(client, staff["dpo"], "a wrong passphrase", token=token)
        assert failed.status_code == 401  # type: ignore[attr-defined]
    blocked = login_attempt(client, staff["dpo"], PASSWORD, token=token)
    assert blocked.status_code == 429  # type: ignore[attr-defined]
    assert int(blocked.headers["retry-after"]) > 0  # type: ignore[attr-defined]
    assert "tutela_session" not in client.cookies
    other = login_attempt(client, staff["support"], PASSWORD, token=token)
    assert other.status_code == 303  # type: ignore[attr-defined]
    client.cookies.clear()
    clock.advance(dt.timedelta(minutes=15, seconds=1))
    assert login_attempt(client, staff["dpo"], PASSWORD).status_code == 303  # type: ignore[attr-defined]


def test_logged_in_user_skips_the_login_form(client: TestClient, staff: dict[str, str]) -> None:
    log_in(client, staff["dpo"])
    response = client.get("/admin/login", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin"


def test_console_speaks_both_languages(client: TestClient, staff: dict[str, str]) -> None:
    assert "Anmelden" in client.get("/admin/login", headers={"Accept-Language": "de"}).text
    english = client.get("/admin/login?lang=en", headers={"Accept-Language": "de"})
    assert english.headers["content-language"] == "en"
    assert "Log in" in english.text
    log_in(client, staff["admin"])
    german = client.get("/admin", headers={"Accept-Language": "de"}).text
    assert "Willkommen, Admin Person" in german
    assert "Abmelden" in german
    assert "Administration" in german


def test_login_form_works_across_processes_sharing_the_master_key(
    make_client: Callable[..., TestClient], tmp_path: Path, staff: dict[str, str]
) -> None:
    from tutela.crypto import MasterKey

    key = MasterKey.generate().to_b64()
    shared = Settings(data_dir=tmp_path, master_key=key)
    first, second = make_client(shared), make_client(shared)
    token = form_token(first.get("/admin/login").text)
    second.cookies.set("tutela_login", first.cookies["tutela_login"], path="/admin")
    assert login_attempt(second, staff["dpo"], PASSWORD, token=token).status_code == 303  # type: ignore[attr-defined]
    alone = make_client(Settings(data_dir=tmp_path / "elsewhere"))
    alone.cookies.set("tutela_login", first.cookies["tutela_login"], path="/admin")
    assert login_attempt(alone, staff["dpo"], PASSWORD, token=token).status_code == 403  # type: ignore[attr-defined]

"""Fixtures for the web tests: an app over the test database, staff, keys and versions."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.policy.loader import load_declaration
from tutela.policy.models import Declaration, Text
from tutela.policy.models_db import PolicyVersion
from tutela.policy.versions import publish
from tutela.staff.service import add_staff, create_api_key
from tutela.web.app import create_app

EXAMPLE = Path(__file__).resolve().parents[2] / "src/tutela/policy/examples/example.yaml"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery staple"
STAFF = {
    "admin": "admin@example.org",
    "dpo": "dpo@example.org",
    "support": "support@example.org",
}
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, default_language="de", session_hours=8)


@pytest.fixture
def make_client(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def factory(settings_: Settings | None = None, **kwargs: object) -> TestClient:
        app = create_app(settings_ or settings, engine=engine, clock=clock)
        client = TestClient(app, **kwargs)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def declaration() -> Declaration:
    return load_declaration(EXAMPLE)


@pytest.fixture
def publish_version(
    session_factory: sessionmaker[Session], clock: FrozenClock, declaration: Declaration
) -> Callable[..., PolicyVersion]:
    """Publish the example (or a variant with another title) as the next version."""

    def run(title: str | None = None) -> PolicyVersion:
        chosen = declaration
        if title is not None:
            chosen = declaration.model_copy(update={"title": Text(de=title, en=title)})
        with session_factory() as session, session.begin():
            return publish(
                session,
                declaration=chosen,
                source_text=EXAMPLE.read_text(encoding="utf-8"),
                actor="test",
                clock=clock,
            )

    return run


@pytest.fixture
def staff(session_factory: sessionmaker[Session], clock: FrozenClock) -> dict[str, str]:
    """One account per role; returns role → e-mail address."""
    with session_factory() as session, session.begin():
        for role, email in STAFF.items():
            add_staff(
                session,
                email=email,
                password=PASSWORD,
                role=role,
                display_name=f"{role.title()} Person",
                actor="test",
                clock=clock,
            )
    return dict(STAFF)


@pytest.fixture
def make_key(session_factory: sessionmaker[Session], clock: FrozenClock) -> Callable[..., str]:
    def run(*scopes: str) -> str:
        with session_factory() as session, session.begin():
            key, _row = create_api_key(
                session, name="test key", scopes=list(scopes), actor="test", clock=clock
            )
        return key

    return run


def form_token(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "the page has no csrf_token field"
    return found.group(1)


def log_in(client: TestClient, email: str, password: str = PASSWORD) -> TestClient:
    """Log ``client`` in through the real form; asserts the redirect to the console."""
    page = client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={"email": email, "password": password, "csrf_token": form_token(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/admin"
    return client

"""``GET /api/v1/requests/{reference}?wait=N``: answered when the status changes, not polled."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.dsr import complete, get_request, sign_assertion, start
from tutela.dsr import watch as watch_module
from tutela.policy.models_db import PolicyVersion

APP_KEY = "app-signing-key-for-tests-0123456789abcdef"


@pytest.fixture
def slow_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a ring, the status would only be read again after 30 s."""
    monkeypatch.setattr(watch_module, "FALLBACK_READ_SECONDS", 30.0)


@pytest.fixture
def setup(
    make_client: Callable[..., TestClient],
    make_key: Callable[..., str],
    publish_version: Callable[..., PolicyVersion],
    clock: FrozenClock,
    tmp_path: Path,
) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    publish_version()
    client = make_client(
        Settings(data_dir=tmp_path, default_language="de", app_assertion_key=APP_KEY)
    )
    headers = {"Authorization": f"Bearer {make_key('requests:write', 'requests:read')}"}
    now = clock.now()
    assertion = sign_assertion(
        APP_KEY, kind="customer_id", value="K-4711", auth_time=now, issued_at=now
    )
    accepted = client.post(
        "/api/v1/requests/in-app",
        json={"assertion": assertion, "request_type": "access", "language": "en"},
        headers=headers,
    )
    assert accepted.status_code == 202
    yield client, headers, accepted.json()["reference"]
    client.app.state.tutela.stopping.set()  # type: ignore[attr-defined]  # ends the listener


def _later(seconds: float, action: Callable[[], None]) -> threading.Thread:
    def run() -> None:
        time.sleep(seconds)
        action()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _start(factory: sessionmaker[Session], clock: FrozenClock, reference: str) -> None:
    with factory() as session, session.begin():
        start(session, request=get_request(session, reference=reference), actor="t", clock=clock)


def test_a_wait_ends_when_another_thread_commits_a_new_status(
    setup: tuple[TestClient, dict[str, str], str],
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
    slow_fallback: None,
) -> None:
    client, headers, reference = setup
    worker = _later(0.3, lambda: _start(session_factory, clock, reference))
    answer = client.get(f"/api/v1/requests/{reference}?wait=20", headers=headers)
    worker.join()
    assert answer.status_code == 200
    # without the bell the answer would come after 20 s, still saying "verified"
    assert answer.json()["status"] == "in_progress"


def test_a_rolled_back_change_does_not_end_the_wait(
    setup: tuple[TestClient, dict[str, str], str],
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    client, headers, reference = setup

    def change_then_roll_back() -> None:
        with session_factory() as session:
            start(
                session, request=get_request(session, reference=reference), actor="t", clock=clock
            )
            session.flush()
            session.rollback()

    worker = _later(0.1, change_then_roll_back)
    answer = client.get(f"/api/v1/requests/{reference}?wait=1.5", headers=headers)
    worker.join()
    assert answer.json()["status"] == "verified"  # the wait ran out; nothing changed


def test_a_status_other_than_the_one_seen_is_answered_at_once(
    setup: tuple[TestClient, dict[str, str], str], slow_fallback: None
) -> None:
    client, headers, reference = setup
    began = time.monotonic()
    answer = client.get(f"/api/v1/requests/{reference}?wait=30&seen=received", headers=headers)
    assert answer.json()["status"] == "verified"
    assert time.monotonic() - began < 15  # not the 30 s wait


def test_a_closed_request_is_answered_at_once(
    setup: tuple[TestClient, dict[str, str], str],
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
    slow_fallback: None,
) -> None:
    client, headers, reference = setup
    _start(session_factory, clock, reference)
    with session_factory() as session, session.begin():
        found = get_request(session, reference=reference)
        complete(session, request=found, actor="t", clock=clock)
    began = time.monotonic()
    answer = client.get(f"/api/v1/requests/{reference}?wait=30", headers=headers)
    assert answer.json()["status"] == "completed"
    assert time.monotonic() - began < 15  # not the 30 s wait


def test_wait_is_bounded_and_unknown_references_are_404(
    setup: tuple[TestClient, dict[str, str], str],
) -> None:
    client, headers, _reference = setup
    too_long = client.get("/api/v1/requests/DSR-0000-0000-0000?wait=61", headers=headers)
    assert too_long.status_code == 422
    assert "wait" in too_long.text
    unknown = client.get("/api/v1/requests/DSR-0000-0000-0000?wait=5", headers=headers)
    assert unknown.status_code == 404
    bad_seen = client.get("/api/v1/requests/DSR-0000-0000-0000?wait=5&seen=x", headers=headers)
    assert bad_seen.status_code == 422

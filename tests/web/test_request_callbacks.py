"""`POST /api/v1/requests/callbacks/{store}`: signed processor callbacks, both databases."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.connectors import Action, Operation, Outcome, StoreReport
from tutela.connectors.builtin.webhook_message import sign, subject_request_id
from tutela.crypto import MasterKey
from tutela.dsr import get_request, submit
from tutela.dsr.answers import Run
from tutela.dsr.fulfilment import FULFIL_JOB
from tutela.jobs.models import Job
from tutela.storage import transaction

SECRET = "processor-shared-secret-0123456789"
URL = "/api/v1/requests/callbacks/{}"
STORES = """\
- name: mailer
  kind: webhook
  config:
    url: https://processor.example.com/requests
    secret: {secret}
- name: archive
  kind: manual
  config: {{system: the paper archive}}
"""


@pytest.fixture
def app_settings(tmp_path: Path) -> Settings:
    stores = tmp_path / "stores.yaml"
    stores.write_text(STORES.format(secret=SECRET), encoding="utf-8")
    return Settings(
        data_dir=tmp_path,
        base_url="https://privacy.example.org",
        controller_state="BY",
        mail_from="privacy@example.org",
        stores_file=stores,
    )


@pytest.fixture
def waiting(
    session_factory: sessionmaker[Session], clock: FrozenClock, app_settings: Settings
) -> str:
    """An erasure request in progress whose only open store is the processor ``mailer``."""
    with transaction(session_factory) as session:
        reference = submit(
            session,
            request_type="erasure",
            identity_kind="email",
            identity_value="anna.beispiel@example.org",
            language="en",
            master=MasterKey(bytes(range(32))),
            clock=clock,
            settings=app_settings,
        ).reference
        request = get_request(session, reference=reference)
        task = f"waiting for mailer to confirm request {subject_request_id(reference)}"
        outcome = Outcome(table="mailer", action=Action.NOT_HANDLED, reason=task)
        report = StoreReport.build("mailer", Operation.ERASE, [outcome], task=task)
        request.status = "in_progress"
        request.store_results = Run(reports=[report]).to_json()
    return reference


@pytest.fixture
def app(make_client: Callable[..., TestClient], app_settings: Settings) -> TestClient:
    return make_client(app_settings)


def _body(reference: str, status: str = "completed") -> bytes:
    data = {"subject_request_id": subject_request_id(reference), "request_status": status}
    return json.dumps(data).encode()


def _post(
    app: TestClient,
    body: bytes,
    *,
    store: str = "mailer",
    secret: str = SECRET,
    at: dt.datetime | None = None,
    clock: FrozenClock,
) -> tuple[int, dict[str, object]]:
    header = sign(body, secret=secret.encode(), now=at or clock.now())
    response = app.post(
        URL.format(store),
        content=body,
        headers={"X-Tutela-Signature": header, "Content-Type": "application/json"},
    )
    return response.status_code, response.json()


def _status(factory: sessionmaker[Session], reference: str) -> str:
    with factory() as session:
        return get_request(session, reference=reference).status


def _reruns(factory: sessionmaker[Session], reference: str) -> list[str]:
    with factory() as session:
        request = get_request(session, reference=reference)
        found = session.scalars(
            select(Job.idempotency_key).where(
                Job.kind == FULFIL_JOB,
                Job.idempotency_key.like(f"{FULFIL_JOB}:{request.id}:settled:%"),
                Job.status == "queued",
            )
        ).all()
        return [key for key in found if key is not None]


def test_a_signed_completion_queues_the_run_that_finishes_the_request(
    app: TestClient, waiting: str, clock: FrozenClock, session_factory: sessionmaker[Session]
) -> None:
    code, answer = _post(app, _body(waiting), clock=clock)
    assert code == 200
    assert answer["recorded"] is True
    assert _status(session_factory, waiting) == "in_progress"  # the handler closes it
    with session_factory() as session:
        results = json.loads(get_request(session, reference=waiting).store_results or "{}")
    assert results["stores"][0]["status"] == "done"
    assert len(_reruns(session_factory, waiting)) == 1
    code, _ = _post(app, _body(waiting), clock=clock)  # the processor says it again
    assert code == 200
    assert len(_reruns(session_factory, waiting)) == 1


def test_a_pending_status_queues_nothing(
    app: TestClient, waiting: str, clock: FrozenClock, session_factory: sessionmaker[Session]
) -> None:
    code, _ = _post(app, _body(waiting, "pending"), clock=clock)
    assert code == 200
    assert _reruns(session_factory, waiting) == []
    assert _status(session_factory, waiting) == "in_progress"


def _rejections(
    app: TestClient, waiting: str, clock: FrozenClock
) -> dict[str, tuple[int, dict[str, object]]]:
    body = _body(waiting)
    stale = clock.now() - dt.timedelta(minutes=6)
    return {
        "bad signature": _post(app, body, secret="another-secret-of-enough-length", clock=clock),
        "stale (replayed)": _post(app, body, at=stale, clock=clock),
        "unknown store": _post(app, body, store="nobody", clock=clock),
        "not a webhook": _post(app, body, store="archive", clock=clock),
    }


def test_bad_signature_stale_and_unknown_stores_get_the_same_401(
    app: TestClient, waiting: str, clock: FrozenClock, session_factory: sessionmaker[Session]
) -> None:
    answers = _rejections(app, waiting, clock)
    codes = {name: code for name, (code, _) in answers.items()}
    assert set(codes.values()) == {401}, codes
    details = {(body["title"], body["detail"]) for _, body in answers.values()}
    assert len(details) == 1
    assert _status(session_factory, waiting) == "in_progress"


def test_a_replayed_old_callback_is_refused(
    app: TestClient, waiting: str, clock: FrozenClock, session_factory: sessionmaker[Session]
) -> None:
    body = _body(waiting)
    header = sign(body, secret=SECRET.encode(), now=clock.now())
    clock.advance(dt.timedelta(minutes=10))
    response = app.post(URL.format("mailer"), content=body, headers={"X-Tutela-Signature": header})
    assert response.status_code == 401
    assert _status(session_factory, waiting) == "in_progress"


def test_an_oversized_body_gets_413(app: TestClient, waiting: str, clock: FrozenClock) -> None:
    body = b'{"pad":"' + b"x" * 70_000 + b'"}'
    code, answer = _post(app, body, clock=clock)
    assert code == 413
    assert "65536" in str(answer["detail"])


def test_an_unknown_request_id_with_a_good_signature_gets_404(
    app: TestClient, waiting: str, clock: FrozenClock
) -> None:
    code, _ = _post(app, _body("DSR-0000-0000-0000"), clock=clock)
    assert code == 404

"""The webhook connector against a real local HTTP server acting as the processor."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutela.clock import FrozenClock
from tutela.connectors import IdentitySet, Status, StoreError, StoreUnavailable, create
from tutela.connectors.builtin.webhook import WebhookConnector
from tutela.connectors.builtin.webhook_message import (
    CallbackRejected,
    on_behalf_of,
    sign,
    subject_request_id,
    verify_callback,
)
from tutela.connectors.report import Action
from tutela.crypto import MasterKey
from tutela.dsr.stores import parse_stores
from tutela.errors import ConfigurationError

SECRET = "processor-shared-secret-0123456789"
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
REFERENCE = "DSR-AB12-CD34-EF56"
PERSON = IdentitySet.of(email="Anna.Beispiel@example.org", customer_id="4711")


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool


@dataclass
class Processor:
    """A processor endpoint: checks each signature, records requests, answers as told.

    ``POST {url}`` answers ``code`` with ``answer``; a request it accepts (below 300)
    is remembered as ``pending`` (or the ``request_status`` it answered), and
    ``GET {url}/{id}`` serves what it remembers (404 for an id it never got), or
    ``status_code`` when set (503: it cannot be asked).
    """

    secret: bytes
    code: int = 202
    answer: dict[str, Any] | str = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""
    known: dict[str, dict[str, Any]] = field(default_factory=dict)
    status_code: int | None = None

    def posts(self) -> list[Seen]:
        return [seen for seen in self.seen if seen.method == "POST"]

    def complete(self, request_id: str) -> None:
        """The processor finished the request (its status route now says so)."""
        self.known[request_id] = {"subject_request_id": request_id, "request_status": "completed"}

    def remember(self, body: bytes) -> None:
        try:
            request_id = json.loads(body)["subject_request_id"]
        except (ValueError, KeyError, TypeError):
            return
        said = self.answer.get("request_status") if isinstance(self.answer, dict) else None
        self.known.setdefault(
            request_id, {"subject_request_id": request_id, "request_status": said or "pending"}
        )

    def status_answer(self, path: str) -> tuple[int, str] | None:
        """The answer to ``GET {url}/{id}``, or ``None`` for any other path."""
        base = urlsplit(self.url).path.rstrip("/") + "/"
        if not path.startswith(base) or path == base:
            return None
        if self.status_code is not None:
            return self.status_code, "{}"
        found = self.known.get(path.removeprefix(base))
        if found is None:
            return 404, json.dumps({"error": {"message": "no such request"}})
        return 200, json.dumps(found)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        processor = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                header = self.headers.get("X-Tutela-Signature", "")
                try:
                    stamp = header.split(",")[0].removeprefix("t=")
                    now = dt.datetime.fromtimestamp(int(stamp), tz=dt.UTC)
                    expected = sign(body, secret=processor.secret, now=now)
                    ok = expected == header
                except (ValueError, IndexError):
                    ok = False
                processor.seen.append(
                    Seen(self.command, self.path, dict(self.headers.items()), body, ok)
                )
                answer = processor.answer
                code = processor.code
                text = answer if isinstance(answer, str) else json.dumps(answer)
                polled = processor.status_answer(self.path) if self.command == "GET" else None
                if polled is not None:
                    code, text = polled
                elif self.command == "POST" and code < 300:
                    processor.remember(body)
                data = text.encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = _serve  # noqa: N815 - http.server names
            do_GET = _serve  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


@pytest.fixture
def processor() -> Iterator[Processor]:
    state = Processor(secret=SECRET.encode())
    server = ThreadingHTTPServer(("127.0.0.1", 0), state.handler())
    state.url = f"http://127.0.0.1:{server.server_address[1]}/opendsr/requests"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def connector(url: str, **extra: Any) -> WebhookConnector:
    config = {"name": "mailer", "url": url, "secret": SECRET, "timeout": 2, **extra}
    built = create("webhook", {**config, "clock": FrozenClock(NOW)})
    assert isinstance(built, WebhookConnector)
    return built


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/requests"


def test_a_signed_request_in_the_opendsr_shape_with_a_stable_id(processor: Processor) -> None:
    store = connector(
        processor.url, callback_url="https://privacy.example.org/api/v1/requests/callbacks/mailer"
    )
    with on_behalf_of(REFERENCE, submitted=NOW - dt.timedelta(days=1)):
        first = store.erase(PERSON, today=NOW.date())
        second = store.erase(PERSON, today=NOW.date())  # a retry: the processor has it
    assert [seen.method for seen in processor.seen] == ["GET", "POST", "GET"]
    assert all(seen.signature_ok for seen in processor.seen)
    body = json.loads(processor.posts()[0].body)
    expected_id = subject_request_id(REFERENCE)
    assert body == {
        "api_version": "2.0",
        "regulation": "gdpr",
        "subject_request_id": expected_id,
        "subject_request_type": "erasure",
        "submitted_time": "2026-03-01T09:00:00Z",
        "subject_identities": [
            {
                "identity_type": "controller_customer_id",
                "identity_value": "4711",
                "identity_format": "raw",
            },
            {
                "identity_type": "email",
                "identity_value": "anna.beispiel@example.org",
                "identity_format": "raw",
            },
        ],
        "status_callback_urls": ["https://privacy.example.org/api/v1/requests/callbacks/mailer"],
    }
    assert uuid.UUID(expected_id).version == 4
    assert expected_id == expected_id.lower()
    assert processor.seen[0].path == processor.seen[2].path == f"/opendsr/requests/{expected_id}"
    assert processor.posts()[0].headers["X-Tutela-Request-Id"] == expected_id
    assert processor.posts()[0].path == "/opendsr/requests"
    for report in (first, second):
        assert report.status is Status.PARTIAL
        assert not report.retryable
        assert report.task == f"waiting for mailer to confirm request {expected_id}"
        assert [item.action for item in report.outcomes] == [Action.NOT_HANDLED]


def test_other_requests_get_other_ids_and_operations_map_to_types(processor: Processor) -> None:
    store = connector(processor.url)
    with on_behalf_of("DSR-0000-0000-0001"):
        store.rectify(PERSON, {"user.contact.phone_number": "+4930123"})
    with on_behalf_of("DSR-0000-0000-0002"):
        store.restrict(PERSON, until=dt.date(2026, 9, 1))
    bodies = [json.loads(seen.body) for seen in processor.posts()]
    assert bodies[0]["subject_request_id"] != bodies[1]["subject_request_id"]
    assert bodies[0]["subject_request_type"] == "rectification"
    assert bodies[0]["extensions"] == {
        "tutela": {"changes": {"user.contact.phone_number": "+4930123"}}
    }
    assert bodies[1]["subject_request_type"] == "restriction"
    assert bodies[1]["extensions"] == {"tutela": {"until": "2026-09-01"}}


@pytest.mark.parametrize("code", [500, 502, 503, 429])
def test_server_errors_are_retryable_failures(processor: Processor, code: int) -> None:
    processor.code = code
    with on_behalf_of(REFERENCE):
        report = connector(processor.url).erase(PERSON, today=NOW.date())
    assert report.status is Status.FAILED
    assert report.retryable
    assert f"HTTP {code}" in (report.error or "")


def test_a_refused_connection_is_a_retryable_failure() -> None:
    with on_behalf_of(REFERENCE):
        report = connector(closed_port_url()).erase(PERSON, today=NOW.date())
    assert report.status is Status.FAILED
    assert report.retryable
    assert "ConnectError" in (report.error or "")


def test_a_client_error_fails_for_good_saying_what_the_processor_answered(
    processor: Processor,
) -> None:
    processor.code = 400
    processor.answer = {"error": {"message": "unknown identity anna.beispiel@example.org " * 20}}
    with on_behalf_of(REFERENCE):
        report = connector(processor.url).erase(PERSON, today=NOW.date())
    assert report.status is Status.FAILED
    assert not report.retryable
    error = report.error or ""
    assert "HTTP 400" in error
    assert "unknown identity [identity]" in error
    assert "anna.beispiel" not in error
    assert len(error) < 400


def test_a_completed_answer_is_done_at_once(processor: Processor) -> None:
    processor.code = 200
    processor.answer = {"request_status": "completed"}
    with on_behalf_of(REFERENCE):
        report = connector(processor.url).erase(PERSON, today=NOW.date())
    assert report.status is Status.DONE
    assert report.outcomes[0].action is Action.TASK


def test_access_is_not_sent_outside_a_request(processor: Processor) -> None:
    with connector(processor.url).access(PERSON) as result:
        assert list(result) == []
        report = result.report()
    assert processor.seen == []
    assert report.status is Status.PARTIAL


def test_access_waits_for_the_processor_or_streams_inline_results(processor: Processor) -> None:
    store = connector(processor.url, processor="Mailer GmbH")
    with on_behalf_of(REFERENCE), store.access(PERSON) as result:
        assert list(result) == []
        report = result.report()
    assert report.status is Status.PARTIAL
    assert "Mailer GmbH delivers" in (report.task or "")
    processor.code = 200
    processor.answer = {"results": [{"list": "news", "opted_in": True}]}
    with on_behalf_of("DSR-0000-0000-0002"), store.access(PERSON) as result:
        records = list(result)
        report = result.report()
    assert [(r.table, r.row) for r in records] == [
        ("Mailer GmbH", {"list": "news", "opted_in": True})
    ]
    assert report.status is Status.DONE


def test_access_raises_when_the_processor_is_down_or_refuses(processor: Processor) -> None:
    with on_behalf_of(REFERENCE), pytest.raises(StoreUnavailable):
        connector(closed_port_url()).access(PERSON)
    processor.code = 403
    with on_behalf_of(REFERENCE), pytest.raises(StoreError):
        connector(processor.url).access(PERSON)


def test_status_polls_the_request(processor: Processor) -> None:
    request_id = subject_request_id(REFERENCE)
    processor.known[request_id] = {
        "subject_request_id": request_id,
        "request_status": "in_progress",
        "expected_completion_time": "2026-03-10T00:00:00Z",
    }
    status = connector(processor.url).status(request_id)
    assert processor.seen[0].path == f"/opendsr/requests/{request_id}"
    assert processor.seen[0].signature_ok
    assert status.request_status == "in_progress"
    assert status.expected_completion_time == dt.datetime(2026, 3, 10, tzinfo=dt.UTC)


def test_check_raises_when_the_processor_is_down(processor: Processor) -> None:
    connector(processor.url).check()
    with pytest.raises(StoreUnavailable):
        connector(closed_port_url()).check()


def _callback(status: str = "completed", at: dt.datetime = NOW) -> tuple[bytes, str]:
    body = json.dumps(
        {"subject_request_id": subject_request_id(REFERENCE), "request_status": status}
    ).encode()
    return body, sign(body, secret=SECRET.encode(), now=at)


def test_verify_callback_accepts_a_fresh_signed_status() -> None:
    body, header = _callback()
    status = verify_callback(body, header, secret=SECRET.encode(), now=NOW)
    assert status.subject_request_id == subject_request_id(REFERENCE)
    assert status.request_status == "completed"


@pytest.mark.parametrize(
    "change",
    ["wrong secret", "tampered body", "stale", "from the future", "no header", "bad status"],
)
def test_verify_callback_refuses(change: str) -> None:
    body, header = _callback()
    secret, now = SECRET.encode(), NOW
    if change == "wrong secret":
        secret = b"another-secret-of-enough-length"
    elif change == "tampered body":
        body = body.replace(b"completed", b"cancelled")
    elif change == "stale":
        now = NOW + dt.timedelta(seconds=301)
    elif change == "from the future":
        now = NOW - dt.timedelta(seconds=301)
    elif change == "no header":
        header = ""
    else:
        body, header = _callback("finished")
    with pytest.raises(CallbackRejected):
        verify_callback(body, header, secret=secret, now=now)


@given(header=st.text(max_size=200), body=st.binary(max_size=200))
def test_verify_callback_only_ever_rejects_garbage(header: str, body: bytes) -> None:
    with pytest.raises(CallbackRejected):
        verify_callback(body, header, secret=SECRET.encode(), now=NOW)


@given(reference=st.text(min_size=1, max_size=40))
def test_subject_request_ids_are_lower_case_v4_and_deterministic(reference: str) -> None:
    value = subject_request_id(reference)
    assert value == subject_request_id(reference) == value.lower()
    assert uuid.UUID(value).version == 4


@pytest.mark.parametrize(
    ("settings", "word"),
    [
        ({"url": "http://processor.example.com/requests", "secret": SECRET}, "https"),
        ({"url": "https://p.example.com", "secret": "short"}, "secret"),
        ({"url": "https://p.example.com"}, "secret"),
        ({"url": "https://p.example.com", "secret": SECRET, "regulation": "lgpd"}, "regulation"),
    ],
)
def test_bad_settings_name_the_field(settings: dict[str, Any], word: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        create("webhook", {"name": "mailer", **settings})
    assert word in caught.value.detail
    assert SECRET not in caught.value.detail


def test_status_tells_unknown_ids_from_a_processor_that_cannot_be_asked(
    processor: Processor,
) -> None:
    store = connector(processor.url)
    with pytest.raises(StoreError, match="HTTP 404"):
        store.status(subject_request_id(REFERENCE))
    processor.status_code = 503
    with pytest.raises(StoreUnavailable, match="HTTP 503"):
        store.status(subject_request_id(REFERENCE))
    with pytest.raises(StoreUnavailable, match="ConnectError"):
        connector(closed_port_url()).status(subject_request_id(REFERENCE))


def test_a_request_the_processor_completed_is_done_without_sending_it_again(
    processor: Processor,
) -> None:
    processor.complete(subject_request_id(REFERENCE))
    store = connector(processor.url, processor="Mailer GmbH")
    with on_behalf_of(REFERENCE):
        report = store.erase(PERSON, today=NOW.date())
        with store.access(PERSON) as result:
            assert list(result) == []
            access = result.report()
    assert processor.posts() == []
    assert report.status is Status.DONE
    assert report.task is None
    assert report.outcomes[0].action is Action.TASK
    assert report.outcomes[0].reason == (
        f"Mailer GmbH confirmed request {subject_request_id(REFERENCE)}"
    )
    assert access.status is Status.DONE


def test_a_retry_while_the_processor_works_on_it_does_not_send_it_again(
    processor: Processor,
) -> None:
    store = connector(processor.url)
    with on_behalf_of(REFERENCE):
        store.restrict(PERSON, until=None)
        processor.known[subject_request_id(REFERENCE)]["request_status"] = "in_progress"
        again = store.restrict(PERSON, until=None)
    assert len(processor.posts()) == 1
    assert again.status is Status.PARTIAL
    assert again.task == f"waiting for mailer to confirm request {subject_request_id(REFERENCE)}"


def test_a_processor_that_cannot_be_asked_gets_nothing_and_is_retried(
    processor: Processor,
) -> None:
    processor.status_code = 503
    with on_behalf_of(REFERENCE):
        report = connector(processor.url).erase(PERSON, today=NOW.date())
        with pytest.raises(StoreUnavailable, match="HTTP 503"):
            connector(processor.url).access(PERSON)
    assert processor.posts() == []
    assert report.status is Status.FAILED
    assert report.retryable
    assert "HTTP 503" in (report.error or "")


def test_a_request_the_processor_cancelled_fails_for_good(processor: Processor) -> None:
    request_id = subject_request_id(REFERENCE)
    processor.known[request_id] = {"subject_request_id": request_id, "request_status": "cancelled"}
    with on_behalf_of(REFERENCE):
        report = connector(processor.url).erase(PERSON, today=NOW.date())
        with pytest.raises(StoreError, match="cancelled"):
            connector(processor.url).access(PERSON)
    assert processor.posts() == []
    assert report.status is Status.FAILED
    assert not report.retryable
    assert "staff must follow up" in (report.error or "")


def test_outside_a_named_request_the_processor_is_not_asked_first(processor: Processor) -> None:
    connector(processor.url).erase(PERSON, today=NOW.date())
    assert [seen.method for seen in processor.seen] == ["POST"]


def _secret_file(folder: Path, text: str = SECRET + "\n", mode: int = 0o600) -> Path:
    path = folder / "mailer.secret"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_the_secret_can_come_from_a_file(tmp_path: Path) -> None:
    url = "https://processor.example.com/requests"
    path = _secret_file(tmp_path)
    built = create("webhook", {"name": "mailer", "url": url, "secret_file": str(path)})
    body, header = _callback()
    assert isinstance(built, WebhookConnector)
    assert built.verify_callback(body, header, now=NOW).request_status == "completed"


@pytest.mark.parametrize(
    ("problem", "words"),
    [
        ("missing", ["does not exist", "create it"]),
        ("empty", ["is empty"]),
        ("short", ["7 characters", "16 to 512"]),
        ("group-readable", ["readable by other users", "chmod 600"]),
        ("world-readable", ["readable by other users", "chmod 600"]),
        ("both", ["exactly one of secret and secret_file"]),
    ],
)
def test_a_bad_secret_file_is_refused_saying_what_to_do(
    tmp_path: Path, problem: str, words: list[str]
) -> None:
    settings: dict[str, Any] = {"name": "mailer", "url": "https://p.example.com"}
    if problem == "missing":
        settings["secret_file"] = str(tmp_path / "nowhere.secret")
    elif problem == "empty":
        settings["secret_file"] = str(_secret_file(tmp_path, "\n"))
    elif problem == "short":
        settings["secret_file"] = str(_secret_file(tmp_path, "abcdefg\n"))
    elif problem == "group-readable":
        settings["secret_file"] = str(_secret_file(tmp_path, mode=0o640))
    elif problem == "world-readable":
        settings["secret_file"] = str(_secret_file(tmp_path, mode=0o604))
    else:
        settings.update(secret=SECRET, secret_file=str(_secret_file(tmp_path)))
    with pytest.raises(ConfigurationError) as caught:
        create("webhook", settings)
    for word in words:
        assert word in caught.value.detail
    assert SECRET not in caught.value.detail


def test_the_stores_file_resolves_a_relative_secret_file_next_to_itself(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    (folder / "secrets").mkdir(parents=True)
    _secret_file(folder / "secrets")
    text = (
        "- name: mailer\n"
        "  kind: webhook\n"
        "  config:\n"
        "    url: https://processor.example.com/requests\n"
        "    secret_file: secrets/mailer.secret\n"
    )
    master = MasterKey(bytes(range(32)))
    (store,) = parse_stores(text, path=folder / "stores.yaml", master=master)
    assert isinstance(store, WebhookConnector)
    body, header = _callback()
    assert store.verify_callback(body, header, now=NOW).request_status == "completed"
    broken = text.replace("secrets/mailer.secret", "mailer.secret")
    with pytest.raises(ConfigurationError) as caught:
        parse_stores(broken, path=folder / "stores.yaml", master=master)
    assert str(folder / "mailer.secret") in caught.value.detail
    assert "stores.yaml" in caught.value.detail

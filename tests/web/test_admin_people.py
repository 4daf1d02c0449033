"""The admin console's person lookup: a reason first, the audit entry committed, then records."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.dsr.test_stores import shop_database
from tests.web.conftest import form_token, log_in
from tutela.audit import AuditEntry, entries
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.connectors import AccessResult, Connector, IdentitySet
from tutela.connectors.sample import customer_email, example_path
from tutela.crypto import load_or_create_master_key
from tutela.dsr.stores import load_stores
from tutela.subjects import get_or_create_subject
from tutela.web.admin import people

LOOKED_UP = "staff.records_looked_up"
CUSTOMER = customer_email(1)
DIGEST = re.compile(r"^lookup:[0-9a-f]{64}$")


def with_people(client: TestClient) -> TestClient:
    """The client's app with the lookup pages (until the app registers them itself)."""
    app = client.app
    assert isinstance(app, FastAPI)
    if not any(getattr(route, "path", None) == "/admin/people" for route in app.routes):
        app.include_router(people.router)
    return client


@pytest.fixture
def shop_url(db_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with shop_database(db_url, request, tmp_path) as url:
        yield url


@pytest.fixture
def stores_file(settings: Settings, shop_url: str) -> Path:
    path = settings.resolved_stores_file
    dataset = example_path("shop.dataset.yaml")
    path.write_text(
        f"- name: shop\n  kind: sql\n  config:\n    url: '{shop_url}'\n    dataset: '{dataset}'\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def console(client: TestClient, staff: dict[str, str], stores_file: Path) -> TestClient:
    return with_people(log_in(client, staff["support"]))


@pytest.fixture
def bare_console(client: TestClient, staff: dict[str, str], settings: Settings) -> TestClient:
    """Support logged in, with no store connected (for forms refused before any lookup)."""
    settings.resolved_stores_file.write_text("[]\n", encoding="utf-8")
    return with_people(log_in(client, staff["support"]))


def look_up(client: TestClient, **fields: str) -> Any:
    data = {
        "kind": "email",
        "value": CUSTOMER,
        "reason": "support_case",
        "note": "T-4711",
        "csrf_token": form_token(client.get("/admin/people?lang=en").text),
    }
    data.update(fields)
    return client.post("/admin/people?lang=en", data=data)


def looked_up(session_factory: sessionmaker[Session]) -> list[AuditEntry]:
    with session_factory() as session:
        return entries(session, action=LOOKED_UP)


def whole_trail(session_factory: sessionmaker[Session]) -> str:
    with session_factory() as session:
        rows = session.scalars(select(AuditEntry)).all()
        return "\n".join(
            f"{r.actor} {r.action} {r.target} {r.reason} {r.payload}" for r in rows
        ).lower()


@pytest.mark.promise("P09")
def test_the_form_asks_for_a_reason_from_the_list_and_a_note(console: TestClient) -> None:
    page = console.get("/admin/people?lang=en")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    for label in (
        "Request from the person",
        "Support ticket",
        "Technical problem",
        "Suspected contract violation",
        "Legal obligation",
    ):
        assert f">{label}</option>" in page.text
    assert re.search(r'<input id="note" name="note"[^>]* required', page.text)


@pytest.mark.promise("P09")
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"reason": ""}, "Choose why you open this person"),
        ({"reason": "curiosity"}, "Choose why you open this person"),
        ({"reason": "technical_problem", "note": " "}, "Write a note saying what you need"),
        ({"reason": "support_case", "note": "customer called"}, "give the ticket's id"),
        ({"note": f"T-4711 {CUSTOMER}"}, "Leave the person out of the note"),
        ({"note": "T-4711 Customer-1@Example.com"}, "Leave the person out of the note"),
        ({"note": "T-4711 call back 030 1234567"}, "Leave the person out of the note"),
        ({"note": "x" * 201}, "Keep the note to 200 characters"),
        ({"kind": "visitor_id"}, "Choose what to search by"),
        ({"value": "not-an-address"}, "Enter a valid e-mail address"),
        ({"kind": "phone", "value": "12"}, "Enter the phone number with its country code"),
    ],
)
def test_a_refused_form_looks_up_nothing_and_writes_nothing(
    bare_console: TestClient,
    session_factory: sessionmaker[Session],
    fields: dict[str, str],
    message: str,
) -> None:
    response = look_up(bare_console, **fields)
    assert response.status_code == 422
    assert message in response.text
    assert CUSTOMER not in response.text.lower()
    assert 'id="results"' not in response.text
    assert looked_up(session_factory) == []


class _Watched:
    """A store that checks, when it is read, that the opening is already committed."""

    def __init__(self, inner: Connector, factory: sessionmaker[Session], seen: list[int]) -> None:
        self._inner, self._factory, self._seen = inner, factory, seen
        self.name = inner.name

    def access(self, identities: IdentitySet) -> AccessResult:
        with self._factory() as other:  # a separate connection sees committed rows only
            self._seen.append(len(entries(other, action=LOOKED_UP)))
        return self._inner.access(identities)

    def close(self) -> None:
        self._inner.close()


@pytest.mark.promise("P09")
def test_the_opening_is_committed_before_the_shop_records_are_shown(
    console: TestClient,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[int] = []
    real = load_stores

    def watched(settings: Settings, **kwargs: Any) -> tuple[Any, ...]:
        return tuple(_Watched(s, session_factory, seen) for s in real(settings, **kwargs))

    monkeypatch.setattr(people, "load_stores", watched)
    response = look_up(console, value=CUSTOMER.upper(), note="T-4711  parcel  missing")
    assert response.status_code == 200, response.text
    assert seen == [1]  # the entry was in the trail when the store was read
    assert response.headers["cache-control"] == "no-store"
    text = response.text
    assert "Records for c***@example.com" in text
    assert f"<td>{CUSTOMER}</td>" in text  # the customers row
    assert "Table customers — rows found: 1, shown: 1" in text
    assert "<code>logins.password_hash</code>" in text  # listed as left out …
    assert "<code>logins.mfa_secret</code>" in text
    assert '<th scope="col">password_hash</th>' not in text  # … and not shown
    assert "$argon2" not in text
    [entry] = looked_up(session_factory)
    assert DIGEST.match(entry.target)
    assert entry.reason == "support_case"
    assert entry.actor.startswith("staff:")
    assert '"note":"T-4711 parcel missing"' in entry.payload.replace(" :", ":").replace(": ", ":")
    trail = whole_trail(session_factory)
    assert CUSTOMER not in trail
    assert "customer-1" not in trail


@pytest.mark.promise("P09")
def test_an_unknown_person_gets_the_same_page_and_is_audited(
    console: TestClient, session_factory: sessionmaker[Session]
) -> None:
    response = look_up(
        console,
        value="nobody.here@example.org",
        reason="legal_obligation",
        note="court order 12/2026",
    )
    assert response.status_code == 200
    assert 'id="results"' in response.text
    assert "Store shop" in response.text
    assert "Nothing found in the connected stores." in response.text
    assert "nobody.here" not in response.text
    [entry] = looked_up(session_factory)
    assert DIGEST.match(entry.target)
    assert "nobody.here" not in whole_trail(session_factory)


@pytest.mark.promise("P09")
def test_a_person_tutela_knows_is_named_by_id(
    console: TestClient,
    session_factory: sessionmaker[Session],
    settings: Settings,
    clock: FrozenClock,
) -> None:
    master = load_or_create_master_key(settings.data_dir, None)
    with session_factory() as session, session.begin():
        subject, _ = get_or_create_subject(
            session, kind="email", value=customer_email(2), master=master, clock=clock, actor="t"
        )
        subject_id = subject.id
    response = look_up(
        console,
        value=customer_email(2),
        reason="suspected_contract_violation",
        note="reseller check R-12",
    )
    assert response.status_code == 200
    assert f"<td>{customer_email(2)}</td>" in response.text
    [entry] = looked_up(session_factory)
    assert entry.target == f"subject:{subject_id}"
    assert customer_email(2) not in whole_trail(session_factory)


@pytest.mark.promise("P09")
def test_every_role_may_look_up_with_a_reason_but_not_without_login_or_token(
    make_client: Callable[..., TestClient],
    staff: dict[str, str],
    stores_file: Path,
    session_factory: sessionmaker[Session],
) -> None:
    anonymous = with_people(make_client())
    away = anonymous.get("/admin/people", follow_redirects=False)
    assert (away.status_code, away.headers["location"]) == (303, "/admin/login")
    posted = anonymous.post("/admin/people", data={"value": CUSTOMER}, follow_redirects=False)
    assert posted.status_code == 303
    for role in ("admin", "dpo", "support"):
        client = with_people(log_in(make_client(), staff[role]))
        assert look_up(client).status_code == 200
        forged = client.post(
            "/admin/people",
            data={"kind": "email", "value": CUSTOMER, "reason": "support_case", "note": "T-1"},
        )
        assert forged.status_code == 403
    assert len(looked_up(session_factory)) == 3


@pytest.mark.promise("P09")
def test_lookups_are_limited_per_staff_member(
    console: TestClient,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(people, "LOOKUP_LIMIT", 2)
    assert look_up(console).status_code == 200
    assert look_up(console).status_code == 200
    refused = look_up(console)
    assert refused.status_code == 429
    assert "the most lookups allowed" in refused.text
    assert len(looked_up(session_factory)) == 2
    clock.advance(people.LOOKUP_WINDOW + dt.timedelta(seconds=1))
    assert look_up(console).status_code == 200


def test_without_a_stores_file_nothing_is_opened(
    console: TestClient, stores_file: Path, session_factory: sessionmaker[Session]
) -> None:
    stores_file.unlink()
    response = look_up(console)
    assert response.status_code == 503
    assert "cannot be read, so nothing was looked up" in response.text
    assert looked_up(session_factory) == []


@pytest.mark.promise("P09")
def test_the_dpo_sees_the_lookup_without_the_searched_value(
    console: TestClient,
    make_client: Callable[..., TestClient],
    staff: dict[str, str],
) -> None:
    assert look_up(console, note="T-4711").status_code == 200
    dpo = with_people(log_in(make_client(), staff["dpo"]))
    page = dpo.get("/admin/accesses?lang=en")
    assert page.status_code == 200
    assert "Records in connected stores" in page.text
    assert "T-4711" in page.text
    assert re.search(r"<code>lookup:[0-9a-f]{64}</code>", page.text)
    assert "customer-1" not in page.text

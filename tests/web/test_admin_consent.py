"""The admin console's consent pages: counts, opening records with a reason, withdrawals."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from jinja2.ext import babel_extract
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.web.conftest import form_token, log_in
from tutela.audit import AuditEntry, entries
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.consent.checks import check
from tutela.consent.ledger import events_of, open_proof, record
from tutela.consent.models import Suppression
from tutela.consent.proof import Proof
from tutela.crypto import MasterKey, load_or_create_master_key
from tutela.i18n import TEMPLATE_DIR, catalog_path
from tutela.policy.models_db import PolicyVersion
from tutela.staff.service import find_staff
from tutela.subjects import get_or_create_subject, subject_by_public_id
from tutela.web.admin import consent as consent_pages

ADDRESS = "Erika.Muster@Example.org"
OTHER = "max.other@example.org"


@dataclass(frozen=True)
class Person:
    public_id: str
    subject_id: int
    master: MasterKey


@pytest.fixture
def master(settings: Settings) -> MasterKey:
    return load_or_create_master_key(settings.data_dir, None)


@pytest.fixture
def make_person(
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
    master: MasterKey,
    publish_version: Callable[..., PolicyVersion],
) -> Callable[[str], Person]:
    """A subscriber of the newsletter (signed up in the web form and confirmed)."""
    publish_version()

    def make(address: str) -> Person:
        proof = Proof(channel="web_form", ip="203.0.113.7", user_agent="Test browser")
        with session_factory() as session, session.begin():
            subject, _ = get_or_create_subject(
                session, kind="email", value=address, master=master, clock=clock, actor="test"
            )
            for action in ("given", "confirmed"):
                record(
                    session,
                    subject=subject,
                    purpose_id="newsletter",
                    action=action,
                    proof=proof,
                    master=master,
                    clock=clock,
                    actor="test",
                )
            return Person(public_id=subject.public_id, subject_id=subject.id, master=master)

    return make


@pytest.fixture
def person(make_person: Callable[[str], Person]) -> Person:
    return make_person(ADDRESS)


def open_records(
    client: TestClient,
    *,
    value: str = ADDRESS,
    kind: str = "email",
    reason: str = "request_from_person",
    note: str = "",
    token: str | None = None,
) -> object:
    if token is None:
        token = form_token(client.get("/admin/consent").text)
    return client.post(
        "/admin/consent/open",
        data={"kind": kind, "value": value, "reason": reason, "note": note, "csrf_token": token},
        follow_redirects=False,
    )


def opened(session_factory: sessionmaker[Session]) -> list[AuditEntry]:
    with session_factory() as session:
        return entries(session, action="staff.subject_opened")


def withdraw(client: TestClient, person: Person, **fields: object) -> object:
    page = client.get(f"/admin/consent/people/{person.public_id}")
    data: dict[str, object] = {
        "channel": "letter",
        "received": "2026-03-01",
        "purpose": ["newsletter"],
        "note": "Brief vom 27.02.",
        "csrf_token": form_token(page.text),
    }
    data.update(fields)
    return client.post(
        f"/admin/consent/people/{person.public_id}/withdrawals",
        data={k: v for k, v in data.items() if v is not None},
        follow_redirects=False,
    )


@pytest.mark.promise("P07")
def test_overview_counts_per_purpose(
    client: TestClient, staff: dict[str, str], make_person: Callable[[str], Person]
) -> None:
    make_person(ADDRESS)
    make_person(OTHER)
    log_in(client, staff["support"])
    page = client.get("/admin/consent", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    row = page.text.split("<code>newsletter</code>")[1].split("</tr>")[0]
    cells = [cell.split("</td>")[0] for cell in row.split("<td>")[1:]]
    assert cells == ["0", "2", "0", "0", "0", "0"]  # given, confirmed, refused, …
    assert "<code>similar_offers</code>" in page.text  # soft opt-in purposes are counted too
    assert "<code>contract</code>" not in page.text
    assert "Entries on the suppression list: 0" in page.text
    german = client.get("/admin/consent")
    assert "Zahlen je Zweck" in german.text
    assert "Anliegen der Person" in german.text


@pytest.mark.promise("P09")
def test_person_view_needs_the_reason_step(
    client: TestClient, staff: dict[str, str], person: Person
) -> None:
    log_in(client, staff["dpo"])
    for path in ("", "/receipts.json"):
        response = client.get(
            f"/admin/consent/people/{person.public_id}{path}", follow_redirects=False
        )
        assert response.status_code == 303, path
        assert response.headers["location"] == "/admin/consent?reason_needed=1"
    notice = client.get("/admin/consent?reason_needed=1")
    assert "Für jedes Öffnen der Daten einer Person ist ein Grund nötig" in notice.text


@pytest.mark.promise("P09")
def test_opening_is_audited_without_personal_data(
    client: TestClient,
    staff: dict[str, str],
    person: Person,
    session_factory: sessionmaker[Session],
) -> None:
    log_in(client, staff["dpo"])
    response = open_records(client, value="  erika.muster@EXAMPLE.org ", note="Ticket 4711")
    assert response.status_code == 303  # type: ignore[attr-defined]
    location = response.headers["location"]  # type: ignore[attr-defined]
    assert location == f"/admin/consent/people/{person.public_id}"
    assert "erika" not in location.lower()
    with session_factory() as session:
        dpo = find_staff(session, email=staff["dpo"])
        assert dpo is not None
        every = entries(session, limit=1000)
    [entry] = [e for e in every if e.action == "staff.subject_opened"]
    assert entry.actor == f"staff:{dpo.id}"
    assert entry.target == f"subject:{person.subject_id}"
    assert entry.reason == "request_from_person"
    assert json.loads(entry.payload) == {
        "staff_id": dpo.id,
        "subject_id": person.subject_id,
        "reason": "request_from_person",
        "note": "Ticket 4711",
    }
    for row in every:  # no entry of the whole trail holds the searched address
        text = " ".join([row.actor, row.target, row.reason or "", row.payload]).lower()
        assert "erika" not in text
        assert "example.org" not in text.replace(staff["dpo"], "")

    page = client.get(location, headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "erika.muster@example.org" in page.text  # the identity, decrypted
    assert "203.0.113.0" in page.text  # the IP address, shortened
    assert "203.0.113.7" not in page.text
    assert "Test browser" in page.text
    assert "consent_confirmed" in page.text
    assert "Web form" in page.text
    assert "Confirmed" in page.text


@pytest.mark.promise("P09")
@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"reason": ""}, 422, "Wählen Sie, warum Sie die Daten dieser Person öffnen"),
        ({"reason": "curiosity"}, 422, "Wählen Sie, warum Sie die Daten dieser Person öffnen"),
        ({"note": "x" * 201}, 422, "höchstens 200 Zeichen"),
        ({"reason": "support_case", "note": "Anruf"}, 422, "Ticketnummer"),
        ({"value": "not an address"}, 422, "Geben Sie eine gültige E-Mail-Adresse ein"),
        ({"kind": "phone", "value": "12"}, 422, "Telefonnummer mit Ländervorwahl"),
        ({"kind": "visitor_id"}, 422, "Wählen Sie, wonach gesucht wird"),
        ({"value": "nobody@example.org"}, 404, "Unter dieser Angabe ist keine Person bekannt"),
    ],
)
def test_nothing_opens_without_a_reason_and_a_known_person(
    client: TestClient,
    staff: dict[str, str],
    person: Person,
    session_factory: sessionmaker[Session],
    fields: dict[str, str],
    status: int,
    message: str,
) -> None:
    log_in(client, staff["dpo"])
    response = open_records(client, **fields)
    assert response.status_code == status  # type: ignore[attr-defined]
    assert message in response.text  # type: ignore[attr-defined]
    assert consent_pages.GRANT_COOKIE not in client.cookies
    assert opened(session_factory) == []


@pytest.mark.promise("P09")
def test_the_grant_is_bound_to_session_person_and_time(
    make_client: Callable[..., TestClient],
    staff: dict[str, str],
    make_person: Callable[[str], Person],
    clock: FrozenClock,
) -> None:
    first, second = make_person(ADDRESS), make_person(OTHER)
    dpo = log_in(make_client(), staff["dpo"])
    assert open_records(dpo).status_code == 303  # type: ignore[attr-defined]
    grant = dpo.cookies[consent_pages.GRANT_COOKIE]
    assert dpo.get(f"/admin/consent/people/{first.public_id}").status_code == 200
    assert dpo.get(f"/admin/consent/people/{second.public_id}", follow_redirects=False).is_redirect

    admin = log_in(make_client(), staff["admin"])
    admin.cookies.set(consent_pages.GRANT_COOKIE, grant, path="/admin/consent")
    stolen = admin.get(f"/admin/consent/people/{first.public_id}", follow_redirects=False)
    assert stolen.status_code == 303

    clock.advance(consent_pages.GRANT_LIFETIME + dt.timedelta(seconds=1))
    late = dpo.get(f"/admin/consent/people/{first.public_id}", follow_redirects=False)
    assert late.status_code == 303


@pytest.mark.promise("P09")
def test_support_views_with_a_reason_and_records_but_cannot_export(
    client: TestClient,
    staff: dict[str, str],
    person: Person,
    session_factory: sessionmaker[Session],
) -> None:
    log_in(client, staff["support"])
    assert open_records(client, reason="support_case", note="T-4711").status_code == 303  # type: ignore[attr-defined]
    page = client.get(f"/admin/consent/people/{person.public_id}")
    assert page.status_code == 200
    assert "receipts.json" not in page.text
    assert "Widerruf erfassen" in page.text
    receipts = client.get(f"/admin/consent/people/{person.public_id}/receipts.json")
    assert receipts.status_code == 403
    assert withdraw(client, person).status_code == 303  # type: ignore[attr-defined]
    assert [e.reason for e in opened(session_factory)] == ["support_case"]


@pytest.mark.promise("P06")
@pytest.mark.promise("P07")
def test_a_withdrawal_by_letter_takes_effect_at_once(
    client: TestClient,
    staff: dict[str, str],
    person: Person,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    log_in(client, staff["dpo"])
    open_records(client)
    response = withdraw(client, person)
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert response.headers["location"].endswith("?recorded=1")  # type: ignore[attr-defined]
    with session_factory() as session:
        dpo = find_staff(session, email=staff["dpo"])
        subject = subject_by_public_id(session, person.public_id)
        assert dpo is not None
        assert subject is not None
        last = events_of(session, subject=subject)[-1]
        assert (last.purpose_id, last.action, last.channel) == ("newsletter", "withdrawn", "letter")
        assert last.actor == f"staff:{dpo.id}"
        proof = open_proof(session, event=last, subject=subject, master=person.master)
        assert proof is not None
        assert proof["extra"] == {
            "received_on": "2026-03-01",
            "entered_by": f"staff:{dpo.id}",
            "note": "Brief vom 27.02.",
        }
        decision = check(
            session,
            purpose_id="newsletter",
            master=person.master,
            clock=clock,
            kind="email",
            value=ADDRESS,
        )
        assert (decision.allowed, decision.reason.value) == (False, "withdrawn")
    page = client.get(response.headers["location"])  # type: ignore[attr-defined]
    assert "Der Widerruf wurde erfasst." in page.text
    assert "Brief" in page.text
    assert "Widerrufen" in page.text


@pytest.mark.promise("P06")
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"received": "2026-03-03"}, "darf nicht in der Zukunft liegen"),
        ({"received": "1.3.2026"}, "darf nicht in der Zukunft liegen"),
        ({"channel": "web_form"}, "auf welchem Weg der Widerruf eingegangen ist"),
        ({"purpose": None}, "mindestens einen Zweck"),
        ({"purpose": ["no_such_purpose"]}, "mindestens einen Zweck"),
        ({"note": "x" * 501}, "höchstens 500 Zeichen"),
    ],
)
def test_bad_withdrawals_record_nothing(
    client: TestClient,
    staff: dict[str, str],
    person: Person,
    session_factory: sessionmaker[Session],
    fields: dict[str, object],
    message: str,
) -> None:
    log_in(client, staff["dpo"])
    open_records(client)
    response = withdraw(client, person, **fields)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert message in response.text  # type: ignore[attr-defined]
    with session_factory() as session:
        subject = subject_by_public_id(session, person.public_id)
        assert subject is not None
        assert [e.action for e in events_of(session, subject=subject)] == ["given", "confirmed"]


@pytest.mark.promise("P09")
def test_forms_without_their_token_are_refused(
    client: TestClient,
    staff: dict[str, str],
    person: Person,
    session_factory: sessionmaker[Session],
) -> None:
    log_in(client, staff["dpo"])
    assert open_records(client, token="").status_code == 403  # type: ignore[attr-defined]
    assert opened(session_factory) == []
    open_records(client)
    assert withdraw(client, person, csrf_token="forged").status_code == 403  # type: ignore[attr-defined]
    with session_factory() as session:
        subject = subject_by_public_id(session, person.public_id)
        assert subject is not None
        assert len(events_of(session, subject=subject)) == 2


@pytest.mark.promise("P06")
def test_objection_to_all_marketing_fills_the_suppression_list(
    client: TestClient,
    staff: dict[str, str],
    person: Person,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    log_in(client, staff["dpo"])
    open_records(client)
    fields = {"purpose": [consent_pages.ALL_MARKETING], "channel": "phone"}
    assert withdraw(client, person, **fields).status_code == 303  # type: ignore[attr-defined]
    with session_factory() as session:
        rows = list(session.scalars(select(Suppression)))
        assert [(r.kind, r.scope) for r in rows] == [("email", "direct_marketing")]
        for purpose_id in ("newsletter", "similar_offers"):
            decision = check(
                session,
                purpose_id=purpose_id,
                master=person.master,
                clock=clock,
                kind="email",
                value=ADDRESS,
            )
            assert not decision.allowed
    listing = client.get("/admin/consent/suppressions")
    assert listing.status_code == 200
    assert "Gesamte Direktwerbung" in listing.text
    assert "Einträge: 1, neueste zuerst." in listing.text
    assert "erika" not in listing.text.lower()
    assert rows[0].blind_index not in listing.text
    person_page = client.get(f"/admin/consent/people/{person.public_id}")
    assert "Auf der Sperrliste für:" in person_page.text


@pytest.mark.promise("P07")
def test_dpo_downloads_the_receipts(
    client: TestClient, staff: dict[str, str], person: Person
) -> None:
    log_in(client, staff["dpo"])
    open_records(client, reason="legal_obligation")
    response = client.get(f"/admin/consent/people/{person.public_id}/receipts.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    document = response.json()
    assert document["pii_principal_id"] == person.public_id
    [newsletter] = document["records"]
    assert [e["action"] for e in newsletter["events"]] == ["given", "confirmed"]
    assert "erika" not in response.text.lower()


def test_pages_need_a_login(client: TestClient) -> None:
    for path in ("/admin/consent", "/admin/consent/suppressions", "/admin/consent/people/x"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/admin/login"


def test_every_message_of_the_consent_pages_is_german() -> None:
    found = set(consent_pages.MESSAGES)
    for path in sorted((TEMPLATE_DIR / "admin").glob("consent_*.j2")):
        with path.open("rb") as handle:
            for _line, _func, message, _comments in babel_extract(
                handle, ("_", "gettext", "ngettext"), [], {}
            ):
                first = message if isinstance(message, str) else (message or ("",))[0]
                if first:
                    found.add(first)
    with Path(catalog_path("de", "messages")).open("rb") as handle:
        catalog = read_po(handle, locale="de")
    german = {str(m.id): str(m.string) for m in catalog if m.id and not m.fuzzy}
    assert len(found) > 80
    assert sorted(m for m in found if not german.get(m)) == []

"""The suppression list page: staff list, look up and lift addresses, with reasons."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.web.conftest import form_token, log_in
from tutela.audit import AuditEntry, entries
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.consent import check, check_bulk, record, suppress_address
from tutela.consent.models import Suppression
from tutela.consent.proof import Proof
from tutela.crypto import MasterKey, load_or_create_master_key
from tutela.policy.models_db import PolicyVersion
from tutela.staff.service import find_staff
from tutela.subjects import add_identity, get_or_create_subject

PAGE = "/admin/consent/suppressions"
ADDRESS = "Nina.Neu@Example.org"
SHOWN = "n***@example.org"


@pytest.fixture
def master(settings: Settings) -> MasterKey:
    return load_or_create_master_key(settings.data_dir, None)


@pytest.fixture
def published(publish_version: Callable[..., PolicyVersion]) -> PolicyVersion:
    return publish_version()


def send(client: TestClient, action: str, **fields: str) -> Response:
    """Submit one of the page's forms with a fresh token (unless one is given)."""
    data = {"kind": "email", "value": ADDRESS, "scope": "direct_marketing"}
    data.update(fields)
    data.setdefault("csrf_token", form_token(client.get(PAGE).text))
    response: Response = client.post(f"{PAGE}/{action}", data=data, follow_redirects=False)
    return response


def trail(session_factory: sessionmaker[Session], action: str) -> list[AuditEntry]:
    with session_factory() as session:
        return entries(session, action=action)


def listed(session_factory: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with session_factory() as session:
        rows = session.scalars(select(Suppression).order_by(Suppression.id))
        return [(r.kind, r.scope, r.reason) for r in rows]


def assert_no_address(entry: AuditEntry) -> None:
    text = " ".join([entry.actor, entry.target, entry.reason or "", entry.payload]).lower()
    assert "nina" not in text
    assert "example.org" not in text


@pytest.mark.promise("P05")
@pytest.mark.usefixtures("published")
def test_an_unknown_address_listed_by_staff_stays_suppressed_after_sign_up(
    client: TestClient,
    staff: dict[str, str],
    session_factory: sessionmaker[Session],
    master: MasterKey,
    clock: FrozenClock,
) -> None:
    log_in(client, staff["support"])
    response = send(client, "add", reason="Anruf vom 2. März, Ticket 4711")
    assert response.status_code == 200
    assert f"{SHOWN} wurde auf die Sperrliste gesetzt für: Gesamte Direktwerbung." in response.text
    assert "nina" not in response.text.lower()
    assert listed(session_factory) == [("email", "direct_marketing", "staff_entry")]
    [entry] = trail(session_factory, "consent.suppressed")
    with session_factory() as session:
        support = find_staff(session, email=staff["support"])
    assert support is not None
    assert (entry.actor, entry.target) == (f"staff:{support.id}", "suppression:direct_marketing")
    assert entry.reason == "Anruf vom 2. März, Ticket 4711"
    assert json.loads(entry.payload)["subject_id"] is None
    assert_no_address(entry)

    again = send(client, "add", value=" nina.neu@EXAMPLE.org", reason="Zweiter Anruf")
    assert "stand bereits auf der Sperrliste" in again.text
    assert len(listed(session_factory)) == 1
    assert len(trail(session_factory, "consent.suppressed")) == 1

    # The person signs up later and even confirms: every check answers "suppressed".
    with session_factory() as session, session.begin():
        nina, _ = get_or_create_subject(
            session, kind="email", value=ADDRESS, master=master, clock=clock, actor="test"
        )
        for action in ("given", "confirmed"):
            record(
                session,
                subject=nina,
                purpose_id="newsletter",
                action=action,
                proof=Proof(channel="web_form"),
                master=master,
                clock=clock,
                actor="test",
            )
    with session_factory() as session, session.begin():
        single = check(
            session,
            purpose_id="newsletter",
            master=master,
            clock=clock,
            kind="email",
            value="nina.neu@example.org",
        )
        bulk = list(
            check_bulk(
                session,
                purpose_id="similar_offers",
                kind="email",
                values=[ADDRESS, "someone.else@example.org"],
                master=master,
                clock=clock,
            )
        )
    assert (single.allowed, single.reason.value) == (False, "suppressed")
    assert [(r.allowed, r.reason) for r in bulk] == [
        (False, "suppressed"),
        (False, "unknown_subject"),
    ]


@pytest.mark.promise("P05")
@pytest.mark.usefixtures("published")
def test_lifting_needs_a_reason_and_is_audited(
    client: TestClient,
    staff: dict[str, str],
    session_factory: sessionmaker[Session],
    master: MasterKey,
    clock: FrozenClock,
) -> None:
    log_in(client, staff["dpo"])
    assert send(client, "add", reason="Ticket 12").status_code == 200
    refused = send(client, "lift", reason="   ")
    assert refused.status_code == 422
    assert "warum die Adresse wieder genutzt werden darf" in refused.text
    assert len(listed(session_factory)) == 1

    page = client.get(PAGE)
    assert "Eine Sperre aufzuheben ist eine ernste Entscheidung." in page.text
    lifted = send(client, "lift", reason="Schriftliche Bitte vom 2. März, Ticket 13")
    assert lifted.status_code == 200
    assert f"{SHOWN} wurde von der Sperrliste genommen für: Gesamte Direktwerbung." in lifted.text
    assert listed(session_factory) == []
    [entry] = trail(session_factory, "consent.suppression_lifted")
    assert entry.target == "suppression:email:direct_marketing"
    assert entry.reason == "Schriftliche Bitte vom 2. März, Ticket 13"
    assert json.loads(entry.payload) == {"kind": "email", "scope": "direct_marketing", "removed": 1}
    assert_no_address(entry)
    with session_factory() as session, session.begin():
        decision = check(
            session,
            purpose_id="newsletter",
            master=master,
            clock=clock,
            kind="email",
            value=ADDRESS,
        )
    assert decision.reason.value != "suppressed"


@pytest.mark.usefixtures("published")
def test_lifting_an_address_that_is_not_listed_says_so(
    client: TestClient, staff: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    log_in(client, staff["dpo"])
    response = send(client, "lift", reason="Ticket 14", scope="newsletter")
    assert response.status_code == 200
    assert f"{SHOWN} stand nicht auf der Sperrliste für: Newsletter (newsletter)." in response.text
    assert trail(session_factory, "consent.suppression_lifted") == []


@pytest.mark.usefixtures("published")
@pytest.mark.parametrize(
    ("action", "fields", "message"),
    [
        ("add", {"scope": "nope"}, "Wählen Sie einen Bereich aus der Liste"),
        ("add", {"scope": "contract"}, "Wählen Sie einen Bereich aus der Liste"),
        ("lift", {"scope": "nope"}, "Wählen Sie einen Bereich aus der Liste"),
        ("add", {"value": "zz-no-address"}, "Geben Sie eine gültige E-Mail-Adresse ein"),
        ("add", {"kind": "phone", "value": "zz-12"}, "Telefonnummer mit Ländervorwahl"),
        ("add", {"kind": "visitor_id"}, "Wählen Sie, wonach gesucht wird"),
        ("add", {"reason": ""}, "warum die Adresse auf die Liste kommt"),
        ("add", {"reason": "x" * 501}, "höchstens 500 Zeichen"),
        ("add", {"reason": "Anruf von nina.neu@example.org"}, "nicht die Adresse selbst"),
        ("lift", {"reason": "NINA.NEU@example.org bat darum"}, "nicht die Adresse selbst"),
        ("lookup", {"value": "zz-no-address"}, "Geben Sie eine gültige E-Mail-Adresse ein"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(
    client: TestClient,
    staff: dict[str, str],
    session_factory: sessionmaker[Session],
    action: str,
    fields: dict[str, str],
    message: str,
) -> None:
    log_in(client, staff["dpo"])
    fields.setdefault("reason", "Ticket 15")
    response = send(client, action, **fields)
    assert response.status_code == 422
    assert message in response.text
    assert response.text.count('role="alert"') == 1
    assert "zz-" not in response.text
    assert "nina" not in response.text.lower()
    assert listed(session_factory) == []
    with session_factory() as session:
        suppressed = entries(session, action="consent.suppressed")
        lifted = entries(session, action="consent.suppression_lifted")
    assert suppressed == lifted == []


@pytest.mark.usefixtures("published")
def test_the_forms_need_their_token_and_a_login(
    client: TestClient,
    make_client: Callable[..., TestClient],
    staff: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    anonymous = make_client()
    data = {"kind": "email", "value": ADDRESS, "scope": "direct_marketing", "reason": "x"}
    for action in ("add", "lift", "lookup"):
        response = anonymous.post(f"{PAGE}/{action}", data=data, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/admin/login"
    log_in(client, staff["admin"])
    assert send(client, "add", reason="Ticket 16", csrf_token="").status_code == 403
    assert send(client, "add", reason="Ticket 16", csrf_token="forged").status_code == 403
    assert listed(session_factory) == []


@pytest.mark.usefixtures("published")
def test_look_up_answers_for_the_address_and_its_person(
    client: TestClient,
    staff: dict[str, str],
    session_factory: sessionmaker[Session],
    master: MasterKey,
    clock: FrozenClock,
) -> None:
    with session_factory() as session, session.begin():
        nina, _ = get_or_create_subject(
            session, kind="email", value=ADDRESS, master=master, clock=clock, actor="test"
        )
        add_identity(
            session,
            subject=nina,
            kind="phone",
            value="+49 151 2345678",
            master=master,
            clock=clock,
            actor="test",
        )
        suppress_address(
            session, kind="email", value=ADDRESS, master=master, clock=clock, actor="test"
        )
    log_in(client, staff["support"])
    own = send(client, "lookup")
    assert own.status_code == 200
    assert f"{SHOWN} steht auf der Sperrliste." in own.text
    assert "Gesperrt für: Gesamte Direktwerbung" in own.text
    phone = send(client, "lookup", kind="phone", value="0151 2345678")
    assert "+49***78 steht auf der Sperrliste." in phone.text
    assert "Mitgesperrt über eine andere Adresse derselben Person" in phone.text
    assert "2345678" not in phone.text.replace("+49***78", "")
    stranger = send(client, "lookup", value="someone.else@example.org")
    assert "s***@example.org steht nicht auf der Sperrliste." in stranger.text
    client.post("/admin/logout", data={"csrf_token": form_token(client.get(PAGE).text)})
    log_in(client, staff["dpo"])
    lifted = send(client, "lift", kind="phone", value="0151 2345678", reason="Versehen")
    assert "+49***78 stand nicht auf der Sperrliste" in lifted.text
    assert "sperrt diese Adresse mit" in lifted.text


@pytest.mark.usefixtures("published")
def test_the_page_speaks_english_and_shows_no_addresses(
    client: TestClient, staff: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    log_in(client, staff["admin"])
    response = send(client, "add", reason="Ticket 17", scope="newsletter")
    assert response.status_code == 200
    english = client.post(
        f"{PAGE}/lookup?lang=en",
        data={"kind": "email", "value": ADDRESS, "csrf_token": form_token(response.text)},
    )
    assert f"{SHOWN} is on the suppression list." in english.text
    assert "Listed for: Newsletter (newsletter)" in english.text
    assert "Lift a suppression" in english.text
    with session_factory() as session:
        [row] = session.scalars(select(Suppression))
        total = session.scalar(select(func.count()).select_from(Suppression))
    assert total == 1
    listing = client.get(PAGE)
    assert row.blind_index not in listing.text
    assert "nina" not in listing.text.lower()
    assert "Einträge: 1, neueste zuerst." in listing.text


@pytest.mark.promise("P19")
@pytest.mark.usefixtures("published")
def test_support_may_add_but_only_the_dpo_may_lift(
    client: TestClient, staff: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    log_in(client, staff["support"])
    assert send(client, "add", reason="Ticket 21").status_code == 200
    page = client.get(PAGE).text
    assert "/suppressions/add" in page
    assert "/suppressions/lift" not in page
    assert send(client, "lift", reason="Asked by phone").status_code == 403
    assert len(listed(session_factory)) == 1

"""RFC 8058 one-click unsubscribe and the preferences page over HTTP, on both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.consent.checks import check
from tutela.consent.ledger import events_of, record
from tutela.consent.proof import Proof
from tutela.consent.terms import Reason
from tutela.consent.unsubscribe import newsletter_message, unsubscribe_token
from tutela.crypto import MasterKey, load_or_create_master_key, sign_token
from tutela.policy.models_db import PolicyVersion
from tutela.subjects import Subject, get_or_create_subject

ADDRESS = "anna@example.org"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def master(settings: Settings) -> MasterKey:
    return load_or_create_master_key(settings.data_dir, None)


@pytest.fixture
def anna(
    publish_version: Callable[..., PolicyVersion],
    session_factory: sessionmaker[Session],
    master: MasterKey,
    clock: FrozenClock,
) -> Subject:
    """A confirmed newsletter subscriber (and so a known person for similar offers)."""
    publish_version()
    with session_factory() as session, session.begin():
        subject, _ = get_or_create_subject(
            session, kind="email", value=ADDRESS, master=master, clock=clock, actor="test"
        )
        for action, channel in (("given", "web_form"), ("confirmed", "link_in_message")):
            record(
                session,
                subject=subject,
                purpose_id="newsletter",
                action=action,
                proof=Proof(channel=channel),
                master=master,
                clock=clock,
                actor="test",
            )
    return subject


def reason(
    factory: sessionmaker[Session], master: MasterKey, clock: FrozenClock, purpose: str
) -> Reason:
    with factory() as session, session.begin():
        return check(
            session, purpose_id=purpose, master=master, clock=clock, kind="email", value=ADDRESS
        ).reason


def actions(factory: sessionmaker[Session], subject: Subject) -> list[tuple[str, str, str]]:
    with factory() as session, session.begin():
        return [(e.purpose_id, e.action, e.channel) for e in events_of(session, subject=subject)]


@pytest.mark.promise("P04")
@pytest.mark.promise("P06")
@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_one_click_post_unsubscribes_without_redirect_or_cookie(
    encoding: str,
    client: TestClient,
    anna: Subject,
    master: MasterKey,
    clock: FrozenClock,
    session_factory: sessionmaker[Session],
) -> None:
    token = unsubscribe_token(master, subject=anna, purpose_id="newsletter")
    assert reason(session_factory, master, clock, "newsletter") is Reason.CONSENT_CONFIRMED
    client.cookies.clear()

    def post() -> object:
        if encoding == "multipart":
            return client.post(
                f"/u/{token}",
                files={"List-Unsubscribe": (None, "One-Click")},
                follow_redirects=False,
            )
        return client.post(f"/u/{token}", data=ONE_CLICK, follow_redirects=False)

    first = post()
    assert first.status_code == 200  # type: ignore[attr-defined]
    assert "location" not in first.headers  # type: ignore[attr-defined]
    assert "set-cookie" not in first.headers  # type: ignore[attr-defined]
    assert len(first.content) < 200  # type: ignore[attr-defined]
    assert reason(session_factory, master, clock, "newsletter") is Reason.WITHDRAWN
    second = post()
    assert second.status_code == 200  # type: ignore[attr-defined]
    assert second.text == first.text  # type: ignore[attr-defined]
    assert actions(session_factory, anna)[2:] == [("newsletter", "withdrawn", "one_click")]


@pytest.mark.promise("P04")
def test_get_shows_a_button_and_changes_nothing(
    client: TestClient,
    anna: Subject,
    master: MasterKey,
    clock: FrozenClock,
    session_factory: sessionmaker[Session],
) -> None:
    token = unsubscribe_token(master, subject=anna, purpose_id="newsletter")
    page = client.get(f"/u/{token}?lang=en")
    assert page.status_code == 200
    assert f'action="/u/{token}"' in page.text
    assert 'name="List-Unsubscribe" value="One-Click"' in page.text
    assert "Unsubscribe from Newsletter" in page.text
    assert 'name="keep" value="similar_offers" checked' in page.text
    assert "set-cookie" not in page.headers
    assert reason(session_factory, master, clock, "newsletter") is Reason.CONSENT_CONFIRMED
    assert len(actions(session_factory, anna)) == 2


@pytest.mark.promise("P06")
def test_the_page_can_stop_single_measures(
    client: TestClient,
    anna: Subject,
    master: MasterKey,
    clock: FrozenClock,
    session_factory: sessionmaker[Session],
) -> None:
    token = unsubscribe_token(master, subject=anna, purpose_id="newsletter")
    saved = client.post(
        f"/u/{token}",
        data={
            "preferences": "1",
            "source": "page",
            "lang": "en",
            "keep": ["similar_offers", "leads"],
        },
    )
    assert saved.status_code == 200
    assert "Your choice is saved" in saved.text
    assert "You no longer receive Newsletter." in saved.text
    assert reason(session_factory, master, clock, "newsletter") is Reason.WITHDRAWN
    assert reason(session_factory, master, clock, "similar_offers") is Reason.LEGITIMATE_INTEREST
    assert actions(session_factory, anna)[2:] == [("newsletter", "withdrawn", "link_in_message")]


@pytest.mark.promise("P05")
def test_objection_by_one_click_suppresses_a_later_sign_up(
    client: TestClient,
    anna: Subject,
    master: MasterKey,
    clock: FrozenClock,
    session_factory: sessionmaker[Session],
) -> None:
    token = unsubscribe_token(master, subject=anna, purpose_id="similar_offers")
    assert client.post(f"/u/{token}", data=ONE_CLICK).status_code == 200
    assert reason(session_factory, master, clock, "similar_offers") is Reason.SUPPRESSED
    clock.advance(dt.timedelta(days=30))
    page = client.get("/newsletter?purpose=newsletter")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    again = client.post(
        "/newsletter",
        data={
            "csrf_token": csrf,
            "purpose": "newsletter",
            "lang": "de",
            "email": ADDRESS,
            "consent": "yes",
        },
    )
    assert again.status_code == 202
    assert reason(session_factory, master, clock, "newsletter") is Reason.SUPPRESSED
    assert actions(session_factory, anna)[2:] == [("similar_offers", "objected", "one_click")]


@pytest.mark.promise("P04")
def test_bad_tokens_get_exactly_the_same_404(
    client: TestClient, anna: Subject, master: MasterKey, clock: FrozenClock
) -> None:
    unknown = sign_token(
        master,
        purpose="unsubscribe",
        subject="AAAAAAAAAAAAAAAAAAAAAA:newsletter",
        expires_at=clock.now() + dt.timedelta(days=1),
    )
    expired = unsubscribe_token(
        master, subject=anna, purpose_id="newsletter", expires_at=clock.now()
    )
    good = unsubscribe_token(master, subject=anna, purpose_id="newsletter")
    foreign = sign_token(
        master,
        purpose="doi",
        subject=f"{anna.public_id}:newsletter",
        expires_at=clock.now() + dt.timedelta(days=1),
    )
    for method in ("GET", "POST"):
        reference = client.request(
            method, f"/u/{unknown}", data=ONE_CLICK if method == "POST" else None
        )
        assert reference.status_code == 404
        assert unknown not in reference.text
        for bad in (expired, foreign, good[:-2], "nonsense"):
            response = client.request(
                method, f"/u/{bad}", data=ONE_CLICK if method == "POST" else None
            )
            assert response.status_code == 404
            assert response.content == reference.content
            assert dict(response.headers) == dict(reference.headers)


def test_a_body_without_the_key_still_unsubscribes_and_a_huge_one_is_refused(
    client: TestClient,
    anna: Subject,
    master: MasterKey,
    clock: FrozenClock,
    session_factory: sessionmaker[Session],
) -> None:
    token = unsubscribe_token(master, subject=anna, purpose_id="newsletter")
    huge = client.post(f"/u/{token}", content=b"x" * 20_000)
    assert huge.status_code == 413
    assert reason(session_factory, master, clock, "newsletter") is Reason.CONSENT_CONFIRMED
    empty = client.post(f"/u/{token}")
    assert empty.status_code == 200
    assert reason(session_factory, master, clock, "newsletter") is Reason.WITHDRAWN


@pytest.mark.promise("P04")
def test_the_marketing_mail_links_to_a_working_endpoint(
    client: TestClient,
    anna: Subject,
    master: MasterKey,
    clock: FrozenClock,
    settings: Settings,
    session_factory: sessionmaker[Session],
) -> None:
    mail = newsletter_message(
        to=ADDRESS,
        subject=anna,
        purpose_id="newsletter",
        template="newsletter_sample",
        language="en",
        context={"controller": "Terminfuchs GmbH"},
        master=master,
        base_url=settings.base_url,
        mailto=settings.mail_from,
    )
    url = mail.headers["List-Unsubscribe"].split(">", 1)[0].removeprefix("<")
    assert url in mail.text
    path = url.removeprefix(settings.base_url)
    assert client.get(path).status_code == 200
    assert client.post(path, data=ONE_CLICK).status_code == 200
    assert reason(session_factory, master, clock, "newsletter") is Reason.WITHDRAWN

"""Unsubscribing by token on both databases: headers, withdrawal, objection, preferences."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.consent.checks import check
from tutela.consent.double_opt_in import SignUpStatus, UnknownLink, sign_up
from tutela.consent.ledger import events_of, open_proof, verify_ledger
from tutela.consent.terms import Reason
from tutela.consent.unsubscribe import (
    newsletter_message,
    open_link,
    preferences,
    stop,
    unsubscribe_mailto,
    unsubscribe_token,
)
from tutela.crypto import MasterKey, sign_token, token_digest, verify_token
from tutela.errors import VerificationFailed
from tutela.mail import build_message
from tutela.mail.message import unsubscribe_uris
from tutela.policy.models_db import PolicyVersion
from tutela.subjects import Subject, erase_subject

BASE = "https://privacy.example.org"


def decision(
    session: Session, master: MasterKey, clock: FrozenClock, subject: Subject, purpose: str
) -> Reason:
    with session.begin():
        return check(
            session, purpose_id=purpose, master=master, clock=clock, subject=subject
        ).reason


@pytest.fixture
def subscriber(
    published: PolicyVersion,
    person: Callable[..., Subject],
    note: Callable[..., object],
) -> Subject:
    """Anna, with a confirmed newsletter subscription."""
    anna = person("anna@example.org")
    note(anna, "newsletter", "given")
    note(anna, "newsletter", "confirmed", channel="link_in_message")
    return anna


@pytest.mark.promise("P04")
def test_newsletter_message_carries_both_headers_and_a_visible_link(
    master: MasterKey, clock: FrozenClock, subscriber: Subject
) -> None:
    mail = newsletter_message(
        to="anna@example.org",
        subject=subscriber,
        purpose_id="newsletter",
        template="newsletter_sample",
        language="de",
        context={"controller": "Terminfuchs GmbH"},
        master=master,
        base_url=BASE,
        mailto="Terminfuchs <privacy@example.org>",
    )
    assert mail.category == "marketing"
    assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = unsubscribe_uris(mail.headers["List-Unsubscribe"])
    assert https.startswith(f"{BASE}/u/")
    token = https.removeprefix(f"{BASE}/u/")
    assert mailto == f"mailto:privacy@example.org?subject=unsubscribe-{token}"
    assert https in mail.text
    assert mail.html is not None
    assert https in mail.html
    message = build_message(
        mail, sender="privacy@example.org", message_id_domain="example.org", clock=clock
    )
    assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert https in str(message["List-Unsubscribe"]).replace("\n ", " ")
    assert str(subscriber.public_id) not in mail.text.replace(token, "")
    assert "anna" not in token


@pytest.mark.promise("P04")
@pytest.mark.promise("P06")
def test_one_click_withdraws_before_the_next_check_and_only_once(
    session: Session, master: MasterKey, clock: FrozenClock, subscriber: Subject
) -> None:
    token = unsubscribe_token(master, subject=subscriber, purpose_id="newsletter")
    assert decision(session, master, clock, subscriber, "newsletter") is Reason.CONSENT_CONFIRMED
    with session.begin():
        first = stop(session, token=token, master=master, clock=clock, ip="192.0.2.44")
    assert first.purpose_ids == ("newsletter",)
    assert decision(session, master, clock, subscriber, "newsletter") is Reason.WITHDRAWN
    with session.begin():
        again = stop(session, token=token, master=master, clock=clock)
    assert again.purpose_ids == ()
    with session.begin():
        events = events_of(session, subject=subscriber)
        proof = open_proof(session, event=events[-1], subject=subscriber, master=master)
        assert verify_ledger(session).ok
    assert [e.action for e in events] == ["given", "confirmed", "withdrawn"]
    assert (events[-1].channel, events[-1].actor) == (
        "one_click",
        f"subject:{subscriber.public_id}",
    )
    assert proof is not None
    assert proof["ip"] == "192.0.2.0"
    assert proof["extra"]["token_id"] == token_digest(token)


@pytest.mark.promise("P05")
def test_objection_to_similar_offers_suppresses_for_good(
    session: Session,
    master: MasterKey,
    clock: FrozenClock,
    subscriber: Subject,
    tmp_path: Path,
) -> None:
    assert decision(session, master, clock, subscriber, "similar_offers") is (
        Reason.LEGITIMATE_INTEREST
    )
    token = unsubscribe_token(master, subject=subscriber, purpose_id="similar_offers")
    with session.begin():
        done = stop(session, token=token, master=master, clock=clock)
    assert done.purpose_ids == ("similar_offers",)
    assert decision(session, master, clock, subscriber, "similar_offers") is Reason.SUPPRESSED
    assert decision(session, master, clock, subscriber, "newsletter") is Reason.SUPPRESSED
    with session.begin():
        [*_, last] = events_of(session, subject=subscriber)
    assert last.action == "objected"
    clock.advance(dt.timedelta(days=400))
    settings = Settings(data_dir=tmp_path, base_url=BASE)
    with session.begin():
        outcome = sign_up(
            session,
            email="ANNA@example.org",
            purpose_id="newsletter",
            language="de",
            master=master,
            clock=clock,
            settings=settings,
            actor="test",
        )
    assert outcome.status is SignUpStatus.SUPPRESSED
    assert decision(session, master, clock, subscriber, "newsletter") is Reason.SUPPRESSED


@pytest.mark.promise("P06")
def test_preferences_show_each_measure_and_stop_single_ones(
    session: Session, master: MasterKey, clock: FrozenClock, subscriber: Subject
) -> None:
    token = unsubscribe_token(master, subject=subscriber, purpose_id="newsletter")
    with session.begin():
        link, found = preferences(session, token=token, master=master, clock=clock)
        before = len(events_of(session, subject=subscriber))
    assert link.purpose_id == "newsletter"
    assert {p.purpose.id: p.active for p in found} == {
        "newsletter": True,
        "similar_offers": True,
        "leads": True,
    }
    with session.begin():
        assert len(events_of(session, subject=subscriber)) == before  # looking changed nothing
        stop(session, token=token, master=master, clock=clock, purpose_ids=["newsletter"])
    assert decision(session, master, clock, subscriber, "newsletter") is Reason.WITHDRAWN
    assert decision(session, master, clock, subscriber, "similar_offers") is (
        Reason.LEGITIMATE_INTEREST
    )
    with session.begin():
        stop(session, token=token, master=master, clock=clock, purpose_ids=["leads"])
    # An objection to one kind of advertising is an objection to all of it (Art. 21(2)-(3)).
    for purpose in ("leads", "similar_offers", "newsletter"):
        assert decision(session, master, clock, subscriber, purpose) is Reason.SUPPRESSED


def test_bad_tokens_are_unknown_and_erased_people_need_nothing(
    session: Session, master: MasterKey, clock: FrozenClock, subscriber: Subject
) -> None:
    good = unsubscribe_token(master, subject=subscriber, purpose_id="newsletter")
    short = unsubscribe_token(
        master, subject=subscriber, purpose_id="newsletter", expires_at=clock.now()
    )
    doi = sign_token(
        master,
        purpose="doi",
        subject=f"{subscriber.public_id}:newsletter",
        expires_at=clock.now() + dt.timedelta(days=1),
    )
    nobody = sign_token(
        master,
        purpose="unsubscribe",
        subject="AAAAAAAAAAAAAAAAAAAAAA:newsletter",
        expires_at=clock.now() + dt.timedelta(days=1),
    )
    texts = set()
    for bad in (short, doi, nobody, good[:-1], "x"):
        with session.begin(), pytest.raises(UnknownLink) as caught:
            stop(session, token=bad, master=master, clock=clock)
        texts.add(str(caught.value))
    assert len(texts) == 1
    with session.begin():
        erase_subject(session, subject=subscriber, clock=clock, actor="test", reason="request 7")
    with session.begin():
        assert open_link(session, token=good, master=master, clock=clock).subject is None
        assert stop(session, token=good, master=master, clock=clock).purpose_ids == ()


@given(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        min_size=22,
        max_size=22,
    ),
    st.from_regex(r"[a-z][a-z0-9_-]{0,20}", fullmatch=True),
)
def test_tokens_name_person_and_list_and_serve_only_unsubscribing(
    public_id: str, purpose_id: str
) -> None:
    master = MasterKey(bytes(range(32)))
    now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    token = unsubscribe_token(master, subject=Subject(public_id=public_id), purpose_id=purpose_id)
    assert (
        verify_token(master, token, purpose="unsubscribe", now=now) == f"{public_id}:{purpose_id}"
    )
    assert public_id not in token  # opaque: encoded, not spelled out
    with pytest.raises(VerificationFailed):
        verify_token(master, token, purpose="doi", now=now)
    mailto = unsubscribe_mailto("privacy@example.org", token)
    assert mailto == f"mailto:privacy@example.org?subject=unsubscribe-{token}"

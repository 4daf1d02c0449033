"""The cookie banner's configuration and how each choice lands in the consent ledger."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest
from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tutela.clock import FrozenClock
from tutela.consent.banner import (
    MESSAGES,
    BannerDecision,
    banner_config,
    cookie_revision,
    gpc_categories,
    log_decision,
    plan_events,
)
from tutela.consent.checks import check
from tutela.consent.declarations import current_policy
from tutela.consent.ledger import events_of, open_proof, verify_ledger
from tutela.crypto import MasterKey
from tutela.errors import Conflict, InvalidInput
from tutela.i18n import catalog_path
from tutela.policy.duration import Period
from tutela.policy.models import Declaration, Text
from tutela.policy.models_db import PolicyVersion
from tutela.subjects import find_subject

VISITOR = "0123456789abcdef0123456789abcdef"
OPTIONAL = ("functional", "analytics", "marketing")
PURPOSE_OF = {
    "functional": "comfort_settings",
    "analytics": "web_analytics",
    "marketing": "ad_measurement",
}


def decision(declaration: Declaration, **fields: Any) -> BannerDecision:
    values: dict[str, Any] = {"visitor_id": VISITOR, "revision": cookie_revision(declaration)}
    values.update(fields)
    return BannerDecision.model_validate(values)


def with_cookie(declaration: Declaration, name: str, **changes: Any) -> Declaration:
    cookies = [c.model_copy(update=changes) if c.name == name else c for c in declaration.cookies]
    return declaration.model_copy(update={"cookies": cookies})


# ---------------------------------------------------------------- configuration


@pytest.mark.promise("P12")
def test_config_lists_the_declared_categories_and_cookies_in_german(
    declaration: Declaration,
) -> None:
    config = banner_config(declaration, language="de", policy_version=3)
    assert [c["id"] for c in config["categories"]] == ["necessary", *OPTIONAL]
    by_id = {c["id"]: c for c in config["categories"]}
    assert by_id["necessary"]["required"] is True
    assert [c["required"] for c in config["categories"][1:]] == [False, False, False]
    assert by_id["analytics"]["name"] == "Statistik"
    assert by_id["analytics"]["purposes"] == ["web_analytics"]
    (analytics,) = by_id["analytics"]["cookies"]
    assert analytics == {
        "name": "_mtr_id",
        "provider": "Metricly Inc.",
        "party": "diese Website",
        "storage": "cookie",
        "storage_name": "Cookie",
        "lifetime": "13 Monate",
        "description": "Zufällige Kennung, mit der Metricly wiederkehrende Besuche erkennt.",
    }
    session_cookie = by_id["necessary"]["cookies"][0]
    assert session_cookie["lifetime"] == "bis zum Ende der Browsersitzung"
    assert session_cookie["provider"] == declaration.controller.name
    assert by_id["marketing"]["cookies"][0]["party"] == "ein Drittanbieter"
    assert config["max_age_days"] == 395
    assert config["policy_version"] == 3
    assert config["privacy_url"] == "/privacy?lang=de"
    assert config["cookie_name"] == "tutela_consent"
    texts = config["texts"]
    assert texts["accept_all"] == "Alle akzeptieren"
    assert texts["reject_all"] == "Alle ablehnen"
    assert texts["providers"] == "Beteiligte andere Unternehmen: Metricly Inc., Adreach Inc."
    assert texts["stored_for"].startswith("Ihre Wahl speichern wir für 13 Monate")


def test_config_in_english_and_the_notice_hash(declaration: Declaration) -> None:
    english = banner_config(declaration, language="en", policy_version=1)
    german = banner_config(declaration, language="de", policy_version=1)
    assert english["categories"][2]["name"] == "Analytics"
    assert english["categories"][2]["cookies"][0]["lifetime"] == "13 months"
    assert english["texts"]["title"] == "Your privacy on this website"
    assert english["revision"] == german["revision"]
    assert english["notice_hash"] != german["notice_hash"]
    rest = {k: v for k, v in english.items() if k != "notice_hash"}
    canonical = json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert english["notice_hash"] == hashlib.sha256(canonical.encode()).hexdigest()


def test_every_banner_message_has_a_german_translation() -> None:
    with catalog_path("de", "banner").open("rb") as handle:
        catalog = read_po(handle, locale="de")
    german = {str(m.id): str(m.string) for m in catalog if m.id and not m.fuzzy}
    missing = [message for message in MESSAGES if not german.get(message)]
    assert missing == []
    placeholder = re.compile(r"%\((\w+)\)s")
    for message in MESSAGES:
        assert set(placeholder.findall(message)) == set(placeholder.findall(german[message]))


@pytest.mark.promise("P12")
def test_revision_follows_the_cookie_declaration_only(declaration: Declaration) -> None:
    revision = cookie_revision(declaration)
    assert len(revision) == 16
    assert int(revision, 16) >= 0
    assert cookie_revision(declaration.model_copy()) == revision
    longer = with_cookie(declaration, "_mtr_id", lifetime=Period(months=24))
    assert cookie_revision(longer) != revision
    fewer = declaration.model_copy(update={"cookies": declaration.cookies[:-1]})
    assert cookie_revision(fewer) != revision
    retitled = declaration.model_copy(update={"title": Text(de="Neu", en="New")})
    assert cookie_revision(retitled) == revision


@pytest.mark.promise("P24")
def test_gpc_refuses_marketing_and_categories_of_sellers(declaration: Declaration) -> None:
    assert gpc_categories(declaration) == ["marketing"]
    recipients = [
        r.model_copy(update={"sells_or_shares": True}) if r.id == "metricly" else r
        for r in declaration.recipients
    ]
    selling = declaration.model_copy(update={"recipients": recipients})
    assert gpc_categories(selling) == ["analytics", "marketing"]
    assert cookie_revision(selling) != cookie_revision(declaration)
    config = banner_config(selling, language="en", policy_version=1)
    assert [c["id"] for c in config["categories"] if c["gpc"]] == ["analytics", "marketing"]


# ---------------------------------------------------------------- planning


@given(allowed=st.sets(st.sampled_from(OPTIONAL)), before=st.sets(st.sampled_from(OPTIONAL)))
def test_each_purpose_gets_exactly_its_categorys_answer(
    declaration: Declaration, allowed: set[str], before: set[str]
) -> None:
    granted_before = frozenset(PURPOSE_OF[c] for c in before)
    chosen = decision(declaration, categories=sorted(allowed))
    events = plan_events(declaration, chosen, granted_before=granted_before)
    actions = {e.purpose_id: e.action for e in events}
    assert set(actions) == set(PURPOSE_OF.values())
    for category, purpose in PURPOSE_OF.items():
        if category in allowed:
            assert actions[purpose] == "given"
        elif purpose in granted_before:
            assert actions[purpose] == "withdrawn"
        else:
            assert actions[purpose] == "refused"


def test_a_stale_revision_is_a_conflict_naming_the_field(declaration: Declaration) -> None:
    stale = decision(declaration, revision="0" * 16)
    with pytest.raises(Conflict) as caught:
        plan_events(declaration, stale)
    assert caught.value.extra["field"] == "revision"
    assert "/consent/config" in caught.value.detail


@pytest.mark.parametrize("field", ["categories", "gpc_opt_in"])
def test_unknown_categories_name_the_field(declaration: Declaration, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        plan_events(declaration, decision(declaration, **{field: ["tracking"]}))
    assert caught.value.extra["field"] == field
    assert "tracking" in caught.value.detail
    assert "analytics" in caught.value.detail


@pytest.mark.promise("P24")
def test_under_gpc_marketing_needs_its_own_opt_in(declaration: Declaration) -> None:
    blocked = decision(declaration, categories=["analytics", "marketing"], gpc=True)
    with pytest.raises(InvalidInput) as caught:
        plan_events(declaration, blocked)
    assert caught.value.extra["field"] == "categories"
    assert "marketing" in caught.value.detail
    opted = decision(declaration, categories=["marketing"], gpc=True, gpc_opt_in=["marketing"])
    actions = {e.purpose_id: e.action for e in plan_events(declaration, opted)}
    assert actions["ad_measurement"] == "given"
    without_signal = decision(declaration, categories=["marketing"])
    assert {e.action for e in plan_events(declaration, without_signal)} >= {"given"}


@pytest.mark.parametrize(
    ("field", "value"),
    [("visitor_id", "short"), ("visitor_id", "x" * 65), ("revision", "XYZ"), ("language", "fr")],
)
def test_decision_fields_are_checked(field: str, value: str) -> None:
    values = {"visitor_id": VISITOR, "revision": "0" * 16, field: value}
    with pytest.raises(ValueError, match=field):
        BannerDecision.model_validate(values)


# ---------------------------------------------------------------- ledger


@pytest.mark.promise("P12")
def test_a_choice_is_recorded_and_then_withdrawn(
    session: Session,
    published: PolicyVersion,
    declaration: Declaration,
    master: MasterKey,
    clock: FrozenClock,
) -> None:
    def log(**fields: Any) -> None:
        with session.begin():
            log_decision(
                session,
                policy=current_policy(session, clock=clock),
                decision=decision(declaration, language="en", **fields),
                ip="203.0.113.77",
                user_agent="Mozilla/5.0 (test)",
                page_url="https://www.example.de/shop?item=1#top",
                master=master,
                clock=clock,
            )

    log(categories=["analytics"], method="custom")
    with session.begin():
        subject = find_subject(session, kind="visitor_id", value=VISITOR, master=master)
        assert subject is not None
        events = events_of(session, subject=subject)
        assert {(e.purpose_id, e.action) for e in events} == {
            ("comfort_settings", "refused"),
            ("web_analytics", "given"),
            ("ad_measurement", "refused"),
        }
        assert {(e.channel, e.policy_version, e.language) for e in events} == {
            ("banner", published.number, "en")
        }
        proof = open_proof(session, event=events[0], subject=subject, master=master)
        assert proof is not None
        assert proof["ip"] == "203.0.113.0"
        assert proof["user_agent"] == "Mozilla/5.0 (test)"
        assert proof["form_url"] == "https://www.example.de/shop"
        config = banner_config(declaration, language="en", policy_version=published.number)
        assert proof["extra"]["banner_hash"] == config["notice_hash"]
        assert proof["extra"]["categories"] == ["analytics"]
        assert proof["extra"]["method"] == "custom"
        allowed = check(
            session, purpose_id="web_analytics", master=master, clock=clock, subject=subject
        )
        assert allowed.allowed is True

    log(categories=[], method="reject_all")
    with session.begin():
        again = find_subject(session, kind="visitor_id", value=VISITOR, master=master)
        assert again is not None
        assert again.id == subject.id
        latest = events_of(session, subject=subject)[3:]
        assert {(e.purpose_id, e.action) for e in latest} == {
            ("comfort_settings", "refused"),
            ("web_analytics", "withdrawn"),
            ("ad_measurement", "refused"),
        }
        denied = check(
            session, purpose_id="web_analytics", master=master, clock=clock, subject=subject
        )
        assert denied.allowed is False
        assert verify_ledger(session).ok


@pytest.mark.promise("P24")
def test_a_choice_applied_because_of_gpc_is_recorded_on_the_gpc_channel(
    session: Session,
    published: PolicyVersion,
    declaration: Declaration,
    master: MasterKey,
    clock: FrozenClock,
) -> None:
    with session.begin():
        events = log_decision(
            session,
            policy=current_policy(session, clock=clock),
            decision=decision(declaration, categories=["analytics"], gpc=True, method="gpc"),
            ip="testclient",
            user_agent=None,
            page_url=None,
            master=master,
            clock=clock,
        )
    assert {e.purpose_id: e.action for e in events}["ad_measurement"] == "refused"
    with session.begin():
        subject = find_subject(session, kind="visitor_id", value=VISITOR, master=master)
        assert subject is not None
        recorded = events_of(session, subject=subject)
        assert {e.channel for e in recorded} == {"gpc"}
        proof = open_proof(session, event=recorded[0], subject=subject, master=master)
        assert proof is not None
        assert proof["ip"] is None
        assert proof["extra"]["gpc"] is True

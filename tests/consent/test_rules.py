"""decide(): the legal basis turns a stored state into an answer with a reason code."""

from __future__ import annotations

import datetime as dt
import functools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.consent.conftest import EXAMPLE
from tutela.consent.notice import current_notice_hashes
from tutela.consent.rules import StateRow, decide, max_age_of
from tutela.consent.terms import Action, Reason
from tutela.policy.duration import Period
from tutela.policy.loader import load_declaration
from tutela.policy.models import Declaration, LegalBasis, Purpose

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@functools.cache
def _example() -> Declaration:
    return load_declaration(EXAMPLE)


def _purpose(declaration: Declaration, purpose_id: str, **changes: object) -> Purpose:
    found = declaration.purpose(purpose_id)
    assert found is not None
    return found.model_copy(update=changes)


def _ask(
    declaration: Declaration,
    purpose: Purpose,
    state: StateRow | None,
    *,
    suppressed: bool = False,
    known: bool = True,
    now: dt.datetime = NOW,
) -> tuple[bool, Reason]:
    decision = decide(
        purpose,
        state,
        suppressed=suppressed,
        notice_hashes=current_notice_hashes(purpose),
        now=now,
        declaration=declaration,
        subject_known=known,
    )
    return decision.allowed, decision.reason


def _granted(purpose: Purpose, *, confirmed: bool, at: dt.datetime = NOW) -> StateRow:
    (first, *_rest) = sorted(current_notice_hashes(purpose))
    return StateRow(
        status=Action.CONFIRMED.value if confirmed else Action.GIVEN.value,
        given_at=at,
        confirmed_at=at if confirmed else None,
        notice_hash=first,
    )


@pytest.mark.promise("P04")
def test_newsletter_needs_a_confirmed_grant(declaration: Declaration) -> None:
    newsletter = _purpose(declaration, "newsletter")
    assert _ask(declaration, newsletter, None, known=False) == (False, Reason.UNKNOWN_SUBJECT)
    assert _ask(declaration, newsletter, None) == (False, Reason.NO_CONSENT)
    pending = _granted(newsletter, confirmed=False)
    assert _ask(declaration, newsletter, pending) == (False, Reason.NOT_CONFIRMED)
    confirmed = _granted(newsletter, confirmed=True)
    assert _ask(declaration, newsletter, confirmed) == (True, Reason.CONSENT_CONFIRMED)


def test_consent_without_double_opt_in_counts_at_once(declaration: Declaration) -> None:
    analytics = _purpose(declaration, "web_analytics")
    assert not analytics.needs_double_opt_in
    assert _ask(declaration, analytics, _granted(analytics, confirmed=False)) == (
        True,
        Reason.CONSENT_GIVEN,
    )


@pytest.mark.promise("P06")
@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (Action.WITHDRAWN, Reason.WITHDRAWN),
        (Action.REFUSED, Reason.REFUSED),
        (Action.EXPIRED, Reason.EXPIRED),
        (Action.OBJECTED, Reason.OBJECTED),
    ],
)
def test_an_ended_grant_denies(declaration: Declaration, status: Action, reason: Reason) -> None:
    analytics = _purpose(declaration, "web_analytics")
    assert _ask(declaration, analytics, StateRow(status=status.value)) == (False, reason)


@pytest.mark.promise("P07")
def test_a_changed_notice_text_asks_again(declaration: Declaration) -> None:
    analytics = _purpose(declaration, "web_analytics")
    state = StateRow(status="given", given_at=NOW, notice_hash="0" * 64)
    assert _ask(declaration, analytics, state) == (False, Reason.NOTICE_CHANGED)
    no_hash = StateRow(status="given", given_at=NOW, notice_hash=None)
    assert _ask(declaration, analytics, no_hash) == (False, Reason.NOTICE_CHANGED)


def test_cookie_purposes_expire_after_the_cookie_age(declaration: Declaration) -> None:
    analytics = _purpose(declaration, "web_analytics")
    assert max_age_of(analytics, declaration) == Period(months=13)
    given_at = dt.datetime(2025, 2, 1, 10, 0, tzinfo=dt.UTC)
    state = _granted(analytics, confirmed=False, at=given_at)
    just_before = dt.datetime(2026, 2, 28, 22, 59, tzinfo=dt.UTC)  # 28 Feb, 23:59 in Germany
    assert _ask(declaration, analytics, state, now=just_before) == (True, Reason.CONSENT_GIVEN)
    on_the_day = dt.datetime(2026, 2, 28, 23, 0, tzinfo=dt.UTC)  # 1 March in Germany
    assert _ask(declaration, analytics, state, now=on_the_day) == (False, Reason.EXPIRED)


def test_a_purpose_age_overrides_and_other_purposes_do_not_expire(
    declaration: Declaration,
) -> None:
    newsletter = _purpose(declaration, "newsletter")
    assert max_age_of(newsletter, declaration) is None
    old = _granted(newsletter, confirmed=True, at=NOW - dt.timedelta(days=3650))
    assert _ask(declaration, newsletter, old) == (True, Reason.CONSENT_CONFIRMED)
    aged = newsletter.model_copy(update={"consent_max_age": Period(years=2)})
    assert _ask(declaration, aged, old) == (False, Reason.EXPIRED)
    recent = _granted(aged, confirmed=True, at=NOW - dt.timedelta(days=700))
    assert _ask(declaration, aged, recent) == (True, Reason.CONSENT_CONFIRMED)


@pytest.mark.promise("P05")
def test_soft_opt_in_is_allowed_until_objection(declaration: Declaration) -> None:
    offers = _purpose(declaration, "similar_offers")
    assert offers.legal_basis is LegalBasis.LEGITIMATE_INTERESTS
    assert offers.soft_opt_in
    assert _ask(declaration, offers, None) == (True, Reason.LEGITIMATE_INTEREST)
    assert _ask(declaration, offers, None, known=False) == (False, Reason.UNKNOWN_SUBJECT)
    objected = StateRow(status=Action.OBJECTED.value)
    assert _ask(declaration, offers, objected) == (False, Reason.OBJECTED)
    assert _ask(declaration, offers, None, suppressed=True) == (False, Reason.SUPPRESSED)


def test_other_bases_are_allowed_with_their_reason(declaration: Declaration) -> None:
    cases = {
        "contract": Reason.CONTRACT,
        "invoicing": Reason.LEGAL_OBLIGATION,
        "server_logs": Reason.LEGITIMATE_INTEREST,
    }
    for purpose_id, reason in cases.items():
        purpose = _purpose(declaration, purpose_id)
        assert _ask(declaration, purpose, None, known=False) == (True, reason)
    vital = _purpose(declaration, "contract", legal_basis=LegalBasis.VITAL_INTERESTS)
    assert _ask(declaration, vital, None) == (True, Reason.VITAL_INTERESTS)
    public = _purpose(declaration, "server_logs", legal_basis=LegalBasis.PUBLIC_TASK)
    assert _ask(declaration, public, None) == (True, Reason.PUBLIC_TASK)
    assert _ask(declaration, public, StateRow(status="objected")) == (False, Reason.OBJECTED)


def test_erased_subjects_are_never_processed(declaration: Declaration) -> None:
    contract = _purpose(declaration, "contract")
    decision = decide(
        contract,
        None,
        suppressed=False,
        notice_hashes=set(),
        now=NOW,
        declaration=declaration,
        erased=True,
    )
    assert (decision.allowed, decision.reason) == (False, Reason.ERASED)


STATES = st.builds(
    StateRow,
    status=st.sampled_from([a.value for a in Action]),
    given_at=st.none() | st.datetimes(timezones=st.just(dt.UTC)),
    confirmed_at=st.none() | st.datetimes(timezones=st.just(dt.UTC)),
    notice_hash=st.none() | st.sampled_from(["0" * 64, "f" * 64]),
)
PURPOSE_IDS = st.sampled_from(
    ["newsletter", "similar_offers", "leads", "web_analytics", "contract", "invoicing"]
)


@pytest.mark.promise("P05")
@given(
    purpose_id=PURPOSE_IDS,
    state=st.none() | STATES,
    suppressed=st.booleans(),
    known=st.booleans(),
    basis=st.sampled_from(list(LegalBasis)),
)
def test_invariants(
    purpose_id: str,
    state: StateRow | None,
    suppressed: bool,
    known: bool,
    basis: LegalBasis,
) -> None:
    declaration = _example()
    if not known:
        state = None  # no state can exist for an identity no subject holds
    purpose = _purpose(declaration, purpose_id, legal_basis=basis)
    hashes = current_notice_hashes(purpose) | {"f" * 64}
    decision = decide(
        purpose,
        state,
        suppressed=suppressed,
        notice_hashes=hashes,
        now=NOW,
        declaration=declaration,
        subject_known=known,
    )
    if suppressed:
        assert not decision.allowed
        assert decision.reason is Reason.SUPPRESSED
    if purpose.is_direct_marketing and state is not None and state.status == "objected":
        assert not decision.allowed
    if decision.allowed and basis is LegalBasis.CONSENT:
        assert state is not None
        assert state.status in {"given", "confirmed"}
        assert state.notice_hash in hashes
        assert not purpose.needs_double_opt_in or state.confirmed_at is not None
    if not suppressed and basis in {LegalBasis.CONTRACT, LegalBasis.LEGAL_OBLIGATION}:
        objected = state is not None and state.status == "objected"
        assert decision.allowed == (not (purpose.is_direct_marketing and objected))

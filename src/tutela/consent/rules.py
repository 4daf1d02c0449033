"""What the declaration's legal basis makes of a person's consent state.

:func:`decide` is a pure function of the purpose, the stored state and a few
facts (suppressed? which notice texts are current? what time is it?). Rules:

* **Everyone**: an erased subject is never processed (``erased``); a restricted
  person (Art. 18) is not processed for any purpose (``restricted``); an address on
  the suppression list for the purpose's scope is never used (``suppressed``);
  an objection to a direct-marketing purpose stops it whatever its basis
  (``objected``).
* **Consent**: allowed only after a grant (``no_consent``, ``unknown_subject``),
  not after a refusal, withdrawal, objection or expiry; only while the text the
  grant was given to is still the purpose's text (``notice_changed``); only
  before ``consent_max_age`` has run — for purposes served by cookies the
  declaration's ``cookie_consent_max_age`` applies when the purpose sets none
  (``expired``); and where double opt-in applies, only once confirmed
  (``not_confirmed``). Then ``consent_confirmed`` or ``consent_given``.
* **Legitimate interests**: allowed (``legitimate_interest``) until the person
  objects, withdraws or refuses. Existing-customer mail (soft opt-in, § 7(3)
  UWG) also needs a known subject (``unknown_subject``).
* **Public task**: allowed until an objection. **Contract, legal obligation,
  vital interests**: allowed, with the basis as the reason.

Ages run on German calendar dates: a grant given on day *d* with a maximum age
of 13 months is expired from the start of day *d* + 13 months.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tutela.calendar import GERMAN_TIME, german_date
from tutela.consent.terms import Action, Reason
from tutela.policy.duration import Period
from tutela.policy.models import Declaration, LegalBasis, Purpose

__all__ = ["RESTRICTED_FLAG", "Decision", "Judge", "StateRow", "decide", "max_age_of"]

RESTRICTED_FLAG = 2
"""The value of the suppressed flag for a person whose processing is restricted."""


@dataclass(frozen=True, slots=True)
class StateRow:
    """The stored state of one subject for one purpose (see ``consent_state``)."""

    status: str
    given_at: dt.datetime | None = None
    confirmed_at: dt.datetime | None = None
    notice_hash: str | None = None
    policy_version: int | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer of a check: may the purpose be pursued for this person, and why."""

    allowed: bool
    reason: Reason


_DECISIONS = {
    (allowed, reason): Decision(allowed, reason) for allowed in (True, False) for reason in Reason
}


def _yes(reason: Reason) -> Decision:
    return _DECISIONS[(True, reason)]


def _no(reason: Reason) -> Decision:
    return _DECISIONS[(False, reason)]


_NEGATIVE = {
    Action.REFUSED.value: _no(Reason.REFUSED),
    Action.WITHDRAWN.value: _no(Reason.WITHDRAWN),
    Action.OBJECTED.value: _no(Reason.OBJECTED),
    Action.EXPIRED.value: _no(Reason.EXPIRED),
}
_BASIS = {
    LegalBasis.CONTRACT: _yes(Reason.CONTRACT),
    LegalBasis.LEGAL_OBLIGATION: _yes(Reason.LEGAL_OBLIGATION),
    LegalBasis.VITAL_INTERESTS: _yes(Reason.VITAL_INTERESTS),
}
_ONE_DAY = dt.timedelta(days=1)


def max_age_of(purpose: Purpose, declaration: Declaration) -> Period | None:
    """How long a grant for ``purpose`` lasts: its own age, else the cookie age if cookies
    serve it, else no limit."""
    if purpose.consent_max_age is not None:
        return purpose.consent_max_age
    if any(cookie.purpose == purpose.id for cookie in declaration.cookies):
        return declaration.cookie_consent_max_age
    return None


def _expiry_instant(period: Period, now: dt.datetime) -> dt.datetime:
    """Grants given before this instant are expired at ``now``."""
    today = german_date(now)
    day = today - dt.timedelta(days=max(int(period.approx_days()) - 7, 0))
    while period.add_to(day) > today:
        day -= _ONE_DAY
    while period.add_to(day + _ONE_DAY) <= today:
        day += _ONE_DAY
    # ``day`` is the last grant date that has expired; grants from the next day on hold.
    following = day + _ONE_DAY
    start = dt.datetime(following.year, following.month, following.day, tzinfo=GERMAN_TIME)
    return start.astimezone(dt.UTC)


class Judge:
    """:func:`decide` for one purpose at one moment, with the fixed parts worked out once.

    Bulk checks build one judge and call :meth:`decide_row` per person with the
    facts the database already worked out (expired? confirmed? suppressed?);
    the few distinct combinations are remembered.
    """

    __slots__ = (
        "_basis",
        "_direct",
        "_double",
        "_hashes",
        "_memo",
        "_soft",
        "expires_before",
    )

    def __init__(
        self,
        purpose: Purpose,
        *,
        notice_hashes: frozenset[str] | set[str],
        now: dt.datetime,
        declaration: Declaration,
    ) -> None:
        self._basis = purpose.legal_basis
        self._direct = purpose.is_direct_marketing
        self._double = purpose.needs_double_opt_in
        self._soft = purpose.soft_opt_in
        self._hashes = frozenset(notice_hashes)
        self._memo: dict[tuple[str | None, bool, bool, bool, int], Decision] = {}
        period = max_age_of(purpose, declaration)
        self.expires_before = None if period is None else _expiry_instant(period, now)
        """Grants given before this instant have expired (``None``: grants do not expire)."""

    def decide(
        self,
        state: StateRow | None,
        *,
        suppressed: bool,
        subject_known: bool = True,
        erased: bool = False,
    ) -> Decision:
        if erased:
            return _no(Reason.ERASED)
        if not subject_known:
            return self.unknown(suppressed=suppressed)
        if state is None:
            return self.decide_row(None, None, False, False, suppressed)
        given_at = state.given_at
        expired = given_at is None or (
            self.expires_before is not None and given_at < self.expires_before
        )
        confirmed = state.confirmed_at is not None
        return self.decide_row(state.status, state.notice_hash, expired, confirmed, suppressed)

    def unknown(self, *, suppressed: bool | int) -> Decision:
        """The decision for an identity no subject holds (``suppressed`` 2: restricted)."""
        if suppressed == RESTRICTED_FLAG:
            return _no(Reason.RESTRICTED)
        if suppressed:
            return _no(Reason.SUPPRESSED)
        if self._basis is LegalBasis.CONSENT or (
            self._soft and self._basis is LegalBasis.LEGITIMATE_INTERESTS
        ):
            return _no(Reason.UNKNOWN_SUBJECT)
        return self._evaluate(None, False, False, False)

    def decide_row(
        self,
        status: str | None,
        notice_hash: str | None,
        expired: int,
        confirmed: int,
        suppressed: int,
    ) -> Decision:
        """The decision for a known subject from the stored facts (``status`` ``None``: none).

        The flags may be booleans or the 0/1 integers the database returns;
        ``suppressed`` is 2 (:data:`RESTRICTED_FLAG`) for a restricted person.
        """
        key = (
            status,
            notice_hash in self._hashes,
            bool(expired),
            bool(confirmed),
            int(suppressed),
        )
        found = self._memo.get(key)
        if found is None:
            if key[4] == RESTRICTED_FLAG:
                found = _no(Reason.RESTRICTED)
            elif key[4]:
                found = _no(Reason.SUPPRESSED)
            else:
                found = self._evaluate(*key[:4])
            self._memo[key] = found
        return found

    def _evaluate(
        self, status: str | None, notice_ok: bool, expired: bool, confirmed: bool
    ) -> Decision:
        if self._direct and status == Action.OBJECTED.value:
            return _no(Reason.OBJECTED)
        basis = self._basis
        if basis is LegalBasis.CONSENT:
            return self._consent(status, notice_ok, expired, confirmed)
        if basis is LegalBasis.LEGITIMATE_INTERESTS:
            if status in _NEGATIVE and status != Action.EXPIRED.value:
                return _NEGATIVE[status]
            return _yes(Reason.LEGITIMATE_INTEREST)
        if basis is LegalBasis.PUBLIC_TASK:
            if status == Action.OBJECTED.value:
                return _no(Reason.OBJECTED)
            return _yes(Reason.PUBLIC_TASK)
        return _BASIS[basis]

    def _consent(
        self, status: str | None, notice_ok: bool, expired: bool, confirmed: bool
    ) -> Decision:
        if status is None:
            return _no(Reason.NO_CONSENT)
        negative = _NEGATIVE.get(status)
        if negative is not None:
            return negative
        if not notice_ok:
            return _no(Reason.NOTICE_CHANGED)
        if expired:
            return _no(Reason.EXPIRED)
        if confirmed:
            return _yes(Reason.CONSENT_CONFIRMED)
        if self._double:
            return _no(Reason.NOT_CONFIRMED)
        return _yes(Reason.CONSENT_GIVEN)


def decide(
    purpose: Purpose,
    state: StateRow | None,
    *,
    suppressed: bool,
    notice_hashes: frozenset[str] | set[str],
    now: dt.datetime,
    declaration: Declaration,
    subject_known: bool = True,
    erased: bool = False,
) -> Decision:
    """May ``purpose`` be pursued for a person in ``state`` at ``now``? See the module text.

    ``state`` is ``None`` when nothing was recorded for the person and purpose;
    ``subject_known`` is ``False`` when no subject holds the identity asked about.
    """
    judge = Judge(purpose, notice_hashes=notice_hashes, now=now, declaration=declaration)
    return judge.decide(state, suppressed=suppressed, subject_known=subject_known, erased=erased)

"""Deadlines of data-subject requests: GDPR Art. 12(3) months and the CCPA day counts.

GDPR (law.md § 1.1): one month from receipt; the day of receipt does not count;
the period ends on the same date one month later, or on the last day of that
month when the date does not exist; an end on a Saturday, Sunday or public
holiday of the controller's German state moves to the next working day
(Reg. 1182/71 Art. 3, §§ 187, 188, 193 BGB). Periods run on German dates. The
extension adds two months; its hard limit is the *earlier* of receipt + 3 months
and the first deadline + 2 months (G12-T10). Without a known state only the
holidays every state shares are taken into account (the earliest possible end).

CCPA (law.md § 3.1, 11 CCR §§ 7021, 7026): receipt is confirmed within 10
business days and answered within 45 calendar days, extensible once by 45 (90 in
all); opt-outs and limit requests are complied with within 15 business days.
Counting is conservative: the day of receipt is day 1, business days are Monday to
Friday, and the date is the one in California (never later than the German one).

The internal target is receipt + 28 days (the ICO's figure), never later than the
legal deadline, moved back to the previous working day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

from tutela.calendar import STATES, german_date, is_arbeitstag, month_deadline
from tutela.dsr.terms import Jurisdiction, RequestType, jurisdiction_of

__all__ = [
    "CCPA_CONFIRM_BUSINESS_DAYS",
    "CCPA_EXTENSION_DAYS",
    "CCPA_OPT_OUT_BUSINESS_DAYS",
    "CCPA_RESPONSE_DAYS",
    "GDPR_EXTENSION_MONTHS",
    "TARGET_DAYS",
    "Deadlines",
    "ccpa_business_day",
    "ccpa_day",
    "deadlines_for",
    "gdpr_deadline",
    "gdpr_extension_limit",
    "internal_target",
    "receipt_date",
]

TARGET_DAYS: Final = 28
GDPR_EXTENSION_MONTHS: Final = 2
CCPA_RESPONSE_DAYS: Final = 45
CCPA_EXTENSION_DAYS: Final = 45
CCPA_CONFIRM_BUSINESS_DAYS: Final = 10
CCPA_OPT_OUT_BUSINESS_DAYS: Final = 15
CALIFORNIA_TIME: Final = ZoneInfo("America/Los_Angeles")

_OPT_OUTS: Final = frozenset({RequestType.OPT_OUT_SALE_SHARE, RequestType.LIMIT_SENSITIVE})
_ONE_DAY: Final = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Deadlines:
    """The dates of one request (each the last day on which acting is in time)."""

    received_on: dt.date
    legal: dt.date
    target: dt.date
    confirm_by: dt.date | None
    """CCPA know/delete/correct: the receipt must be confirmed by this day."""
    extension_limit: dt.date | None
    """The latest date an extension may reach (``None``: no extension possible)."""


# ---------------------------------------------------------------- GDPR


def _month_end(start: dt.date, months: int, state: str | None) -> dt.date:
    if state is not None:
        return month_deadline(start, months, state=state)
    return min(month_deadline(start, months, state=code) for code in STATES)


def _working_day(state: str | None) -> Callable[[dt.date], bool]:
    if state is not None:
        return lambda day: is_arbeitstag(day, state)
    return lambda day: any(is_arbeitstag(day, code) for code in STATES)


def gdpr_deadline(received: dt.date, *, state: str | None) -> dt.date:
    """Art. 12(3): the last day of one month from receipt on ``received`` (German date)."""
    return _month_end(received, 1, state)


def gdpr_extension_limit(received: dt.date, *, state: str | None) -> dt.date:
    """The latest date an extended GDPR request may be answered (G12-T10: the earlier one)."""
    first = gdpr_deadline(received, state=state)
    return min(_month_end(received, 1 + GDPR_EXTENSION_MONTHS, state), _month_end(first, 2, state))


def internal_target(
    received: dt.date, legal: dt.date, *, working_day: Callable[[dt.date], bool]
) -> dt.date:
    """Receipt + 28 days, not later than ``legal``, moved back to the previous working day."""
    day = min(received + dt.timedelta(days=TARGET_DAYS), legal)
    while not working_day(day) and day - _ONE_DAY > received:
        day -= _ONE_DAY
    return day


# ---------------------------------------------------------------- CCPA


def ccpa_day(received: dt.date, days: int) -> dt.date:
    """Day number ``days`` when the day of receipt is day 1 (45 → receipt + 44)."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}.")
    return received + dt.timedelta(days=days - 1)


def _weekday(day: dt.date) -> bool:
    return day.weekday() < 5


def ccpa_business_day(received: dt.date, count: int) -> dt.date:
    """Business day number ``count`` (Monday–Friday), the day of receipt counting if it is one."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}.")
    day = received
    counted = 1 if _weekday(day) else 0
    while counted < count:
        day += _ONE_DAY
        if _weekday(day):
            counted += 1
    return day


# ---------------------------------------------------------------- per request


def receipt_date(received_at: dt.datetime, jurisdiction: Jurisdiction) -> dt.date:
    """The date a request counts as received: German for GDPR, Californian for CCPA."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware; take it from the clock.")
    if jurisdiction is Jurisdiction.CCPA:
        return received_at.astimezone(CALIFORNIA_TIME).date()
    return german_date(received_at)


def deadlines_for(
    request_type: RequestType, received_at: dt.datetime, *, state: str | None
) -> Deadlines:
    """Every deadline of a request of ``request_type`` received at ``received_at``.

    ``state`` is the controller's German state (holidays for GDPR deadlines);
    ``None`` counts only the holidays all states share.
    """
    jurisdiction = jurisdiction_of(request_type)
    received = receipt_date(received_at, jurisdiction)
    if jurisdiction is Jurisdiction.GDPR:
        legal = gdpr_deadline(received, state=state)
        return Deadlines(
            received_on=received,
            legal=legal,
            target=internal_target(received, legal, working_day=_working_day(state)),
            confirm_by=None,
            extension_limit=gdpr_extension_limit(received, state=state),
        )
    if request_type in _OPT_OUTS:
        legal = ccpa_business_day(received, CCPA_OPT_OUT_BUSINESS_DAYS)
        return Deadlines(
            received_on=received,
            legal=legal,
            target=internal_target(received, legal, working_day=_weekday),
            confirm_by=None,
            extension_limit=None,
        )
    legal = ccpa_day(received, CCPA_RESPONSE_DAYS)
    return Deadlines(
        received_on=received,
        legal=legal,
        target=internal_target(received, legal, working_day=_weekday),
        confirm_by=ccpa_business_day(received, CCPA_CONFIRM_BUSINESS_DAYS),
        extension_limit=ccpa_day(received, CCPA_RESPONSE_DAYS + CCPA_EXTENSION_DAYS),
    )

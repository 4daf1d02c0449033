"""When a notice must go out at the latest, so the notice period runs before the change.

A change announced on day *d* may take effect on
:func:`tutela.calendar.effective_after_notice` (*d*): the period is counted from the
day after the notice (§ 187(1) BGB) and the change takes effect the day after the
last counted day (law notes § 2.5, W-4/W-5). :func:`latest_send_on` turns that
round: the last day *d* from which the change may still take effect on its date.
Where several rules apply (the new version's, and those of the versions people
read before), the strictest one wins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from tutela.calendar import StateSelection, Unit, effective_after_notice, is_arbeitstag, is_werktag
from tutela.policy.models import ChangeNotice, NoticeUnit

__all__ = [
    "in_time",
    "latest_send_on",
    "latest_send_on_rule",
    "notify_required",
    "states_of",
    "unit_of",
]

_UNITS: dict[NoticeUnit, Unit] = {
    NoticeUnit.WERKTAGE: "werktage",
    NoticeUnit.ARBEITSTAGE: "arbeitstage",
    NoticeUnit.CALENDAR_DAYS: "calendar_days",
}
_ONE = dt.timedelta(days=1)


def unit_of(rule: ChangeNotice) -> Unit:
    """The calendar unit a rule counts in."""
    return _UNITS[rule.unit]


def states_of(rule: ChangeNotice) -> StateSelection:
    """The German states whose holidays the rule skips (``"all"``: every state)."""
    return "all" if rule.states == "all" else [state.value for state in rule.states]


def _counts(day: dt.date, unit: Unit, states: StateSelection) -> bool:
    if unit == "werktage":
        return is_werktag(day, states)
    if unit == "arbeitstage":
        return is_arbeitstag(day, states)
    return True


def latest_send_on_rule(effective_on: dt.date, rule: ChangeNotice) -> dt.date:
    """The last day a notice may reach people for a change taking effect on ``effective_on``.

    Counting back from the day before ``effective_on``: the ``rule.days``-th counted
    day is the first day of the period, and the notice must come the day before it.
    """
    unit = unit_of(rule)
    states = states_of(rule)
    day = effective_on - _ONE  # the last counted day of the period
    if rule.days == 0:
        return day
    counted = 0
    while True:
        if _counts(day, unit, states):
            counted += 1
            if counted == rule.days:
                return day - _ONE
        day -= _ONE


def latest_send_on(effective_on: dt.date, rules: Iterable[ChangeNotice]) -> dt.date:
    """The earliest of the rules' last sending days (the day before ``effective_on`` if none)."""
    days = [latest_send_on_rule(effective_on, rule) for rule in rules]
    return min(days, default=effective_on - _ONE)


def in_time(sent_on: dt.date, effective_on: dt.date, rules: Sequence[ChangeNotice]) -> bool:
    """Whether a notice reaching people on ``sent_on`` honours every rule."""
    return all(
        effective_after_notice(sent_on, r.days, unit=unit_of(r), states=states_of(r))
        <= effective_on
        for r in rules
    )


def notify_required(rules: Iterable[ChangeNotice]) -> bool:
    """Whether any of the rules promises to tell the people concerned directly."""
    return any(rule.notify_subjects for rule in rules)

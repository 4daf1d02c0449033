"""The declaration lint: every legal rule that needs the whole declaration, in one run.

``lint(declaration)`` returns all findings at once, in a stable order (by field
path, then rule id). Errors are what the law requires and block publishing;
warnings are good practice. Rule ids are stable; :data:`RULES` lists them and
``docs/lint.md`` explains each.
"""

from __future__ import annotations

import datetime as dt

from tutela.policy.lint import (
    cookie_rules,
    data_rules,
    purpose_rules,
    statement_rules,
    transfer_rules,
)
from tutela.policy.lint.catalogue import RULES, Rule
from tutela.policy.lint.context import CategoryEntry, LintContext, Vocabulary
from tutela.policy.lint.finding import Finding, Severity, has_errors
from tutela.policy.models import Declaration
from tutela.policy.taxonomy import load_taxonomy

__all__ = [
    "RULES",
    "CategoryEntry",
    "Finding",
    "Rule",
    "Severity",
    "Vocabulary",
    "has_errors",
    "lint",
]

_CHECKS = (
    statement_rules.check,
    purpose_rules.check,
    data_rules.check,
    transfer_rules.check,
    cookie_rules.check,
)


def lint(
    declaration: Declaration,
    *,
    today: dt.date | None = None,
    taxonomy: Vocabulary | None = None,
) -> list[Finding]:
    """Check a declaration against every rule.

    ``today`` enables the date-dependent rules (the age of a DPF List check);
    without it they are skipped, so that the same declaration always gives the
    same findings. ``taxonomy`` defaults to the bundled fideslang taxonomy.
    """
    if taxonomy is None:
        taxonomy = load_taxonomy()
    ctx = LintContext(declaration=declaration, vocabulary=taxonomy, today=today)
    for check in _CHECKS:
        check(ctx)
    return sorted(ctx.findings, key=Finding.sort_key)

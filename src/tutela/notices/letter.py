"""The notice itself: what changes, from when, and where to read the new statement.

The mail holds nothing about the person it goes to, so it is rendered once per
language and campaign and sent to everyone of that language. The changes are
the plain-language diff (:mod:`tutela.policy.diff`) between the version people
read before and the new one, the material ones first; a long list is cut and
points to the statement for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from tutela.mail import render_mail
from tutela.policy.diff import diff
from tutela.policy.models_db import PolicyVersion

__all__ = ["MAX_CHANGES", "TEMPLATE", "NoticeText", "compose", "statement_url"]

TEMPLATE: Final = "policy_change"
MAX_CHANGES: Final = 30
"""Changes listed in one mail; more are left to the statement itself."""


@dataclass(frozen=True, slots=True)
class NoticeText:
    """The rendered notice in one language."""

    language: str
    subject: str
    text: str
    html: str | None


def statement_url(base_url: str, *, number: int, language: str) -> str:
    """The public address of version ``number`` of the statement in ``language``."""
    return f"{base_url.rstrip('/')}/privacy/v/{number}?lang={language}"


def compose(
    *, version: PolicyVersion, previous: PolicyVersion, language: str, base_url: str
) -> NoticeText:
    """The notice about ``version`` (replacing ``previous``) in ``language``."""
    new = version.declaration()
    changes = diff(previous.declaration(), new)
    ordered = [c for c in changes if c.material] + [c for c in changes if not c.material]
    sentences = [change.describe(language) for change in ordered[:MAX_CHANGES]]
    context = {
        "controller": new.controller.name,
        "version": version.number,
        "effective_on": version.effective_at,
        "changes": sentences,
        "more": max(0, len(ordered) - MAX_CHANGES),
        "material": any(change.material for change in changes),
        "statement_url": statement_url(base_url, number=version.number, language=language),
        "contact": str(new.controller.contacts.email),
    }
    subject, text, html = render_mail(
        TEMPLATE, language=language, context=context, category="transactional"
    )
    return NoticeText(language=language, subject=subject, text=text, html=html)

"""Rules on cookies and other device access (§ 25 TDDDG, CJEU Planet49)."""

from __future__ import annotations

from tutela.policy.lint.context import LintContext
from tutela.policy.models import Cookie, CookieCategory, LegalBasis


def check(ctx: LintContext) -> None:
    known = ctx.recipient_ids()
    for index, cookie in enumerate(ctx.declaration.cookies):
        path = f"cookies[{index}]"
        _provider(ctx, path, cookie, known)
        _purpose_and_consent(ctx, path, cookie)


def _provider(ctx: LintContext, path: str, cookie: Cookie, known: set[str]) -> None:
    if cookie.provider is None:
        if cookie.party == "third":
            ctx.report(
                "cookie.provider-missing",
                f"{path}.provider",
                f"The third-party cookie '{cookie.name}' does not name who sets and reads it.",
                "Set provider to the id of the recipient that sets the cookie.",
            )
        return
    if cookie.provider not in known:
        ctx.report(
            "cookie.unknown-provider",
            f"{path}.provider",
            f"The cookie '{cookie.name}' names the provider '{cookie.provider}', which is not "
            "a declared recipient.",
            "Declare the provider under recipients, or correct the id.",
        )
        return
    purpose = ctx.declaration.purpose(cookie.purpose) if cookie.purpose else None
    if purpose is not None and cookie.provider not in purpose.recipients:
        ctx.report(
            "cookie.provider-not-recipient",
            f"{path}.provider",
            f"The cookie '{cookie.name}' is set by '{cookie.provider}', but the purpose "
            f"'{purpose.id}' does not list it as a recipient.",
            f"Add '{cookie.provider}' to the recipients of the purpose '{purpose.id}'.",
        )


def _purpose_and_consent(ctx: LintContext, path: str, cookie: Cookie) -> None:
    necessary = cookie.category is CookieCategory.NECESSARY
    if cookie.purpose is None:
        if not necessary:
            ctx.report(
                "cookie.purpose-missing",
                f"{path}.purpose",
                f"The {cookie.category} cookie '{cookie.name}' serves no declared purpose, so "
                "the consent request cannot say what it is for.",
                "Set purpose to the id of a consent-based purpose.",
            )
        return
    purpose = ctx.declaration.purpose(cookie.purpose)
    if purpose is None:
        ctx.report(
            "cookie.unknown-purpose",
            f"{path}.purpose",
            f"The cookie '{cookie.name}' serves the purpose '{cookie.purpose}', which is not "
            "declared.",
            "Use the id of a declared purpose, or declare the purpose.",
        )
        return
    if necessary:
        return
    if cookie.consent_required is False:
        ctx.report(
            "cookie.non-necessary-without-consent",
            f"{path}.consent_required",
            f"The {cookie.category} cookie '{cookie.name}' is set without consent, but only "
            "strictly necessary cookies may be.",
            "Remove consent_required: false, or move the cookie to necessary if it is "
            "strictly needed for a service the user asked for.",
        )
    elif purpose.legal_basis is not LegalBasis.CONSENT:
        ctx.report(
            "cookie.non-necessary-without-consent",
            f"{path}.purpose",
            f"The {cookie.category} cookie '{cookie.name}' serves the purpose '{purpose.id}', "
            f"whose legal basis is {purpose.legal_basis}, not consent.",
            "Let the cookie serve a purpose based on consent, so that the banner blocks it "
            "until people agree.",
        )

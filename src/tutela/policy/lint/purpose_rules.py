"""Rules per purpose: legal basis details, retention, consent and objection, sources, provision."""

from __future__ import annotations

from tutela.policy.lint.context import LintContext, listing
from tutela.policy.models import (
    ChannelKind,
    LegalBasis,
    Purpose,
    Right,
    SourceKind,
    SpecialCategoryGround,
)

# Withdrawal as easy as consent (Art. 7(3)): online consent needs an online way back.
_EASY_WITHDRAWAL = (ChannelKind.WEB, ChannelKind.EMAIL, ChannelKind.LINK_IN_MESSAGE)
# Advertising by "elektronische Post" (e-mail, SMS) under § 7(2) Nr. 2 UWG.
_ELECTRONIC_MARKETING = "marketing.communications"


def check(ctx: LintContext) -> None:
    for path, purpose in ctx.purposes():
        _categories(ctx, path, purpose)
        _legitimate_interest(ctx, path, purpose)
        _retention(ctx, path, purpose)
        _consent(ctx, path, purpose)
        _marketing(ctx, path, purpose)
        _special(ctx, path, purpose)
        _source(ctx, path, purpose)
        _recipients(ctx, path, purpose)


def _categories(ctx: LintContext, path: str, purpose: Purpose) -> None:
    if not purpose.categories.all():
        ctx.report(
            "purpose.no-categories",
            f"{path}.categories",
            f"The purpose '{purpose.id}' names no data categories.",
            "List the data it processes under categories.required or categories.optional.",
        )


def _legitimate_interest(ctx: LintContext, path: str, purpose: Purpose) -> None:
    if purpose.legitimate_interest is not None:
        return
    if purpose.legal_basis is LegalBasis.LEGITIMATE_INTERESTS:
        ctx.report(
            "purpose.legitimate-interest-missing",
            f"{path}.legitimate_interest",
            f"The purpose '{purpose.id}' rests on legitimate interests but does not say "
            "which interest is pursued.",
            "Add legitimate_interest (de/en) naming the concrete interest, e.g. keeping the "
            "service free of abuse.",
        )


def _retention(ctx: LintContext, path: str, purpose: Purpose) -> None:
    retention = purpose.retention
    if retention is None or (
        retention.period is None and retention.statutory is None and retention.criteria is None
    ):
        ctx.report(
            "purpose.retention-missing",
            f"{path}.retention",
            f"The purpose '{purpose.id}' does not say how long its data are kept.",
            "Add retention with a period (e.g. P6M after contract_end), a statutory hold, "
            "or criteria for deciding the period.",
        )


def _relies_on_consent(purpose: Purpose) -> bool:
    return (
        purpose.legal_basis is LegalBasis.CONSENT
        or purpose.special_category_ground is SpecialCategoryGround.EXPLICIT_CONSENT
    )


def _consent(ctx: LintContext, path: str, purpose: Purpose) -> None:
    if not _relies_on_consent(purpose):
        return
    kinds = {
        channel.kind
        for channel in ctx.declaration.rights_channels
        if Right.WITHDRAWAL in channel.rights
    }
    if any(kind in _EASY_WITHDRAWAL for kind in kinds):
        return
    field = "legal_basis"
    if purpose.legal_basis is not LegalBasis.CONSENT:
        field = "special_category_ground"
    if kinds:
        why = f"consent can be withdrawn only by {listing(sorted(kinds))}"
    else:
        why = "no rights channel takes withdrawals"
    ctx.report(
        "purpose.consent-without-withdrawal-channel",
        f"{path}.{field}",
        f"The purpose '{purpose.id}' rests on consent, but {why}; withdrawing must be as "
        "easy as consenting.",
        "Add withdrawal to the rights of a web, email or link_in_message channel.",
    )


def _marketing(ctx: LintContext, path: str, purpose: Purpose) -> None:
    if purpose.is_direct_marketing and not purpose.objection_channels:
        ctx.report(
            "purpose.direct-marketing-without-objection",
            f"{path}.objection_channels",
            f"The purpose '{purpose.id}' is direct marketing but offers no way to object.",
            "List at least one objection channel, e.g. [link_in_message, email].",
        )
    electronic = purpose.data_use == _ELECTRONIC_MARKETING or purpose.data_use.startswith(
        _ELECTRONIC_MARKETING + "."
    )
    if electronic and purpose.legal_basis is not LegalBasis.CONSENT and not purpose.soft_opt_in:
        ctx.report(
            "purpose.electronic-marketing-without-consent",
            f"{path}.legal_basis",
            f"The purpose '{purpose.id}' sends advertising by e-mail or SMS without consent.",
            "Set legal_basis to consent (collected by double opt-in), or, for similar "
            "offers to existing customers only, set soft_opt_in with legitimate_interests.",
        )
    if not purpose.soft_opt_in:
        return
    if purpose.legal_basis is not LegalBasis.LEGITIMATE_INTERESTS:
        ctx.report(
            "purpose.soft-opt-in-basis",
            f"{path}.legal_basis",
            f"The purpose '{purpose.id}' uses the existing-customer exception but its legal "
            f"basis is {purpose.legal_basis}.",
            "Set legal_basis to legitimate_interests for soft opt-in mail, or drop "
            "soft_opt_in and ask for consent.",
        )
    if ChannelKind.LINK_IN_MESSAGE not in purpose.objection_channels:
        ctx.report(
            "purpose.soft-opt-in-without-unsubscribe-link",
            f"{path}.objection_channels",
            f"The purpose '{purpose.id}' mails existing customers without consent but does "
            "not offer an objection link in every message.",
            "Add link_in_message to objection_channels.",
        )


def _special(ctx: LintContext, path: str, purpose: Purpose) -> None:
    special = ctx.special_keys(purpose)
    if special and purpose.special_category_ground is None:
        ctx.report(
            "purpose.special-category-without-ground",
            f"{path}.special_category_ground",
            f"The purpose '{purpose.id}' processes special categories ({listing(special)}) "
            "without an Art. 9(2) ground.",
            "Set special_category_ground (e.g. explicit_consent), or remove the special "
            "categories from the purpose.",
        )


def _source(ctx: LintContext, path: str, purpose: Purpose) -> None:
    source = purpose.source
    if source.kind is SourceKind.SUBJECT:
        if purpose.provision is None:
            ctx.report(
                "provision.missing",
                f"{path}.provision",
                f"The purpose '{purpose.id}' collects data from the people themselves but "
                "does not say whether they must provide them.",
                "Add provision with requirement (statutory, contractual, "
                "contract_prerequisite or voluntary) and the consequences of not providing.",
            )
        return
    if source.description is None:
        origin = "publicly accessible sources" if source.kind is SourceKind.PUBLIC else "others"
        ctx.report(
            "purpose.indirect-source-undescribed",
            f"{path}.source.description",
            f"The purpose '{purpose.id}' obtains data from {origin} but does not name the source.",
            "Add source.description (de/en) naming where the data come from.",
        )


def _recipients(ctx: LintContext, path: str, purpose: Purpose) -> None:
    known = ctx.recipient_ids()
    for position, recipient_id in enumerate(purpose.recipients):
        if recipient_id not in known:
            ctx.report(
                "ref.unknown-recipient",
                f"{path}.recipients[{position}]",
                f"The purpose '{purpose.id}' sends data to '{recipient_id}', which is not a "
                "declared recipient.",
                "Declare the recipient under recipients, or correct the id.",
            )

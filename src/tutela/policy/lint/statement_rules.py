"""Rules on who speaks and how people reach them: controller, DPO, representative, rights,
change notices, automated decisions and the US opt-out of sale/sharing."""

from __future__ import annotations

from tutela.policy.lint.context import LintContext, listing
from tutela.policy.lint.geography import in_eea
from tutela.policy.models import (
    ChannelKind,
    NoticeUnit,
    Person,
    Right,
    SpecialCategoryGround,
)

# Art. 13(2)(b): the six rights every statement names; withdrawal has its own rule per purpose.
STATEMENT_RIGHTS = (
    Right.ACCESS,
    Right.RECTIFICATION,
    Right.ERASURE,
    Right.RESTRICTION,
    Right.PORTABILITY,
    Right.OBJECTION,
)

# Promise P20: changes are announced at least 30 Werktage ahead.
MIN_NOTICE_WERKTAGE = 30
_WERKTAGE_PER_DAY = {
    NoticeUnit.WERKTAGE: 1.0,
    NoticeUnit.ARBEITSTAGE: 6 / 5,
    NoticeUnit.CALENDAR_DAYS: 6 / 7,
}
# Art. 22(4): automated decisions on special categories only with these Art. 9(2) grounds.
_ART22_GROUNDS = (
    SpecialCategoryGround.EXPLICIT_CONSENT,
    SpecialCategoryGround.SUBSTANTIAL_PUBLIC_INTEREST,
)


def check(ctx: LintContext) -> None:
    _controller_contacts(ctx)
    _dpo(ctx)
    _representative(ctx)
    _rights(ctx)
    _change_notice(ctx)
    _automated_decisions(ctx)
    _us_privacy(ctx)


def _controller_contacts(ctx: LintContext) -> None:
    contacts = ctx.declaration.controller.contacts
    fallbacks = {
        ChannelKind.PHONE: ("phone number", "phone", contacts.phone),
        ChannelKind.FAX: ("fax number", "fax", contacts.fax),
        ChannelKind.WEB: ("web address", "web", contacts.web),
    }
    for index, channel in enumerate(ctx.declaration.rights_channels):
        if channel.address or channel.kind not in fallbacks:
            continue
        noun, field_name, value = fallbacks[channel.kind]
        if value:
            continue
        ctx.report(
            "controller.contact-missing",
            f"rights_channels[{index}].address",
            f"The {channel.kind} rights channel has no address and the controller has no "
            f"{noun} to fall back on, so people would not know where to turn.",
            f"Give the channel an address, or add controller.contacts.{field_name}.",
        )


def _has_contact(person: Person) -> bool:
    return bool(person.email or person.phone or person.address)


def _dpo(ctx: LintContext) -> None:
    dpo = ctx.declaration.dpo
    if dpo is None:
        ctx.report(
            "dpo.missing",
            "dpo",
            "No data protection officer is declared.",
            "A German controller needs one when at least 20 people regularly process personal "
            "data or when it runs processing that needs an impact assessment (§ 38 BDSG); if "
            "you have one, add dpo with a name and an e-mail address.",
        )
        return
    if not _has_contact(dpo):
        ctx.report(
            "dpo.contact-missing",
            "dpo",
            f"The data protection officer '{dpo.name}' has no e-mail address, phone number "
            "or postal address; the statement must publish how to reach them.",
            "Add dpo.email (a role address such as privacy@… is enough).",
        )


def _representative(ctx: LintContext) -> None:
    controller = ctx.declaration.controller
    representative = controller.representative
    if representative is None:
        if not in_eea(controller.address.country):
            ctx.report(
                "representative.missing",
                "controller.representative",
                f"The controller '{controller.name}' sits in {controller.address.country}, "
                "outside the EEA, and names no representative in the Union.",
                "Appoint a representative in a member state where your users live and add "
                "controller.representative with name and contact details (only occasional, "
                "small-scale processing without special categories is exempt, Art. 27(2)).",
            )
        return
    if not _has_contact(representative):
        ctx.report(
            "representative.contact-missing",
            "controller.representative",
            f"The representative '{representative.name}' has no contact details.",
            "Add controller.representative.email or .address.",
        )
    address = representative.address
    if address is not None and not in_eea(address.country):
        ctx.report(
            "representative.outside-eea",
            "controller.representative.address.country",
            f"The representative '{representative.name}' sits in {address.country}; a "
            "representative must be established in the Union.",
            "Name a representative with an address in a member state where your users live.",
        )


def _rights(ctx: LintContext) -> None:
    covered = ctx.covered_rights()
    missing = [str(right) for right in STATEMENT_RIGHTS if right not in covered]
    if missing:
        ctx.report(
            "rights.channel-missing",
            "rights_channels",
            f"No rights channel takes requests for {listing(missing)}.",
            "Add these rights to a channel's rights list, or drop the rights list of one "
            "channel so that it takes every right.",
        )


def _change_notice(ctx: LintContext) -> None:
    notice = ctx.declaration.change_notice
    werktage = notice.days * _WERKTAGE_PER_DAY[notice.unit]
    if werktage < MIN_NOTICE_WERKTAGE:
        unit = str(notice.unit).replace("_", " ")
        ctx.report(
            "change-notice.too-short",
            "change_notice.days",
            f"Changes are announced only {notice.days} {unit} ahead, less than "
            f"{MIN_NOTICE_WERKTAGE} Werktage.",
            f"Set change_notice.days to {MIN_NOTICE_WERKTAGE} with unit werktage, so that "
            "people can object or leave before a change takes effect.",
        )
    if not notice.notify_subjects:
        ctx.report(
            "change-notice.subjects-not-notified",
            "change_notice.notify_subjects",
            "Changes to the statement are published but not sent to the people concerned.",
            "Set change_notice.notify_subjects to true; material changes, above all a new "
            "purpose, should reach people before they take effect.",
        )


def _automated_decisions(ctx: LintContext) -> None:
    declaration = ctx.declaration
    for index, decision in enumerate(declaration.automated_decisions):
        for position, purpose_id in enumerate(decision.purposes):
            path = f"automated_decisions[{index}].purposes[{position}]"
            purpose = declaration.purpose(purpose_id)
            if purpose is None:
                known = listing([p.id for p in declaration.purposes])
                ctx.report(
                    "automated-decision.unknown-purpose",
                    path,
                    f"The automated decision '{decision.id}' refers to the purpose "
                    f"'{purpose_id}', which is not declared.",
                    f"Use one of the declared purpose ids ({known}) or declare the purpose.",
                )
                continue
            special = ctx.special_keys(purpose)
            if special and purpose.special_category_ground not in _ART22_GROUNDS:
                ctx.report(
                    "automated-decision.special-category",
                    path,
                    f"The automated decision '{decision.id}' rests on the purpose "
                    f"'{purpose_id}', which uses special categories ({listing(special)}).",
                    "Base the purpose on explicit_consent or substantial_public_interest "
                    "(with suitable safeguards), or keep special categories out of it.",
                )


def _us_privacy(ctx: LintContext) -> None:
    declaration = ctx.declaration
    us = declaration.us_privacy
    if not us.applies:
        return
    selling = [r for r in declaration.recipients if r.sells_or_shares]
    if not (us.sells or us.shares):
        for index, recipient in enumerate(declaration.recipients):
            if recipient.sells_or_shares:
                ctx.report(
                    "us.sale-undeclared",
                    f"recipients[{index}].sells_or_shares",
                    f"Data given to '{recipient.id}' count as sold or shared, but "
                    "us_privacy says you neither sell nor share.",
                    "Set us_privacy.sells or us_privacy.shares to true, or stop the sale "
                    "and set sells_or_shares to false.",
                )
    covered = ctx.covered_rights()
    if us.sells or us.shares or selling:
        if Right.OPT_OUT_SALE not in covered:
            ctx.report(
                "us.opt-out-channel-missing",
                "rights_channels",
                "Personal information is sold or shared, but no rights channel takes "
                "opt-outs of sale or sharing.",
                'Add opt_out_sale to the rights of a web channel (the "Do Not Sell or '
                'Share My Personal Information" link).',
            )
        if not us.honours_gpc:
            ctx.report(
                "us.gpc-not-honoured",
                "us_privacy.honours_gpc",
                "Personal information is sold or shared, but the Global Privacy Control "
                "signal is not honoured as an opt-out.",
                "Set us_privacy.honours_gpc to true.",
            )
    methods = {c.kind for c in declaration.rights_channels if Right.ACCESS in c.rights}
    if len(methods) < 2:
        ctx.report(
            "us.single-request-method",
            "rights_channels",
            "Californian consumers can send requests to know by only one kind of channel.",
            "Offer at least two kinds (e.g. web form and e-mail); only a business that "
            "works solely online and has a direct relationship may offer e-mail alone.",
        )

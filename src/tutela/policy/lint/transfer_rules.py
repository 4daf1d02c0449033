"""Rules on recipients and on transfers to third countries (GDPR Chapter V)."""

from __future__ import annotations

from tutela.policy.duration import Period
from tutela.policy.lint.context import LintContext
from tutela.policy.lint.geography import ADEQUATE, DPF_COUNTRY, in_eea
from tutela.policy.models import Recipient, RecipientRole, Safeguard, Transfer

# The DPF List is re-certified yearly; a check older than this proves nothing.
DPF_CHECK_VALIDITY = Period(months=12)

_INVALIDATED = {
    Safeguard.SAFE_HARBOR: (
        "Safe Harbor",
        "the CJEU judgment C-362/14 (Schrems I) of 6 October 2015",
    ),
    Safeguard.PRIVACY_SHIELD: (
        "the EU-US Privacy Shield",
        "the CJEU judgment C-311/18 (Schrems II) of 16 July 2020",
    ),
}
# SCC modules seen from a controller: 1 controller to controller, 2 controller to processor.
_MODULE_FOR_ROLE = {
    RecipientRole.PROCESSOR: 2,
    RecipientRole.CONTROLLER: 1,
    RecipientRole.JOINT_CONTROLLER: 1,
}


def check(ctx: LintContext) -> None:
    used = _referenced_recipients(ctx)
    for index, recipient in enumerate(ctx.declaration.recipients):
        path = f"recipients[{index}]"
        _recipient(ctx, path, recipient, used)
        for position, transfer in enumerate(recipient.transfers):
            _transfer(ctx, f"{path}.transfers[{position}]", recipient, transfer)


def _referenced_recipients(ctx: LintContext) -> set[str]:
    declaration = ctx.declaration
    used = {rid for purpose in declaration.purposes for rid in purpose.recipients}
    used.update(holder for category in declaration.data_categories for holder in category.held_by)
    used.update(cookie.provider for cookie in declaration.cookies if cookie.provider)
    return used


def _recipient(ctx: LintContext, path: str, recipient: Recipient, used: set[str]) -> None:
    name = f"'{recipient.id}'"
    if recipient.role is RecipientRole.JOINT_CONTROLLER and recipient.joint_arrangement is None:
        ctx.report(
            "recipient.joint-arrangement-missing",
            f"{path}.joint_arrangement",
            f"The joint controller {name} is declared without the essence of the arrangement.",
            "Add joint_arrangement (de/en): who informs people, who answers requests, and "
            "that people may turn to either controller.",
        )
    if recipient.role is RecipientRole.PROCESSOR and recipient.contract_date is None:
        ctx.report(
            "recipient.contract-date-missing",
            f"{path}.contract_date",
            f"The processor {name} has no date for its data processing agreement.",
            "Add contract_date, the date the Art. 28 agreement was signed.",
        )
    if recipient.id not in used:
        ctx.report(
            "recipient.unused",
            path,
            f"The recipient {name} is declared but no purpose, data category or cookie "
            "refers to it, so the statement cannot say why it receives data.",
            "Add its id to the recipients of the purposes it serves, or remove it.",
        )
    countries = {transfer.country for transfer in recipient.transfers}
    if not in_eea(recipient.country) and recipient.country not in countries:
        ctx.report(
            "transfer.undeclared",
            f"{path}.transfers",
            f"The recipient {name} sits in {recipient.country}, outside the EEA, but no "
            f"transfer to {recipient.country} is declared.",
            f"Add a transfer with country {recipient.country} and its safeguard.",
        )


def _transfer(ctx: LintContext, path: str, recipient: Recipient, transfer: Transfer) -> None:
    country = transfer.country
    where = f"The transfer to '{recipient.id}' in {country}"
    if in_eea(country):
        ctx.report(
            "transfer.not-third-country",
            f"{path}.country",
            f"{where} is declared as a transfer, but {country} is in the EEA.",
            "Remove the transfer; data may flow within the EEA without a safeguard.",
        )
        return
    safeguard = transfer.safeguard
    if safeguard is None:
        ctx.report(
            "transfer.missing-safeguard",
            f"{path}.safeguard",
            f"{where} names no safeguard.",
            f"Set safeguard to {_suggestion(country)}.",
        )
        return
    if safeguard in _INVALIDATED:
        scheme, judgment = _INVALIDATED[safeguard]
        ctx.report(
            "transfer.invalid-safeguard",
            f"{path}.safeguard",
            f"{where} relies on {scheme}, which {judgment} declared invalid.",
            f"Set safeguard to {_suggestion(country)}.",
        )
        return
    if safeguard is Safeguard.ADEQUACY:
        _adequacy(ctx, path, where, country)
    elif safeguard is Safeguard.DATA_PRIVACY_FRAMEWORK:
        _privacy_framework(ctx, path, where, transfer)
    elif safeguard is Safeguard.DEROGATION:
        _derogation(ctx, path, where, recipient, transfer)
    else:
        if safeguard is Safeguard.SCC:
            _scc_module(ctx, path, where, recipient, transfer)
        if transfer.copy_available is None:
            ctx.report(
                "transfer.copy-info-missing",
                f"{path}.copy_available",
                f"{where} rests on {safeguard} but does not say how to obtain a copy.",
                "Add copy_available (de/en), e.g. that a copy is sent on request by e-mail.",
            )


def _suggestion(country: str) -> str:
    if country in ADEQUATE:
        return f"adequacy (the Commission found {country} adequate)"
    if country == DPF_COUNTRY:
        return "data_privacy_framework if the recipient is on the DPF List, else scc_2021_914"
    return "scc_2021_914 (standard contractual clauses) or bcr"


def _adequacy(ctx: LintContext, path: str, where: str, country: str) -> None:
    if country in ADEQUATE:
        return
    if country == DPF_COUNTRY:
        hint = "Use data_privacy_framework with dpf_certified: true, or scc_2021_914."
    else:
        hint = "Use scc_2021_914 (standard contractual clauses) or bcr."
    ctx.report(
        "transfer.no-adequacy-decision",
        f"{path}.safeguard",
        f"{where} relies on an adequacy decision, but the Commission has adopted none "
        f"for {country} as a whole.",
        hint,
    )


def _privacy_framework(ctx: LintContext, path: str, where: str, transfer: Transfer) -> None:
    if transfer.country != DPF_COUNTRY:
        ctx.report(
            "transfer.dpf-wrong-country",
            f"{path}.safeguard",
            f"{where} relies on the EU-US Data Privacy Framework, which covers only "
            "organisations in the United States.",
            "Use adequacy, scc_2021_914 or bcr for this country.",
        )
        return
    if transfer.dpf_certified is not True:
        ctx.report(
            "transfer.dpf-not-certified",
            f"{path}.dpf_certified",
            f"{where} relies on the Data Privacy Framework, but the recipient is not "
            "marked as certified.",
            "Look the organisation up on the DPF List (dataprivacyframework.gov); if it is "
            "active, set dpf_certified: true, otherwise use scc_2021_914.",
        )
    checked = transfer.dpf_list_checked_at
    if checked is None:
        ctx.report(
            "transfer.dpf-check-missing",
            f"{path}.dpf_list_checked_at",
            f"{where} relies on the Data Privacy Framework without a date of the last "
            "look at the DPF List.",
            "Check the DPF List and set dpf_list_checked_at to that date.",
        )
    elif ctx.today is not None and DPF_CHECK_VALIDITY.add_to(checked) < ctx.today:
        ctx.report(
            "transfer.dpf-check-stale",
            f"{path}.dpf_list_checked_at",
            f"{where} was last checked against the DPF List on {checked.isoformat()}, more "
            "than 12 months ago.",
            "Check the DPF List again and set dpf_list_checked_at to the date of the check.",
        )


def _scc_module(
    ctx: LintContext, path: str, where: str, recipient: Recipient, transfer: Transfer
) -> None:
    expected = _MODULE_FOR_ROLE.get(recipient.role)
    if transfer.scc_module is None:
        ctx.report(
            "transfer.scc-module-missing",
            f"{path}.scc_module",
            f"{where} rests on standard contractual clauses without naming the module.",
            f"Set scc_module (for a {recipient.role}: {expected or 'the module signed'}).",
        )
    elif expected is not None and transfer.scc_module != expected:
        ctx.report(
            "transfer.scc-module-mismatch",
            f"{path}.scc_module",
            f"{where} names SCC module {transfer.scc_module}, but a {recipient.role} "
            f"receiving data from a controller calls for module {expected}.",
            f"Check the signed clauses and set scc_module to {expected}, or correct the role.",
        )


def _derogation(
    ctx: LintContext, path: str, where: str, recipient: Recipient, transfer: Transfer
) -> None:
    if transfer.derogation is None:
        ctx.report(
            "transfer.derogation-undescribed",
            f"{path}.derogation",
            f"{where} rests on an Art. 49 derogation without naming which one and why.",
            "Add derogation (de/en), e.g. explicit consent after being told of the risks.",
        )
    if recipient.role is RecipientRole.PROCESSOR:
        ctx.report(
            "transfer.derogation-systematic",
            f"{path}.safeguard",
            f"{where} rests on an Art. 49 derogation, but a processor receives data "
            "regularly, and derogations cover only occasional transfers.",
            "Sign standard contractual clauses (scc_2021_914, module 2) with the processor.",
        )

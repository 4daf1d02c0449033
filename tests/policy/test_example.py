"""The bundled example declaration: it loads, its references resolve, it lints clean, and it
shows how each declarative promise is written down."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

import pytest

from tutela.policy.duration import Period
from tutela.policy.loader import load_declaration
from tutela.policy.models import (
    ChannelKind,
    CookieCategory,
    Declaration,
    GermanState,
    LegalBasis,
    NoticeUnit,
    Purpose,
    RecipientRole,
    RetentionEvent,
    Right,
    Safeguard,
    SourceKind,
)
from tutela.policy.taxonomy import Taxonomy, load_taxonomy

# A fixed "today" keeps the DPF List check dates from ageing the test.
TODAY = dt.date(2026, 6, 1)


@pytest.fixture(scope="module")
def example() -> Declaration:
    resource = resources.files("tutela.policy").joinpath("examples/example.yaml")
    with resources.as_file(resource) as path:
        return load_declaration(Path(path))


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


def purpose(example: Declaration, purpose_id: str) -> Purpose:
    found = example.purpose(purpose_id)
    assert found is not None, purpose_id
    return found


def days(period: Period | None) -> float:
    assert period is not None
    return period.approx_days()


def test_category_keys_exist_or_are_described_custom_keys(
    example: Declaration, taxonomy: Taxonomy
) -> None:
    for category in example.data_categories:
        if taxonomy.is_custom(category.key):
            assert category.description is not None, category.key
        else:
            assert taxonomy.category(category.key) is not None, category.key


def test_uses_and_subjects_exist(example: Declaration, taxonomy: Taxonomy) -> None:
    for item in example.purposes:
        assert taxonomy.use(item.data_use) is not None, item.data_use
        for subject in item.subjects:
            assert taxonomy.subject(subject) is not None, subject


def test_every_reference_resolves(example: Declaration) -> None:
    declared = {category.key for category in example.data_categories}
    recipients = {recipient.id for recipient in example.recipients}
    used_categories: set[str] = set()
    for item in example.purposes:
        assert set(item.categories.all()) <= declared, item.id
        assert set(item.recipients) <= recipients, item.id
        used_categories.update(item.categories.all())
    assert used_categories == declared
    for recipient in example.recipients:
        assert set(recipient.categories) <= declared, recipient.id
    for category in example.data_categories:
        assert set(category.held_by) <= recipients, category.key
    for cookie in example.cookies:
        assert cookie.purpose is None or example.purpose(cookie.purpose) is not None
        assert cookie.provider is None or cookie.provider in recipients
    for decision in example.automated_decisions:
        assert all(example.purpose(p) is not None for p in decision.purposes)


def test_lints_clean(example: Declaration) -> None:
    lint_module = pytest.importorskip("tutela.policy.lint")
    findings = lint_module.lint(example, today=TODAY)
    assert [f"{f.severity} {f.id} {f.path}: {f.message}" for f in findings] == []
    assert not lint_module.has_errors(lint_module.lint(example))


@pytest.mark.promise("P01")
def test_contact_and_billing_data_with_required_and_optional_fields(
    example: Declaration,
) -> None:
    contract = purpose(example, "contract")
    assert {"user.name.last", "user.contact.email", "user.contact.organization"} <= set(
        contract.categories.required
    )
    assert {"user.contact.fax_number", "user.job_title"} <= set(contract.categories.optional)
    assert any(key.startswith("x_") for key in contract.categories.optional)
    assert purpose(example, "invoicing").categories.required


@pytest.mark.promise("P02")
def test_card_data_is_held_only_by_a_processor(example: Declaration, taxonomy: Taxonomy) -> None:
    cards = [c for c in example.data_categories if taxonomy.holds_pan(c.key)]
    assert cards
    for category in cards:
        assert category.held_by
        for holder in category.held_by:
            recipient = example.recipient(holder)
            assert recipient is not None
            assert recipient.role is RecipientRole.PROCESSOR


@pytest.mark.promise("P04")
def test_newsletter_on_consent_with_double_opt_in(example: Declaration) -> None:
    newsletter = purpose(example, "newsletter")
    assert newsletter.legal_basis is LegalBasis.CONSENT
    assert newsletter.data_use == "marketing.communications.email"
    assert "Double-Opt-in" in newsletter.description.de
    assert "double opt-in" in newsletter.description.en
    assert ChannelKind.LINK_IN_MESSAGE in newsletter.objection_channels


@pytest.mark.promise("P05")
def test_soft_opt_in_for_similar_offers(example: Declaration) -> None:
    offers = [p for p in example.purposes if p.soft_opt_in]
    assert len(offers) == 1
    [offer] = offers
    assert offer.legal_basis is LegalBasis.LEGITIMATE_INTERESTS
    assert offer.legitimate_interest is not None
    assert ChannelKind.LINK_IN_MESSAGE in offer.objection_channels
    assert offer.subjects == ["customer"]


@pytest.mark.promise("P08")
def test_recipients_are_declared_with_their_roles(example: Declaration) -> None:
    roles = {recipient.role for recipient in example.recipients}
    assert {RecipientRole.PROCESSOR, RecipientRole.CONTROLLER} <= roles
    for recipient in example.recipients:
        assert not recipient.sells_or_shares
        if recipient.role is RecipientRole.PROCESSOR:
            assert recipient.contract_date is not None


@pytest.mark.promise("P10")
def test_server_logs_keep_ips_seven_days(example: Declaration) -> None:
    logs = purpose(example, "server_logs")
    assert "user.device.ip_address" in logs.categories.all()
    assert logs.legal_basis is LegalBasis.LEGITIMATE_INTERESTS
    assert logs.retention is not None
    assert logs.retention.period == Period(days=7)
    assert logs.retention.after is RetentionEvent.COLLECTION


@pytest.mark.promise("P11")
def test_vat_evidence_keeps_the_ip_until_contract_end(example: Declaration) -> None:
    vat = purpose(example, "vat_place_of_supply")
    assert "user.device.ip_address" in vat.categories.required
    assert vat.retention is not None
    assert vat.retention.after is RetentionEvent.CONTRACT_END


@pytest.mark.promise("P12")
def test_cookies_of_all_four_categories(example: Declaration) -> None:
    assert {cookie.category for cookie in example.cookies} == set(CookieCategory)
    session = next(c for c in example.cookies if c.category is CookieCategory.NECESSARY)
    assert session.lifetime == "session"
    for cookie in example.cookies:
        assert cookie.lifetime
        if cookie.category in (CookieCategory.ANALYTICS, CookieCategory.MARKETING):
            assert cookie.provider is not None
            provider = example.recipient(cookie.provider)
            assert provider is not None
            assert provider.country == "US"
            assert cookie.consent_required is not False
            assert cookie.purpose is not None
            assert purpose(example, cookie.purpose).legal_basis is LegalBasis.CONSENT


@pytest.mark.promise("P13")
@pytest.mark.promise("P14")
def test_us_transfers_under_dpf_and_scc(example: Declaration) -> None:
    transfers = [t for r in example.recipients for t in r.transfers]
    dpf = [t for t in transfers if t.safeguard is Safeguard.DATA_PRIVACY_FRAMEWORK]
    scc = [t for t in transfers if t.safeguard is Safeguard.SCC]
    assert dpf
    assert scc
    for transfer in dpf:
        assert transfer.country == "US"
        assert transfer.dpf_certified is True
        assert transfer.dpf_list_checked_at is not None
        assert transfer.dpf_list_checked_at.year == 2026
    for transfer in scc:
        assert transfer.scc_module == 2
        assert transfer.copy_available is not None
    invalid = {Safeguard.SAFE_HARBOR, Safeguard.PRIVACY_SHIELD}
    assert not any(t.safeguard in invalid for t in transfers)


@pytest.mark.promise("P15")
def test_connected_account_tokens_are_their_own_category(example: Declaration) -> None:
    calendar = purpose(example, "connected_calendar")
    assert calendar.categories.required == ["x_terminfuchs.connected_account_tokens"]
    category = example.category("x_terminfuchs.connected_account_tokens")
    assert category is not None
    assert category.description is not None
    assert "token" in category.description.de.lower()


@pytest.mark.promise("P16")
def test_rights_channels_web_email_post_fax(example: Declaration) -> None:
    kinds = {channel.kind for channel in example.rights_channels}
    assert {ChannelKind.WEB, ChannelKind.EMAIL, ChannelKind.POST, ChannelKind.FAX} <= kinds
    web = next(c for c in example.rights_channels if c.kind is ChannelKind.WEB)
    assert Right.ACCESS in web.rights
    assert Right.PORTABILITY in web.rights


@pytest.mark.promise("P18")
def test_every_purpose_has_a_retention(example: Declaration) -> None:
    for item in example.purposes:
        retention = item.retention
        assert retention is not None, item.id
        assert retention.period or retention.statutory or retention.criteria, item.id


@pytest.mark.promise("P17")
def test_statutory_retention_for_vouchers_and_books(example: Declaration) -> None:
    holds = {
        item.id: item.retention.statutory
        for item in example.purposes
        if item.retention is not None and item.retention.statutory is not None
    }
    assert holds["invoicing"].period == Period(years=8)
    assert "§ 14b" in holds["invoicing"].law
    assert "§ 147" in holds["invoicing"].law
    assert holds["bookkeeping"].period == Period(years=10)
    assert "§ 257" in holds["bookkeeping"].law
    assert all(hold.from_end_of_year for hold in holds.values())


@pytest.mark.promise("P20")
def test_change_notice_thirty_werktage(example: Declaration) -> None:
    notice = example.change_notice
    assert notice.days == 30
    assert notice.unit is NoticeUnit.WERKTAGE
    assert notice.states == "all"
    assert notice.notify_subjects
    assert example.controller.address.state is GermanState.BY


@pytest.mark.promise("P21")
def test_controller_dpo_and_supervisory_authority(example: Declaration) -> None:
    assert example.controller.contacts.email.endswith("example.de")
    assert example.dpo is not None
    assert example.dpo.external
    assert example.dpo.email
    authority = example.supervisory_authority
    assert "BayLDA" in authority.name.de
    assert authority.address.city == "Ansbach"


@pytest.mark.promise("P22")
def test_recordings_and_id_documents_have_explicit_purposes_and_short_retention(
    example: Declaration,
) -> None:
    limits = {"x_terminfuchs.call_recording": 30, "x_terminfuchs.id_document": 7}
    for key, limit in limits.items():
        category = example.category(key)
        assert category is not None
        assert category.description is not None
        users = [p for p in example.purposes if key in p.categories.all()]
        assert len(users) == 1, key
        assert users[0].retention is not None
        assert days(users[0].retention.period) <= limit


@pytest.mark.promise("P23")
def test_lead_data_from_a_third_party_source(example: Declaration) -> None:
    leads = [p for p in example.purposes if p.source.kind is SourceKind.THIRD_PARTY]
    assert leads
    for lead in leads:
        assert lead.source.description is not None
        assert lead.is_direct_marketing
        assert lead.objection_channels
        assert lead.subjects == ["prospect"]


@pytest.mark.promise("P24")
def test_us_privacy(example: Declaration) -> None:
    us = example.us_privacy
    assert us.applies
    assert not us.sells
    assert not us.shares
    assert us.honours_gpc
    assert us.response_days == 45


def test_automated_decision_is_described(example: Declaration) -> None:
    [decision] = example.automated_decisions
    assert decision.profiling
    assert decision.purposes == ["card_payment"]
    assert "Mitarbeiter" in decision.consequences.de


def test_security_measures_in_both_languages(example: Declaration) -> None:
    assert example.security_measures is not None
    assert "verschlüsselt" in example.security_measures.de
    assert "encrypted" in example.security_measures.en

"""The rendered privacy statement: every Art. 13/14 element, in German and English, HTML and MD.

Each check is named after its law.md ID (S13-a … S13-l, S14-*, S-21, S-26, S-cookie, S-ver,
S-lang, S-us). Expectations come from the declaration itself and from independent
per-language tables here, not from the renderer's own phrase tables.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from babel import Locale
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st

from tutela.errors import InvalidInput
from tutela.i18n import catalog_path
from tutela.policy.loader import load_declaration
from tutela.policy.models import Declaration, LegalBasis, Safeguard
from tutela.policy.statement import (
    StatementMeta,
    markdown_cell,
    render_statement,
)
from tutela.policy.taxonomy import load_taxonomy

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "tutela"
EXAMPLE = PACKAGE / "policy" / "examples" / "example.yaml"
LANGS = ("de", "en")
FMTS = ("html", "markdown")
MARK = "\u241e"  # a visible symbol, never whitespace
SECTION_ANCHORS = (
    "controller",
    "dpo",
    "data",
    "purposes",
    "sources",
    "recipients",
    "transfers",
    "retention",
    "provision",
    "cookies",
    "automated",
    "rights",
    "withdrawal",
    "objection",
    "complaint",
    "us",
    "security",
    "changes",
)
LETTER = {
    LegalBasis.CONSENT: "a",
    LegalBasis.CONTRACT: "b",
    LegalBasis.LEGAL_OBLIGATION: "c",
    LegalBasis.VITAL_INTERESTS: "d",
    LegalBasis.PUBLIC_TASK: "e",
    LegalBasis.LEGITIMATE_INTERESTS: "f",
}
ARTICLE_6 = {"de": "Art. 6 Abs. 1 lit. {} DSGVO", "en": "Art. 6(1)({}) GDPR"}
SIX_RIGHTS = {
    "de": (
        "Auskunft",
        "Berichtigung",
        "Löschung",
        "Einschränkung",
        "Widerspruch",
        "Datenübertragbarkeit",
    ),
    "en": ("access", "rectification", "erasure", "restriction", "object", "portability"),
}
SAFEGUARD_WORDS = {
    Safeguard.ADEQUACY: {"de": "Angemessenheitsbeschluss", "en": "Adequacy decision"},
    Safeguard.DATA_PRIVACY_FRAMEWORK: {
        "de": "Data Privacy Framework",
        "en": "Data Privacy Framework",
    },
    Safeguard.SCC: {"de": "Standardvertragsklauseln", "en": "Standard contractual clauses"},
    Safeguard.BCR: {
        "de": "Verbindliche interne Datenschutzvorschriften",
        "en": "Binding corporate rules",
    },
    Safeguard.DEROGATION: {"de": "Art. 49 Abs. 1 DSGVO", "en": "Art. 49(1) GDPR"},
}
SESSION = {"de": "bis zum Ende der Browsersitzung", "en": "until the end of the browser session"}
NO_AUTOMATED = {
    "de": "Wir treffen keine ausschließlich auf einer automatisierten Verarbeitung",
    "en": "We do not make decisions based solely on automated processing",
}
COMPLAINT = {
    "de": "Recht auf Beschwerde bei einer Aufsichtsbehörde",
    "en": "right to lodge a complaint with a supervisory authority",
}
WITHDRAW = {"de": ("jederzeit", "widerrufen"), "en": ("at any time", "withdraw")}
OPTIONAL = {"de": "Freiwillige Angaben", "en": "Optional data"}
NO_SALE = {
    "de": "Wir verkaufen Ihre personenbezogenen Informationen nicht",
    "en": "We do not sell your personal information",
}
GPC = {"de": "Global-Privacy-Control-Signal", "en": "Global Privacy Control signal"}

FIXTURE_YAML = """\
title:
  de: Datenschutzerklärung der Beispielwerk GmbH
  en: Privacy statement of Beispielwerk GmbH
controller:
  name: Beispielwerk GmbH
  address:
    street: Lindenallee 12
    postal_code: '80331'
    city: München
    country: DE
    state: BY
  contacts:
    email: datenschutz@beispielwerk.example
    phone: +49 89 1234560
    web: https://beispielwerk.example/privacy
  managing_directors: [Mara Quell]
dpo:
  name: Dr. Ida Sommer
  email: dsb@schutzkontor.example
  phone: +49 30 555000
  external: true
  organisation: Schutzkontor Beratung GmbH
supervisory_authority:
  name:
    de: Bayerisches Landesamt für Datenschutzaufsicht
    en: Bavarian State Office for Data Protection Supervision
  address:
    street: Promenade 18
    postal_code: '91522'
    city: Ansbach
    country: DE
  email: poststelle@lda.bayern.de
data_categories:
  - {key: user.name}
  - {key: user.contact.email}
  - {key: user.contact.address}
  - {key: user.contact.phone_number}
  - {key: user.job_title}
  - {key: user.device.ip_address}
  - key: x_beispiel.lead_score
    description: {de: Punktwert der Kaufneigung, en: Purchase likelihood score}
purposes:
  - id: contract
    data_use: essential.service
    name: {de: Kundenkonto und Vertrag, en: Customer account and contract}
    description: {de: Wir führen Ihr Kundenkonto., en: We run your account.}
    legal_basis: contract
    categories:
      required: [user.name, user.contact.email]
      optional: [user.contact.phone_number]
    retention: {period: P30D, after: account_closed}
    recipients: [hoster]
    provision:
      requirement: contract_prerequisite
      consequences:
        de: Ohne diese Daten kein Konto.
        en: Without these data no account.
  - id: invoicing
    data_use: finance.bookkeeping
    name: {de: Rechnungen, en: Invoices}
    description: {de: Wir stellen Rechnungen., en: We issue invoices.}
    legal_basis: legal_obligation
    categories:
      required: [user.name, user.contact.address]
    retention:
      statutory:
        law: § 147 AO, § 14b UStG
        period: P8Y
        documents: {de: Rechnungen, en: Invoices}
    provision:
      requirement: statutory
      consequences:
        de: Ohne Anschrift keine Rechnung.
        en: Without an address no invoice.
  - id: newsletter
    data_use: marketing.communications.email
    name: {de: Monatsbrief, en: Monthly letter}
    description: {de: Unser monatlicher Brief., en: Our monthly letter.}
    legal_basis: consent
    categories:
      required: [user.contact.email]
    retention: {period: P14D, after: consent_withdrawn}
    recipients: [mailer]
    objection_channels: [link_in_message]
  - id: security_logs
    data_use: essential.service.security
    name: {de: Server-Protokolle, en: Server logs}
    description: {de: Wir erkennen Angriffe., en: We detect attacks.}
    legal_basis: legitimate_interests
    legitimate_interest:
      de: Schutz unserer Systeme vor Angriffen
      en: Protecting our systems against attacks
    categories:
      required: [user.device.ip_address]
    retention: {period: P7D}
  - id: leads
    data_use: marketing.advertising
    name: {de: Interessentengewinnung, en: Finding prospects}
    description: {de: Wir bewerten Messekontakte., en: We rate fair contacts.}
    legal_basis: legitimate_interests
    legitimate_interest:
      de: Gewinnung neuer Geschäftskunden
      en: Winning new business customers
    categories:
      required: [user.name, user.job_title, x_beispiel.lead_score]
    source:
      kind: third_party
      description:
        de: Messeveranstalter Expo Nord GmbH
        en: Trade-fair organiser Expo Nord GmbH
    retention: {period: P6M}
    recipients: [crm]
    objection_channels: [email]
recipients:
  - id: hoster
    name: Rechenhaus AG
    role: processor
    country: DE
    service: {de: Hosting, en: Hosting}
  - id: mailer
    name: Postwolke Inc.
    role: processor
    country: US
    service: {de: E-Mail-Versand, en: Sending e-mail}
    transfers:
      - country: US
        safeguard: data_privacy_framework
        dpf_certified: true
        dpf_list_checked_at: '2026-01-10'
  - id: crm
    name: Kundenkartei Ltd
    role: processor
    country: IN
    service: {de: Kundenverwaltung, en: Customer management}
    transfers:
      - country: IN
        safeguard: scc_2021_914
        scc_module: 2
        copy_available: {de: Kopie auf Anfrage per E-Mail., en: Copy on request by e-mail.}
  - id: partner
    name: Messeverbund eG
    role: joint_controller
    country: DE
    service: {de: Messeplanung, en: Fair planning}
    joint_arrangement:
      de: Der Verbund beantwortet Auskunftsanfragen.
      en: The association answers access requests.
cookies:
  - name: session
    category: necessary
    lifetime: session
    purpose: contract
    description: {de: Hält Sie angemeldet., en: Keeps you signed in.}
  - name: _stats
    provider: crm
    party: third
    category: analytics
    lifetime: P13M
    description: {de: Zählt Besuche., en: Counts visits.}
rights_channels:
  - {kind: web, address: 'https://beispielwerk.example/privacy/requests'}
  - {kind: email}
  - {kind: post}
  - kind: link_in_message
    rights: [withdrawal, objection]
change_notice: {days: 30, unit: werktage}
us_privacy: {applies: true}
security_measures:
  de: Wir verschlüsseln alle Verbindungen.
  en: We encrypt all connections.
"""
FIXTURE: dict[str, Any] = yaml.safe_load(FIXTURE_YAML)

META = StatementMeta(
    version=3,
    published_at=dt.datetime(2026, 10, 1, 9, 30, tzinfo=dt.UTC),
    effective_at=dt.date(2026, 11, 22),
    revised_on=dt.date(2026, 10, 1),
    content_hash="9f" * 32,
    archive_url="https://beispielwerk.example/privacy/archive",
)
DRAFT = StatementMeta(
    version=None,
    published_at=None,
    effective_at=dt.date(2026, 11, 22),
    revised_on=dt.date(2026, 10, 1),
    content_hash=None,
)


def fixture_declaration(**changes: Any) -> Declaration:
    data = copy.deepcopy(FIXTURE)
    data.update(changes)
    return Declaration.model_validate(data)


@functools.cache
def declaration(name: str) -> Declaration:
    if name == "fixture":
        return fixture_declaration()
    if not EXAMPLE.exists():
        pytest.skip("the example declaration is not there yet")
    return load_declaration(EXAMPLE)


@functools.cache
def rendered(name: str, lang: str, fmt: str) -> str:
    return render_statement(declaration(name), language=lang, fmt=fmt, meta=META)  # type: ignore[arg-type]


# --- turning output into comparable text -------------------------------------------------


class _Flattener(HTMLParser):
    """Visible text, with a marker wherever a section or sub-section with an id starts."""

    INLINE = frozenset({"a", "strong", "em", "code", "time", "abbr", "span"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "title"):
            self.hidden += 1
        ident = dict(attrs).get("id")
        if tag in ("section", "h3") and ident:
            self.parts.append(f" {MARK}{ident}{MARK} ")
        elif tag not in self.INLINE:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "title"):
            self.hidden -= 1
        if tag not in self.INLINE:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def flatten(output: str, fmt: str) -> str:
    if fmt == "html":
        parser = _Flattener()
        parser.feed(output)
        text = "".join(parser.parts)
    else:
        text = re.sub(r'<a id="([^"]+)"></a>', lambda m: f" {MARK}{m[1]}{MARK} ", output)
        text = re.sub(r"(?m)^#{1,6} ", "", text).replace("**", "").replace("`", "")
    return " ".join(text.split())


def norm(text: str) -> str:
    return " ".join(text.split())


def segment(flat: str, anchor: str, *, stop: tuple[str, ...] | None = None) -> str:
    """The text from the marker of ``anchor`` to the next marker (of ``stop`` ids if given)."""
    start = flat.find(f"{MARK}{anchor}{MARK}")
    assert start >= 0, f"no block with id {anchor!r}"
    rest = flat[start + len(anchor) + 2 :]
    for match in re.finditer(f"{MARK}([^{MARK}]+){MARK}", rest):
        if stop is None or match[1] in stop:
            return rest[: match.start()]
    return rest


def section(name: str, lang: str, fmt: str, anchor: str) -> str:
    return segment(flatten(rendered(name, lang, fmt), fmt), anchor, stop=SECTION_ANCHORS)


def purpose_block(name: str, lang: str, fmt: str, purpose_id: str) -> str:
    return segment(flatten(rendered(name, lang, fmt), fmt), f"purpose-{purpose_id}")


def category_name(d: Declaration, key: str, lang: str) -> str:
    own = d.category(key)
    if own is not None and own.name is not None:
        return own.name.get(lang)
    entry = load_taxonomy().category(key)
    if entry is not None:
        return entry.name.get(lang)
    assert own is not None
    assert own.description is not None
    return own.description.get(lang).rstrip(".")


ALL = pytest.mark.parametrize("name", ["fixture", "example"])
EACH = pytest.mark.parametrize(("lang", "fmt"), [(lg, f) for lg in LANGS for f in FMTS])


# --- Art. 13 / 14, element by element ---------------------------------------------------


@ALL
@EACH
@pytest.mark.promise("P21")
def test_s13_a_controller_identity_and_contacts(name: str, lang: str, fmt: str) -> None:
    d = declaration(name)
    text = section(name, lang, fmt, "controller")
    address = d.controller.address
    assert d.controller.name in text
    assert address.street in text
    assert f"{address.postal_code} {address.city}" in text
    assert str(d.controller.contacts.email) in text
    assert Locale(lang).territories[address.country] in text


@EACH
@pytest.mark.promise("P21")
@pytest.mark.promise("P22")
def test_s13_a_representative_and_s13_c_special_category_ground(lang: str, fmt: str) -> None:
    representative = {"name": "Vertretung Europa SARL", "email": "eu@vertretung.example"}
    controller = {**FIXTURE["controller"], "representative": representative}
    purposes = copy.deepcopy(FIXTURE["purposes"])
    purposes[0]["special_category_ground"] = "explicit_consent"
    d = fixture_declaration(controller=controller, purposes=purposes)
    flat = flatten(render_statement(d, language=lang, fmt=fmt, meta=META), fmt)  # type: ignore[arg-type]
    controller_text = segment(flat, "controller", stop=SECTION_ANCHORS)
    title = {"de": "Vertreter in der Europäischen Union", "en": "representative in the European"}
    assert title[lang] in controller_text
    assert "Vertretung Europa SARL" in controller_text
    assert "eu@vertretung.example" in controller_text
    ground = {
        "de": "Ihre ausdrückliche Einwilligung (Art. 9 Abs. 2 lit. a DSGVO)",
        "en": "your explicit consent (Art. 9(2)(a) GDPR)",
    }
    assert ground[lang] in segment(flat, "purpose-contract")


@ALL
@EACH
@pytest.mark.promise("P21")
def test_s13_b_s37_dpo_contacts(name: str, lang: str, fmt: str) -> None:
    d = declaration(name)
    assert d.dpo is not None
    text = section(name, lang, fmt, "dpo")
    assert d.dpo.name in text
    for value in (d.dpo.email, d.dpo.phone, d.dpo.organisation):
        if value:
            assert str(value) in text


@ALL
@EACH
@pytest.mark.promise("P21")
def test_s13_c_each_purpose_with_its_legal_basis(name: str, lang: str, fmt: str) -> None:
    d = declaration(name)
    for purpose in d.purposes:
        block = purpose_block(name, lang, fmt, purpose.id)
        assert block.startswith(f" {norm(purpose.name.get(lang))}"), purpose.id
        assert norm(purpose.description.get(lang)) in block
        assert ARTICLE_6[lang].format(LETTER[purpose.legal_basis]) in block, purpose.id


@EACH
def test_s13_c_legal_basis_is_named_in_words(lang: str, fmt: str) -> None:
    words = {
        "contract": {"de": "Erfüllung eines Vertrags", "en": "Performance of a contract"},
        "invoicing": {"de": "rechtliche Verpflichtung", "en": "legal obligation"},
        "newsletter": {"de": "Ihre Einwilligung", "en": "Your consent"},
        "security_logs": {"de": "berechtigten Interessen", "en": "legitimate interests"},
    }
    for purpose_id, expected in words.items():
        assert expected[lang] in purpose_block("fixture", lang, fmt, purpose_id)


@ALL
@EACH
@pytest.mark.promise("P21")
def test_s13_d_each_legitimate_interest(name: str, lang: str, fmt: str) -> None:
    d = declaration(name)
    pursued = {"de": "Verfolgtes berechtigtes Interesse", "en": "Legitimate interest pursued"}
    checked = 0
    for purpose in d.purposes:
        if purpose.legal_basis is LegalBasis.LEGITIMATE_INTERESTS:
            assert purpose.legitimate_interest is not None
            block = purpose_block(name, lang, fmt, purpose.id)
            assert pursued[lang] in block
            assert norm(purpose.legitimate_interest.get(lang)) in block
            checked += 1
    assert checked > 0


@ALL
@EACH
@pytest.mark.promise("P08")
@pytest.mark.promise("P13")
def test_s13_e_each_recipient(name: str, lang: str, fmt: str) -> None:
    d = declaration(name)
    table = section(name, lang, fmt, "recipients")
    for recipient in d.recipients:
        assert recipient.name in table
        assert norm(recipient.service.get(lang)) in table
        assert Locale(lang).territories[recipient.country] in table
    for purpose in d.purposes:
        block = purpose_block(name, lang, fmt, purpose.id)
        for rid in purpose.recipients:
            named = d.recipient(rid)
            assert named is not None
            assert named.name in block, (purpose.id, rid)


@ALL
@EACH
@pytest.mark.promise("P13")
@pytest.mark.promise("P14")
def test_s13_f_each_transfer_with_country_and_safeguard(name: str, lang: str, fmt: str) -> None:
    d = declaration(name)
    text = section(name, lang, fmt, "transfers")
    transfers = [(r, t) for r in d.recipients for t in r.transfers]
    assert transfers
    for recipient, transfer in transfers:
        assert recipient.name in text
        assert Locale(lang).territories[transfer.country] in text
        assert transfer.safeguard is not None
        assert SAFEGUARD_WORDS[transfer.safeguard][lang] in text
        if transfer.copy_available is not None:
            assert norm(transfer.copy_available.get(lang)) in text
    copy_hint = {"de": "kopie", "en": "copy"}
    assert copy_hint[lang] in text.lower()


@EACH
@pytest.mark.promise("P14")
def test_s13_f_adequacy_decision_present_or_absent(lang: str, fmt: str) -> None:
    text = section("fixture", lang, fmt, "transfers")
    exists = {
        "de": "Der Angemessenheitsbeschluss erfasst diesen Empfänger",
        "en": "The adequacy decision covers this recipient",
    }
    absent = {
        "de": "stützt sich nicht auf einen Angemessenheitsbeschluss",
        "en": "does not rest on an adequacy decision",
    }
    module = {"de": "Modul 2", "en": "module 2"}
    assert exists[lang] in text
    assert absent[lang] in text
    assert module[lang] in text


@ALL
@EACH
@pytest.mark.promise("P18")
def test_s13_g_each_retention(name: str, lang: str, fmt: str) -> None:
    d = declaration(name)
    text = section(name, lang, fmt, "retention")
    for purpose in d.purposes:
        assert norm(purpose.name.get(lang)) in text
        retention = purpose.retention
        assert retention is not None
        block = purpose_block(name, lang, fmt, purpose.id)
        expected: list[str] = []
        if retention.period is not None:
            expected.append(retention.period.words(lang))
        if retention.statutory is not None:
            expected += [retention.statutory.law, retention.statutory.period.words(lang)]
        if retention.criteria is not None:
            expected.append(norm(retention.criteria.get(lang)))
        for fragment in expected:
            assert fragment in text, (purpose.id, fragment)
            assert fragment in block, (purpose.id, fragment)


@EACH
@pytest.mark.promise("P17")
@pytest.mark.promise("P18")
def test_s13_g_retention_in_words(lang: str, fmt: str) -> None:
    expected = {
        "contract": {
            "de": "bis 30 Tage nach Schließung des Kontos",
            "en": "until 30 days after the account is closed",
        },
        "invoicing": {
            "de": "Rechnungen: Aufbewahrung für 8 Jahre ab dem Ende des Kalenderjahres, in dem "
            "sie entstanden sind (§ 147 AO, § 14b UStG)",
            "en": "Invoices: kept for 8 years from the end of the calendar year in which they "
            "were created (§ 147 AO, § 14b UStG)",
        },
        "newsletter": {
            "de": "bis 14 Tage nach dem Widerruf der Einwilligung",
            "en": "until 14 days after consent is withdrawn",
        },
        "security_logs": {
            "de": "bis 7 Tage nach der Erhebung",
            "en": "until 7 days after collection",
        },
        "leads": {"de": "bis 6 Monate nach der Erhebung", "en": "until 6 months after collection"},
    }
    text = section("fixture", lang, fmt, "retention")
    for purpose_id, words in expected.items():
        assert words[lang] in text, purpose_id
        assert words[lang] in purpose_block("fixture", lang, fmt, purpose_id)


@ALL
@EACH
@pytest.mark.promise("P16")
def test_s13_h_all_six_rights_in_the_language(name: str, lang: str, fmt: str) -> None:
    text = section(name, lang, fmt, "rights")
    for word in SIX_RIGHTS[lang]:
        assert word in text, word


@EACH
@pytest.mark.promise("P16")
def test_s13_h_each_right_says_how_to_exercise_it(lang: str, fmt: str) -> None:
    flat = flatten(rendered("fixture", lang, fmt), fmt)
    how = {"de": "So üben Sie dieses Recht aus", "en": "How to exercise this right"}
    if fmt == "html":
        for right in (
            "access",
            "rectification",
            "erasure",
            "restriction",
            "portability",
            "objection",
        ):
            block = segment(flat, f"right-{right}")
            assert how[lang] in block
            assert "datenschutz@beispielwerk.example" in block
            assert "https://beispielwerk.example/privacy/requests" in block
            assert "Lindenallee 12" in block
    else:
        rights = section("fixture", lang, fmt, "rights")
        assert rights.count(how[lang]) == 8 - 1  # opt-out of sale has no channel here


@ALL
@EACH
@pytest.mark.promise("P06")
def test_s13_i_withdrawal_shown_prominently(name: str, lang: str, fmt: str) -> None:
    d = declaration(name)
    flat = flatten(rendered(name, lang, fmt), fmt)
    text = section(name, lang, fmt, "withdrawal")
    for word in WITHDRAW[lang]:
        assert word in text
    for purpose in d.purposes:
        if purpose.legal_basis is LegalBasis.CONSENT:
            assert norm(purpose.name.get(lang)) in text
    lead = flat[: flat.find(f"{MARK}controller{MARK}")]
    assert WITHDRAW[lang][1] in lead, "the withdrawal notice must come before the sections"


@ALL
@EACH
@pytest.mark.promise("P21")
def test_s13_j_complaint_and_authority(name: str, lang: str, fmt: str) -> None:
    d = declaration(name)
    text = section(name, lang, fmt, "complaint")
    authority = d.supervisory_authority
    assert COMPLAINT[lang] in text
    assert norm(authority.name.get(lang)) in text
    assert authority.address.city in text
    if authority.email:
        assert str(authority.email) in text


@ALL
@EACH
def test_s13_k_provision_and_consequences(name: str, lang: str, fmt: str) -> None:
    d = declaration(name)
    text = section(name, lang, fmt, "provision")
    with_provision = [p for p in d.purposes if p.provision is not None]
    assert with_provision
    for purpose in with_provision:
        assert purpose.provision is not None
        assert norm(purpose.name.get(lang)) in text
        assert norm(purpose.provision.consequences.get(lang)) in text


@EACH
def test_s13_k_provision_requirement_in_words(lang: str, fmt: str) -> None:
    text = section("fixture", lang, fmt, "provision")
    statutory = {"de": "Sie sind gesetzlich verpflichtet", "en": "The law requires you"}
    contract = {
        "de": "um einen Vertrag mit Ihnen zu schließen",
        "en": "to enter into a contract with you",
    }
    assert statutory[lang] in text
    assert contract[lang] in text


@ALL
@EACH
def test_s13_l_automated_decisions_or_their_absence(name: str, lang: str, fmt: str) -> None:
    d = declaration(name)
    text = section(name, lang, fmt, "automated")
    if not d.automated_decisions:
        assert NO_AUTOMATED[lang] in text
    for decision in d.automated_decisions:
        assert norm(decision.logic.get(lang)) in text
        assert norm(decision.significance.get(lang)) in text
        assert norm(decision.consequences.get(lang)) in text


@EACH
def test_s13_l_automated_decision_details(lang: str, fmt: str) -> None:
    decision: dict[str, Any] = {
        "id": "credit_check",
        "purposes": ["contract"],
        "logic": {"de": "Ein Punktwert aus Zahlungsverhalten.", "en": "A score from payments."},
        "significance": {"de": "Entscheidet über Rechnungskauf.", "en": "Decides on invoices."},
        "consequences": {"de": "Ohne Freigabe nur Vorkasse.", "en": "Otherwise prepayment."},
        "profiling": True,
    }
    d = fixture_declaration(automated_decisions=[decision])
    text = flatten(render_statement(d, language=lang, fmt=fmt, meta=META), fmt)  # type: ignore[arg-type]
    block = segment(text, "automated", stop=SECTION_ANCHORS)
    assert NO_AUTOMATED[lang] not in block
    for key in ("logic", "significance", "consequences"):
        assert decision[key][lang] in block
    assert "Profiling" in block or "profiling" in block
    review = {
        "de": "dass ein Mensch die Entscheidung überprüft",
        "en": "ask for a person to review the decision",
    }
    assert review[lang] in block


@ALL
@EACH
@pytest.mark.promise("P23")
def test_s14_source_and_categories_of_indirect_purposes(name: str, lang: str, fmt: str) -> None:
    d = declaration(name)
    text = section(name, lang, fmt, "sources")
    indirect = [p for p in d.purposes if p.source.kind.value != "subject"]
    assert indirect
    for purpose in indirect:
        assert norm(purpose.name.get(lang)) in text
        if purpose.source.description is not None:
            assert norm(purpose.source.description.get(lang)) in text
        for key in purpose.categories.all():
            assert norm(category_name(d, key, lang)) in text, key


@EACH
def test_s14_no_e_provision_not_asked_for_indirect_purposes(lang: str, fmt: str) -> None:
    text = section("fixture", lang, fmt, "provision")
    assert FIXTURE["purposes"][4]["name"][lang] not in text


@ALL
@EACH
@pytest.mark.promise("P05")
@pytest.mark.promise("P04")
def test_s21_objection_is_a_separate_highlighted_section(name: str, lang: str, fmt: str) -> None:
    d = declaration(name)
    output = rendered(name, lang, fmt)
    text = section(name, lang, fmt, "objection")
    title = {"de": "Ihr Widerspruchsrecht", "en": "Your right to object"}
    general = {"de": "Art. 6 Abs. 1 lit. e oder f DSGVO", "en": "Art. 6(1)(e) or (f) GDPR"}
    marketing = {"de": "Widerspruch gegen Direktwerbung", "en": "Objection to direct marketing"}
    assert title[lang] in text
    assert general[lang] in text
    assert marketing[lang] in text
    for purpose in d.purposes:
        if purpose.is_direct_marketing or purpose.legal_basis in (
            LegalBasis.LEGITIMATE_INTERESTS,
            LegalBasis.PUBLIC_TASK,
        ):
            assert norm(purpose.name.get(lang)) in text, purpose.id
    if fmt == "html":
        assert re.search(r'<section id="objection"[^>]*class="highlight"', output)
    rights = section(name, lang, fmt, "rights")
    assert general[lang] not in rights, "the objection text must stand apart from the rights"


@EACH
@pytest.mark.promise("P05")
def test_s21_direct_marketing_objection_names_its_channel(lang: str, fmt: str) -> None:
    text = section("fixture", lang, fmt, "objection")
    link = {
        "de": "Der Link in jeder unserer Nachrichten",
        "en": "The link contained in each of our messages",
    }
    assert link[lang] in text
    assert "datenschutz@beispielwerk.example" in text


@EACH
def test_s26_joint_controller_arrangement(lang: str, fmt: str) -> None:
    text = section("fixture", lang, fmt, "recipients")
    assert FIXTURE["recipients"][3]["joint_arrangement"][lang] in text


@ALL
@EACH
@pytest.mark.promise("P12")
def test_s_cookie_each_cookie_with_lifetime_and_party(name: str, lang: str, fmt: str) -> None:
    d = declaration(name)
    text = section(name, lang, fmt, "cookies")
    assert d.cookies
    for cookie in d.cookies:
        assert cookie.name in text
        lifetime = SESSION[lang] if cookie.lifetime == "session" else cookie.lifetime.words(lang)
        assert lifetime in text, cookie.name
        assert norm(cookie.description.get(lang)) in text
        if cookie.provider:
            recipient = d.recipient(cookie.provider)
            assert recipient is not None
            assert recipient.name in text
    party = {"de": ("Erstanbieter", "Drittanbieter"), "en": ("First party", "Third party")}
    for word in party[lang]:
        assert word in text


@ALL
@EACH
@pytest.mark.promise("P20")
def test_s_ver_header_shows_revision_effective_date_version_and_hash(
    name: str, lang: str, fmt: str
) -> None:
    flat = flatten(rendered(name, lang, fmt), fmt)
    head = flat[: flat.find(f"{MARK}controller{MARK}")]
    dates = {
        "de": ("1. Oktober 2026", "22. November 2026"),
        "en": ("1 October 2026", "22 November 2026"),
    }
    labels = {
        "de": ("Zuletzt überarbeitet", "Gültig ab", "Version"),
        "en": ("Last revised", "Effective from", "Version"),
    }
    for value in (*dates[lang], *labels[lang], "9f" * 32):
        assert value in head, value
    changes = section(name, lang, fmt, "changes")
    werktage = {"de": "mindestens 30 Werktage", "en": "at least 30 working days"}
    assert werktage[lang] in changes
    assert META.archive_url is not None
    assert META.archive_url in changes


@EACH
@pytest.mark.promise("P20")
def test_s_ver_draft_has_no_version_or_hash(lang: str, fmt: str) -> None:
    output = render_statement(declaration("fixture"), language=lang, fmt=fmt, meta=DRAFT)  # type: ignore[arg-type]
    draft = {"de": "Entwurf, noch nicht veröffentlicht", "en": "draft, not yet published"}
    assert draft[lang] in flatten(output, fmt)


@ALL
@EACH
@pytest.mark.promise("P24")
def test_s_us_california_section(name: str, lang: str, fmt: str) -> None:
    d = declaration(name)
    assert d.us_privacy.applies
    text = section(name, lang, fmt, "us")
    if not (d.us_privacy.sells or d.us_privacy.shares):
        assert NO_SALE[lang] in text
    if d.us_privacy.honours_gpc:
        assert GPC[lang] in text
    assert str(d.us_privacy.response_days) in text
    for category in d.data_categories:
        assert norm(category_name(d, category.key, lang)) in text


@EACH
@pytest.mark.promise("P24")
def test_s_us_sale_and_opt_out_route(lang: str, fmt: str) -> None:
    channels = [
        *FIXTURE["rights_channels"],
        {
            "kind": "web",
            "address": "https://beispielwerk.example/do-not-sell",
            "rights": ["opt_out_sale"],
        },
    ]
    d = fixture_declaration(
        us_privacy={"applies": True, "sells": True, "honours_gpc": True}, rights_channels=channels
    )
    text = flatten(render_statement(d, language=lang, fmt=fmt, meta=META), fmt)  # type: ignore[arg-type]
    block = segment(text, "us", stop=SECTION_ANCHORS)
    assert NO_SALE[lang] not in block
    sells = {
        "de": "Wir verkaufen personenbezogene Informationen.",
        "en": "We sell personal information.",
    }
    assert sells[lang] in block
    assert "https://beispielwerk.example/do-not-sell" in block


@EACH
def test_optional_sections_are_left_out_when_empty(lang: str, fmt: str) -> None:
    d = fixture_declaration(
        us_privacy={"applies": False}, cookies=[], dpo=None, security_measures=None
    )
    flat = flatten(render_statement(d, language=lang, fmt=fmt, meta=META), fmt)  # type: ignore[arg-type]
    for anchor in ("us", "cookies", "dpo", "security"):
        assert f"{MARK}{anchor}{MARK}" not in flat
    for anchor in ("controller", "rights", "objection", "complaint", "changes"):
        assert f"{MARK}{anchor}{MARK}" in flat


@EACH
@pytest.mark.promise("P14")
def test_s13_f_no_transfers_is_said_explicitly(lang: str, fmt: str) -> None:
    recipients = [r for r in FIXTURE["recipients"] if not r.get("transfers")]
    d = fixture_declaration(recipients=recipients, cookies=FIXTURE["cookies"][:1])
    flat = flatten(render_statement(d, language=lang, fmt=fmt, meta=META), fmt)  # type: ignore[arg-type]
    none = {
        "de": "Wir übermitteln keine personenbezogenen Daten in Länder außerhalb",
        "en": "We do not transfer personal data to countries outside",
    }
    assert none[lang] in segment(flat, "transfers", stop=SECTION_ANCHORS)


@ALL
@EACH
@pytest.mark.promise("P01")
def test_p01_required_and_optional_categories_per_purpose(name: str, lang: str, fmt: str) -> None:
    d = declaration(name)
    required = {"de": "Erforderliche Daten", "en": "Required data"}
    for purpose in d.purposes:
        block = purpose_block(name, lang, fmt, purpose.id)
        if purpose.categories.required:
            assert required[lang] in block
        if purpose.categories.optional:
            optional_part = block[block.index(OPTIONAL[lang]) :]
            for key in purpose.categories.optional:
                assert norm(category_name(d, key, lang)) in optional_part, key
    data = section(name, lang, fmt, "data")
    for category in d.data_categories:
        assert norm(category_name(d, category.key, lang)) in data


def test_s_lang_both_languages_have_the_same_structure() -> None:
    for name in ("fixture", "example"):
        ids = {}
        for lang in LANGS:
            html = rendered(name, lang, "html")
            ids[lang] = (
                re.findall(r'\sid="([^"]+)"', html),
                html.count("<tr>"),
                html.count("<li>"),
            )
        assert ids["de"] == ids["en"], name


# --- HTML structure ----------------------------------------------------------------------


class _Structure(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.tables: list[dict[str, int]] = []
        self.in_table = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self.tables.append({"caption": 0, "th": 0, "th_scoped": 0})
        elif self.tables and tag in ("caption", "th"):
            self.tables[-1][tag] += 1
            if tag == "th" and dict(attrs).get("scope") in ("col", "row"):
                self.tables[-1]["th_scoped"] += 1

    def find(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def structure(html: str) -> _Structure:
    parser = _Structure()
    parser.feed(html)
    return parser


@ALL
@pytest.mark.parametrize("lang", LANGS)
def test_html_is_an_accessible_standalone_document(name: str, lang: str) -> None:
    html = rendered(name, lang, "html")
    doc = structure(html)
    assert html.startswith("<!DOCTYPE html>")
    assert doc.find("html") == [{"lang": lang}]
    assert len(doc.find("h1")) == 1
    assert doc.find("main")
    assert doc.find("nav")
    assert doc.tables
    for table in doc.tables:
        assert table["caption"] == 1
        assert table["th"] > 0
        assert table["th_scoped"] == table["th"]
    ids = {attrs["id"] for _, attrs in doc.tags if attrs.get("id")}
    internal = [a["href"] for a in doc.find("a") if (a.get("href") or "").startswith("#")]
    assert internal
    for href in internal:
        assert href is not None
        assert href[1:] in ids, href
    sections = doc.find("section")
    assert len(doc.find("h2")) == len(sections) + 1  # one per section and the contents
    assert all(s.get("aria-labelledby") for s in sections)


@ALL
@pytest.mark.parametrize("lang", LANGS)
def test_html_has_no_scripts_and_no_external_requests(name: str, lang: str) -> None:
    html = rendered(name, lang, "html")
    doc = structure(html)
    assert not doc.find("script")
    assert not doc.find("img")
    assert not doc.find("iframe")
    assert all(not attrs.get("src") for _, attrs in doc.tags)
    assert all((link.get("href") or "").startswith("?") for link in doc.find("link"))
    assert "@import" not in html
    assert "url(" not in html
    assert re.search(r"\son[a-z]+=", html) is None
    assert "@media print" in html


@pytest.mark.parametrize(("lang", "other"), [("de", "en"), ("en", "de")])
def test_html_links_the_other_language_and_the_markdown_variant(lang: str, other: str) -> None:
    doc = structure(rendered("fixture", lang, "html"))
    hrefs = [a.get("href") or "" for a in doc.find("a")]
    assert f"?lang={other}" in hrefs
    assert any(h.startswith("?format=md") for h in hrefs)
    alternates = {(link.get("type"), link.get("hreflang")) for link in doc.find("link")}
    assert ("text/markdown", None) in alternates
    assert (None, other) in alternates


@pytest.mark.parametrize("lang", LANGS)
def test_markdown_has_one_title_and_resolvable_contents(lang: str) -> None:
    text = rendered("fixture", lang, "markdown")
    assert len(re.findall(r"^# ", text, flags=re.M)) == 1
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    links = re.findall(r"\]\(#([^)]+)\)", text)
    assert links
    assert set(links) <= anchors
    assert "\n\n\n" not in text
    for line in text.splitlines():
        if line.startswith("|"):
            assert line.endswith("|"), line


# --- escaping ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FMTS)
def test_declaration_text_is_escaped(fmt: str) -> None:
    purposes = copy.deepcopy(FIXTURE["purposes"])
    purposes[0]["description"] = {
        "de": "<script>alert(1)</script> & mehr",
        "en": "<script>alert(1)</script> & more",
    }
    controller = {**FIXTURE["controller"], "name": "Werk <b>fett</b> & Co"}
    dpo = {**FIXTURE["dpo"], "organisation": "<i>Kanzlei</i>"}
    recipients = copy.deepcopy(FIXTURE["recipients"])
    recipients[3]["name"] = "<u>Verbund</u>"
    d = fixture_declaration(
        purposes=purposes, controller=controller, dpo=dpo, recipients=recipients
    )
    for lang in LANGS:
        output = render_statement(d, language=lang, fmt=fmt, meta=META)  # type: ignore[arg-type]
        for tag in ("<script>", "<b>", "<i>", "<u>"):
            assert tag not in output
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in output
        if fmt == "html":
            assert "Werk &lt;b&gt;fett&lt;/b&gt; &amp; Co" in output
            assert "&lt;i&gt;Kanzlei&lt;/i&gt;" in output
            assert "&lt;u&gt;Verbund&lt;/u&gt;" in output


@given(st.text(max_size=200))
def test_markdown_cells_stay_in_their_cell(text: str) -> None:
    cell = markdown_cell(text)
    assert "\n" not in cell
    assert "\r" not in cell
    assert "<" not in cell
    assert re.search(r"(?<!\\)\|", cell) is None


def test_unsupported_language_or_format_is_refused() -> None:
    with pytest.raises(InvalidInput, match="language 'fr' is not supported"):
        render_statement(declaration("fixture"), language="fr", fmt="html", meta=META)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="format 'pdf' is not supported"):
        render_statement(declaration("fixture"), language="de", fmt="pdf", meta=META)  # type: ignore[arg-type]


# --- the catalog ------------------------------------------------------------------------


def extracted_msgids() -> set[str]:
    """Every msgid the statement uses: from the templates and from the ``Phrase`` calls."""
    keywords = {**DEFAULT_KEYWORDS, "Phrase": None}
    found: set[str] = set()
    templates = extract_from_dir(
        PACKAGE / "templates" / "statement",
        method_map=[("**.j2", "jinja2")],
        options_map={"**.j2": {"extensions": "jinja2.ext.i18n"}},
        keywords=keywords,
    )
    python = extract_from_dir(
        PACKAGE / "policy", method_map=[("statement*.py", "python")], keywords=keywords
    )
    for _, _, message, _, _ in [*templates, *python]:
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(lang: str) -> dict[str, str | tuple[str, ...]]:
    with catalog_path(lang, "statement").open("rb") as handle:
        po = read_po(handle, locale=lang)
    entries: dict[str, str | tuple[str, ...]] = {}
    for message in po:
        if not message.id or message.fuzzy:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        entries[key] = message.string  # type: ignore[assignment]
    return entries


def test_extraction_finds_the_statement_messages() -> None:
    found = extracted_msgids()
    assert len(found) > 150
    assert "Your right to object" in found  # a Phrase in Python
    assert "Legal basis" in found  # a template label


def test_german_catalog_translates_every_msgid() -> None:
    german = catalog("de")
    missing = sorted(m for m in extracted_msgids() if not german.get(m))
    assert not missing, f"add German translations to statement.po for: {missing}"
    plural = [v for v in german.values() if isinstance(v, tuple)]
    assert plural
    assert all(all(form for form in forms) for forms in plural)


def test_catalogs_hold_no_stale_messages() -> None:
    used = extracted_msgids()
    for lang in LANGS:
        stale = sorted(set(catalog(lang)) - used)
        assert not stale, f"remove unused msgids from {lang}/statement.po: {stale}"
    assert set(catalog("en")) == used


_PLACEHOLDER = re.compile(r"%\(\w+\)s")


def english_fragments() -> set[str]:
    german = catalog("de")
    german_text = " ".join(" ".join(v) if isinstance(v, tuple) else v for v in german.values())
    fragments: set[str] = set()
    for msgid in extracted_msgids():
        if german.get(msgid) == msgid:
            continue
        for part in _PLACEHOLDER.split(msgid):
            part = part.strip(" ()[]:;,.–")
            if len(part) >= 4 and re.search(r"[A-Za-z]", part) and part not in german_text:
                fragments.add(part)
    return fragments


@pytest.mark.parametrize("name", ["fixture", "example"])
@pytest.mark.parametrize("fmt", FMTS)
def test_german_output_contains_no_untranslated_msgid(name: str, fmt: str) -> None:
    text = flatten(rendered(name, "de", fmt), fmt)
    fragments = english_fragments()
    assert len(fragments) > 150
    leftovers = sorted(f for f in fragments if re.search(rf"(?<!\w){re.escape(f)}(?!\w)", text))
    assert not leftovers, f"English left in the German statement: {leftovers}"


def test_english_output_uses_the_english_msgids() -> None:
    text = flatten(rendered("fixture", "en", "html"), "html")
    assert "Your right to object" in text
    assert "Ihr Widerspruchsrecht" not in text

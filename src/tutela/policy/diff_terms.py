"""The terms the diff sentences are built from, in German and English.

Legal bases, recipient roles, safeguards, cookie categories and the like, each
worded to fit the slot it fills in :data:`tutela.policy.diff_text.SENTENCES`.
"""

from __future__ import annotations

from functools import lru_cache

from babel import Locale

from tutela.policy.diff_text import Phrase
from tutela.policy.duration import Period
from tutela.policy.models import (
    ChangeNotice,
    ChannelKind,
    Cookie,
    CookieCategory,
    DataProtectionOfficer,
    LegalBasis,
    NoticeUnit,
    ProvisionRequirement,
    RecipientRole,
    Retention,
    RetentionEvent,
    RightsChannel,
    Safeguard,
    SourceKind,
    SpecialCategoryGround,
)

P = Phrase
NONE = P(de="keine", en="none")
NO_PURPOSE = P(de="kein bestimmter Zweck", en="no specific purpose")
PROFILING = P(de=" einschließlich Profiling", en=" including profiling")
NOT_STATED = P(de="nicht angegeben", en="not stated")

# "New purpose … {basis_on}."
BASIS_ON = {
    LegalBasis.CONSENT: P(de="auf Grundlage einer Einwilligung", en="on the basis of consent"),
    LegalBasis.CONTRACT: P(de="auf Grundlage eines Vertrags", en="on the basis of a contract"),
    LegalBasis.LEGAL_OBLIGATION: P(
        de="auf Grundlage einer rechtlichen Verpflichtung",
        en="on the basis of a legal obligation",
    ),
    LegalBasis.VITAL_INTERESTS: P(
        de="auf Grundlage lebenswichtiger Interessen", en="on the basis of vital interests"
    ),
    LegalBasis.PUBLIC_TASK: P(
        de="auf Grundlage einer Aufgabe im öffentlichen Interesse",
        en="on the basis of a task in the public interest",
    ),
    LegalBasis.LEGITIMATE_INTERESTS: P(
        de="auf Grundlage berechtigter Interessen", en="on the basis of legitimate interests"
    ),
}

# "… a different legal basis: {new} instead of {old}."
BASIS = {
    LegalBasis.CONSENT: P(de="Einwilligung", en="consent"),
    LegalBasis.CONTRACT: P(de="Vertrag", en="contract"),
    LegalBasis.LEGAL_OBLIGATION: P(de="rechtliche Verpflichtung", en="legal obligation"),
    LegalBasis.VITAL_INTERESTS: P(de="lebenswichtige Interessen", en="vital interests"),
    LegalBasis.PUBLIC_TASK: P(
        de="Aufgabe im öffentlichen Interesse", en="task in the public interest"
    ),
    LegalBasis.LEGITIMATE_INTERESTS: P(de="berechtigte Interessen", en="legitimate interests"),
}

_GROUNDS = {
    SpecialCategoryGround.EXPLICIT_CONSENT: ("a", "ausdrückliche Einwilligung", "explicit consent"),
    SpecialCategoryGround.EMPLOYMENT: (
        "b",
        "Pflichten aus Arbeitsrecht und sozialer Sicherheit",
        "obligations in employment and social security law",
    ),
    SpecialCategoryGround.VITAL_INTERESTS: (
        "c",
        "lebenswichtige Interessen einer Person, die nicht einwilligen kann",
        "vital interests of a person unable to consent",
    ),
    SpecialCategoryGround.NOT_FOR_PROFIT: (
        "d",
        "Tätigkeit einer Organisation ohne Gewinnerzielungsabsicht",
        "activities of a not-for-profit body",
    ),
    SpecialCategoryGround.MADE_PUBLIC: (
        "e",
        "von der betroffenen Person öffentlich gemachte Daten",
        "data made public by the person concerned",
    ),
    SpecialCategoryGround.LEGAL_CLAIMS: ("f", "Rechtsansprüche", "legal claims"),
    SpecialCategoryGround.SUBSTANTIAL_PUBLIC_INTEREST: (
        "g",
        "erhebliches öffentliches Interesse",
        "substantial public interest",
    ),
    SpecialCategoryGround.HEALTH_CARE: (
        "h",
        "Gesundheits- oder Sozialversorgung",
        "health or social care",
    ),
    SpecialCategoryGround.PUBLIC_HEALTH: ("i", "öffentliche Gesundheit", "public health"),
    SpecialCategoryGround.ARCHIVING_RESEARCH: (
        "j",
        "Archivzwecke, Forschung oder Statistik",
        "archiving, research or statistics",
    ),
}

SOURCE = {
    SourceKind.SUBJECT: P(de="von der betroffenen Person", en="from the person concerned"),
    SourceKind.THIRD_PARTY: P(de="von Dritten", en="from third parties"),
    SourceKind.PUBLIC: P(
        de="aus öffentlich zugänglichen Quellen", en="from publicly available sources"
    ),
}

_REQUIREMENTS = {
    ProvisionRequirement.STATUTORY: P(de="gesetzlich vorgeschrieben", en="required by law"),
    ProvisionRequirement.CONTRACTUAL: P(de="vertraglich vorgeschrieben", en="required by contract"),
    ProvisionRequirement.CONTRACT_PREREQUISITE: P(
        de="für einen Vertragsschluss erforderlich", en="needed to conclude a contract"
    ),
    ProvisionRequirement.VOLUNTARY: P(de="freiwillig", en="voluntary"),
}

CHANNEL = {
    ChannelKind.WEB: P(de="Webformular", en="web form"),
    ChannelKind.EMAIL: P(de="E-Mail", en="e-mail"),
    ChannelKind.POST: P(de="Post", en="post"),
    ChannelKind.FAX: P(de="Fax", en="fax"),
    ChannelKind.PHONE: P(de="Telefon", en="telephone"),
    ChannelKind.LINK_IN_MESSAGE: P(de="Link in jeder Nachricht", en="link in each message"),
}

ROLE = {
    RecipientRole.PROCESSOR: P(de="Auftragsverarbeiter", en="a processor"),
    RecipientRole.CONTROLLER: P(
        de="eigenständiger Verantwortlicher", en="an independent controller"
    ),
    RecipientRole.JOINT_CONTROLLER: P(de="gemeinsam Verantwortlicher", en="a joint controller"),
    RecipientRole.AUTHORITY: P(de="Behörde", en="a public authority"),
}

_SAFEGUARDS = {
    Safeguard.ADEQUACY: P(de="Angemessenheitsbeschluss", en="adequacy decision"),
    Safeguard.DATA_PRIVACY_FRAMEWORK: P(
        de="EU-US Data Privacy Framework", en="EU-US Data Privacy Framework"
    ),
    Safeguard.SCC: P(
        de="Standardvertragsklauseln (Durchführungsbeschluss (EU) 2021/914)",
        en="standard contractual clauses (Implementing Decision (EU) 2021/914)",
    ),
    Safeguard.BCR: P(
        de="verbindliche interne Datenschutzvorschriften", en="binding corporate rules"
    ),
    Safeguard.DEROGATION: P(de="Ausnahme nach Art. 49 DSGVO", en="derogation under Art. 49 GDPR"),
    Safeguard.SAFE_HARBOR: P(de="Safe Harbor (ungültig)", en="Safe Harbor (invalid)"),
    Safeguard.PRIVACY_SHIELD: P(de="Privacy Shield (ungültig)", en="Privacy Shield (invalid)"),
}

STORAGE = {
    "cookie": P(de="Cookie", en="cookie"),
    "local_storage": P(de="Eintrag im lokalen Speicher", en="local storage entry"),
    "session_storage": P(de="Eintrag im Sitzungsspeicher", en="session storage entry"),
    "pixel": P(de="Zählpixel", en="tracking pixel"),
}

COOKIE_CATEGORY = {
    CookieCategory.NECESSARY: P(de="unbedingt erforderlich", en="strictly necessary"),
    CookieCategory.FUNCTIONAL: P(de="funktional", en="functional"),
    CookieCategory.ANALYTICS: P(de="Statistik", en="analytics"),
    CookieCategory.MARKETING: P(de="Marketing", en="marketing"),
}

_AFTER = {
    RetentionEvent.COLLECTION: P(de="nach der Erhebung", en="after collection"),
    RetentionEvent.ACCOUNT_CLOSED: P(
        de="nach Schließung des Kontos", en="after the account is closed"
    ),
    RetentionEvent.CONTRACT_END: P(de="nach Vertragsende", en="after the contract ends"),
    RetentionEvent.CONSENT_WITHDRAWN: P(
        de="nach Widerruf der Einwilligung", en="after consent is withdrawn"
    ),
    RetentionEvent.OBJECTION: P(de="nach einem Widerspruch", en="after an objection"),
    RetentionEvent.LAST_ACTIVITY: P(de="nach der letzten Aktivität", en="after the last activity"),
    RetentionEvent.REQUEST_CLOSED: P(
        de="nach Abschluss der Anfrage", en="after the request is closed"
    ),
    RetentionEvent.SESSION_END: P(de="nach Ende der Sitzung", en="after the session ends"),
    RetentionEvent.PURPOSE_FULFILLED: P(
        de="nach Erreichen des Zwecks", en="after the purpose is fulfilled"
    ),
}

_NOTICE_UNITS = {
    NoticeUnit.WERKTAGE: (("Werktag", "Werktage"), ("working day", "working days"), " (Mon–Sat)"),
    NoticeUnit.ARBEITSTAGE: (
        ("Arbeitstag", "Arbeitstage"),
        ("working day", "working days"),
        " (Mon–Fri)",
    ),
    NoticeUnit.CALENDAR_DAYS: (
        ("Kalendertag", "Kalendertage"),
        ("calendar day", "calendar days"),
        "",
    ),
}

CONTROLLER_FIELDS = {
    "address": P(de="Anschrift", en="address"),
    "contacts": P(de="Kontaktdaten", en="contact details"),
    "representative": P(de="Vertreter in der EU", en="representative in the EU"),
    "managing_directors": P(de="Geschäftsführung", en="managing directors"),
    "commercial_register": P(de="Handelsregistereintrag", en="commercial register entry"),
    "vat_id": P(de="Umsatzsteuer-Identifikationsnummer", en="VAT identification number"),
}

RECIPIENT_FIELDS = {
    "address": P(de="Anschrift", en="address"),
    "joint_arrangement": P(
        de="Vereinbarung über die gemeinsame Verantwortlichkeit",
        en="arrangement between joint controllers",
    ),
    "contract_date": P(
        de="Datum des Vertrags zur Auftragsverarbeitung", en="date of the processing contract"
    ),
}

TRANSFER_FIELDS = {
    "dpf_certified": P(de="DPF-Zertifizierung", en="DPF certification"),
    "dpf_list_checked_at": P(de="Prüfung der DPF-Liste", en="check of the DPF List"),
    "scc_module": P(de="Modul der Standardvertragsklauseln", en="module of the SCCs"),
    "copy_available": P(de="Bezug einer Kopie der Garantien", en="how to obtain a copy"),
    "derogation": P(de="Ausnahme nach Art. 49 DSGVO", en="derogation under Art. 49 GDPR"),
}

COOKIE_FIELDS = {
    "description": P(de="Beschreibung", en="description"),
    "party": P(de="Erst- oder Drittanbieter", en="first or third party"),
    "storage": P(de="Speicherort", en="where it is stored"),
}

DECISION_FIELDS = {
    "logic": P(de="involvierte Logik", en="logic involved"),
    "significance": P(de="Tragweite", en="significance"),
    "consequences": P(de="angestrebte Auswirkungen", en="envisaged consequences"),
    "purposes": P(de="Zwecke", en="purposes"),
    "profiling": P(de="Profiling", en="profiling"),
}

US_FIELDS = ("applies", "honours_gpc", "response_days", "contact")


def basis(value: LegalBasis) -> Phrase:
    return BASIS[value]


def source(value: SourceKind) -> Phrase:
    return SOURCE[value]


def role(value: RecipientRole) -> Phrase:
    return ROLE[value]


def cookie_category(value: CookieCategory) -> Phrase:
    return COOKIE_CATEGORY[value]


def ground(value: SpecialCategoryGround | None) -> Phrase:
    if value is None:
        return NONE
    letter, de, en = _GROUNDS[value]
    return P(de=f"{de} (Art. 9 Abs. 2 lit. {letter} DSGVO)", en=f"{en} (Art. 9(2)({letter}) GDPR)")


def requirement(value: ProvisionRequirement | None) -> Phrase:
    return NOT_STATED if value is None else _REQUIREMENTS[value]


def safeguard(value: Safeguard | None) -> Phrase:
    return NONE if value is None else _SAFEGUARDS[value]


@lru_cache(maxsize=512)
def country(code: str) -> Phrase:
    """The country's name in both languages (the code itself when unknown)."""
    de = Locale.parse("de").territories.get(code, code)
    en = Locale.parse("en").territories.get(code, code)
    return P(de=str(de), en=str(en))


def channel(entry: RightsChannel) -> Phrase:
    label = CHANNEL[entry.kind]
    if not entry.address:
        return label
    return P(de=f"{label.de} ({entry.address})", en=f"{label.en} ({entry.address})")


def channel_key(entry: RightsChannel) -> str:
    return f"{entry.kind.value}:{entry.address or ''}"


def cookie_key(entry: Cookie) -> str:
    return f"{entry.name}@{entry.provider}" if entry.provider else entry.name


def provider(name: Phrase | None) -> Phrase:
    if name is None:
        return P.same("")
    return P(de=f", Anbieter: {name.de}", en=f", provider: {name.en}")


def lifetime(value: Period | str) -> Phrase:
    if isinstance(value, Period):
        return P(de=value.words("de"), en=value.words("en"))
    return P(de="bis zum Ende der Sitzung", en="until the end of the session")


def person(entry: DataProtectionOfficer) -> Phrase:
    text = f"{entry.name}, {entry.organisation}" if entry.organisation else entry.name
    return P.same(text)


def notice_period(notice: ChangeNotice) -> Phrase:
    (de_one, de_many), (en_one, en_many), days = _NOTICE_UNITS[notice.unit]
    one = notice.days == 1
    return P(
        de=f"{notice.days} {de_one if one else de_many}",
        en=f"{notice.days} {en_one if one else en_many}{days}",
    )


def retention(value: Retention | None) -> Phrase:
    return P(de=retention_words(value, "de"), en=retention_words(value, "en"))


def retention_words(retention: Retention | None, language: str) -> str:
    """``2 years after the contract ends; statutory retention: 10 years … (§ 147 AO)``."""
    if retention is None:
        return NOT_STATED.get(language)
    parts: list[str] = []
    if retention.period is not None:
        parts.append(f"{retention.period.words(language)} {_AFTER[retention.after].get(language)}")
    hold = retention.statutory
    if hold is not None:
        words = hold.period.words(language)
        if language == "de":
            start = " ab Jahresende" if hold.from_end_of_year else ""
            parts.append(f"gesetzliche Aufbewahrungsfrist: {words}{start} ({hold.law})")
        else:
            start = " from the end of the year" if hold.from_end_of_year else ""
            parts.append(f"statutory retention: {words}{start} ({hold.law})")
    if not parts and retention.criteria is not None:
        lead = "nach Kriterien" if language == "de" else "by criteria"
        parts.append(f"{lead}: {retention.criteria.get(language)}")
    return "; ".join(parts) or NOT_STATED.get(language)

"""Language-neutral phrases of the privacy statement and their localisation.

A :class:`Phrase` is an English msgid of the ``statement`` domain with named
values; it is translated only when the statement is rendered, so one view of a
declaration serves German and English alike. Values may themselves be phrases,
declaration :class:`~tutela.policy.models.Text`, durations, dates or countries.

Translators: the msgids are extracted with the keyword ``Phrase`` (see
``docs/statement.md``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from babel import Locale

from tutela.i18n import format_date, gettext
from tutela.policy.duration import Period
from tutela.policy.models import (
    ChannelKind,
    CookieCategory,
    LegalBasis,
    ProvisionRequirement,
    RecipientRole,
    RetentionEvent,
    Right,
    Safeguard,
    SourceKind,
    SpecialCategoryGround,
    Text,
)

DOMAIN = "statement"


@dataclass(frozen=True, slots=True)
class Country:
    """An ISO 3166-1 alpha-2 code, shown as the country's name in the reader's language."""

    code: str


class Phrase:
    """An English msgid with named ``%(name)s`` values, translated at render time."""

    __slots__ = ("message", "values")

    def __init__(self, message: str, /, **values: Localizable) -> None:
        self.message = message
        self.values: Mapping[str, Localizable] = values

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Phrase):
            return NotImplemented
        return self.message == other.message and dict(self.values) == dict(other.values)

    def __hash__(self) -> int:
        return hash(self.message)

    def __repr__(self) -> str:
        return f"Phrase({self.message!r}, **{dict(self.values)!r})"


Localizable = (
    str | int | Text | Period | Phrase | Country | dt.date | tuple["Localizable", ...] | None
)


def localize(value: Localizable, language: str) -> str:
    """The text of ``value`` in ``language``; tuples are joined with commas."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Phrase):
        text = gettext(value.message, domain=DOMAIN, language=language)
        if not value.values:
            return text
        return text % {k: localize(v, language) for k, v in value.values.items()}
    if isinstance(value, Text):
        return value.get(language)
    if isinstance(value, Period):
        return value.words(language)
    if isinstance(value, Country):
        return str(Locale.parse(language).territories.get(value.code, value.code))
    if isinstance(value, dt.date):
        return format_date(value, language)
    if isinstance(value, tuple):
        return ", ".join(localize(v, language) for v in value)
    return str(value)


BASIS_LETTER = {
    LegalBasis.CONSENT: "a",
    LegalBasis.CONTRACT: "b",
    LegalBasis.LEGAL_OBLIGATION: "c",
    LegalBasis.VITAL_INTERESTS: "d",
    LegalBasis.PUBLIC_TASK: "e",
    LegalBasis.LEGITIMATE_INTERESTS: "f",
}

BASIS_LABEL = {
    LegalBasis.CONSENT: Phrase("Your consent"),
    LegalBasis.CONTRACT: Phrase(
        "Performance of a contract with you or steps you asked for before entering into one"
    ),
    LegalBasis.LEGAL_OBLIGATION: Phrase("A legal obligation to which we are subject"),
    LegalBasis.VITAL_INTERESTS: Phrase("Protection of vital interests"),
    LegalBasis.PUBLIC_TASK: Phrase("A task carried out in the public interest"),
    LegalBasis.LEGITIMATE_INTERESTS: Phrase("Our legitimate interests"),
}

SPECIAL_GROUND = {
    SpecialCategoryGround.EXPLICIT_CONSENT: ("a", Phrase("your explicit consent")),
    SpecialCategoryGround.EMPLOYMENT: (
        "b",
        Phrase("duties under employment and social security law"),
    ),
    SpecialCategoryGround.VITAL_INTERESTS: (
        "c",
        Phrase("vital interests where you are unable to consent"),
    ),
    SpecialCategoryGround.NOT_FOR_PROFIT: ("d", Phrase("the activities of a not-for-profit body")),
    SpecialCategoryGround.MADE_PUBLIC: ("e", Phrase("data you have clearly made public yourself")),
    SpecialCategoryGround.LEGAL_CLAIMS: (
        "f",
        Phrase("the establishment, exercise or defence of legal claims"),
    ),
    SpecialCategoryGround.SUBSTANTIAL_PUBLIC_INTEREST: (
        "g",
        Phrase("a substantial public interest"),
    ),
    SpecialCategoryGround.HEALTH_CARE: ("h", Phrase("health or social care")),
    SpecialCategoryGround.PUBLIC_HEALTH: ("i", Phrase("public health")),
    SpecialCategoryGround.ARCHIVING_RESEARCH: ("j", Phrase("archiving, research or statistics")),
}


def basis_article(basis: LegalBasis) -> Phrase:
    return Phrase("Art. 6(1)(%(letter)s) GDPR", letter=BASIS_LETTER[basis])


def special_ground(ground: SpecialCategoryGround) -> Phrase:
    letter, label = SPECIAL_GROUND[ground]
    return Phrase("%(label)s (Art. 9(2)(%(letter)s) GDPR)", label=label, letter=letter)


RETENTION_AFTER = {
    RetentionEvent.COLLECTION: Phrase("until %(period)s after collection"),
    RetentionEvent.ACCOUNT_CLOSED: Phrase("until %(period)s after the account is closed"),
    RetentionEvent.CONTRACT_END: Phrase("until %(period)s after the contract ends"),
    RetentionEvent.CONSENT_WITHDRAWN: Phrase("until %(period)s after consent is withdrawn"),
    RetentionEvent.OBJECTION: Phrase("until %(period)s after you object"),
    RetentionEvent.LAST_ACTIVITY: Phrase("until %(period)s after your last activity"),
    RetentionEvent.REQUEST_CLOSED: Phrase("until %(period)s after your request is closed"),
    RetentionEvent.SESSION_END: Phrase("until %(period)s after the session ends"),
    RetentionEvent.PURPOSE_FULFILLED: Phrase("until %(period)s after the purpose is fulfilled"),
}


def retention_after(event: RetentionEvent, period: Period) -> Phrase:
    """``until 30 days after the account is closed``."""
    return Phrase(RETENTION_AFTER[event].message, period=period)


def statutory_retention(
    *, period: Period, law: str, documents: Text | None, from_end_of_year: bool
) -> Phrase:
    if documents is not None and from_end_of_year:
        return Phrase(
            "%(documents)s: kept for %(period)s from the end of the calendar year "
            "in which they were created (%(law)s)",
            documents=documents,
            period=period,
            law=law,
        )
    if documents is not None:
        return Phrase(
            "%(documents)s: kept for %(period)s from their creation (%(law)s)",
            documents=documents,
            period=period,
            law=law,
        )
    if from_end_of_year:
        return Phrase(
            "Records we must keep by law: kept for %(period)s from the end of the calendar "
            "year in which they were created (%(law)s)",
            period=period,
            law=law,
        )
    return Phrase(
        "Records we must keep by law: kept for %(period)s from their creation (%(law)s)",
        period=period,
        law=law,
    )


RETENTION_UNSPECIFIED = Phrase("as long as this purpose requires; afterwards the data are erased")
SESSION_LIFETIME = Phrase("until the end of the browser session")

ROLE = {
    RecipientRole.PROCESSOR: Phrase("Processor acting on our instructions (Art. 28 GDPR)"),
    RecipientRole.CONTROLLER: Phrase("Independent controller"),
    RecipientRole.JOINT_CONTROLLER: Phrase("Joint controller with us (Art. 26 GDPR)"),
    RecipientRole.AUTHORITY: Phrase("Public authority"),
}

NO_SAFEGUARD = Phrase("No valid safeguard is declared for this transfer")
SAFEGUARD = {
    Safeguard.ADEQUACY: Phrase("Adequacy decision of the European Commission (Art. 45 GDPR)"),
    Safeguard.DATA_PRIVACY_FRAMEWORK: Phrase(
        "EU–US Data Privacy Framework: adequacy decision (EU) 2023/1795 "
        "for certified US organisations (Art. 45 GDPR)"
    ),
    Safeguard.SCC: Phrase(
        "Standard contractual clauses of the European Commission, "
        "Decision (EU) 2021/914 (Art. 46(2)(c) GDPR)"
    ),
    Safeguard.BCR: Phrase("Binding corporate rules (Art. 47 GDPR)"),
    Safeguard.DEROGATION: Phrase("Derogation for a specific situation (Art. 49(1) GDPR)"),
    Safeguard.SAFE_HARBOR: NO_SAFEGUARD,
    Safeguard.PRIVACY_SHIELD: NO_SAFEGUARD,
}
ADEQUACY_EXISTS = Phrase("An adequacy decision of the European Commission exists for this country.")
ADEQUACY_DPF = Phrase(
    "The adequacy decision covers this recipient because it is certified under the framework."
)
ADEQUACY_NOT_RELIED_ON = Phrase(
    "This transfer does not rest on an adequacy decision of the European Commission."
)
COPY_PUBLISHED = Phrase("The decision is published in the Official Journal of the European Union.")
COPY_ON_REQUEST = Phrase(
    "You can ask us for a copy of the safeguards using the contact details in this statement."
)


def scc_module(module: int) -> Phrase:
    return Phrase(
        "%(safeguard)s, module %(module)s", safeguard=SAFEGUARD[Safeguard.SCC], module=module
    )


COOKIE_CATEGORY = {
    CookieCategory.NECESSARY: Phrase("Strictly necessary"),
    CookieCategory.FUNCTIONAL: Phrase("Functional"),
    CookieCategory.ANALYTICS: Phrase("Statistics and analysis"),
    CookieCategory.MARKETING: Phrase("Marketing"),
}
PARTY = {"first": Phrase("First party (set by us)"), "third": Phrase("Third party")}
STORAGE = {
    "cookie": Phrase("Cookie"),
    "local_storage": Phrase("Local storage in the browser"),
    "session_storage": Phrase("Session storage in the browser"),
    "pixel": Phrase("Tracking pixel"),
}

RIGHT_TITLE = {
    Right.ACCESS: Phrase("Right of access"),
    Right.RECTIFICATION: Phrase("Right to rectification"),
    Right.ERASURE: Phrase("Right to erasure"),
    Right.RESTRICTION: Phrase("Right to restriction of processing"),
    Right.PORTABILITY: Phrase("Right to data portability"),
    Right.OBJECTION: Phrase("Right to object"),
    Right.WITHDRAWAL: Phrase("Right to withdraw consent"),
    Right.OPT_OUT_SALE: Phrase("Right to opt out of sale or sharing"),
}
RIGHT_ARTICLE: dict[Right, Localizable] = {
    Right.ACCESS: Phrase("Art. %(number)s GDPR", number="15"),
    Right.RECTIFICATION: Phrase("Art. %(number)s GDPR", number="16"),
    Right.ERASURE: Phrase("Art. %(number)s GDPR", number="17"),
    Right.RESTRICTION: Phrase("Art. %(number)s GDPR", number="18"),
    Right.PORTABILITY: Phrase("Art. %(number)s GDPR", number="20"),
    Right.OBJECTION: Phrase("Art. %(number)s GDPR", number="21"),
    Right.WITHDRAWAL: Phrase("Art. 7(3) GDPR"),
    Right.OPT_OUT_SALE: "Cal. Civ. Code § 1798.120",
}

CHANNEL = {
    ChannelKind.WEB: Phrase("Online form"),
    ChannelKind.EMAIL: Phrase("E-mail"),
    ChannelKind.POST: Phrase("Letter"),
    ChannelKind.FAX: Phrase("Fax"),
    ChannelKind.PHONE: Phrase("Telephone"),
    ChannelKind.LINK_IN_MESSAGE: Phrase("The link contained in each of our messages"),
}
CONTACT_LABEL = {
    "email": Phrase("E-mail"),
    "phone": Phrase("Telephone"),
    "fax": Phrase("Fax"),
    "web": Phrase("Website"),
}

SOURCE = {
    SourceKind.SUBJECT: Phrase("From you"),
    SourceKind.THIRD_PARTY: Phrase("From third parties"),
    SourceKind.PUBLIC: Phrase("From publicly accessible sources"),
}

PROVISION = {
    ProvisionRequirement.STATUTORY: Phrase("The law requires you to provide these data."),
    ProvisionRequirement.CONTRACTUAL: Phrase("Providing these data is a contractual obligation."),
    ProvisionRequirement.CONTRACT_PREREQUISITE: Phrase(
        "We need these data to enter into a contract with you."
    ),
    ProvisionRequirement.VOLUNTARY: Phrase(
        "Providing these data is voluntary; you are not obliged to do so."
    ),
}

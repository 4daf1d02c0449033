"""The declaration: what a controller processes, why, on which basis, for how long, with whom.

These Pydantic models are the single source for the statement, the lint, the
published versions and every later capability. Field names are English; every
text shown to people is a :class:`Text` with a German and an English value.
Structural rules (types, required fields, formats) live here; legal rules that
need the whole declaration live in :mod:`tutela.policy.lint`, so that one lint
run reports every finding at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from tutela.policy.duration import Duration, Period
from tutela.policy.terms import (
    GDPR_RIGHTS,
    ChannelKind,
    CookieCategory,
    GermanState,
    LegalBasis,
    NoticeUnit,
    ProvisionRequirement,
    RecipientRole,
    RetentionEvent,
    Right,
    Safeguard,
    SourceKind,
    SpecialCategoryGround,
)

__all__ = [
    "COUNTRY_PATTERN",
    "GDPR_RIGHTS",
    "ID_PATTERN",
    "KEY_PATTERN",
    "AutomatedDecision",
    "Categories",
    "CategoryKey",
    "ChangeNotice",
    "ChannelKind",
    "Contacts",
    "Controller",
    "Cookie",
    "CookieCategory",
    "CountryCode",
    "DataCategory",
    "DataProtectionOfficer",
    "DataUseKey",
    "Declaration",
    "GermanState",
    "Identifier",
    "LegalBasis",
    "Model",
    "NoticeUnit",
    "Person",
    "PostalAddress",
    "Provision",
    "ProvisionRequirement",
    "Purpose",
    "Recipient",
    "RecipientRole",
    "Retention",
    "RetentionEvent",
    "Right",
    "RightsChannel",
    "Safeguard",
    "Source",
    "SourceKind",
    "SpecialCategoryGround",
    "StatutoryHold",
    "SupervisoryAuthority",
    "Text",
    "Transfer",
    "UsPrivacy",
]

KEY_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"
ID_PATTERN = r"^[a-z][a-z0-9_-]*$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"

CategoryKey = Annotated[str, Field(pattern=KEY_PATTERN, max_length=120)]
DataUseKey = Annotated[str, Field(pattern=KEY_PATTERN, max_length=120)]
Identifier = Annotated[str, Field(pattern=ID_PATTERN, max_length=64)]
CountryCode = Annotated[str, Field(pattern=COUNTRY_PATTERN, description="ISO 3166-1 alpha-2")]


class Model(BaseModel):
    """Strict base: unknown fields are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Text(Model):
    """A text in both languages of the statement."""

    de: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, language: str) -> str:
        return self.de if language == "de" else self.en


class PostalAddress(Model):
    street: str = Field(min_length=1)
    postal_code: str = Field(min_length=1)
    city: str = Field(min_length=1)
    country: CountryCode
    state: GermanState | None = Field(
        default=None, description="German state, for holidays in deadlines and notices"
    )


class Contacts(Model):
    email: EmailStr
    phone: str | None = None
    fax: str | None = None
    web: str | None = None


class Person(Model):
    """A named contact: the controller's representative or the DPO."""

    name: str = Field(min_length=1)
    email: EmailStr | None = None
    phone: str | None = None
    address: PostalAddress | None = None


class DataProtectionOfficer(Person):
    external: bool = Field(default=False, description="An external service provider")
    organisation: str | None = None


class Controller(Model):
    name: str = Field(min_length=1)
    address: PostalAddress
    contacts: Contacts
    representative: Person | None = Field(
        default=None, description="EU representative (Art. 27), for controllers outside the EU"
    )
    managing_directors: list[str] = Field(default_factory=list)
    commercial_register: str | None = None
    vat_id: str | None = None


class SupervisoryAuthority(Model):
    name: Text
    address: PostalAddress
    web: str | None = None
    email: EmailStr | None = None
    phone: str | None = None


class DataCategory(Model):
    """A kind of personal data, keyed by the fideslang taxonomy or a custom ``x_`` key."""

    key: CategoryKey
    name: Text | None = Field(
        default=None, description="Short name; overrides the taxonomy name (custom keys)"
    )
    description: Text | None = Field(
        default=None, description="Overrides the taxonomy text; required for custom keys"
    )
    held_by: list[Identifier] = Field(
        default_factory=list,
        description="Recipient ids that hold the data instead of the controller itself",
    )
    special: bool | None = Field(
        default=None, description="Art. 9 data; taken from the taxonomy when not given"
    )


class Categories(Model):
    required: list[CategoryKey] = Field(default_factory=list)
    optional: list[CategoryKey] = Field(default_factory=list)

    def all(self) -> list[str]:
        return [*self.required, *self.optional]


class Source(Model):
    """Where the data comes from (Art. 14 when not from the subject)."""

    kind: SourceKind = SourceKind.SUBJECT
    description: Text | None = None


class StatutoryHold(Model):
    """A statutory retention duty, e.g. § 147 AO / § 257 HGB."""

    law: str = Field(min_length=1, description="The provisions, e.g. '§ 147 AO, § 257 HGB'")
    period: Duration
    from_end_of_year: bool = Field(
        default=True, description="The period starts at the end of the calendar year"
    )
    documents: Text | None = None


class Retention(Model):
    """How long data are kept: a duration after an event, a statutory hold, or criteria."""

    period: Duration | None = None
    after: RetentionEvent = RetentionEvent.COLLECTION
    statutory: StatutoryHold | None = None
    criteria: Text | None = Field(
        default=None, description="Criteria for the period where no fixed period applies"
    )


class Provision(Model):
    requirement: ProvisionRequirement
    consequences: Text = Field(description="What happens if the data are not provided")


class RightsChannel(Model):
    kind: ChannelKind
    address: str | None = Field(
        default=None, description="URL, e-mail address, number; empty: the controller's"
    )
    rights: list[Right] = Field(default_factory=lambda: list(GDPR_RIGHTS))
    note: Text | None = None


class Purpose(Model):
    """One processing activity: why, on which basis, which data, for how long, to whom."""

    id: Identifier
    data_use: DataUseKey
    name: Text
    description: Text
    legal_basis: LegalBasis
    legitimate_interest: Text | None = Field(
        default=None, description="The interest pursued; required for legitimate_interests"
    )
    soft_opt_in: bool = Field(
        default=False,
        description="Existing-customer mail under § 7(3) UWG (basis: legitimate interests)",
    )
    special_category_ground: SpecialCategoryGround | None = None
    subjects: list[Identifier] = Field(
        default_factory=lambda: ["customer"], description="fideslang data subject keys"
    )
    categories: Categories
    source: Source = Field(default_factory=Source)
    retention: Retention | None = None
    recipients: list[Identifier] = Field(default_factory=list)
    provision: Provision | None = None
    direct_marketing: bool | None = Field(
        default=None, description="Taken from the data use (marketing.*) when not given"
    )
    objection_channels: list[ChannelKind] = Field(
        default_factory=list,
        description="How to object to this purpose; direct marketing needs at least one",
    )
    double_opt_in: bool | None = Field(
        default=None,
        description="Consent counts only once confirmed by mail; on by default for "
        "consent-based marketing.communications.email",
    )
    consent_max_age: Duration | None = Field(
        default=None, description="Ask again after this long (consent purposes)"
    )

    @property
    def needs_double_opt_in(self) -> bool:
        if self.double_opt_in is not None:
            return self.double_opt_in
        return self.legal_basis is LegalBasis.CONSENT and self.data_use.startswith(
            "marketing.communications.email"
        )

    @property
    def is_direct_marketing(self) -> bool:
        if self.direct_marketing is not None:
            return self.direct_marketing
        return self.data_use.split(".")[0] == "marketing"


class Transfer(Model):
    """A transfer to a third country or international organisation."""

    country: CountryCode
    safeguard: Safeguard | None = None
    dpf_certified: bool | None = None
    dpf_list_checked_at: dt.date | None = None
    scc_module: Literal[1, 2, 3, 4] | None = None
    copy_available: Text | None = Field(
        default=None, description="How to obtain a copy of the safeguard"
    )
    derogation: Text | None = Field(default=None, description="Art. 49(1) ground and reasons")


class Recipient(Model):
    id: Identifier
    name: str = Field(min_length=1)
    role: RecipientRole
    country: CountryCode
    service: Text = Field(description="What the recipient does for the controller")
    address: PostalAddress | None = None
    categories: list[CategoryKey] = Field(default_factory=list)
    transfers: list[Transfer] = Field(default_factory=list)
    joint_arrangement: Text | None = Field(
        default=None, description="Essence of the Art. 26 arrangement (joint controllers)"
    )
    contract_date: dt.date | None = Field(default=None, description="Art. 28 contract date")
    sells_or_shares: bool = Field(default=False, description="A sale or sharing in the CCPA sense")


class Cookie(Model):
    name: str = Field(min_length=1)
    provider: Identifier | None = Field(
        default=None, description="Recipient id; empty for the controller's own cookies"
    )
    category: CookieCategory
    party: Literal["first", "third"] = "first"
    storage: Literal["cookie", "local_storage", "session_storage", "pixel"] = "cookie"
    lifetime: Duration | Literal["session"]
    purpose: Identifier | None = Field(default=None, description="Purpose id it serves")
    description: Text
    consent_required: bool | None = Field(
        default=None, description="Taken from the category when not given"
    )


class AutomatedDecision(Model):
    id: Identifier
    purposes: list[Identifier] = Field(min_length=1)
    logic: Text
    significance: Text
    consequences: Text
    profiling: bool = False


class ChangeNotice(Model):
    """How far ahead a change is announced before it takes effect."""

    days: int = Field(ge=0, le=365)
    unit: NoticeUnit = NoticeUnit.WERKTAGE
    states: list[GermanState] | Literal["all"] = Field(
        default="all", description="Holidays of these states count (union)"
    )
    notify_subjects: bool = True


class UsPrivacy(Model):
    """Californian (CCPA/CPRA) and other US state rules."""

    applies: bool = False
    sells: bool = False
    shares: bool = False
    honours_gpc: bool = True
    response_days: int = Field(default=45, ge=1, le=90)
    contact: Text | None = None


class Declaration(Model):
    """The whole declaration of one controller."""

    schema_version: Literal[1] = 1
    title: Text | None = None
    controller: Controller
    dpo: DataProtectionOfficer | None = None
    supervisory_authority: SupervisoryAuthority
    data_categories: list[DataCategory] = Field(min_length=1)
    purposes: list[Purpose] = Field(min_length=1)
    recipients: list[Recipient] = Field(default_factory=list)
    cookies: list[Cookie] = Field(default_factory=list)
    rights_channels: list[RightsChannel] = Field(min_length=1)
    automated_decisions: list[AutomatedDecision] = Field(default_factory=list)
    change_notice: ChangeNotice
    us_privacy: UsPrivacy = Field(default_factory=UsPrivacy)
    cookie_consent_max_age: Duration = Field(
        default=Period(months=13), description="The cookie banner asks again after this long"
    )
    security_measures: Text | None = None

    @field_validator("purposes", "recipients", "data_categories", "automated_decisions")
    @classmethod
    def _unique(cls, items: list[Model]) -> list[Model]:
        seen: set[str] = set()
        for item in items:
            ident = str(getattr(item, "id", None) or getattr(item, "key", ""))
            if ident in seen:
                raise ValueError(f"duplicate entry {ident!r}")
            seen.add(ident)
        return items

    def purpose(self, purpose_id: str) -> Purpose | None:
        return next((p for p in self.purposes if p.id == purpose_id), None)

    def recipient(self, recipient_id: str) -> Recipient | None:
        return next((r for r in self.recipients if r.id == recipient_id), None)

    def category(self, key: str) -> DataCategory | None:
        return next((c for c in self.data_categories if c.key == key), None)

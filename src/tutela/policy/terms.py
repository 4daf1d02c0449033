"""The fixed vocabularies of the declaration: legal bases, rights, safeguards, states …

Values are stable identifiers written in YAML files and stored in published
versions; renaming one is a breaking change of the declaration format.
"""

from __future__ import annotations

from enum import StrEnum


class GermanState(StrEnum):
    """ISO 3166-2:DE subdivision codes (without the ``DE-`` prefix)."""

    BW = "BW"
    BY = "BY"
    BE = "BE"
    BB = "BB"
    HB = "HB"
    HH = "HH"
    HE = "HE"
    MV = "MV"
    NI = "NI"
    NW = "NW"
    RP = "RP"
    SL = "SL"
    SN = "SN"
    ST = "ST"
    SH = "SH"
    TH = "TH"


class LegalBasis(StrEnum):
    """GDPR Art. 6(1) (a)–(f)."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTERESTS = "legitimate_interests"


class SpecialCategoryGround(StrEnum):
    """GDPR Art. 9(2) (a)–(j)."""

    EXPLICIT_CONSENT = "explicit_consent"
    EMPLOYMENT = "employment_social_security"
    VITAL_INTERESTS = "vital_interests"
    NOT_FOR_PROFIT = "not_for_profit_body"
    MADE_PUBLIC = "made_public_by_subject"
    LEGAL_CLAIMS = "legal_claims"
    SUBSTANTIAL_PUBLIC_INTEREST = "substantial_public_interest"
    HEALTH_CARE = "health_or_social_care"
    PUBLIC_HEALTH = "public_health"
    ARCHIVING_RESEARCH = "archiving_research_statistics"


class SourceKind(StrEnum):
    SUBJECT = "subject"
    THIRD_PARTY = "third_party"
    PUBLIC = "public"


class RetentionEvent(StrEnum):
    """Events from which an event-based retention period runs."""

    COLLECTION = "collection"
    ACCOUNT_CLOSED = "account_closed"
    CONTRACT_END = "contract_end"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    OBJECTION = "objection"
    LAST_ACTIVITY = "last_activity"
    REQUEST_CLOSED = "request_closed"
    SESSION_END = "session_end"
    PURPOSE_FULFILLED = "purpose_fulfilled"


class ProvisionRequirement(StrEnum):
    """Art. 13(2)(e): why the subject provides the data."""

    STATUTORY = "statutory"
    CONTRACTUAL = "contractual"
    CONTRACT_PREREQUISITE = "contract_prerequisite"
    VOLUNTARY = "voluntary"


class ChannelKind(StrEnum):
    WEB = "web"
    EMAIL = "email"
    POST = "post"
    FAX = "fax"
    PHONE = "phone"
    LINK_IN_MESSAGE = "link_in_message"


class Right(StrEnum):
    ACCESS = "access"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    PORTABILITY = "portability"
    OBJECTION = "objection"
    WITHDRAWAL = "withdrawal"
    OPT_OUT_SALE = "opt_out_sale"


class RecipientRole(StrEnum):
    PROCESSOR = "processor"
    CONTROLLER = "controller"
    JOINT_CONTROLLER = "joint_controller"
    AUTHORITY = "authority"


class Safeguard(StrEnum):
    """Chapter V basis of a transfer; the last two are invalid and kept to be flagged."""

    ADEQUACY = "adequacy"
    DATA_PRIVACY_FRAMEWORK = "data_privacy_framework"
    SCC = "scc_2021_914"
    BCR = "bcr"
    DEROGATION = "art49_derogation"
    SAFE_HARBOR = "safe_harbor"
    PRIVACY_SHIELD = "privacy_shield"


class CookieCategory(StrEnum):
    NECESSARY = "necessary"
    FUNCTIONAL = "functional"
    ANALYTICS = "analytics"
    MARKETING = "marketing"


class NoticeUnit(StrEnum):
    WERKTAGE = "werktage"
    ARBEITSTAGE = "arbeitstage"
    CALENDAR_DAYS = "calendar_days"


GDPR_RIGHTS: tuple[Right, ...] = tuple(r for r in Right if r is not Right.OPT_OUT_SALE)

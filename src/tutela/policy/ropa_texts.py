"""The words of the record of processing activities: field labels, markers and notes.

Every value of :data:`TEXTS` is an English msgid of the ``messages`` catalog;
:data:`MESSAGES` lists them for the translation check. A note that marks a gap
starts with "Missing:" and names the place in the declaration to fill; a field
that does not apply starts with "Not applicable:" or "None:". :class:`Words`
speaks them in one language, together with the statement's own phrases.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from tutela.i18n import gettext
from tutela.policy.statement_phrases import Localizable, localize
from tutela.policy.terms import LegalBasis, RecipientRole


class Status(StrEnum):
    """Whether the declaration fills a field of the record."""

    DECLARED = "declared"
    NOT_APPLICABLE = "not_applicable"
    MISSING = "missing"


FIELDS: Final[dict[str, str | None]] = {
    "controller": "a",
    "joint_controllers": "a",
    "representative": "a",
    "dpo": "a",
    "purposes": "b",
    "legal_basis": None,
    "data_subjects": "c",
    "data_categories": "c",
    "recipients": "d",
    "transfers": "e",
    "erasure": "f",
    "security": "g",
}
"""Field key → letter of Art. 30(1); ``None`` for the recommended legal basis."""

BASIS: Final = {
    LegalBasis.CONSENT: "basis_consent",
    LegalBasis.CONTRACT: "basis_contract",
    LegalBasis.LEGAL_OBLIGATION: "basis_legal_obligation",
    LegalBasis.VITAL_INTERESTS: "basis_vital_interests",
    LegalBasis.PUBLIC_TASK: "basis_public_task",
    LegalBasis.LEGITIMATE_INTERESTS: "basis_legitimate_interests",
}

ROLE: Final = {
    RecipientRole.PROCESSOR: "role_processor",
    RecipientRole.CONTROLLER: "role_controller",
    RecipientRole.JOINT_CONTROLLER: "role_joint_controller",
    RecipientRole.AUTHORITY: "role_authority",
}

TEXTS: Final = {
    # the document
    "title": "Record of processing activities",
    "subtitle": "Record of the controller under Art. 30(1) GDPR. "
    "Each entry is one processing activity, that is one purpose of the declaration.",
    "about_controller": "Controller: %(name)s",
    "about_version": "Built from published version %(version)s of the declaration, "
    "in effect from %(date)s (content hash %(hash)s).",
    "about_file": "Built from the declaration file %(file)s, which is not published.",
    "about_unpublished": "Built from a declaration that is not published.",
    "about_prepared": "Prepared on %(date)s.",
    "about_gaps": "Details missing from the declaration: %(count)s. "
    "Each one is marked in its entry together with the place in the declaration to fill.",
    "about_complete": "The declaration provides every detail this record asks for.",
    # column and table labels
    "number": "No.",
    "activity": "Processing activity",
    "activity_id": "Purpose id",
    "field": "Field",
    "reference": "Legal provision",
    "content": "Content",
    "missing_column": "Missing from the declaration",
    "version_column": "Declaration version",
    "prepared_column": "Prepared on",
    "not_published": "not published",
    "status_missing": "missing",
    "reference_g30": "Art. 30(1)(%(letter)s) GDPR",
    "reference_basis": "Art. 6(1) GDPR (recommended, not required by Art. 30)",
    # field labels
    "controller": "Controller",
    "joint_controllers": "Joint controllers",
    "representative": "Representative in the Union",
    "dpo": "Data protection officer",
    "purposes": "Purpose of the processing",
    "legal_basis": "Legal basis",
    "data_subjects": "Categories of data subjects",
    "data_categories": "Categories of personal data",
    "recipients": "Categories of recipients",
    "transfers": "Transfers to third countries or international organisations",
    "erasure": "Time limits for erasure",
    "security": "Technical and organisational security measures",
    # (a)
    "rep_not_needed": "Not applicable: the controller is established in the European "
    "Economic Area, so no representative under Art. 27 GDPR is needed.",
    "rep_missing": "Missing: the controller is established outside the European Economic "
    "Area, but the declaration names no representative in the Union. "
    "Add controller.representative.",
    "dpo_missing": "Missing: the declaration names no data protection officer. "
    "Add dpo if one is designated.",
    "dpo_external": "External data protection officer",
    "dpo_external_at": "External data protection officer, %(organisation)s",
    "dpo_no_contact": "Missing: no contact details of the data protection officer are "
    "declared. Add dpo.email, dpo.phone or dpo.address.",
    "joint_none": "Not applicable: no joint controller takes part in this activity.",
    "joint_no_contact": "Missing: no contact details of %(name)s are declared. Add %(path)s.",
    "joint_arrangement": "Essence of the arrangement under Art. 26 GDPR: %(text)s",
    # legal basis
    "basis_consent": "Consent of the data subject",
    "basis_contract": "Performance of a contract with the data subject or steps before one",
    "basis_legal_obligation": "Compliance with a legal obligation of the controller",
    "basis_vital_interests": "Protection of vital interests",
    "basis_public_task": "Task in the public interest or in the exercise of official authority",
    "basis_legitimate_interests": "Legitimate interests of the controller or a third party",
    "interest": "Interest pursued: %(text)s",
    "interest_missing": "Missing: the legitimate interest pursued is not declared. Add %(path)s.",
    "soft_opt_in": "Advertising to existing customers under § 7(3) UWG",
    "special_ground": "Special categories of personal data processed under "
    "Art. 9(2)(%(letter)s) GDPR",
    # (c)
    "subjects_missing": "Missing: no category of data subjects is declared. Add %(path)s.",
    "categories_missing": "Missing: no category of personal data is declared. Add %(path)s.",
    "optional": "optional",
    "special": "special category under Art. 9 GDPR",
    # (d)
    "role_processor": "Processor (Art. 28 GDPR)",
    "role_controller": "Independent controller",
    "role_joint_controller": "Joint controller (Art. 26 GDPR)",
    "role_authority": "Public authority",
    "third_country": "third country",
    "recipient_unknown": "Missing: the recipient %(id)s is referred to but not declared. "
    "Declare it under recipients or remove the reference.",
    "recipients_none": "None: the declaration names no recipient, so the data are not "
    "disclosed outside the controller for this activity.",
    # (e)
    "transfers_none": "None: no transfer to a third country or an international "
    "organisation is declared for this activity.",
    "transfer_no_safeguard": "Missing: the transfer to %(head)s rests on no valid "
    "safeguard. Set a valid one in %(path)s.",
    "transfer_undeclared": "Missing: %(name)s is located outside the European Economic "
    "Area (%(country)s), but no transfer there is declared. Add it under %(path)s.",
    "dpf_checked": "Certified under the EU–US Data Privacy Framework; the list was last "
    "checked on %(date)s.",
    "dpf_unconfirmed": "Missing: the certification under the EU–US Data Privacy Framework "
    "is not confirmed. Set dpf_certified and dpf_list_checked_at in %(path)s.",
    "derogation": "Documentation of the derogation under Art. 49(1) GDPR: %(text)s",
    "derogation_missing": "Missing: the transfer rests on a derogation under Art. 49(1) "
    "GDPR, but its documentation is not declared. Describe the ground and the reasons in "
    "%(path)s.",
    "copy": "Copy of the safeguards: %(text)s",
    # (f), (g)
    "retention_missing": "Missing: the declaration sets no time limit for erasure. Add %(path)s.",
    "retention_scope": "The time limit applies to every category of data of this activity.",
    "cookie_lifetime": "Cookie or browser storage %(name)s: %(lifetime)s",
    "security_missing": "Missing: the declaration has no general description of the "
    "technical and organisational measures (Art. 32(1) GDPR). Add security_measures.",
}

MESSAGES: Final = tuple(TEXTS.values())
"""msgids used from Python, for the ``messages`` catalog."""


@dataclass(frozen=True, slots=True)
class RecordField:
    """One field of an entry: its label, legal reference, lines of text and status."""

    key: str
    label: str
    reference: str
    lines: tuple[str, ...]
    status: Status

    @property
    def missing(self) -> bool:
        return self.status is Status.MISSING


class Words:
    """The record's words in one language."""

    def __init__(self, language: str) -> None:
        self.language = language

    def __call__(self, key: str, **values: object) -> str:
        text = gettext(TEXTS[key], domain="messages", language=self.language)
        return text % values if values else text

    def local(self, value: Localizable) -> str:
        """A statement phrase, declaration text, period, country or date in this language."""
        return localize(value, self.language)

    def field(
        self, key: str, lines: Iterable[str], status: Status = Status.DECLARED
    ) -> RecordField:
        letter = FIELDS[key]
        reference = self("reference_g30", letter=letter) if letter else self("reference_basis")
        return RecordField(key, self(key), reference, tuple(lines), status)

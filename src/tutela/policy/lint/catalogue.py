"""Every lint rule: its stable id, its severity and the provision it rests on.

Ids never change once released: tools, suppressions and docs refer to them.
``docs/lint.md`` describes each rule; a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from tutela.policy.lint.finding import Severity

E = Severity.ERROR
W = Severity.WARNING


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    source: str


_RULES = (
    # controller, contacts, rights, notices
    Rule("controller.contact-missing", E, "Art. 13(1)(a), 12(2) GDPR"),
    Rule("dpo.missing", W, "Art. 37 GDPR, § 38 BDSG"),
    Rule("dpo.contact-missing", E, "Art. 13(1)(b), 37(7) GDPR"),
    Rule("representative.missing", E, "Art. 27, 13(1)(a) GDPR"),
    Rule("representative.contact-missing", E, "Art. 13(1)(a) GDPR"),
    Rule("representative.outside-eea", E, "Art. 27(3) GDPR"),
    Rule("rights.channel-missing", E, "Art. 12(2), 13(2)(b) GDPR"),
    Rule("change-notice.too-short", W, "WP260 transparency guidelines; promise P20"),
    Rule("change-notice.subjects-not-notified", W, "Art. 13(3) GDPR; WP260"),
    Rule("automated-decision.unknown-purpose", E, "Art. 13(2)(f), 22 GDPR"),
    Rule("automated-decision.special-category", E, "Art. 22(4) GDPR"),
    Rule("us.opt-out-channel-missing", E, "Cal. Civ. Code § 1798.135; 11 CCR § 7026"),
    Rule("us.gpc-not-honoured", E, "11 CCR § 7025"),
    Rule("us.sale-undeclared", E, "Cal. Civ. Code § 1798.130(a)(5)"),
    Rule("us.single-request-method", W, "Cal. Civ. Code § 1798.130(a)(1)"),
    # purposes
    Rule("purpose.no-categories", E, "Art. 13(1)(c), 14(1)(d) GDPR"),
    Rule("purpose.legitimate-interest-missing", E, "Art. 13(1)(d), 14(2)(b) GDPR"),
    Rule("purpose.retention-missing", E, "Art. 13(2)(a), 14(2)(a) GDPR"),
    Rule("purpose.consent-without-withdrawal-channel", E, "Art. 7(3), 13(2)(c) GDPR"),
    Rule("purpose.direct-marketing-without-objection", E, "Art. 21(2)-(4) GDPR"),
    Rule("purpose.electronic-marketing-without-consent", E, "§ 7(2) Nr. 2 UWG"),
    Rule("purpose.soft-opt-in-basis", E, "§ 7(3) UWG, Art. 6(1)(f) GDPR"),
    Rule("purpose.soft-opt-in-without-unsubscribe-link", E, "§ 7(3) Nr. 4 UWG"),
    Rule("purpose.special-category-without-ground", E, "Art. 9(2) GDPR"),
    Rule("purpose.indirect-source-undescribed", E, "Art. 14(2)(f) GDPR"),
    Rule("provision.missing", E, "Art. 13(2)(e) GDPR"),
    Rule("ref.unknown-recipient", E, "Art. 13(1)(e) GDPR"),
    # data categories, uses, subjects
    Rule("category.unknown-key", E, "Art. 13(1)(c), 14(1)(d) GDPR"),
    Rule("category.custom-undescribed", E, "Art. 12(1), 14(1)(d) GDPR"),
    Rule("category.pan-stored", E, "PCI DSS v4.0.1 Req. 3.5.1; promise P02"),
    Rule("category.undeclared", E, "Art. 14(1)(d) GDPR"),
    Rule("category.unused", W, "Art. 5(1)(c) GDPR"),
    Rule("category.special-downgraded", W, "Art. 9(1) GDPR"),
    Rule("use.unknown-key", E, "Art. 13(1)(c) GDPR"),
    Rule("subject.unknown-key", E, "Art. 12(1) GDPR"),
    Rule("sensitive.long-retention", W, "Art. 5(1)(e) GDPR; promise P22"),
    # recipients and transfers
    Rule("recipient.joint-arrangement-missing", E, "Art. 26(2) GDPR"),
    Rule("recipient.contract-date-missing", W, "Art. 28(3) GDPR"),
    Rule("recipient.unused", W, "Art. 13(1)(e) GDPR"),
    Rule("transfer.undeclared", E, "Art. 13(1)(f), 44 GDPR"),
    Rule("transfer.not-third-country", W, "Art. 44 GDPR"),
    Rule("transfer.missing-safeguard", E, "Art. 44-49, 13(1)(f) GDPR"),
    Rule("transfer.invalid-safeguard", E, "CJEU C-362/14 and C-311/18"),
    Rule("transfer.no-adequacy-decision", E, "Art. 45 GDPR"),
    Rule("transfer.dpf-wrong-country", E, "Decision (EU) 2023/1795"),
    Rule("transfer.dpf-not-certified", E, "Decision (EU) 2023/1795"),
    Rule("transfer.dpf-check-missing", E, "Decision (EU) 2023/1795"),
    Rule("transfer.dpf-check-stale", E, "Decision (EU) 2023/1795"),
    Rule("transfer.scc-module-missing", W, "Decision (EU) 2021/914"),
    Rule("transfer.scc-module-mismatch", W, "Decision (EU) 2021/914"),
    Rule("transfer.copy-info-missing", W, "Art. 13(1)(f) GDPR"),
    Rule("transfer.derogation-undescribed", E, "Art. 49(1), 13(1)(f) GDPR"),
    Rule("transfer.derogation-systematic", W, "Art. 49 GDPR; EDPB Guidelines 2/2018"),
    # cookies and device access
    Rule("cookie.unknown-provider", E, "§ 25 TDDDG; CJEU C-673/17"),
    Rule("cookie.provider-missing", E, "§ 25 TDDDG; CJEU C-673/17"),
    Rule("cookie.provider-not-recipient", W, "Art. 13(1)(e) GDPR"),
    Rule("cookie.unknown-purpose", E, "§ 25 TDDDG; CJEU C-673/17"),
    Rule("cookie.purpose-missing", E, "§ 25(1) TDDDG; CJEU C-673/17"),
    Rule("cookie.non-necessary-without-consent", E, "§ 25 TDDDG"),
)

RULES: Mapping[str, Rule] = MappingProxyType({rule.id: rule for rule in _RULES})

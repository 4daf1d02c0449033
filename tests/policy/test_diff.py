"""The declaration diff: one plain-language change per fact, in German and English."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tutela.errors import InvalidInput
from tutela.policy.diff import KINDS, Change, diff
from tutela.policy.diff_text import SENTENCES
from tutela.policy.models import Declaration, Text
from tutela.policy.taxonomy import Taxonomy, TaxonomyEntry, TaxonomySource

Data = dict[str, Any]


def _text(de: str, en: str) -> dict[str, str]:
    return {"de": de, "en": en}


_ADDRESS = {"street": "Hauptstraße 1", "postal_code": "80331", "city": "München", "country": "DE"}

BASE: Data = {
    "title": _text("Datenschutzhinweise", "Privacy notice"),
    "controller": {
        "name": "Beispiel GmbH",
        "address": {**_ADDRESS, "state": "BY"},
        "contacts": {"email": "datenschutz@example.de"},
    },
    "dpo": {"name": "Erika Muster", "email": "dsb@example.de"},
    "supervisory_authority": {
        "name": _text("Landesamt für Datenschutzaufsicht", "Data Protection Authority"),
        "address": {**_ADDRESS, "city": "Ansbach", "postal_code": "91522"},
    },
    "data_categories": [
        {"key": "user.contact.email"},
        {"key": "user.name"},
        {"key": "user.financial.credit_card", "held_by": ["cloudco"]},
        {"key": "x_shop.notes", "description": _text("Notizen zur Bestellung", "Order notes")},
    ],
    "purposes": [
        {
            "id": "contract",
            "data_use": "essential.service",
            "name": _text("Vertragserfüllung", "Performing the contract"),
            "description": _text("Wir liefern, was Sie bestellen.", "We deliver your order."),
            "legal_basis": "contract",
            "categories": {"required": ["user.contact.email"], "optional": ["user.name"]},
            "retention": {"period": "P3Y", "after": "contract_end"},
            "recipients": ["mailer"],
            "provision": {
                "requirement": "contract_prerequisite",
                "consequences": _text("Sonst kein Vertrag.", "Otherwise no contract."),
            },
        },
        {
            "id": "newsletter",
            "data_use": "marketing.communications.email",
            "name": _text("Newsletter", "Newsletter"),
            "description": _text("Neuigkeiten per E-Mail.", "News by e-mail."),
            "legal_basis": "consent",
            "categories": {"required": ["user.contact.email"]},
            "retention": {"period": "P2Y", "after": "consent_withdrawn"},
            "objection_channels": ["link_in_message"],
        },
    ],
    "recipients": [
        {
            "id": "mailer",
            "name": "Post AG",
            "role": "processor",
            "country": "DE",
            "service": _text("Versand von E-Mails", "Sending e-mails"),
            "contract_date": "2024-01-15",
        },
        {
            "id": "cloudco",
            "name": "Cloud Inc.",
            "role": "processor",
            "country": "US",
            "service": _text("Hosting", "Hosting"),
            "transfers": [
                {"country": "US", "safeguard": "data_privacy_framework", "dpf_certified": True}
            ],
        },
    ],
    "cookies": [
        {
            "name": "session",
            "category": "necessary",
            "lifetime": "session",
            "description": _text("Hält Sie angemeldet.", "Keeps you signed in."),
        },
        {
            "name": "_stats",
            "provider": "cloudco",
            "category": "analytics",
            "party": "third",
            "lifetime": "P13M",
            "description": _text("Zählt Besuche.", "Counts visits."),
        },
    ],
    "rights_channels": [
        {"kind": "email", "address": "datenschutz@example.de"},
        {"kind": "web", "address": "https://example.de/anfragen"},
    ],
    "automated_decisions": [
        {
            "id": "fraud_check",
            "purposes": ["contract"],
            "logic": _text("Regeln", "Rules"),
            "significance": _text("Bestellung kann scheitern", "An order may fail"),
            "consequences": _text("Prüfung durch Menschen", "Review by a person"),
        }
    ],
    "change_notice": {"days": 30, "unit": "werktage", "states": ["BY"]},
    "us_privacy": {"applies": True},
    "security_measures": _text("Verschlüsselung", "Encryption"),
}


def _entry(key: str, de: str, en: str) -> TaxonomyEntry:
    return TaxonomyEntry(key=key, name=Text(de=de, en=en), description=Text(de=de, en=en))


TAXONOMY = Taxonomy(
    source=TaxonomySource(
        name="test", version="1", url="https://example.org", licence="-", licence_url="-",
        attribution="-",
    ),
    categories={
        e.key: e
        for e in (
            _entry("user.contact.email", "E-Mail-Adresse", "E-mail address"),
            _entry("user.name", "Name", "Name"),
            _entry("user.financial.credit_card", "Kartendaten", "Card data"),
            _entry("user.contact.phone_number", "Telefonnummer", "Phone number"),
        )
    },
    uses={
        e.key: e
        for e in (
            _entry("essential.service", "Bereitstellung des Dienstes", "Providing the service"),
            _entry("essential.fraud_detection", "Betrugserkennung", "Fraud detection"),
        )
    },
    subjects={
        e.key: e
        for e in (
            _entry("customer", "Kunden", "Customers"),
            _entry("prospect", "Interessenten", "Prospects"),
        )
    },
)  # fmt: skip


def declaration(data: Data) -> Declaration:
    return Declaration.model_validate(data)


BASE_DECLARATION = declaration(BASE)


def _find(items: list[Data], ident: str, field: str = "id") -> Data:
    return next(item for item in items if item.get(field) == ident)


def purpose(d: Data, ident: str) -> Data:
    return _find(d["purposes"], ident)


def recipient(d: Data, ident: str) -> Data:
    return _find(d["recipients"], ident)


def category(d: Data, key: str) -> Data:
    return _find(d["data_categories"], key, "key")


def cookie(d: Data, name: str) -> Data:
    return _find(d["cookies"], name, "name")


def drop(items: list[Data], ident: str, field: str = "id") -> None:
    items.remove(_find(items, ident, field))


@dataclass(frozen=True)
class Case:
    """A mutation of BASE that changes exactly one fact, and what the diff must say."""

    key: str
    mutate: Callable[[Data], object]
    path: str
    material: bool
    en: str
    de: str
    reverse: bool = False

    def declarations(self) -> tuple[Declaration, Declaration]:
        data = copy.deepcopy(BASE)
        self.mutate(data)
        changed = declaration(data)
        return (changed, BASE_DECLARATION) if self.reverse else (BASE_DECLARATION, changed)


P = "purposes[contract]"
N = "purposes[newsletter]"

CASES = [
    # controller, authority, DPO
    Case("controller.changed", lambda d: d["controller"].update(name="Neu GmbH"),
         "controller.name", True,
         "The controller is now Neu GmbH (previously Beispiel GmbH).",
         "Verantwortlich ist jetzt Neu GmbH (bisher Beispiel GmbH)."),
    Case("controller.details-changed", lambda d: d["controller"].update(vat_id="DE123456789"),
         "controller", False,
         "Updated details of the controller: VAT identification number.",
         "Geänderte Angaben zum Verantwortlichen: Umsatzsteuer-Identifikationsnummer."),
    Case("supervisory-authority.changed/replaced",
         lambda d: d["supervisory_authority"].update(name=_text("Neue Behörde", "New authority")),
         "supervisory_authority", False,
         "The competent supervisory authority is now New authority "
         "(previously Data Protection Authority).",
         "Zuständige Aufsichtsbehörde ist jetzt Neue Behörde "
         "(bisher Landesamt für Datenschutzaufsicht)."),
    Case("supervisory-authority.changed/details",
         lambda d: d["supervisory_authority"].update(web="https://lda.example.de"),
         "supervisory_authority", False,
         "The contact details of the supervisory authority (Data Protection Authority) "
         "have changed.",
         "Die Kontaktdaten der Aufsichtsbehörde (Landesamt für Datenschutzaufsicht) "
         "haben sich geändert."),
    Case("dpo.changed/appointed", lambda d: d.pop("dpo"), "dpo", False,
         "A data protection officer is now named: Erika Muster.",
         "Als Datenschutzbeauftragter ist jetzt benannt: Erika Muster.", reverse=True),
    Case("dpo.changed/removed", lambda d: d.pop("dpo"), "dpo", False,
         "A data protection officer is no longer named (previously Erika Muster).",
         "Es ist kein Datenschutzbeauftragter mehr benannt (bisher Erika Muster)."),
    Case("dpo.changed/replaced",
         lambda d: d["dpo"].update(name="Max Beispiel", organisation="DSB Partner GmbH"),
         "dpo", False,
         "The data protection officer is now Max Beispiel, DSB Partner GmbH "
         "(previously Erika Muster).",
         "Datenschutzbeauftragter ist jetzt Max Beispiel, DSB Partner GmbH "
         "(bisher Erika Muster)."),
    Case("dpo.changed/details", lambda d: d["dpo"].update(email="neu@example.de"), "dpo", False,
         "The contact details of the data protection officer (Erika Muster) have changed.",
         "Die Kontaktdaten des Datenschutzbeauftragten (Erika Muster) haben sich geändert."),
    # data categories
    Case("data-category.added",
         lambda d: d["data_categories"].append({"key": "user.contact.phone_number"}),
         "data_categories[user.contact.phone_number]", True,
         "New data category: Phone number.", "Neue Datenkategorie: Telefonnummer."),
    Case("data-category.removed", lambda d: drop(d["data_categories"], "x_shop.notes", "key"),
         "data_categories[x_shop.notes]", False,
         "Data of this category are no longer processed: x_shop.notes.",
         "Daten dieser Kategorie werden nicht mehr verarbeitet: x_shop.notes."),
    Case("data-category.description-changed",
         lambda d: category(d, "x_shop.notes").update(description=_text("Notizen", "Notes")),
         "data_categories[x_shop.notes].description", False,
         "The description of the data category x_shop.notes has been reworded.",
         "Die Beschreibung der Datenkategorie x_shop.notes wurde neu formuliert."),
    Case("data-category.special-changed/on",
         lambda d: category(d, "user.name").update(special=True),
         "data_categories[user.name].special", True,
         "The data category Name is now treated as a special category of personal data "
         "(Art. 9 GDPR).",
         "Die Datenkategorie Name gilt jetzt als besondere Kategorie personenbezogener Daten "
         "(Art. 9 DSGVO)."),
    Case("data-category.special-changed/off",
         lambda d: category(d, "user.name").update(special=True),
         "data_categories[user.name].special", False,
         "The data category Name is no longer treated as a special category of personal data "
         "(Art. 9 GDPR).",
         "Die Datenkategorie Name gilt nicht mehr als besondere Kategorie personenbezogener "
         "Daten (Art. 9 DSGVO).", reverse=True),
    Case("data-category.holders-added",
         lambda d: category(d, "user.name").update(held_by=["mailer", "cloudco"]),
         "data_categories[user.name].held_by", True,
         "Data of the category Name are now also held by: Post AG, Cloud Inc.",
         "Daten der Kategorie Name liegen jetzt auch bei: Post AG, Cloud Inc."),
    Case("data-category.holders-removed",
         lambda d: category(d, "user.financial.credit_card").update(held_by=[]),
         "data_categories[user.financial.credit_card].held_by", False,
         "Data of the category Card data are no longer held by: Cloud Inc.",
         "Daten der Kategorie Kartendaten liegen nicht mehr bei: Cloud Inc."),
    # purposes
    Case("purpose.added", lambda d: drop(d["purposes"], "newsletter"), N, True,
         "New purpose “Newsletter” (newsletter) on the basis of consent.",
         "Neuer Zweck „Newsletter“ (newsletter) auf Grundlage einer Einwilligung.", reverse=True),
    Case("purpose.removed", lambda d: drop(d["purposes"], "newsletter"), N, False,
         "The purpose “Newsletter” (newsletter) is dropped; no data are processed for it "
         "any more.",
         "Der Zweck „Newsletter“ (newsletter) entfällt; dafür werden keine Daten mehr "
         "verarbeitet."),
    Case("purpose.renamed",
         lambda d: purpose(d, "contract").update(name=_text("Bestellungen", "Orders")),
         f"{P}.name", False,
         "The purpose contract is now called “Orders” (previously “Performing the contract”).",
         "Der Zweck contract heißt jetzt „Bestellungen“ (bisher „Vertragserfüllung“)."),
    Case("purpose.description-changed",
         lambda d: purpose(d, "contract").update(description=_text("Lieferung.", "Delivery.")),
         f"{P}.description", False,
         "The description of the purpose “Performing the contract” (contract) has been reworded.",
         "Die Beschreibung des Zwecks „Vertragserfüllung“ (contract) wurde neu formuliert."),
    Case("purpose.data-use-changed",
         lambda d: purpose(d, "contract").update(data_use="essential.fraud_detection"),
         f"{P}.data_use", True,
         "The purpose “Performing the contract” (contract) is now classified as Fraud detection "
         "(previously Providing the service).",
         "Der Zweck „Vertragserfüllung“ (contract) ist jetzt als Betrugserkennung eingeordnet "
         "(bisher Bereitstellung des Dienstes)."),
    Case("purpose.legal-basis-changed",
         lambda d: purpose(d, "newsletter").update(legal_basis="legitimate_interests"),
         f"{N}.legal_basis", True,
         "The purpose “Newsletter” (newsletter) now rests on a different legal basis: "
         "legitimate interests instead of consent.",
         "Der Zweck „Newsletter“ (newsletter) stützt sich jetzt auf eine andere Rechtsgrundlage: "
         "berechtigte Interessen statt Einwilligung."),
    Case("purpose.legitimate-interest-changed",
         lambda d: purpose(d, "contract").update(legitimate_interest=_text("Sicherheit", "Safety")),
         f"{P}.legitimate_interest", False,
         "The description of the legitimate interest behind the purpose “Performing the "
         "contract” (contract) has changed.",
         "Die Beschreibung des berechtigten Interesses am Zweck „Vertragserfüllung“ "
         "(contract) hat sich geändert."),
    Case("purpose.special-ground-changed",
         lambda d: purpose(d, "contract").update(special_category_ground="explicit_consent"),
         f"{P}.special_category_ground", True,
         "For special categories of data, the purpose “Performing the contract” (contract) now "
         "relies on: explicit consent (Art. 9(2)(a) GDPR) (previously: none).",
         "Für besondere Kategorien von Daten stützt sich der Zweck „Vertragserfüllung“ "
         "(contract) jetzt auf: ausdrückliche Einwilligung (Art. 9 Abs. 2 lit. a DSGVO) "
         "(bisher: keine)."),
    Case("purpose.subjects-added",
         lambda d: purpose(d, "contract").update(subjects=["customer", "prospect"]),
         f"{P}.subjects", True,
         "The purpose “Performing the contract” (contract) now also concerns these groups of "
         "people: Prospects.",
         "Der Zweck „Vertragserfüllung“ (contract) betrifft jetzt auch diese Personengruppen: "
         "Interessenten."),
    Case("purpose.subjects-removed",
         lambda d: purpose(d, "contract").update(subjects=["customer", "x_members"]),
         f"{P}.subjects", False,
         "The purpose “Performing the contract” (contract) no longer concerns these groups of "
         "people: x_members.",
         "Der Zweck „Vertragserfüllung“ (contract) betrifft diese Personengruppen nicht mehr: "
         "x_members.", reverse=True),
    Case("purpose.categories-added",
         lambda d: purpose(d, "newsletter")["categories"].update(optional=["user.name"]),
         f"{N}.categories", True,
         "The purpose “Newsletter” (newsletter) now also processes: Name.",
         "Für den Zweck „Newsletter“ (newsletter) werden jetzt auch verarbeitet: Name."),
    Case("purpose.categories-removed",
         lambda d: purpose(d, "contract")["categories"].update(optional=[]),
         f"{P}.categories", False,
         "The purpose “Performing the contract” (contract) no longer processes: Name.",
         "Für den Zweck „Vertragserfüllung“ (contract) werden nicht mehr verarbeitet: Name."),
    Case("purpose.categories-now-required",
         lambda d: purpose(d, "contract").update(
             categories={"required": ["user.contact.email", "user.name"]}),
         f"{P}.categories", True,
         "For the purpose “Performing the contract” (contract), these data are now required "
         "instead of optional: Name.",
         "Für den Zweck „Vertragserfüllung“ (contract) sind diese Angaben jetzt Pflicht statt "
         "freiwillig: Name."),
    Case("purpose.categories-now-optional",
         lambda d: purpose(d, "contract").update(
             categories={"required": ["user.contact.email", "user.name"]}),
         f"{P}.categories", False,
         "For the purpose “Performing the contract” (contract), these data are now optional: "
         "Name.",
         "Für den Zweck „Vertragserfüllung“ (contract) sind diese Angaben jetzt freiwillig: "
         "Name.", reverse=True),
    Case("purpose.source-changed/kind",
         lambda d: purpose(d, "contract").update(source={"kind": "third_party"}),
         f"{P}.source", True,
         "Data for the purpose “Performing the contract” (contract) now come from third parties "
         "(previously from the person concerned).",
         "Die Daten für den Zweck „Vertragserfüllung“ (contract) stammen jetzt von Dritten "
         "(bisher von der betroffenen Person)."),
    Case("purpose.source-changed/description",
         lambda d: purpose(d, "contract").update(
             source={"kind": "subject", "description": _text("Formular", "Form")}),
         f"{P}.source", False,
         "The description of where data for the purpose “Performing the contract” (contract) "
         "come from has been reworded.",
         "Die Angaben zur Herkunft der Daten für den Zweck „Vertragserfüllung“ (contract) "
         "wurden neu formuliert."),
    Case("purpose.retention-changed",
         lambda d: purpose(d, "contract").update(
             retention={"period": "P3Y", "after": "contract_end",
                        "statutory": {"law": "§ 147 AO", "period": "P10Y"}}),
         f"{P}.retention", True,
         "New retention period for the purpose “Performing the contract” (contract): 3 years "
         "after the contract ends; statutory retention: 10 years from the end of the year "
         "(§ 147 AO) (previously 3 years after the contract ends).",
         "Neue Speicherdauer für den Zweck „Vertragserfüllung“ (contract): 3 Jahre nach "
         "Vertragsende; gesetzliche Aufbewahrungsfrist: 10 Jahre ab Jahresende (§ 147 AO) "
         "(bisher 3 Jahre nach Vertragsende)."),
    Case("purpose.retention-changed",
         lambda d: purpose(d, "contract").update(
             retention={"period": "P1Y", "after": "contract_end"}),
         f"{P}.retention", False,
         "New retention period for the purpose “Performing the contract” (contract): 1 year "
         "after the contract ends (previously 3 years after the contract ends).",
         "Neue Speicherdauer für den Zweck „Vertragserfüllung“ (contract): 1 Jahr nach "
         "Vertragsende (bisher 3 Jahre nach Vertragsende)."),
    Case("purpose.recipients-added",
         lambda d: purpose(d, "newsletter").update(recipients=["mailer"]),
         f"{N}.recipients", True,
         "For the purpose “Newsletter” (newsletter), data now also go to: Post AG.",
         "Für den Zweck „Newsletter“ (newsletter) erhalten jetzt auch diese Empfänger Daten: "
         "Post AG."),
    Case("purpose.recipients-removed",
         lambda d: purpose(d, "contract").update(recipients=[]),
         f"{P}.recipients", False,
         "For the purpose “Performing the contract” (contract), data no longer go to: Post AG.",
         "Für den Zweck „Vertragserfüllung“ (contract) erhalten diese Empfänger keine Daten "
         "mehr: Post AG."),
    Case("purpose.provision-changed/requirement",
         lambda d: purpose(d, "contract")["provision"].update(requirement="voluntary"),
         f"{P}.provision", True,
         "For the purpose “Performing the contract” (contract), providing the data is now "
         "voluntary (previously needed to conclude a contract).",
         "Für den Zweck „Vertragserfüllung“ (contract) ist die Bereitstellung der Daten jetzt "
         "freiwillig (bisher für einen Vertragsschluss erforderlich)."),
    Case("purpose.provision-changed/consequences",
         lambda d: purpose(d, "contract")["provision"].update(consequences=_text("Nein.", "No.")),
         f"{P}.provision", False,
         "The consequences of not providing data for the purpose “Performing the contract” "
         "(contract) have been reworded.",
         "Die Folgen, wenn Daten für den Zweck „Vertragserfüllung“ (contract) nicht "
         "bereitgestellt werden, wurden neu formuliert."),
    Case("purpose.direct-marketing-changed/on",
         lambda d: purpose(d, "contract").update(direct_marketing=True),
         f"{P}.direct_marketing", True,
         "The purpose “Performing the contract” (contract) now counts as direct marketing.",
         "Der Zweck „Vertragserfüllung“ (contract) gilt jetzt als Direktwerbung."),
    Case("purpose.direct-marketing-changed/off",
         lambda d: purpose(d, "newsletter").update(direct_marketing=False),
         f"{N}.direct_marketing", False,
         "The purpose “Newsletter” (newsletter) no longer counts as direct marketing.",
         "Der Zweck „Newsletter“ (newsletter) gilt nicht mehr als Direktwerbung."),
    Case("purpose.soft-opt-in-changed/on",
         lambda d: purpose(d, "newsletter").update(soft_opt_in=True),
         f"{N}.soft_opt_in", True,
         "For the purpose “Newsletter” (newsletter), existing customers now receive advertising "
         "e-mails without prior consent (§ 7(3) UWG); they can object at any time.",
         "Für den Zweck „Newsletter“ (newsletter) erhalten Bestandskunden jetzt Werbe-E-Mails "
         "ohne vorherige Einwilligung (§ 7 Abs. 3 UWG); sie können jederzeit widersprechen."),
    Case("purpose.soft-opt-in-changed/off",
         lambda d: purpose(d, "newsletter").update(soft_opt_in=True),
         f"{N}.soft_opt_in", False,
         "The purpose “Newsletter” (newsletter) no longer relies on the exception for existing "
         "customers (§ 7(3) UWG).",
         "Der Zweck „Newsletter“ (newsletter) stützt sich nicht mehr auf die Ausnahme für "
         "Bestandskunden (§ 7 Abs. 3 UWG).", reverse=True),
    Case("purpose.objection-channels-changed",
         lambda d: purpose(d, "newsletter").update(objection_channels=["link_in_message", "email"]),
         f"{N}.objection_channels", False,
         "The ways to object to the purpose “Newsletter” (newsletter) are now: link in each "
         "message, e-mail.",
         "Dem Zweck „Newsletter“ (newsletter) können Sie jetzt so widersprechen: Link in jeder "
         "Nachricht, E-Mail."),
    # recipients and transfers
    Case("recipient.added",
         lambda d: d["recipients"].append({
             "id": "tax", "name": "Kanzlei Kluge", "role": "controller", "country": "AT",
             "service": _text("Steuerberatung", "Tax advice")}),
         "recipients[tax]", True,
         "New recipient: Kanzlei Kluge, acting as an independent controller (country: Austria).",
         "Neuer Empfänger: Kanzlei Kluge, tätig als eigenständiger Verantwortlicher "
         "(Land: Österreich)."),
    Case("recipient.removed", lambda d: drop(d["recipients"], "mailer"),
         "recipients[mailer]", False,
         "Post AG no longer receives personal data.",
         "Post AG erhält keine personenbezogenen Daten mehr."),
    Case("recipient.renamed", lambda d: recipient(d, "mailer").update(name="Post Digital AG"),
         "recipients[mailer].name", False,
         "The recipient mailer is now called Post Digital AG (previously Post AG).",
         "Der Empfänger mailer heißt jetzt Post Digital AG (bisher Post AG)."),
    Case("recipient.role-changed",
         lambda d: recipient(d, "mailer").update(role="joint_controller"),
         "recipients[mailer].role", True,
         "Post AG now acts as a joint controller (previously as a processor).",
         "Post AG ist jetzt als gemeinsam Verantwortlicher tätig "
         "(bisher als Auftragsverarbeiter)."),
    Case("recipient.country-changed", lambda d: recipient(d, "mailer").update(country="CH"),
         "recipients[mailer].country", True,
         "Post AG is now based in another country: Switzerland (previously Germany).",
         "Der Sitz von Post AG liegt jetzt in einem anderen Land: Schweiz (bisher Deutschland)."),
    Case("recipient.service-changed",
         lambda d: recipient(d, "mailer").update(service=_text("Briefe", "Letters")),
         "recipients[mailer].service", False,
         "The description of the service Post AG provides has been reworded.",
         "Die Beschreibung der Leistung von Post AG wurde neu formuliert."),
    Case("recipient.categories-added",
         lambda d: recipient(d, "mailer").update(categories=["user.contact.email"]),
         "recipients[mailer].categories", True,
         "Post AG now also receives: E-mail address.",
         "Post AG erhält jetzt auch: E-Mail-Adresse."),
    Case("recipient.categories-removed",
         lambda d: recipient(d, "mailer").update(categories=["user.contact.email"]),
         "recipients[mailer].categories", False,
         "Post AG no longer receives: E-mail address.",
         "Post AG erhält nicht mehr: E-Mail-Adresse.", reverse=True),
    Case("recipient.sells-or-shares-changed/on",
         lambda d: recipient(d, "cloudco").update(sells_or_shares=True),
         "recipients[cloudco].sells_or_shares", True,
         "Passing data to Cloud Inc. now counts as a sale or sharing under Californian law (CCPA).",
         "Die Weitergabe an Cloud Inc. gilt jetzt als Verkauf oder Teilen nach kalifornischem "
         "Recht (CCPA)."),
    Case("recipient.sells-or-shares-changed/off",
         lambda d: recipient(d, "cloudco").update(sells_or_shares=True),
         "recipients[cloudco].sells_or_shares", False,
         "Passing data to Cloud Inc. no longer counts as a sale or sharing under Californian "
         "law (CCPA).",
         "Die Weitergabe an Cloud Inc. gilt nicht mehr als Verkauf oder Teilen nach "
         "kalifornischem Recht (CCPA).", reverse=True),
    Case("recipient.details-changed",
         lambda d: recipient(d, "mailer").update(contract_date="2025-02-01"),
         "recipients[mailer]", False,
         "Updated details of the recipient Post AG: date of the processing contract.",
         "Aktualisierte Angaben zum Empfänger Post AG: Datum des Vertrags zur "
         "Auftragsverarbeitung."),
    Case("transfer.added",
         lambda d: recipient(d, "mailer").update(
             transfers=[{"country": "CH", "safeguard": "adequacy"}]),
         "recipients[mailer].transfers[CH]", True,
         "New transfer to a third country (Switzerland): Post AG; safeguard: adequacy decision.",
         "Neue Übermittlung in ein Drittland (Schweiz): Post AG; Garantie: "
         "Angemessenheitsbeschluss."),
    Case("transfer.removed", lambda d: recipient(d, "cloudco").update(transfers=[]),
         "recipients[cloudco].transfers[US]", False,
         "Cloud Inc. no longer transfers data to a third country (United States).",
         "Cloud Inc. übermittelt keine Daten mehr in ein Drittland (Vereinigte Staaten)."),
    Case("transfer.safeguard-changed",
         lambda d: recipient(d, "cloudco")["transfers"][0].update(safeguard="scc_2021_914"),
         "recipients[cloudco].transfers[US].safeguard", True,
         "The transfer by Cloud Inc. to a third country (United States) now rests on: standard "
         "contractual clauses (Implementing Decision (EU) 2021/914) (previously: EU-US Data "
         "Privacy Framework).",
         "Die Übermittlung durch Cloud Inc. in ein Drittland (Vereinigte Staaten) stützt sich "
         "jetzt auf: Standardvertragsklauseln (Durchführungsbeschluss (EU) 2021/914) (bisher: "
         "EU-US Data Privacy Framework)."),
    Case("transfer.details-changed",
         lambda d: recipient(d, "cloudco")["transfers"][0].update(dpf_list_checked_at="2025-06-01"),
         "recipients[cloudco].transfers[US]", False,
         "Updated details of the transfer by Cloud Inc. to a third country (United States): "
         "check of the DPF List.",
         "Aktualisierte Angaben zur Übermittlung durch Cloud Inc. in ein Drittland (Vereinigte "
         "Staaten): Prüfung der DPF-Liste."),
    # cookies
    Case("cookie.added",
         lambda d: d["cookies"].append({
             "name": "lang", "category": "functional", "storage": "local_storage",
             "lifetime": "P1Y", "description": _text("Sprache", "Language")}),
         "cookies[lang]", True,
         "New local storage entry “lang” (category: functional); storage period: 1 year.",
         "Neu eingesetzt: „lang“ (Eintrag im lokalen Speicher, Kategorie: funktional); "
         "Speicherdauer: 1 Jahr."),
    Case("cookie.added", lambda d: drop(d["cookies"], "_stats", "name"), "cookies[_stats@cloudco]",
         True,
         "New cookie “_stats” (category: analytics, provider: Cloud Inc.); storage period: "
         "13 months.",
         "Neu eingesetzt: „_stats“ (Cookie, Kategorie: Statistik, Anbieter: Cloud Inc.); "
         "Speicherdauer: 13 Monate.", reverse=True),
    Case("cookie.removed", lambda d: drop(d["cookies"], "_stats", "name"),
         "cookies[_stats@cloudco]", False, "The cookie “_stats” is no longer used.",
         "Nicht mehr eingesetzt: „_stats“ (Cookie)."),
    Case("cookie.lifetime-changed", lambda d: cookie(d, "_stats").update(lifetime="P2Y"),
         "cookies[_stats@cloudco].lifetime", True,
         "New storage period for the cookie “_stats”: 2 years (previously 13 months).",
         "Neue Speicherdauer für „_stats“ (Cookie): 2 Jahre (bisher 13 Monate)."),
    Case("cookie.lifetime-changed", lambda d: cookie(d, "session").update(lifetime="PT30M"),
         "cookies[session].lifetime", True,
         "New storage period for the cookie “session”: 30 minutes (previously until the end of "
         "the session).",
         "Neue Speicherdauer für „session“ (Cookie): 30 Minuten (bisher bis zum Ende der "
         "Sitzung)."),
    Case("cookie.lifetime-changed", lambda d: cookie(d, "_stats").update(lifetime="P6M"),
         "cookies[_stats@cloudco].lifetime", False,
         "New storage period for the cookie “_stats”: 6 months (previously 13 months).",
         "Neue Speicherdauer für „_stats“ (Cookie): 6 Monate (bisher 13 Monate)."),
    Case("cookie.category-changed", lambda d: cookie(d, "_stats").update(category="marketing"),
         "cookies[_stats@cloudco].category", True,
         "New category for the cookie “_stats”: marketing (previously analytics).",
         "Neue Kategorie für „_stats“ (Cookie): Marketing (bisher Statistik)."),
    Case("cookie.purpose-changed", lambda d: cookie(d, "_stats").update(purpose="contract"),
         "cookies[_stats@cloudco].purpose", True,
         "New purpose for the cookie “_stats”: Performing the contract (previously no specific "
         "purpose).",
         "Neuer Zweck für „_stats“ (Cookie): Vertragserfüllung (bisher kein bestimmter Zweck)."),
    Case("cookie.consent-changed/on", lambda d: cookie(d, "session").update(consent_required=True),
         "cookies[session].consent_required", False,
         "The cookie “session” is now used only with consent.",
         "Für „session“ (Cookie) wird jetzt vorher eine Einwilligung eingeholt."),
    Case("cookie.consent-changed/off",
         lambda d: cookie(d, "_stats").update(consent_required=False),
         "cookies[_stats@cloudco].consent_required", True,
         "The cookie “_stats” is now used without asking for consent.",
         "Für „_stats“ (Cookie) wird keine Einwilligung mehr eingeholt."),
    Case("cookie.details-changed",
         lambda d: cookie(d, "session").update(description=_text("Anmeldung", "Sign-in")),
         "cookies[session]", False,
         "Updated details of the cookie “session”: description.",
         "Aktualisierte Angaben zu „session“ (Cookie): Beschreibung."),
    # automated decisions, rights channels, notice, US rules, wording
    Case("automated-decision.added", lambda d: d["automated_decisions"].pop(0),
         "automated_decisions[fraud_check]", True,
         "New automated decision-making “fraud_check” for these purposes: Performing the "
         "contract.",
         "Neue automatisierte Entscheidungsfindung „fraud_check“ für diese Zwecke: "
         "Vertragserfüllung.", reverse=True),
    Case("automated-decision.added",
         lambda d: d["automated_decisions"].append({
             "id": "scoring", "purposes": ["contract", "newsletter"], "profiling": True,
             "logic": _text("L", "L"), "significance": _text("S", "S"),
             "consequences": _text("K", "C")}),
         "automated_decisions[scoring]", True,
         "New automated decision-making “scoring” including profiling for these purposes: "
         "Performing the contract, Newsletter.",
         "Neue automatisierte Entscheidungsfindung „scoring“ einschließlich Profiling für diese "
         "Zwecke: Vertragserfüllung, Newsletter."),
    Case("automated-decision.removed", lambda d: d["automated_decisions"].pop(0),
         "automated_decisions[fraud_check]", False,
         "The automated decision-making “fraud_check” is no longer used.",
         "Die automatisierte Entscheidungsfindung „fraud_check“ entfällt."),
    Case("automated-decision.changed",
         lambda d: d["automated_decisions"][0].update(profiling=True, logic=_text("KI", "AI")),
         "automated_decisions[fraud_check]", True,
         "The automated decision-making “fraud_check” changes in these respects: logic involved, "
         "profiling.",
         "Die automatisierte Entscheidungsfindung „fraud_check“ ändert sich in diesen Punkten: "
         "involvierte Logik, Profiling."),
    Case("rights-channel.added", lambda d: d["rights_channels"].append({"kind": "post"}),
         "rights_channels[post:]", False,
         "New way to exercise your rights: post.", "Neuer Weg, Ihre Rechte auszuüben: Post."),
    Case("rights-channel.removed", lambda d: d["rights_channels"].pop(1),
         "rights_channels[web:https://example.de/anfragen]", False,
         "This way to exercise your rights is no longer offered: web form "
         "(https://example.de/anfragen).",
         "Dieser Weg, Ihre Rechte auszuüben, entfällt: Webformular (https://example.de/anfragen)."),
    Case("rights-channel.changed",
         lambda d: d["rights_channels"][0].update(rights=["access", "erasure"]),
         "rights_channels[email:datenschutz@example.de]", False,
         "Updated details for exercising your rights by e-mail (datenschutz@example.de).",
         "Aktualisierte Angaben zur Ausübung Ihrer Rechte über E-Mail (datenschutz@example.de)."),
    Case("change-notice.changed/period", lambda d: d["change_notice"].update(days=20),
         "change_notice", False,
         "Changes are now announced 20 working days (Mon–Sat) before they take effect "
         "(previously 30 working days (Mon–Sat)).",
         "Änderungen werden jetzt 20 Werktage vor ihrem Inkrafttreten angekündigt "
         "(bisher 30 Werktage)."),
    Case("change-notice.changed/rules", lambda d: d["change_notice"].update(states="all"),
         "change_notice", False,
         "The rules for announcing changes have been updated.",
         "Die Regeln für die Ankündigung von Änderungen wurden aktualisiert."),
    Case("us-privacy.sells-changed/on", lambda d: d["us_privacy"].update(sells=True),
         "us_privacy.sells", True,
         "Personal information is now sold within the meaning of Californian law (CCPA).",
         "Personenbezogene Daten werden jetzt im Sinne des kalifornischen Rechts (CCPA) "
         "verkauft."),
    Case("us-privacy.sells-changed/off", lambda d: d["us_privacy"].update(sells=True),
         "us_privacy.sells", False,
         "Personal information is no longer sold within the meaning of Californian law (CCPA).",
         "Personenbezogene Daten werden nicht mehr im Sinne des kalifornischen Rechts (CCPA) "
         "verkauft.", reverse=True),
    Case("us-privacy.shares-changed/on", lambda d: d["us_privacy"].update(shares=True),
         "us_privacy.shares", True,
         "Personal information is now shared for cross-context behavioural advertising (CCPA).",
         "Personenbezogene Daten werden jetzt für kontextübergreifende verhaltensbezogene "
         "Werbung geteilt (CCPA)."),
    Case("us-privacy.shares-changed/off", lambda d: d["us_privacy"].update(shares=True),
         "us_privacy.shares", False,
         "Personal information is no longer shared for cross-context behavioural advertising "
         "(CCPA).",
         "Personenbezogene Daten werden nicht mehr für kontextübergreifende verhaltensbezogene "
         "Werbung geteilt (CCPA).", reverse=True),
    Case("us-privacy.details-changed", lambda d: d["us_privacy"].update(response_days=30),
         "us_privacy", False,
         "The information for Californian residents has been updated.",
         "Die Angaben für Einwohner Kaliforniens wurden aktualisiert."),
    Case("title.changed", lambda d: d.update(title=_text("Datenschutz", "Privacy")), "title", False,
         "The title of the privacy statement has changed.",
         "Der Titel der Datenschutzerklärung hat sich geändert."),
    Case("security-measures.changed",
         lambda d: d.update(security_measures=_text("TLS und Verschlüsselung", "TLS")),
         "security_measures", False,
         "The description of the security measures has been reworded.",
         "Die Beschreibung der Sicherheitsmaßnahmen wurde neu formuliert."),
]  # fmt: skip


def _id(case: Case) -> str:
    return f"{case.key}:{case.path}:{'material' if case.material else 'minor'}"


@pytest.mark.promise("P20")
@pytest.mark.parametrize("case", CASES, ids=_id)
def test_each_change_is_reported_once_in_both_languages(case: Case) -> None:
    old, new = case.declarations()
    changes = diff(old, new, taxonomy=TAXONOMY)
    assert len(changes) == 1, [c.kind for c in changes]
    change = changes[0]
    key = f"{change.kind}/{change.variant}" if change.variant else change.kind
    assert key == case.key
    assert change.path == case.path
    assert change.material is case.material
    assert change.describe("en") == case.en
    assert change.describe("de") == case.de


def test_every_sentence_is_exercised() -> None:
    assert {case.key for case in CASES} == set(SENTENCES)
    assert {case.key.split("/")[0] for case in CASES} == KINDS


def test_identical_declarations_have_no_changes() -> None:
    again = declaration(copy.deepcopy(BASE))
    assert diff(BASE_DECLARATION, again, taxonomy=TAXONOMY) == []
    assert diff(BASE_DECLARATION, BASE_DECLARATION) == []


def test_order_follows_the_declaration_and_is_stable() -> None:
    data = copy.deepcopy(BASE)
    data["security_measures"] = _text("Neu", "New")
    purpose(data, "newsletter").update(legal_basis="contract")
    data["title"] = _text("Neu", "New")
    recipient(data, "cloudco").update(country="CA")
    drop(data["purposes"], "contract")
    new = declaration(data)
    first = diff(BASE_DECLARATION, new, taxonomy=TAXONOMY)
    assert [c.kind for c in first] == [
        "title.changed",
        "purpose.legal-basis-changed",
        "purpose.removed",
        "recipient.country-changed",
        "security-measures.changed",
    ]
    assert diff(BASE_DECLARATION, new, taxonomy=TAXONOMY) == first


def test_the_bundled_taxonomy_names_categories_by_default() -> None:
    data = copy.deepcopy(BASE)
    data["data_categories"].append({"key": "user.device.ip_address"})
    (change,) = diff(BASE_DECLARATION, declaration(data))
    assert change.kind == "data-category.added"
    assert "user.device.ip_address" not in change.describe("en")
    assert change.describe("de").startswith("Neue Datenkategorie: ")


def test_describe_accepts_regional_language_tags_and_refuses_others() -> None:
    change = Change("title.changed", "title", False)
    assert change.describe("de-DE") == change.describe("de_AT") == change.describe("DE")
    assert change.describe("en-GB") != change.describe("de")
    with pytest.raises(InvalidInput, match="'fr' is not supported"):
        change.describe("fr")


def _entry_of(path: str) -> str:
    """The entry a path belongs to: ``purposes[contract]`` for ``purposes[contract].name``."""
    head = path.split(".")[0]
    return path.split("]")[0] if "[" in head else head


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([c for c in CASES if not c.reverse]), min_size=2, max_size=6))
def test_edits_of_different_entries_are_each_reported(cases: list[Case]) -> None:
    """Edits of different entries together give exactly their single changes, none lost."""
    assume(len({_entry_of(c.path) for c in cases}) == len(cases))
    data = copy.deepcopy(BASE)
    for case in cases:
        case.mutate(data)
    changes = diff(BASE_DECLARATION, declaration(data), taxonomy=TAXONOMY)
    expected = [(c.key.split("/")[0], c.path, c.material) for c in cases]
    assert sorted((c.kind, c.path, c.material) for c in changes) == sorted(expected)

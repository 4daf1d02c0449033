"""The sentences of the declaration diff, in German and English.

Each change kind (and, where the wording depends on direction, a variant such as
``dpo.changed/appointed``) has one template per language; placeholders are
filled with :class:`Phrase` values that :mod:`tutela.policy.diff` builds from the
declarations. Names of purposes and recipients are quoted in the template, so
German uses „…“ and English “…”.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("de", "en")


@dataclass(frozen=True, slots=True)
class Phrase:
    """A piece of text in both languages."""

    de: str
    en: str

    def get(self, language: str) -> str:
        return self.de if language == "de" else self.en

    @classmethod
    def same(cls, text: str) -> Phrase:
        """Text that reads the same in both languages (ids, names, keys)."""
        return cls(de=text, en=text)


def _p(en: str, de: str) -> Phrase:
    return Phrase(de=de, en=en)


_P = "the purpose “{name}” ({id})"
_TP = "The purpose “{name}” ({id})"
_Z = "den Zweck „{name}“ ({id})"

SENTENCES: dict[str, Phrase] = {
    # controller, contacts, authority
    "controller.changed": _p(
        "The controller is now {new} (previously {old}).",
        "Verantwortlich ist jetzt {new} (bisher {old}).",
    ),
    "controller.details-changed": _p(
        "Updated details of the controller: {fields}.",
        "Geänderte Angaben zum Verantwortlichen: {fields}.",
    ),
    "dpo.changed/appointed": _p(
        "A data protection officer is now named: {new}.",
        "Als Datenschutzbeauftragter ist jetzt benannt: {new}.",
    ),
    "dpo.changed/removed": _p(
        "A data protection officer is no longer named (previously {old}).",
        "Es ist kein Datenschutzbeauftragter mehr benannt (bisher {old}).",
    ),
    "dpo.changed/replaced": _p(
        "The data protection officer is now {new} (previously {old}).",
        "Datenschutzbeauftragter ist jetzt {new} (bisher {old}).",
    ),
    "dpo.changed/details": _p(
        "The contact details of the data protection officer ({new}) have changed.",
        "Die Kontaktdaten des Datenschutzbeauftragten ({new}) haben sich geändert.",
    ),
    "supervisory-authority.changed/replaced": _p(
        "The competent supervisory authority is now {new} (previously {old}).",
        "Zuständige Aufsichtsbehörde ist jetzt {new} (bisher {old}).",
    ),
    "supervisory-authority.changed/details": _p(
        "The contact details of the supervisory authority ({new}) have changed.",
        "Die Kontaktdaten der Aufsichtsbehörde ({new}) haben sich geändert.",
    ),
    # data categories
    "data-category.added": _p("New data category: {label}.", "Neue Datenkategorie: {label}."),
    "data-category.removed": _p(
        "Data of this category are no longer processed: {label}.",
        "Daten dieser Kategorie werden nicht mehr verarbeitet: {label}.",
    ),
    "data-category.description-changed": _p(
        "The description of the data category {key} has been reworded.",
        "Die Beschreibung der Datenkategorie {key} wurde neu formuliert.",
    ),
    "data-category.special-changed/on": _p(
        "The data category {label} is now treated as a special category of personal data "
        "(Art. 9 GDPR).",
        "Die Datenkategorie {label} gilt jetzt als besondere Kategorie personenbezogener Daten "
        "(Art. 9 DSGVO).",
    ),
    "data-category.special-changed/off": _p(
        "The data category {label} is no longer treated as a special category of personal data "
        "(Art. 9 GDPR).",
        "Die Datenkategorie {label} gilt nicht mehr als besondere Kategorie personenbezogener "
        "Daten (Art. 9 DSGVO).",
    ),
    "data-category.holders-added": _p(
        "Data of the category {label} are now also held by: {names}.",
        "Daten der Kategorie {label} liegen jetzt auch bei: {names}.",
    ),
    "data-category.holders-removed": _p(
        "Data of the category {label} are no longer held by: {names}.",
        "Daten der Kategorie {label} liegen nicht mehr bei: {names}.",
    ),
    # purposes
    "purpose.added": _p(
        "New purpose “{name}” ({id}) {basis_on}.", "Neuer Zweck „{name}“ ({id}) {basis_on}."
    ),
    "purpose.removed": _p(
        "The purpose “{name}” ({id}) is dropped; no data are processed for it any more.",
        "Der Zweck „{name}“ ({id}) entfällt; dafür werden keine Daten mehr verarbeitet.",
    ),
    "purpose.renamed": _p(
        "The purpose {id} is now called “{new}” (previously “{old}”).",
        "Der Zweck {id} heißt jetzt „{new}“ (bisher „{old}“).",
    ),
    "purpose.description-changed": _p(
        "The description of " + _P + " has been reworded.",
        "Die Beschreibung des Zwecks „{name}“ ({id}) wurde neu formuliert.",
    ),
    "purpose.data-use-changed": _p(
        _TP + " is now classified as {new} (previously {old}).",
        "Der Zweck „{name}“ ({id}) ist jetzt als {new} eingeordnet (bisher {old}).",
    ),
    "purpose.legal-basis-changed": _p(
        _TP + " now rests on a different legal basis: {new} instead of {old}.",
        "Der Zweck „{name}“ ({id}) stützt sich jetzt auf eine andere Rechtsgrundlage: "
        "{new} statt {old}.",
    ),
    "purpose.legitimate-interest-changed": _p(
        "The description of the legitimate interest behind " + _P + " has changed.",
        "Die Beschreibung des berechtigten Interesses am Zweck „{name}“ ({id}) hat sich geändert.",
    ),
    "purpose.special-ground-changed": _p(
        "For special categories of data, " + _P + " now relies on: {new} (previously: {old}).",
        "Für besondere Kategorien von Daten stützt sich der Zweck „{name}“ ({id}) jetzt auf: "
        "{new} (bisher: {old}).",
    ),
    "purpose.subjects-added": _p(
        _TP + " now also concerns these groups of people: {list}.",
        "Der Zweck „{name}“ ({id}) betrifft jetzt auch diese Personengruppen: {list}.",
    ),
    "purpose.subjects-removed": _p(
        _TP + " no longer concerns these groups of people: {list}.",
        "Der Zweck „{name}“ ({id}) betrifft diese Personengruppen nicht mehr: {list}.",
    ),
    "purpose.categories-added": _p(
        _TP + " now also processes: {list}.",
        "Für " + _Z + " werden jetzt auch verarbeitet: {list}.",
    ),
    "purpose.categories-removed": _p(
        _TP + " no longer processes: {list}.",
        "Für " + _Z + " werden nicht mehr verarbeitet: {list}.",
    ),
    "purpose.categories-now-required": _p(
        "For " + _P + ", these data are now required instead of optional: {list}.",
        "Für " + _Z + " sind diese Angaben jetzt Pflicht statt freiwillig: {list}.",
    ),
    "purpose.categories-now-optional": _p(
        "For " + _P + ", these data are now optional: {list}.",
        "Für " + _Z + " sind diese Angaben jetzt freiwillig: {list}.",
    ),
    "purpose.source-changed/kind": _p(
        "Data for " + _P + " now come {new} (previously {old}).",
        "Die Daten für " + _Z + " stammen jetzt {new} (bisher {old}).",
    ),
    "purpose.source-changed/description": _p(
        "The description of where data for " + _P + " come from has been reworded.",
        "Die Angaben zur Herkunft der Daten für " + _Z + " wurden neu formuliert.",
    ),
    "purpose.retention-changed": _p(
        "New retention period for " + _P + ": {new} (previously {old}).",
        "Neue Speicherdauer für " + _Z + ": {new} (bisher {old}).",
    ),
    "purpose.recipients-added": _p(
        "For " + _P + ", data now also go to: {names}.",
        "Für " + _Z + " erhalten jetzt auch diese Empfänger Daten: {names}.",
    ),
    "purpose.recipients-removed": _p(
        "For " + _P + ", data no longer go to: {names}.",
        "Für " + _Z + " erhalten diese Empfänger keine Daten mehr: {names}.",
    ),
    "purpose.provision-changed/requirement": _p(
        "For " + _P + ", providing the data is now {new} (previously {old}).",
        "Für " + _Z + " ist die Bereitstellung der Daten jetzt {new} (bisher {old}).",
    ),
    "purpose.provision-changed/consequences": _p(
        "The consequences of not providing data for " + _P + " have been reworded.",
        "Die Folgen, wenn Daten für " + _Z + " nicht bereitgestellt werden, wurden neu formuliert.",
    ),
    "purpose.direct-marketing-changed/on": _p(
        _TP + " now counts as direct marketing.",
        "Der Zweck „{name}“ ({id}) gilt jetzt als Direktwerbung.",
    ),
    "purpose.direct-marketing-changed/off": _p(
        _TP + " no longer counts as direct marketing.",
        "Der Zweck „{name}“ ({id}) gilt nicht mehr als Direktwerbung.",
    ),
    "purpose.soft-opt-in-changed/on": _p(
        "For " + _P + ", existing customers now receive advertising e-mails without prior "
        "consent (§ 7(3) UWG); they can object at any time.",
        "Für " + _Z + " erhalten Bestandskunden jetzt Werbe-E-Mails ohne vorherige "
        "Einwilligung (§ 7 Abs. 3 UWG); sie können jederzeit widersprechen.",
    ),
    "purpose.soft-opt-in-changed/off": _p(
        _TP + " no longer relies on the exception for existing customers (§ 7(3) UWG).",
        "Der Zweck „{name}“ ({id}) stützt sich nicht mehr auf die Ausnahme für Bestandskunden "
        "(§ 7 Abs. 3 UWG).",
    ),
    "purpose.objection-channels-changed": _p(
        "The ways to object to " + _P + " are now: {list}.",
        "Dem Zweck „{name}“ ({id}) können Sie jetzt so widersprechen: {list}.",
    ),
    # recipients and transfers
    "recipient.added": _p(
        "New recipient: {name}, acting as {role} (country: {country}).",
        "Neuer Empfänger: {name}, tätig als {role} (Land: {country}).",
    ),
    "recipient.removed": _p(
        "{name} no longer receives personal data.",
        "{name} erhält keine personenbezogenen Daten mehr.",
    ),
    "recipient.renamed": _p(
        "The recipient {id} is now called {new} (previously {old}).",
        "Der Empfänger {id} heißt jetzt {new} (bisher {old}).",
    ),
    "recipient.role-changed": _p(
        "{name} now acts as {new} (previously as {old}).",
        "{name} ist jetzt als {new} tätig (bisher als {old}).",
    ),
    "recipient.country-changed": _p(
        "{name} is now based in another country: {new} (previously {old}).",
        "Der Sitz von {name} liegt jetzt in einem anderen Land: {new} (bisher {old}).",
    ),
    "recipient.service-changed": _p(
        "The description of the service {name} provides has been reworded.",
        "Die Beschreibung der Leistung von {name} wurde neu formuliert.",
    ),
    "recipient.categories-added": _p(
        "{name} now also receives: {list}.", "{name} erhält jetzt auch: {list}."
    ),
    "recipient.categories-removed": _p(
        "{name} no longer receives: {list}.", "{name} erhält nicht mehr: {list}."
    ),
    "recipient.sells-or-shares-changed/on": _p(
        "Passing data to {name} now counts as a sale or sharing under Californian law (CCPA).",
        "Die Weitergabe an {name} gilt jetzt als Verkauf oder Teilen nach kalifornischem Recht "
        "(CCPA).",
    ),
    "recipient.sells-or-shares-changed/off": _p(
        "Passing data to {name} no longer counts as a sale or sharing under Californian law "
        "(CCPA).",
        "Die Weitergabe an {name} gilt nicht mehr als Verkauf oder Teilen nach kalifornischem "
        "Recht (CCPA).",
    ),
    "recipient.details-changed": _p(
        "Updated details of the recipient {name}: {fields}.",
        "Aktualisierte Angaben zum Empfänger {name}: {fields}.",
    ),
    "transfer.added": _p(
        "New transfer to a third country ({country}): {name}; safeguard: {safeguard}.",
        "Neue Übermittlung in ein Drittland ({country}): {name}; Garantie: {safeguard}.",
    ),
    "transfer.removed": _p(
        "{name} no longer transfers data to a third country ({country}).",
        "{name} übermittelt keine Daten mehr in ein Drittland ({country}).",
    ),
    "transfer.safeguard-changed": _p(
        "The transfer by {name} to a third country ({country}) now rests on: {new} "
        "(previously: {old}).",
        "Die Übermittlung durch {name} in ein Drittland ({country}) stützt sich jetzt auf: "
        "{new} (bisher: {old}).",
    ),
    "transfer.details-changed": _p(
        "Updated details of the transfer by {name} to a third country ({country}): {fields}.",
        "Aktualisierte Angaben zur Übermittlung durch {name} in ein Drittland ({country}): "
        "{fields}.",
    ),
    # cookies and similar technologies
    "cookie.added": _p(
        "New {storage} “{name}” (category: {category}{provider}); storage period: {lifetime}.",
        "Neu eingesetzt: „{name}“ ({storage}, Kategorie: {category}{provider}); "
        "Speicherdauer: {lifetime}.",
    ),
    "cookie.removed": _p(
        "The {storage} “{name}” is no longer used.",
        "Nicht mehr eingesetzt: „{name}“ ({storage}).",
    ),
    "cookie.lifetime-changed": _p(
        "New storage period for the {storage} “{name}”: {new} (previously {old}).",
        "Neue Speicherdauer für „{name}“ ({storage}): {new} (bisher {old}).",
    ),
    "cookie.category-changed": _p(
        "New category for the {storage} “{name}”: {new} (previously {old}).",
        "Neue Kategorie für „{name}“ ({storage}): {new} (bisher {old}).",
    ),
    "cookie.purpose-changed": _p(
        "New purpose for the {storage} “{name}”: {new} (previously {old}).",
        "Neuer Zweck für „{name}“ ({storage}): {new} (bisher {old}).",
    ),
    "cookie.consent-changed/on": _p(
        "The {storage} “{name}” is now used only with consent.",
        "Für „{name}“ ({storage}) wird jetzt vorher eine Einwilligung eingeholt.",
    ),
    "cookie.consent-changed/off": _p(
        "The {storage} “{name}” is now used without asking for consent.",
        "Für „{name}“ ({storage}) wird keine Einwilligung mehr eingeholt.",
    ),
    "cookie.details-changed": _p(
        "Updated details of the {storage} “{name}”: {fields}.",
        "Aktualisierte Angaben zu „{name}“ ({storage}): {fields}.",
    ),
    # automated decisions, rights, notice, US rules, wording
    "automated-decision.added": _p(
        "New automated decision-making “{id}”{profiling} for these purposes: {purposes}.",
        "Neue automatisierte Entscheidungsfindung „{id}“{profiling} für diese Zwecke: {purposes}.",
    ),
    "automated-decision.removed": _p(
        "The automated decision-making “{id}” is no longer used.",
        "Die automatisierte Entscheidungsfindung „{id}“ entfällt.",
    ),
    "automated-decision.changed": _p(
        "The automated decision-making “{id}” changes in these respects: {fields}.",
        "Die automatisierte Entscheidungsfindung „{id}“ ändert sich in diesen Punkten: {fields}.",
    ),
    "rights-channel.added": _p(
        "New way to exercise your rights: {channel}.",
        "Neuer Weg, Ihre Rechte auszuüben: {channel}.",
    ),
    "rights-channel.removed": _p(
        "This way to exercise your rights is no longer offered: {channel}.",
        "Dieser Weg, Ihre Rechte auszuüben, entfällt: {channel}.",
    ),
    "rights-channel.changed": _p(
        "Updated details for exercising your rights by {channel}.",
        "Aktualisierte Angaben zur Ausübung Ihrer Rechte über {channel}.",
    ),
    "change-notice.changed/period": _p(
        "Changes are now announced {new} before they take effect (previously {old}).",
        "Änderungen werden jetzt {new} vor ihrem Inkrafttreten angekündigt (bisher {old}).",
    ),
    "change-notice.changed/rules": _p(
        "The rules for announcing changes have been updated.",
        "Die Regeln für die Ankündigung von Änderungen wurden aktualisiert.",
    ),
    "us-privacy.sells-changed/on": _p(
        "Personal information is now sold within the meaning of Californian law (CCPA).",
        "Personenbezogene Daten werden jetzt im Sinne des kalifornischen Rechts (CCPA) verkauft.",
    ),
    "us-privacy.sells-changed/off": _p(
        "Personal information is no longer sold within the meaning of Californian law (CCPA).",
        "Personenbezogene Daten werden nicht mehr im Sinne des kalifornischen Rechts (CCPA) "
        "verkauft.",
    ),
    "us-privacy.shares-changed/on": _p(
        "Personal information is now shared for cross-context behavioural advertising (CCPA).",
        "Personenbezogene Daten werden jetzt für kontextübergreifende verhaltensbezogene "
        "Werbung geteilt (CCPA).",
    ),
    "us-privacy.shares-changed/off": _p(
        "Personal information is no longer shared for cross-context behavioural advertising "
        "(CCPA).",
        "Personenbezogene Daten werden nicht mehr für kontextübergreifende verhaltensbezogene "
        "Werbung geteilt (CCPA).",
    ),
    "us-privacy.details-changed": _p(
        "The information for Californian residents has been updated.",
        "Die Angaben für Einwohner Kaliforniens wurden aktualisiert.",
    ),
    "title.changed": _p(
        "The title of the privacy statement has changed.",
        "Der Titel der Datenschutzerklärung hat sich geändert.",
    ),
    "security-measures.changed": _p(
        "The description of the security measures has been reworded.",
        "Die Beschreibung der Sicherheitsmaßnahmen wurde neu formuliert.",
    ),
}

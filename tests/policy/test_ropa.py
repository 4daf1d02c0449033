"""The record of processing activities: every Art. 30(1) field for every purpose, and the gaps.

Expectations come from the example declaration and from variants of it built here;
a detail the declaration lacks must show up as a field marked missing that names
the place to fill, never as an empty cell.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session

from tutela.clock import FrozenClock
from tutela.errors import InvalidInput, NotFound
from tutela.policy.loader import load_declaration
from tutela.policy.models import Declaration
from tutela.policy.ropa import (
    FIELD_KEYS,
    Record,
    RecordSource,
    Status,
    build_record,
    source_of,
    version_for_record,
)
from tutela.policy.ropa_texts import MESSAGES, TEXTS
from tutela.policy.taxonomy import load_taxonomy
from tutela.policy.versions import publish

EXAMPLE = Path(__file__).resolve().parents[2] / "src" / "tutela" / "policy" / "examples"
EXAMPLE_FILE = EXAMPLE / "example.yaml"
LANGS = ("de", "en")
DAY = dt.date(2026, 3, 2)
ART_30 = {
    "controller": "a",
    "joint_controllers": "a",
    "representative": "a",
    "dpo": "a",
    "purposes": "b",
    "data_subjects": "c",
    "data_categories": "c",
    "recipients": "d",
    "transfers": "e",
    "erasure": "f",
    "security": "g",
}


@pytest.fixture(scope="module")
def example() -> Declaration:
    return load_declaration(EXAMPLE_FILE)


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE_FILE.read_text(encoding="utf-8"))
    return data


def record_of(declaration: Declaration, language: str = "en") -> Record:
    return build_record(
        declaration,
        language=language,
        prepared_on=DAY,
        source=RecordSource(file_name="example.yaml"),
    )


def variant(raw: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> Declaration:
    data = copy.deepcopy(raw)
    change(data)
    return Declaration.model_validate(data)


def purpose_index(raw: dict[str, Any], purpose_id: str) -> int:
    return next(i for i, p in enumerate(raw["purposes"]) if p["id"] == purpose_id)


# --- every field, every purpose -------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGS)
def test_every_art30_field_is_present_for_every_purpose(
    example: Declaration, language: str
) -> None:
    record = record_of(example, language)
    assert [e.purpose_id for e in record.entries] == [p.id for p in example.purposes]
    assert [e.number for e in record.entries] == list(range(1, len(example.purposes) + 1))
    assert set(ART_30) <= set(FIELD_KEYS)
    for entry in record.entries:
        assert [f.key for f in entry.fields] == list(FIELD_KEYS)
        for field in entry.fields:
            assert field.label.strip(), (entry.purpose_id, field.key)
            assert field.lines, (entry.purpose_id, field.key)
            assert all(line.strip() for line in field.lines), (entry.purpose_id, field.key)
        for key, letter in ART_30.items():
            assert entry.field(key).reference in (
                f"Art. 30(1)({letter}) GDPR",
                f"Art. 30 Abs. 1 lit. {letter} DSGVO",
            )


def test_the_example_fills_every_required_detail(example: Declaration) -> None:
    record = record_of(example)
    assert record.gaps == ()
    assert record.about[-1] == TEXTS["about_complete"]


def test_controller_and_dpo_are_named_with_contact_details(example: Declaration) -> None:
    entry = record_of(example).entries[0]
    controller = entry.field("controller").lines
    assert controller[0] == "Terminfuchs GmbH"
    assert "Musterstraße 12" in controller
    assert "93047 Regensburg" in controller
    assert "E-mail: datenschutz@example.de" in controller
    assert "Telephone: +49 941 0000000" in controller
    dpo = entry.field("dpo")
    assert dpo.status is Status.DECLARED
    assert dpo.lines[0] == "Dr. Petra Platzhalter"
    assert any("Datenschutzkanzlei Beispiel GmbH" in line for line in dpo.lines)
    assert "E-mail: dsb-terminfuchs@example.com" in dpo.lines
    assert entry.field("representative").status is Status.NOT_APPLICABLE
    assert entry.field("joint_controllers").status is Status.NOT_APPLICABLE


def test_purpose_subjects_and_categories_use_the_taxonomy_names(example: Declaration) -> None:
    taxonomy = load_taxonomy()
    for language in LANGS:
        record = record_of(example, language)
        for purpose, entry in zip(example.purposes, record.entries, strict=True):
            purposes = entry.field("purposes").lines
            assert purposes == (purpose.name.get(language), purpose.description.get(language))
            subjects = entry.field("data_subjects").lines
            expected = [taxonomy.subjects[key].name.get(language) for key in purpose.subjects]
            assert list(subjects) == expected
            categories = entry.field("data_categories").lines
            assert len(categories) == len(purpose.categories.all())
    contract = record_of(example, "de").entries[0].field("data_categories").lines
    assert contract[0] == taxonomy.categories["user.name.first"].name.de
    assert "Unternehmenskennzahlen (optional)" in contract


def test_legal_basis_names_article_and_interest(example: Declaration) -> None:
    record = record_of(example)
    by_id = {e.purpose_id: e for e in record.entries}
    assert "Art. 6(1)(b) GDPR" in by_id["contract"].field("legal_basis").lines[0]
    logs = by_id["server_logs"].field("legal_basis").lines
    assert "Art. 6(1)(f) GDPR" in logs[0]
    assert logs[1].startswith("Interest pursued: ")


def test_recipients_and_transfers_of_each_purpose(example: Declaration) -> None:
    """G30-4: every recipient of a purpose is in its entry; third countries are named."""
    record = record_of(example)
    for purpose, entry in zip(example.purposes, record.entries, strict=True):
        recipients = "\n".join(entry.field("recipients").lines)
        for rid in purpose.recipients:
            recipient = example.recipient(rid)
            assert recipient is not None
            assert recipient.name in recipients
    by_id = {e.purpose_id: e for e in record.entries}
    analytics = by_id["web_analytics"]
    assert "Metricly Inc. (United States, third country)" in analytics.field("recipients").lines[0]
    transfers = analytics.field("transfers")
    assert transfers.status is Status.DECLARED
    assert "Data Privacy Framework" in transfers.lines[0]
    assert "12 January 2026" in transfers.lines[1]
    support = by_id["support"].field("transfers").lines
    assert "2021/914" in support[0]
    assert support[0].endswith("module 2")
    assert any(line.startswith("Copy of the safeguards: ") for line in support)
    assert by_id["contract"].field("transfers").status is Status.NOT_APPLICABLE


def test_category_holders_and_cookie_providers_count_as_recipients(example: Declaration) -> None:
    record = record_of(example)
    by_id = {e.purpose_id: e for e in record.entries}
    # user.financial.credit_card is held by kartenfix; the cookie adr_click is set by adreach
    assert "Kartenfix Payments B.V." in by_id["card_payment"].field("recipients").lines[0]
    assert "Adreach Inc." in "\n".join(by_id["ad_measurement"].field("recipients").lines)


def test_erasure_limits_and_security(example: Declaration) -> None:
    de = {e.purpose_id: e for e in record_of(example, "de").entries}
    assert de["contract"].field("erasure").lines[0] == "Bis 6 Monate nach Vertragsende"
    invoices = "\n".join(de["invoicing"].field("erasure").lines)
    assert "§ 147" in invoices
    assert "8 Jahre" in invoices
    assert any("tf_session" in line for line in de["contract"].field("erasure").lines)
    assert example.security_measures is not None
    assert de["contract"].field("security").lines == (example.security_measures.de,)


def test_german_record_speaks_german(example: Declaration) -> None:
    record = record_of(example, "de")
    entry = {e.purpose_id: e for e in record.entries}["web_analytics"]
    assert entry.name == "Reichweitenmessung"
    assert "Vereinigte Staaten" in entry.field("recipients").lines[0]
    assert "Deutschland" in entry.field("controller").lines
    assert "12. Januar 2026" in entry.field("transfers").lines[1]


# --- gaps -----------------------------------------------------------------------------------------


def test_missing_details_are_marked_and_name_the_place_to_fill(raw: dict[str, Any]) -> None:
    contract = purpose_index(raw, "contract")

    def strip(data: dict[str, Any]) -> None:
        del data["dpo"]
        del data["security_measures"]
        del data["purposes"][contract]["retention"]
        data["purposes"][contract]["subjects"] = []
        data["purposes"][contract]["categories"] = {"required": [], "optional": []}

    record = record_of(variant(raw, strip))
    entry = record.entries[contract]
    expected = {
        "dpo": "Add dpo",
        "security": "Add security_measures",
        "erasure": f"Add purposes[{contract}].retention",
        "data_subjects": f"Add purposes[{contract}].subjects",
        "data_categories": f"Add purposes[{contract}].categories",
    }
    for key, hint in expected.items():
        field = entry.field(key)
        assert field.status is Status.MISSING, key
        assert field.lines[0].startswith("Missing: "), key
        assert hint in field.lines[0], key
    assert {f.key for f in entry.gaps} == set(expected)
    # dpo and security are missing in every entry, the rest only in this one
    assert len(record.gaps) == 2 * len(record.entries) + 3
    assert record.about[-1].startswith("Details missing from the declaration: ")
    assert str(len(record.gaps)) in record.about[-1]


def test_third_country_gaps_in_transfers(raw: dict[str, Any]) -> None:
    recipients = {r["id"]: i for i, r in enumerate(raw["recipients"])}

    def change(data: dict[str, Any]) -> None:
        data["recipients"][recipients["metricly"]]["transfers"] = []
        ticketloom = data["recipients"][recipients["ticketloom"]]["transfers"][0]
        del ticketloom["safeguard"]
        postwind = data["recipients"][recipients["postwind"]]["transfers"][0]
        postwind["dpf_certified"] = None

    by_id = {e.purpose_id: e for e in record_of(variant(raw, change)).entries}
    analytics = by_id["web_analytics"].field("transfers")
    assert analytics.status is Status.MISSING
    assert f"recipients[{recipients['metricly']}].transfers" in analytics.lines[0]
    assert "United States" in analytics.lines[0]
    support = by_id["support"].field("transfers")
    assert support.status is Status.MISSING
    assert f"recipients[{recipients['ticketloom']}].transfers[0].safeguard" in support.lines[0]
    newsletter = by_id["newsletter"].field("transfers")
    assert newsletter.status is Status.MISSING
    assert any("dpf_certified" in line for line in newsletter.lines)


def test_invalidated_safeguard_counts_as_missing(raw: dict[str, Any]) -> None:
    index = next(i for i, r in enumerate(raw["recipients"]) if r["id"] == "metricly")

    def change(data: dict[str, Any]) -> None:
        data["recipients"][index]["transfers"][0]["safeguard"] = "privacy_shield"

    entry = {e.purpose_id: e for e in record_of(variant(raw, change)).entries}["web_analytics"]
    field = entry.field("transfers")
    assert field.status is Status.MISSING
    assert "no valid safeguard" in field.lines[0]


def test_derogation_needs_its_documentation(raw: dict[str, Any]) -> None:
    index = next(i for i, r in enumerate(raw["recipients"]) if r["id"] == "metricly")

    def change(data: dict[str, Any]) -> None:
        data["recipients"][index]["transfers"] = [
            {"country": "US", "safeguard": "art49_derogation"}
        ]

    entry = {e.purpose_id: e for e in record_of(variant(raw, change)).entries}["web_analytics"]
    lines = entry.field("transfers").lines
    assert entry.field("transfers").status is Status.MISSING
    assert "Art. 49(1)" in lines[0]
    assert f"recipients[{index}].transfers[0].derogation" in lines[1]

    def documented(data: dict[str, Any]) -> None:
        change(data)
        data["recipients"][index]["transfers"][0]["derogation"] = {
            "de": "Ausdrückliche Einwilligung im Einzelfall.",
            "en": "Explicit consent in the single case.",
        }

    entry = {e.purpose_id: e for e in record_of(variant(raw, documented)).entries}["web_analytics"]
    assert entry.field("transfers").status is Status.DECLARED
    assert "Explicit consent in the single case." in entry.field("transfers").lines[1]


def test_representative_outside_the_eea(raw: dict[str, Any]) -> None:
    def abroad(data: dict[str, Any]) -> None:
        data["controller"]["address"] = {
            "street": "1 Example Road",
            "postal_code": "94105",
            "city": "San Francisco",
            "country": "US",
        }

    field = record_of(variant(raw, abroad)).entries[0].field("representative")
    assert field.status is Status.MISSING
    assert "controller.representative" in field.lines[0]

    def represented(data: dict[str, Any]) -> None:
        abroad(data)
        data["controller"]["representative"] = {
            "name": "Vertretung Beispiel GmbH",
            "email": "eu-rep@example.de",
        }

    field = record_of(variant(raw, represented)).entries[0].field("representative")
    assert field.status is Status.DECLARED
    assert field.lines == ("Vertretung Beispiel GmbH", "E-mail: eu-rep@example.de")


def test_joint_controller_with_and_without_contact_details(raw: dict[str, Any]) -> None:
    leads = purpose_index(raw, "leads")
    joint = {
        "id": "partner",
        "name": "Partner Beispiel AG",
        "role": "joint_controller",
        "country": "DE",
        "service": {"de": "Gemeinsame Messe", "en": "Joint trade fair"},
        "joint_arrangement": {"de": "Jeder beantwortet Anfragen.", "en": "Each answers requests."},
    }

    def add(data: dict[str, Any]) -> None:
        data["recipients"].append(dict(joint))
        data["purposes"][leads]["recipients"] = ["partner"]

    field = record_of(variant(raw, add)).entries[leads].field("joint_controllers")
    assert field.status is Status.MISSING
    assert field.lines[0] == "Partner Beispiel AG"
    assert f"recipients[{len(raw['recipients'])}].address" in field.lines[1]
    assert field.lines[-1].endswith("Each answers requests.")

    def with_address(data: dict[str, Any]) -> None:
        add(data)
        data["recipients"][-1]["address"] = {
            "street": "Messeweg 1",
            "postal_code": "80331",
            "city": "München",
            "country": "DE",
        }

    field = record_of(variant(raw, with_address)).entries[leads].field("joint_controllers")
    assert field.status is Status.DECLARED
    assert "Messeweg 1" in field.lines


def test_unknown_recipient_and_missing_interest(raw: dict[str, Any]) -> None:
    leads = purpose_index(raw, "leads")

    def change(data: dict[str, Any]) -> None:
        data["purposes"][leads]["recipients"] = ["ghost"]
        del data["purposes"][leads]["legitimate_interest"]

    entry = record_of(variant(raw, change)).entries[leads]
    recipients = entry.field("recipients")
    assert recipients.status is Status.MISSING
    assert "ghost" in recipients.lines[0]
    basis = entry.field("legal_basis")
    assert basis.status is Status.MISSING
    assert f"purposes[{leads}].legitimate_interest" in basis.lines[1]


def test_dpo_without_contact_details(raw: dict[str, Any]) -> None:
    def change(data: dict[str, Any]) -> None:
        data["dpo"] = {"name": "Dr. Petra Platzhalter"}

    field = record_of(variant(raw, change)).entries[0].field("dpo")
    assert field.status is Status.MISSING
    assert field.lines[0] == "Dr. Petra Platzhalter"
    assert "dpo.email" in field.lines[1]


# --- record and versions --------------------------------------------------------------------------


def test_unsupported_language_is_refused(example: Declaration) -> None:
    with pytest.raises(InvalidInput, match="language 'fr'"):
        record_of(example, "fr")


def test_messages_are_unique_and_trimmed() -> None:
    assert len(set(MESSAGES)) == len(MESSAGES)
    assert all(message.strip() == message for message in MESSAGES)


def test_version_for_record(session: Session, example: Declaration) -> None:
    with pytest.raises(NotFound, match="no version of the declaration is in effect"):
        version_for_record(session, number=None, on=DAY)
    clock = FrozenClock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
    published = publish(
        session,
        declaration=example,
        source_text=EXAMPLE_FILE.read_text(encoding="utf-8"),
        actor="test",
        clock=clock,
    )
    session.flush()
    assert version_for_record(session, number=None, on=DAY).number == published.number
    assert version_for_record(session, number=1, on=DAY).number == 1
    with pytest.raises(NotFound, match="version 7"):
        version_for_record(session, number=7, on=DAY)
    source = source_of(published)
    record = build_record(published.declaration(), language="en", prepared_on=DAY, source=source)
    assert record.version_label == "1"
    assert record.about[2].startswith("Built from published version 1 of the declaration")
    assert published.content_hash[:12] in record.about[2]

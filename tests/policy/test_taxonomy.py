"""The vendored taxonomy: fideslang keys, Tutela's own bilingual texts, Art. 9 and card flags."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tutela.policy.models import KEY_PATTERN
from tutela.policy.taxonomy import Taxonomy, TaxonomyEntry, load_taxonomy

DOCS = Path(__file__).resolve().parents[2] / "docs" / "declaration.md"

ART9_KEYS = {
    "user.authorization.biometric",
    "user.biometric",
    "user.biometric.fingerprint",
    "user.biometric.health",
    "user.biometric.retinal",
    "user.biometric.voice",
    "user.demographic.political_opinion",
    "user.demographic.race_ethnicity",
    "user.demographic.religious_belief",
    "user.demographic.sexual_orientation",
    "user.health_and_medical",
    "user.health_and_medical.genetic",
    "user.health_and_medical.insurance_beneficiary_id",
    "user.health_and_medical.record_id",
}

# A few of fideslang's own English descriptions: the vendored file must not reuse them.
FIDESLANG_WORDING = {
    "user.contact.email": "User's contact email address.",
    "user.device.ip_address": "Unique identifier related to device connection.",
    "essential.service.security": (
        "Essential to provide security for the product, service, application or system"
    ),
    "customer": "The individual or other organization that purchases goods or services.",
}


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


def test_snapshot_counts_and_source(taxonomy: Taxonomy) -> None:
    assert len(taxonomy.categories) == 85
    assert len(taxonomy.uses) == 56
    assert len(taxonomy.subjects) == 15
    assert taxonomy.source.name == "fideslang"
    assert taxonomy.source.version == "3.1.4"
    assert taxonomy.source.licence == "CC BY 4.0"
    assert "Ethyca" in taxonomy.source.attribution


@pytest.mark.parametrize(
    "key",
    [
        "user.contact.email",
        "user.contact.address.postal_code",
        "user.device.ip_address",
        "user.financial.credit_card",
        "user.authorization.credentials",
        "system.operations",
    ],
)
def test_known_category_keys(taxonomy: Taxonomy, key: str) -> None:
    entry = taxonomy.category(key)
    assert entry is not None
    assert entry.key == key


def test_uses_and_subjects(taxonomy: Taxonomy) -> None:
    assert taxonomy.use("marketing.communications.email") is not None
    assert taxonomy.use("essential.service.payment_processing") is not None
    assert taxonomy.use("marketing.email") is None
    assert taxonomy.subject("customer") is not None
    assert taxonomy.subject("prospect") is not None
    assert taxonomy.subject("customers") is None
    assert taxonomy.category("marketing.communications.email") is None


def test_every_key_is_well_formed_and_has_its_parent(taxonomy: Taxonomy) -> None:
    for section in (taxonomy.categories, taxonomy.uses, taxonomy.subjects):
        for key, entry in section.items():
            assert re.match(KEY_PATTERN, key), key
            if "." in key:
                assert entry.parent == key.rsplit(".", 1)[0]
                assert entry.parent in section, key
            else:
                assert entry.parent is None


def test_texts_are_bilingual_and_own(taxonomy: Taxonomy) -> None:
    entries: list[TaxonomyEntry] = [
        *taxonomy.categories.values(),
        *taxonomy.uses.values(),
        *taxonomy.subjects.values(),
    ]
    for entry in entries:
        assert entry.name.de
        assert entry.name.en
        assert entry.description.de != entry.description.en, entry.key
    for key, wording in FIDESLANG_WORDING.items():
        found = taxonomy.category(key) or taxonomy.use(key) or taxonomy.subject(key)
        assert found is not None
        assert found.description.en != wording


def test_special_categories_are_marked(taxonomy: Taxonomy) -> None:
    marked = {key for key, entry in taxonomy.categories.items() if entry.special}
    assert marked == ART9_KEYS
    assert taxonomy.is_special("user.health_and_medical.genetic")
    assert not taxonomy.is_special("user.contact.email")
    assert not taxonomy.is_special("x_acme.call_recording")


def test_card_numbers_are_marked(taxonomy: Taxonomy) -> None:
    marked = {key for key, entry in taxonomy.categories.items() if entry.pan}
    assert marked == {"user.financial.credit_card"}
    assert taxonomy.holds_pan("user.financial.credit_card")
    assert not taxonomy.holds_pan("user.financial.bank_account")
    assert not taxonomy.holds_pan("user.payment")


@pytest.mark.parametrize(
    ("key", "custom"),
    [
        ("x_acme.call_recording", True),
        ("x_acme", True),
        ("user.x_notes", False),
        ("xacme.notes", False),
        ("user.contact.email", False),
    ],
)
def test_custom_keys(key: str, custom: bool) -> None:
    assert Taxonomy.is_custom(key) is custom


def test_nearest_categories_finds_misspellings(taxonomy: Taxonomy) -> None:
    assert taxonomy.nearest_categories("user.contact.emial")[0] == "user.contact.email"
    assert "user.contact.phone_number" in taxonomy.nearest_categories("user.contact.phone")


def test_nearest_categories_falls_back_to_siblings(taxonomy: Taxonomy) -> None:
    nearest = taxonomy.nearest_categories("user.government_id.tax_number", n=3)
    assert len(nearest) == 3
    assert all(key.startswith("user.government_id") for key in nearest)
    assert "user.government_id.national_identification_number" in taxonomy.nearest_categories(
        "user.government_id.tax_number", n=10
    )
    assert taxonomy.nearest_categories("user.contact.emial", n=0) == []
    assert "user.contact.email" not in taxonomy.nearest_categories("user.contact.email")


def test_nearest_uses_and_subjects(taxonomy: Taxonomy) -> None:
    assert "marketing.communications.email" in taxonomy.nearest_uses(
        "marketing.communication.email"
    )
    assert taxonomy.nearest_subjects("customers") == ["customer"]
    assert taxonomy.nearest_subjects("zzzz") == []


def test_taxonomy_is_parsed_once() -> None:
    assert load_taxonomy() is load_taxonomy()


def test_docs_carry_the_attribution(taxonomy: Taxonomy) -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert "fideslang" in text
    assert taxonomy.source.version in text
    assert "CC BY 4.0" in text

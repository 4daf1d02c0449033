"""What an access copy never shows (law.md §3.3, issue: deny-list)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutela.connectors.base import WithheldLog
from tutela.connectors.dataset import FieldSpec, TableSpec
from tutela.connectors.denylist import RowRedactor, secret_reason, verdict

pytestmark = pytest.mark.promise("P03")


@pytest.mark.parametrize(
    "name",
    [
        "password_hash",
        "passwordHash",
        "mfa_secret",
        "totp_seed",
        "api_key",
        "refresh_token",
        "card_cvc",
        "security_code",
        "pin",
        "recoveryCodes",
    ],
)
def test_names_of_credentials_are_withheld(name: str) -> None:
    assert secret_reason(name, None) is not None


@pytest.mark.parametrize("name", ["shipping_name", "email", "spinner", "tokenizer_version_x"])
def test_ordinary_names_are_not(name: str) -> None:
    assert secret_reason(name, None) is None


def test_the_dataset_decides_over_the_name() -> None:
    assert (
        secret_reason("notes", FieldSpec("notes", secret=True)) == "declared secret in the dataset"
    )
    assert secret_reason("token", FieldSpec("token", secret=False)) is None
    reason = secret_reason("hash", FieldSpec("hash", categories=("user.authorization.password",)))
    assert reason is not None
    assert "user.authorization.password" in reason


def test_rows_lose_secrets_and_show_cards_as_brand_and_last_four() -> None:
    spec = TableSpec(
        "accounts",
        fields={
            "pan": FieldSpec("pan", categories=("user.financial.credit_card",), card=True),
            "password": FieldSpec("password", categories=("user.authorization.password",)),
        },
    )
    log = WithheldLog()
    redact = RowRedactor("accounts", ["id", "pan", "password", "note", "big"], spec, log)
    row = redact(
        {
            "id": 7,
            "pan": "5555 5555 5555 4444",
            "password": "$argon2id$…",
            "note": "paid with 4111-1111-1111-1111, thanks",
            "big": 4111111111111111,
        }
    )
    assert row == {
        "id": 7,
        "pan": "Mastercard ****4444",
        "note": "paid with Visa ****1111, thanks",
        "big": "Visa ****1111",
    }
    entries = {(e.field, e.masked) for e in log.entries()}
    assert entries == {("password", False), ("pan", True), ("note", True), ("big", True)}


GOVERNMENT_NAMES = [
    "ssn",
    "customer_SSN",
    "social_security_number",
    "socialSecurityNo",
    "national_id",
    "nationalInsuranceNumber",
    "passport_no",
    "passportNumber",
    "tax_id",
    "taxNumber",
    "driving_licence_number",
    "driversLicense",
    "id_card_number",
    "steuer_id",
    "steuerId",
    "steueridentifikationsnummer",
    "steuernummer",
    "personalausweis",
    "personalausweisnummer",
    "ausweis_nr",
    "reisepassnummer",
    "sozialversicherungsnummer",
    "sv_nummer",
    "Führerscheinnummer",
    "versichertennummer",
    "healthInsuranceNumber",
]
SECURITY_NAMES = ["security_question", "securityAnswer", "secret_answer", "sicherheitsfrage"]
CREDENTIAL_NAMES = [
    "api_secret",
    "client_secret",
    "private_key",
    "privateKeyPem",
    "APIKey",
    "session_id",
    "sessionId",
    "recovery_codes",
    "backup_codes",
    "jwt",
    "access_key",
    "passwort",
    "kennwort_hash",
]
ACCOUNT_NAMES = ["iban", "IBAN", "account_number", "bankAccountNumber", "kontonummer", "konto_nr"]
ORDINARY_NAMES = [
    "tax_rate",
    "taxRate",
    "tax_class",
    "steuersatz",
    "steuer_satz",
    "vat_id",
    "session_count",
    "sessionStartedAt",
    "sessions",
    "international_id",
    "nationality",
    "passenger_count",
    "bypass",
    "compass_heading",
    "classname",
    "account_id",
    "accountStatus",
    "accountant",
    "bank_name",
    "bic",
    "pinned_posts",
    "keyboard_layout",
    "sort_key",
    "order_number",
    "customer_id",
    "questionnaire",
    "security_level",
    "health_insurance",
    "season_pass_id",
]


@pytest.mark.parametrize("name", GOVERNMENT_NAMES)
def test_government_identifiers_are_withheld_in_english_and_german(name: str) -> None:
    reason = secret_reason(name, None)
    assert reason is not None
    assert "government identification number" in reason


@pytest.mark.parametrize("name", SECURITY_NAMES)
def test_security_questions_and_answers_are_withheld(name: str) -> None:
    assert "security question or answer" in (secret_reason(name, None) or "")


@pytest.mark.parametrize("name", CREDENTIAL_NAMES)
def test_keys_session_ids_and_recovery_codes_are_withheld(name: str) -> None:
    assert "credential" in (secret_reason(name, None) or "")


@pytest.mark.parametrize("name", ACCOUNT_NAMES)
def test_bank_account_columns_are_masked_not_withheld(name: str) -> None:
    found = verdict(name, None)
    assert found is not None
    assert found.mask is not None
    assert secret_reason(name, None) is None
    assert found.mask("DE89 3704 0044 0532 0130 00") == "DE ****3000"
    assert found.mask("0532013000") == "****3000"


@pytest.mark.parametrize("name", ORDINARY_NAMES)
def test_ordinary_names_that_look_alike_are_shown(name: str) -> None:
    assert verdict(name, None) is None


ORDINARY_WORDS = ["order", "total", "count", "created", "at", "name", "city", "status", "rate"]
SECRET_WORDS = {
    "government identification number": ["ssn", "passport", "steuerid", "personalausweis"],
    "security question or answer": ["sicherheitsantwort"],
    "credential": ["password", "token", "apikey", "sessionid", "otp", "pin"],
}


def _styled(words: list[str], style: str) -> str:
    if style == "camel":
        return words[0] + "".join(word.capitalize() for word in words[1:])
    return {"snake": "_", "kebab": "-", "screaming": "_"}[style].join(
        word.upper() if style == "screaming" else word for word in words
    )


styles = st.sampled_from(["snake", "kebab", "camel", "screaming"])
ordinary = st.lists(st.sampled_from(ORDINARY_WORDS), max_size=3)


@given(
    kind=st.sampled_from(sorted(SECRET_WORDS)),
    pick=st.integers(min_value=0, max_value=10),
    before=ordinary,
    after=ordinary,
    style=styles,
)
def test_a_secret_word_anywhere_in_a_name_in_any_style_is_withheld(
    kind: str, pick: int, before: list[str], after: list[str], style: str
) -> None:
    words = SECRET_WORDS[kind]
    name = _styled([*before, words[pick % len(words)], *after], style)
    assert kind in (secret_reason(name, None) or ""), name


@given(words=st.lists(st.sampled_from(ORDINARY_WORDS), min_size=1, max_size=4), style=styles)
def test_names_of_ordinary_words_are_never_withheld(words: list[str], style: str) -> None:
    assert verdict(_styled(words, style), None) is None


def test_the_dataset_decides_over_the_new_name_rules_and_categories_count() -> None:
    assert verdict("ssn", FieldSpec("ssn", secret=False)) is None
    assert verdict("iban", FieldSpec("iban", secret=False)) is None
    passport = FieldSpec("doc", categories=("user.government_id.passport_number",))
    assert "user.government_id.passport_number" in (secret_reason("doc", passport) or "")
    plate = FieldSpec("plate", categories=("user.government_id.vehicle_registration",))
    assert verdict("plate", plate) is None
    bank = verdict("payout", FieldSpec("payout", categories=("user.financial.bank_account",)))
    assert bank is not None
    assert bank.mask is not None
    # a PIN in a card table is left out, not shown as "****1234"
    pin = FieldSpec("pin", categories=("user.financial.credit_card",), card=True)
    assert secret_reason("pin", pin) is not None


def test_rows_lose_identifiers_and_show_bank_accounts_as_country_and_last_four() -> None:
    log = WithheldLog()
    columns = ["id", "iban", "steuer_id", "security_answer", "note", "tax_rate", "holder"]
    spec = TableSpec(
        "payouts",
        fields={"holder": FieldSpec("holder", categories=("user.financial.bank_account",))},
    )
    redact = RowRedactor("payouts", columns, spec, log)
    row = redact(
        {
            "id": 1,
            "iban": "DE89 3704 0044 0532 0130 00",
            "steuer_id": "12345678901",
            "security_answer": "Bello",
            "note": "refund to DE89370400440532013000 or card 4111 1111 1111 1111",
            "tax_rate": 19,
            "holder": "Anna Schmidt",
        }
    )
    assert row == {
        "id": 1,
        "iban": "DE ****3000",
        "note": "refund to DE ****3000 or card Visa ****1111",
        "tax_rate": 19,
        "holder": "Anna Schmidt",
    }
    entries = {e.field: e for e in log.entries()}
    assert set(entries) == {"iban", "steuer_id", "security_answer", "note", "holder"}
    assert not entries["steuer_id"].masked
    assert "government identification number" in entries["steuer_id"].reason
    assert not entries["security_answer"].masked
    assert entries["iban"].masked
    assert "country and last four" in entries["iban"].reason
    assert entries["note"].masked
    assert "IBAN" in entries["note"].reason

"""What an access copy never shows (law.md §3.3, issue: deny-list)."""

from __future__ import annotations

import pytest

from tutela.connectors.base import WithheldLog
from tutela.connectors.dataset import FieldSpec, TableSpec
from tutela.connectors.denylist import RowRedactor, secret_reason

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

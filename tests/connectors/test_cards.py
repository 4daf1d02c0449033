"""Card and bank account numbers: checks, and never the full number in output (law.md §3.3)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutela.connectors.cards import (
    IBAN_LENGTHS,
    card_brand,
    iban_valid,
    is_pan,
    luhn_valid,
    mask_account_value,
    mask_card_value,
    mask_iban,
    mask_ibans_in_text,
    mask_pan,
    mask_pans_in_text,
)

pytestmark = pytest.mark.promise("P02")


def _check_digit(body: str) -> str:
    for digit in "0123456789":
        if luhn_valid(body + digit):
            return digit
    raise AssertionError("a Luhn check digit always exists")


@st.composite
def pans(draw: st.DrawFn) -> str:
    length = draw(st.integers(min_value=13, max_value=19))
    first = draw(st.sampled_from("23456"))
    rest = draw(st.text(alphabet="0123456789", min_size=length - 2, max_size=length - 2))
    body = first + rest
    return body + _check_digit(body)


def _grouped(pan: str, separator: str) -> str:
    return separator.join(pan[i : i + 4] for i in range(0, len(pan), 4))


@given(pan=pans())
def test_every_generated_pan_is_detected_and_masked_to_brand_and_last_four(pan: str) -> None:
    assert is_pan(pan)
    masked = mask_pan(pan)
    assert masked.endswith("****" + pan[-4:])
    assert pan not in masked
    assert len(re.sub(r"\D", "", masked)) == 4


@given(pan=pans(), position=st.integers(min_value=0, max_value=18), delta=st.integers(1, 9))
def test_changing_one_digit_breaks_the_luhn_check(pan: str, position: int, delta: int) -> None:
    position %= len(pan)
    changed = pan[:position] + str((int(pan[position]) + delta) % 10) + pan[position + 1 :]
    assert not luhn_valid(changed)


@given(
    pan=pans(),
    separator=st.sampled_from(["", " ", "-"]),
    before=st.text(alphabet="abc ,.:", max_size=20),
    after=st.text(alphabet="xyz ,.:", max_size=20),
)
def test_no_pan_survives_in_text(pan: str, separator: str, before: str, after: str) -> None:
    text = f"{before} {_grouped(pan, separator)} {after}"
    masked, found = mask_pans_in_text(text)
    assert found == 1
    assert pan not in re.sub(r"[ -]", "", masked)
    assert "****" + pan[-4:] in masked


@given(digits=st.text(alphabet="0123456789", min_size=0, max_size=12))
def test_short_numbers_are_left_alone(digits: str) -> None:
    assert mask_pans_in_text(f"order {digits}") == (f"order {digits}", 0)


def test_brands_and_everyday_numbers() -> None:
    assert card_brand("4111111111111111") == "Visa"
    assert card_brand("5555555555554444") == "Mastercard"
    assert card_brand("2223003122003222") == "Mastercard"
    assert card_brand("378282246310005") == "American Express"
    assert card_brand("6011111111111117") == "Discover"
    assert card_brand("3530111333300000") == "JCB"
    assert card_brand("9999") == "card"
    # an international phone number is not a card, even when its digits pass Luhn
    assert mask_pans_in_text("call +49 151 12345678")[1] == 0
    # the PAN is found even when other numbers follow it
    text = "card 4111 1111 1111 1111 12 2025"
    assert mask_pans_in_text(text) == ("card Visa ****1111 12 2025", 1)


def test_values_of_declared_card_fields() -> None:
    assert mask_card_value(4111111111111111) == "Visa ****1111"
    assert mask_card_value("4111-1111-1111-1111") == "Visa ****1111"
    assert mask_card_value("tok_99990042") == "****0042"
    assert mask_card_value("secret") == "****"
    assert mask_card_value(None) is None


@st.composite
def ibans(draw: st.DrawFn) -> str:
    """A valid IBAN: a registry country, a random account part, the mod-97 check digits."""
    country = draw(st.sampled_from(sorted(IBAN_LENGTHS)))
    alphabet = draw(st.sampled_from(["0123456789", "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"]))
    size = IBAN_LENGTHS[country] - 4
    account = draw(st.text(alphabet=alphabet, min_size=size, max_size=size))
    numeric = "".join(str(int(char, 36)) for char in account + country + "00")
    return f"{country}{98 - int(numeric) % 97:02d}{account}"


def _print_form(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


@given(iban=ibans())
def test_every_generated_iban_is_valid_and_masked_to_country_and_last_four(iban: str) -> None:
    assert iban_valid(iban)
    assert iban_valid(_print_form(iban).lower())
    assert mask_iban(iban) == f"{iban[:2]} ****{iban[-4:]}"
    assert mask_account_value(_print_form(iban)) == f"{iban[:2]} ****{iban[-4:]}"


@given(iban=ibans(), position=st.integers(min_value=0, max_value=33), delta=st.integers(1, 9))
def test_changing_one_digit_breaks_the_iban_check(iban: str, position: int, delta: int) -> None:
    digits = [i for i, char in enumerate(iban) if char.isdigit()]
    spot = digits[position % len(digits)]
    changed = iban[:spot] + str((int(iban[spot]) + delta) % 10) + iban[spot + 1 :]
    assert not iban_valid(changed)


@given(
    iban=ibans(),
    printed=st.booleans(),
    before=st.text(alphabet="abc ,.:", max_size=20),
    after=st.sampled_from(["", " danke", ", thanks", ".", " 12 2025"]),
)
def test_no_iban_survives_in_text(iban: str, printed: bool, before: str, after: str) -> None:
    shown = _print_form(iban) if printed else iban
    masked, found = mask_ibans_in_text(f"{before} {shown}{after}")
    assert found == 1
    assert masked == f"{before} {iban[:2]} ****{iban[-4:]}{after}"


@given(token=st.text(alphabet="0123456789abcdef", min_size=40, max_size=64))
def test_long_hex_tokens_are_not_taken_for_ibans(token: str) -> None:
    assert mask_ibans_in_text(f"session {token}") == (f"session {token}", 0)


def test_iban_edge_cases_and_account_values() -> None:
    assert not iban_valid("DE89 3704 0044 0532 0130 0")  # one character short for Germany
    assert not iban_valid("XX89370400440532013000")  # no such IBAN country
    assert not iban_valid("DE8937040044053201300!")
    # an IBAN glued to more letters or digits is part of a longer token, not an IBAN
    assert mask_ibans_in_text("DE89370400440532013000x")[1] == 0
    assert mask_ibans_in_text("ref ADE89370400440532013000")[1] == 0
    # two in one text, both found
    text = "from DE89370400440532013000 to GB29 NWBK 6016 1331 9268 19."
    assert mask_ibans_in_text(text) == ("from DE ****3000 to GB ****6819.", 2)
    assert mask_account_value(None) is None
    assert mask_account_value(532013000) == "****3000"
    assert mask_account_value("0532 0130 00") == "****3000"
    # the holder's name, a BIC or a bank code too short to be an account stay readable
    assert mask_account_value("Anna Schmidt") == "Anna Schmidt"
    assert mask_account_value("COBADEFFXXX") == "COBADEFFXXX"

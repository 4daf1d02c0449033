"""The bulk fast path for email addresses agrees with the full normalisation."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tutela.consent.normalizer import batch_normalizer, fast_email, normalizer
from tutela.errors import InvalidInput
from tutela.subjects import normalize

PLAIN = st.from_regex(
    r"\A[A-Za-z0-9_.+-]{1,20}@[A-Za-z0-9.-]{1,20}\.[A-Za-z]{1,6}\Z", fullmatch=True
)
NOISY = st.text(
    alphabet=st.sampled_from("aZ09_.+-@ \t\u00e4\u00df\u212a'\"()[]<>,;:\\x"), max_size=40
)


def _full(value: str) -> str | None:
    try:
        return normalize("email", value)
    except InvalidInput:
        return None


@settings(max_examples=600)
@given(st.one_of(PLAIN, NOISY))
@example("Anna.Muster@Example.ORG")
@example(" anna@example.org\n")
@example("a@b--c.de")
@example("xn--abc@xn--mnchen-3ya.de")
@example("anna@example.test")
@example("anna@mail.localhost")
@example("anna@123.de1")
@example("a" * 65 + "@example.org")
@example("anna@" + "a" * 64 + ".de")
@example("anna..b@example.org")
@example(".anna@example.org")
@example("anna@-example.org")
@example("\u212aelvin@example.org")
def test_fast_path_is_a_subset_with_the_same_result(value: str) -> None:
    fast = fast_email(value)
    if fast is not None:
        assert fast == _full(value)


@pytest.mark.parametrize(
    "value", ["anna@example.org", "Anna.Muster+news@Mail.Example.DE", " x_y-z@a-b.co.uk "]
)
def test_common_addresses_take_the_fast_path(value: str) -> None:
    assert fast_email(value) == normalize("email", value)


def test_normalizer_falls_back_to_the_full_rules() -> None:
    clean = normalizer("email")
    assert clean("Jörg@Example.org") == normalize("email", "Jörg@Example.org")
    with pytest.raises(InvalidInput):
        clean("not an address")
    phone = normalizer("phone", default_country_code="43")
    assert phone("0660 1234567") == "+436601234567"


@settings(max_examples=200)
@given(st.lists(st.one_of(PLAIN, NOISY, st.just("Anna@Example.org\nx@y.de")), max_size=12))
def test_batches_agree_with_single_values(values: list[str]) -> None:
    normalized, errors = batch_normalizer("email")(values)
    single = normalizer("email")
    expected: list[str] = []
    failures: dict[int, str] = {}
    for position, value in enumerate(values):
        try:
            expected.append(single(value))
        except InvalidInput as exc:
            failures[position] = exc.detail[:300]
    assert errors == failures
    assert normalized == expected
    assert len(normalized) + len(errors) == len(values)

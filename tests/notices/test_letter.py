"""The notice mail: the diff in both languages, material changes first, a link, a cut."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.notices.conftest import RETENTION_DE, RETENTION_EN, changed
from tutela.notices import letter
from tutela.notices.letter import compose, statement_url
from tutela.policy.models import Declaration
from tutela.policy.models_db import PolicyVersion
from tutela.policy.versions import canonical_json


def version(number: int, declaration: Declaration, effective: dt.date) -> PolicyVersion:
    return PolicyVersion(
        number=number,
        content_hash="0" * 64,
        document=canonical_json(declaration),
        source_text="",
        effective_at=effective,
    )


@pytest.fixture
def pair(declaration: Declaration) -> tuple[PolicyVersion, PolicyVersion]:
    data = changed(declaration).model_dump(mode="json")
    for purpose in data["purposes"]:
        if purpose["id"] == "support":  # a rename: not material
            purpose["name"] = {"de": "Hilfe & <Support>", "en": "Help & <support>"}
    new = Declaration.model_validate(data)
    return version(1, declaration, dt.date(2026, 1, 1)), version(2, new, dt.date(2026, 6, 1))


@pytest.mark.promise("P20")
def test_the_mail_carries_the_diff_date_and_link_in_german(
    pair: tuple[PolicyVersion, PolicyVersion],
) -> None:
    old, new = pair
    text = compose(version=new, previous=old, language="de", base_url="https://x.example/")
    flat = " ".join(text.text.split())
    assert RETENTION_DE in flat
    assert "1. Juni 2026" in flat
    assert "https://x.example/privacy/v/2?lang=de" in flat
    assert "1. Juni 2026" in text.subject
    assert text.html is not None
    assert "Hilfe &amp; &lt;Support&gt;" in text.html  # names are escaped in the HTML part
    # material changes come first: the longer retention before the rename
    assert flat.index(RETENTION_DE) < flat.index("„Hilfe & <Support>“")


@pytest.mark.promise("P20")
def test_the_mail_in_english(pair: tuple[PolicyVersion, PolicyVersion]) -> None:
    old, new = pair
    text = compose(version=new, previous=old, language="en", base_url="https://x.example")
    flat = " ".join(text.text.split())
    assert text.subject == "Our privacy statement changes on 1 June 2026"
    assert RETENTION_EN in flat
    assert "The new version 2 takes effect on 1 June 2026" in flat
    assert "withdraw a consent or object" in flat  # a material change: rights are recalled


def test_a_long_diff_is_cut_and_points_to_the_statement(
    pair: tuple[PolicyVersion, PolicyVersion], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(letter, "MAX_CHANGES", 1)
    old, new = pair
    text = compose(version=new, previous=old, language="en", base_url="https://x.example")
    flat = " ".join(text.text.split())
    assert RETENTION_EN in flat
    assert "Help & <support>" not in flat
    assert "and 1 further change, listed in the new version." in flat


def test_statement_url_has_one_slash() -> None:
    assert statement_url("https://a.example/", number=3, language="en") == (
        "https://a.example/privacy/v/3?lang=en"
    )

"""The notice hash: stable under re-wrapping, new for any visible change."""

from __future__ import annotations

import pytest

from tutela.consent.notice import current_notice_hashes, notice_hash
from tutela.errors import InvalidInput
from tutela.policy.models import Declaration, Text


def test_hash_is_hex_sha256_and_differs_per_language(declaration: Declaration) -> None:
    newsletter = declaration.purpose("newsletter")
    assert newsletter is not None
    german, english = notice_hash(newsletter, "de"), notice_hash(newsletter, "en")
    assert len(german) == 64
    assert int(german, 16) >= 0
    assert german != english
    assert current_notice_hashes(newsletter) == {german, english}


def test_rewrapping_keeps_the_hash(declaration: Declaration) -> None:
    newsletter = declaration.purpose("newsletter")
    assert newsletter is not None
    text = newsletter.description
    rewrapped = newsletter.model_copy(
        update={"description": Text(de=text.de.replace(" ", "\n  "), en=text.en + "  ")}
    )
    assert notice_hash(rewrapped, "de") == notice_hash(newsletter, "de")
    assert notice_hash(rewrapped, "en") == notice_hash(newsletter, "en")


def test_a_visible_change_gives_a_new_hash(declaration: Declaration) -> None:
    newsletter = declaration.purpose("newsletter")
    assert newsletter is not None
    text = newsletter.description
    changed = newsletter.model_copy(
        update={"description": Text(de=text.de.replace("Monat", "Woche"), en=text.en)}
    )
    assert notice_hash(changed, "de") != notice_hash(newsletter, "de")
    assert notice_hash(changed, "en") == notice_hash(newsletter, "en")
    renamed = newsletter.model_copy(update={"name": Text(de="Rundbrief", en="Newsletter")})
    assert notice_hash(renamed, "de") != notice_hash(newsletter, "de")


def test_hash_depends_on_the_purpose(declaration: Declaration) -> None:
    newsletter = declaration.purpose("newsletter")
    assert newsletter is not None
    same_text = newsletter.model_copy(update={"id": "newsletter_two"})
    assert notice_hash(same_text, "de") != notice_hash(newsletter, "de")


def test_unknown_language_names_the_field(declaration: Declaration) -> None:
    newsletter = declaration.purpose("newsletter")
    assert newsletter is not None
    with pytest.raises(InvalidInput) as caught:
        notice_hash(newsletter, "fr")
    assert caught.value.extra["field"] == "language"

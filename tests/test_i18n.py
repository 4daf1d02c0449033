"""Languages, catalogs, the Jinja environment and Accept-Language negotiation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import jinja2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutela import i18n
from tutela.errors import InvalidInput

PO_HEADER = """msgid ""
msgstr ""
"Language: de\\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\\n"
"Content-Type: text/plain; charset=utf-8\\n"

"""


def write_po(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "test.po"
    path.write_text(PO_HEADER + body, encoding="utf-8")
    return path


def test_languages_are_german_and_english() -> None:
    assert i18n.LANGUAGES == ("de", "en")


def test_use_language_sets_and_restores_the_current_language() -> None:
    assert i18n.current_language() == "de"
    with i18n.use_language("en") as language:
        assert language == "en"
        assert i18n.current_language() == "en"
        with i18n.use_language("de"):
            assert i18n.current_language() == "de"
        assert i18n.current_language() == "en"
    assert i18n.current_language() == "de"


def test_use_language_refuses_an_unsupported_language() -> None:
    with (
        pytest.raises(InvalidInput, match="'fr' is not supported: use one of de, en"),
        i18n.use_language("fr"),
    ):
        pass  # pragma: no cover
    assert i18n.current_language() == "de"


def test_gettext_translates_through_the_statement_catalog() -> None:
    assert i18n.gettext("Your rights", domain="statement", language="de") == "Ihre Rechte"
    assert i18n.gettext("Your rights", domain="statement", language="en") == "Your rights"
    with i18n.use_language("de"):
        assert i18n.gettext("Right to erasure", domain="statement") == "Recht auf Löschung"
    with i18n.use_language("en"):
        assert i18n.gettext("Right to erasure", domain="statement") == "Right to erasure"


def test_unknown_message_falls_back_to_the_msgid() -> None:
    text = "A sentence nobody translated"
    assert i18n.gettext(text, domain="statement", language="de") == text


def test_unknown_domain_is_refused() -> None:
    with pytest.raises(InvalidInput, match="domain 'nope' is unknown"):
        i18n.gettext("x", domain="nope", language="de")


def test_catalogs_are_cached_per_language_and_domain() -> None:
    first = i18n.translations("de", "statement")
    assert i18n.translations("de", "statement") is first
    assert i18n.translations("en", "statement") is not first
    i18n.reload_catalogs()
    assert i18n.translations("de", "statement") is not first


def test_po_reader_ignores_fuzzy_and_empty_entries(tmp_path: Path) -> None:
    path = write_po(
        tmp_path,
        '#, fuzzy\nmsgid "Unsure"\nmsgstr "Unsicher"\n\n'
        'msgid "Empty"\nmsgstr ""\n\n'
        'msgid "Sure"\nmsgstr "Sicher"\n\n'
        'msgctxt "door"\nmsgid "Open"\nmsgstr "Offen"\n',
    )
    translations = i18n.PoTranslations(path, language="de")
    assert translations.gettext("Unsure") == "Unsure"
    assert translations.gettext("Empty") == "Empty"
    assert translations.gettext("Sure") == "Sicher"
    assert translations.gettext("Open") == "Open"
    assert translations.pgettext("door", "Open") == "Offen"
    assert translations.messages == frozenset({"Sure"})


def test_po_reader_chooses_plural_forms(tmp_path: Path) -> None:
    path = write_po(
        tmp_path,
        'msgid "%(num)s day"\nmsgid_plural "%(num)s days"\n'
        'msgstr[0] "%(num)s Tag"\nmsgstr[1] "%(num)s Tage"\n',
    )
    translations = i18n.PoTranslations(path, language="de")
    assert translations.ngettext("%(num)s day", "%(num)s days", 1) == "%(num)s Tag"
    assert translations.ngettext("%(num)s day", "%(num)s days", 0) == "%(num)s Tage"
    assert translations.ngettext("%(num)s day", "%(num)s days", 7) == "%(num)s Tage"
    assert translations.ngettext("%(num)s week", "%(num)s weeks", 1) == "%(num)s week"
    assert translations.ngettext("%(num)s week", "%(num)s weeks", 2) == "%(num)s weeks"


def test_missing_catalog_file_translates_nothing(tmp_path: Path) -> None:
    translations = i18n.PoTranslations(tmp_path / "absent.po", language="de")
    assert translations.gettext("Your rights") == "Your rights"


def test_one_environment_serves_both_languages() -> None:
    env = i18n.make_env(domain="statement")
    template = env.from_string('{{ _("Your rights") }} / {{ _("Right to object") }}')
    with i18n.use_language("de"):
        assert template.render() == "Ihre Rechte / Recht auf Widerspruch"
    with i18n.use_language("en"):
        assert template.render() == "Your rights / Right to object"


def test_environment_uses_newstyle_gettext_with_escaping() -> None:
    env = i18n.make_env(domain="statement")
    template = env.from_string('{{ _("Arrangement with %(name)s", name=who) }}')
    with i18n.use_language("de"):
        assert template.render(who="<A&B>") == "Vereinbarung mit &lt;A&amp;B&gt;"


def test_environment_plural_follows_the_count() -> None:
    env = i18n.make_env(domain="statement")
    template = env.from_string(
        "{{ ngettext('We announce changes to this statement at least %(num)s day before they "
        "take effect.', 'We announce changes to this statement at least %(num)s days before "
        "they take effect.', n) }}"
    )
    with i18n.use_language("de"):
        assert "mindestens 1 Tag vor" in template.render(n=1)
        assert "mindestens 5 Tage vor" in template.render(n=5)
    with i18n.use_language("en"):
        assert "at least 1 day before" in template.render(n=1)


def test_environment_autoescapes_html_templates_only() -> None:
    env = i18n.make_env()
    autoescape = env.autoescape
    assert callable(autoescape)
    assert autoescape("statement/statement.html.j2")
    assert autoescape("page.html")
    assert not autoescape("statement/statement.md.j2")
    assert not autoescape("mail/body.txt.j2")


def test_environment_is_strict_about_undefined_names() -> None:
    env = i18n.make_env()
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ missing }}").render()


def test_environment_loads_templates_from_the_package() -> None:
    env = i18n.make_env(domain="statement")
    assert "statement/statement.html.j2" in env.list_templates()


def test_format_date_is_localized() -> None:
    day = dt.date(2026, 11, 22)
    assert i18n.format_date(day, "de") == "22. November 2026"
    assert i18n.format_date(day, "en") == "22 November 2026"
    assert i18n.format_date(dt.date(2026, 3, 1), "de") == "1. März 2026"
    with i18n.use_language("en"):
        assert i18n.format_date(day) == "22 November 2026"


def test_format_datetime_shows_utc() -> None:
    moment = dt.datetime(2026, 11, 22, 15, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert i18n.format_datetime(moment, "de") == "22. November 2026, 14:05 UTC"
    assert i18n.format_datetime(moment.replace(tzinfo=None), "en") == "22 November 2026, 15:05 UTC"


def test_date_filters_are_installed() -> None:
    env = i18n.make_env()
    template = env.from_string("{{ d|format_date('de') }} | {{ d|format_date('en') }}")
    assert template.render(d=dt.date(2026, 11, 22)) == "22. November 2026 | 22 November 2026"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-US,en;q=0.9,de;q=0.8", "en"),
        ("de-DE,de;q=0.9,en;q=0.8", "de"),
        ("fr-FR,fr;q=0.9,en;q=0.5,de;q=0.4", "en"),
        ("fr, de;q=0.1", "de"),
        ("de;q=0.2, en;q=0.7", "en"),
        ("EN-gb", "en"),
        ("en;q=0, de", "de"),
        ("en;q=0", "de"),
        ("*", "de"),
        ("fr, *;q=0.5", "de"),
        ("de;q=0.5, en;q=0.5", "de"),
        ("en;q=0.5, de;q=0.5", "en"),
        (None, "de"),
        ("", "de"),
        ("en;q=abc", "de"),
        ("en;q=2", "de"),
        (";;;,,,", "de"),
        ("ünï-côdé, en", "en"),
    ],
)
def test_negotiate_parses_accept_language(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header) == expected


def test_negotiate_uses_the_given_default() -> None:
    assert i18n.negotiate("fr-FR", default="en") == "en"
    assert i18n.negotiate("*", default="en") == "en"
    with pytest.raises(InvalidInput, match="default language 'fr'"):
        i18n.negotiate("en", default="fr")


@given(st.one_of(st.none(), st.text(max_size=300)))
def test_negotiate_never_raises_and_returns_a_supported_language(header: str | None) -> None:
    assert i18n.negotiate(header) in i18n.LANGUAGES


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["de", "en", "fr", "de-AT", "en-US", "*", "x-klingon"]),
            st.one_of(st.none(), st.floats(min_value=0, max_value=1).map(lambda q: f"{q:.3f}")),
        ),
        max_size=8,
    )
)
def test_negotiate_picks_the_highest_ranked_supported_language(
    entries: list[tuple[str, str | None]],
) -> None:
    header = ", ".join(tag if q is None else f"{tag};q={q}" for tag, q in entries)
    best: tuple[float, int, str] | None = None
    for position, (tag, q) in enumerate(entries):
        quality = 1.0 if q is None else float(q)
        language = "de" if tag == "*" else tag.split("-")[0]
        if quality > 0 and language in i18n.LANGUAGES:
            candidate = (-quality, position, language)
            best = candidate if best is None or candidate < best else best
    assert i18n.negotiate(header) == (best[2] if best else "de")

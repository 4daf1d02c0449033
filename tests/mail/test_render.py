"""Mail templates in German and English; the German catalog is complete."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from tutela.errors import ConfigurationError, InvalidInput
from tutela.i18n import TEMPLATE_DIR, catalog_path
from tutela.mail import render as render_module
from tutela.mail import render_mail

EXPIRES = dt.datetime(2026, 3, 9, 9, 0, tzinfo=dt.UTC)
CONFIRM = "https://privacy.example.org/consent/confirm/1.abc.1773046800.mac"
DOI: dict[str, object] = {
    "controller": "Beispiel GmbH",
    "list_name": "Newsletter",
    "confirm_url": CONFIRM,
    "expires_at": EXPIRES,
    "valid_days": 7,
}
UNSUBSCRIBE = "https://privacy.example.org/consent/unsubscribe/1.abc.1773046800.mac?list=news&x=1"
SAMPLE = {"controller": "Beispiel GmbH", "unsubscribe_url": UNSUBSCRIBE}
ADVERTISING = re.compile(r"(?i)angebot|rabatt|gutschein|offer|discount|coupon|sale")


def test_doi_confirmation_in_english() -> None:
    subject, text, html = render_mail(
        "doi_confirm", language="en", context=DOI, category="transactional"
    )
    assert subject == "Please confirm your sign-up for Newsletter"
    assert CONFIRM in text
    assert "valid for 7 days, until 9 March 2026, 09:00 UTC" in text
    assert "ignore this mail" in text
    assert "delete your address" in text
    assert html is not None
    assert f'href="{CONFIRM}"' in html
    assert '<html lang="en">' in html
    assert f"<title>{subject}</title>" in html


def test_doi_confirmation_in_german() -> None:
    subject, text, html = render_mail(
        "doi_confirm", language="de", context=DOI, category="transactional"
    )
    assert subject == "Bitte bestätigen Sie Ihre Anmeldung für Newsletter"
    assert "Der Link gilt 7 Tage lang, bis zum 9. März 2026, 09:00 UTC." in text
    assert "ignorieren Sie diese Mail" in text
    assert "löschen Ihre Adresse" in text
    assert html is not None
    assert '<html lang="de">' in html
    assert "Hallo," in html


def test_one_day_is_singular() -> None:
    _, text, _ = render_mail(
        "doi_confirm", language="de", context={**DOI, "valid_days": 1}, category="transactional"
    )
    assert "Der Link gilt 1 Tag lang" in text


@pytest.mark.parametrize("language", ["de", "en"])
def test_doi_confirmation_is_neutral(language: str) -> None:
    _, text, html = render_mail(
        "doi_confirm", language=language, context=DOI, category="transactional"
    )
    assert html is not None
    for part in (text, html):
        assert not ADVERTISING.search(part)
        assert "unsubscribe" not in part.lower()
        assert "<img" not in part


@pytest.mark.promise("P04")
@pytest.mark.parametrize(
    ("language", "subject", "footer"),
    [
        ("en", "News from Beispiel GmbH", "You can unsubscribe from these mails at any time"),
        ("de", "Neuigkeiten von Beispiel GmbH", "Sie können sich jederzeit kostenlos"),
    ],
)
def test_newsletter_shows_a_visible_unsubscribe_link(
    language: str, subject: str, footer: str
) -> None:
    rendered_subject, text, html = render_mail(
        "newsletter_sample", language=language, context=SAMPLE, category="marketing"
    )
    assert rendered_subject == subject
    assert footer in text
    assert UNSUBSCRIBE in text
    assert html is not None
    assert (
        'href="https://privacy.example.org/consent/unsubscribe/1.abc.1773046800.mac?list=news&amp;x=1"'
        in html
    )


def test_text_lines_are_wrapped_but_links_are_whole() -> None:
    long_link = "https://privacy.example.org/consent/confirm/" + "x" * 120
    _, text, _ = render_mail(
        "doi_confirm",
        language="de",
        context={**DOI, "confirm_url": long_link},
        category="transactional",
    )
    assert long_link in text.splitlines()
    assert all(len(line) <= 72 for line in text.splitlines() if line != long_link)


def test_html_escapes_context_values() -> None:
    _, text, html = render_mail(
        "doi_confirm",
        language="en",
        context={**DOI, "controller": "A & B <GmbH>"},
        category="transactional",
    )
    assert html is not None
    assert "A &amp; B &lt;GmbH&gt;" in html
    assert "<GmbH>" not in html
    assert "A & B <GmbH>" in text


def test_marketing_needs_an_unsubscribe_url() -> None:
    with pytest.raises(InvalidInput) as caught:
        render_mail(
            "newsletter_sample",
            language="de",
            context={"controller": "Beispiel GmbH"},
            category="marketing",
        )
    assert caught.value.extra["field"] == "context"
    assert "unsubscribe_url" in caught.value.detail


def test_missing_context_names_what_is_missing() -> None:
    with pytest.raises(InvalidInput, match="needs confirm_url, expires_at"):
        render_mail(
            "doi_confirm",
            language="de",
            context={"controller": "X", "list_name": "Y", "valid_days": 7},
            category="transactional",
        )


@pytest.mark.parametrize(
    ("template", "language", "field"),
    [
        ("no_such_mail", "de", "template"),
        ("../public/base", "de", "template"),
        ("_layout", "de", "template"),
        ("doi_confirm", "fr", "language"),
    ],
)
def test_bad_requests_name_the_field(template: str, language: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        render_mail(template, language=language, context=DOI, category="transactional")
    assert caught.value.extra["field"] == field


def test_a_marketing_mail_hiding_its_link_is_refused() -> None:
    # Every provided template shows the link through the layout; the check
    # catches a future template that leaves the layout or hides the link in one part.
    check = render_module._check_visible_link
    url = "https://example.org/u?a=1&b=2"
    check("x", url, f"text {url}", f'<a href="{url.replace("&", "&amp;")}">')
    check("x", url, f"text {url}", None)
    with pytest.raises(ConfigurationError, match="does not show its unsubscribe link"):
        check("x", url, "text without it", None)
    with pytest.raises(ConfigurationError, match="in every part"):
        check("x", url, f"text {url}", "<p>no link</p>")


# ---------------------------------------------------------------- the German catalog


def template_messages() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted((TEMPLATE_DIR / "email").glob("*.j2")):
        with path.open("rb") as handle:
            for line, _func, message, _comments in babel_extract(
                handle, ("_", "gettext", "ngettext"), [], {}
            ):
                msgid = message if isinstance(message, str) else (message or [None])[0]
                if msgid:
                    found.setdefault(str(msgid), f"email/{path.name}:{line}")
    return found


def german() -> dict[str, str]:
    with Path(catalog_path("de", "email")).open("rb") as handle:
        catalog = read_po(handle, locale="de")
    result = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple | list):
            forms = [str(s) for s in message.string or ()]
            if all(forms):
                result[str(message.id[0])] = " | ".join(forms)
        elif message.string:
            result[str(message.id)] = str(message.string)
    return result


def test_every_mail_message_has_a_german_translation() -> None:
    messages = template_messages()
    assert len(messages) >= 10
    catalog = german()
    assert {m: where for m, where in messages.items() if m not in catalog} == {}
    assert set(catalog) - set(messages) == set()  # no stale entries


def test_placeholders_survive_translation() -> None:
    placeholder = re.compile(r"%\((\w+)\)s")
    for msgid, msgstr in german().items():
        for form in msgstr.split(" | "):
            assert set(placeholder.findall(msgid)) == set(placeholder.findall(form)), msgid

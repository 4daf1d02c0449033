"""The mails about requests exist in German and English and carry no stray placeholders."""

from __future__ import annotations

import datetime as dt

import pytest

from tutela.dsr.queue import Notice
from tutela.mail import render_mail

CONTEXT: dict[str, object] = {
    "controller": "Terminfuchs GmbH",
    "contact": "datenschutz@example.de",
    "reference": "DSR-AB12-CD34-EF56",
    "request_type": "access",
    "verify_url": "https://privacy.example.org/requests/verify/token",
    "valid_hours": 24,
    "valid_minutes": 15,
    "code": "042137",
    "due_on": dt.date(2026, 4, 2),
    "legal_deadline": dt.date(2026, 4, 2),
    "extended_until": dt.date(2026, 6, 2),
    "reason": "Twelve systems to search.",
    "authority": "BayLDA",
    "ccpa": False,
    "day": dt.date(2026, 4, 2),
    "items": [],
    "overdue": 0,
    "near": 1,
}
TEMPLATES = [f"dsr_{notice.value}" for notice in Notice] + ["dsr_digest"]


@pytest.mark.promise("P16")
@pytest.mark.parametrize("template", TEMPLATES)
def test_every_request_mail_renders_in_both_languages(template: str) -> None:
    subject_en, text_en, _ = render_mail(
        template, language="en", context=CONTEXT, category="transactional"
    )
    subject_de, text_de, _ = render_mail(
        template, language="de", context=CONTEXT, category="transactional"
    )
    assert subject_en != subject_de
    assert text_en != text_de
    for text in (subject_en, text_en, subject_de, text_de):
        assert "%(" not in text
        assert "{{" not in text
    assert text_de.startswith("Hallo,")


@pytest.mark.parametrize(
    ("request_type", "german"),
    [
        ("access", "Auskunft über Ihre personenbezogenen Daten"),
        ("erasure", "Löschung Ihrer personenbezogenen Daten"),
        ("opt_out_sale_share", "Widerspruch gegen den Verkauf"),
    ],
)
def test_request_types_are_named_in_the_language_of_the_mail(
    request_type: str, german: str
) -> None:
    context = {**CONTEXT, "request_type": request_type}
    _, text, _ = render_mail(
        "dsr_no_data", language="de", context=context, category="transactional"
    )
    assert german in " ".join(text.split())

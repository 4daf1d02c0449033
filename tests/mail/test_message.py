"""Messages: one-click unsubscribe headers (RFC 2369/8058), MIME structure, refusals."""

from __future__ import annotations

import email
import email.policy
import email.utils

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutela.clock import FrozenClock
from tutela.errors import InvalidInput
from tutela.mail import (
    OutboundMail,
    UnsubscribeMissing,
    build_message,
    marketing_headers,
    new_message_id,
    require_unsubscribe,
    sender_domain,
    unsubscribe_uris,
)

HTTPS = "https://privacy.example.org/consent/unsubscribe/1.abc.1798761600.mac"
SENDER = "Example GmbH <privacy@example.org>"


def marketing(headers: dict[str, str] | None = None) -> OutboundMail:
    return OutboundMail(
        to="anna@example.org",
        subject="News",
        text=f"Hello\n\nUnsubscribe: {HTTPS}\n",
        html=f'<p>Hello</p><a href="{HTTPS}">Unsubscribe</a>',
        headers=headers if headers is not None else {},
        category="marketing",
    )


@pytest.mark.promise("P04")
def test_marketing_headers_are_exactly_rfc_8058() -> None:
    headers = marketing_headers(https_url=HTTPS, mailto="unsubscribe@example.org")
    assert headers == {
        "List-Unsubscribe": f"<{HTTPS}>, <mailto:unsubscribe@example.org>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    with_subject = marketing_headers(
        https_url=HTTPS, mailto="mailto:unsubscribe@example.org?subject=unsubscribe-abc"
    )
    assert with_subject["List-Unsubscribe"].endswith(
        ", <mailto:unsubscribe@example.org?subject=unsubscribe-abc>"
    )


@pytest.mark.parametrize(
    ("https_url", "mailto", "field"),
    [
        ("http://privacy.example.org/u/abc", "u@example.org", "https_url"),
        ("ftp://example.org/u", "u@example.org", "https_url"),
        ("https://example.org/u/a b", "u@example.org", "https_url"),
        ("https://example.org/u/a,b", "u@example.org", "https_url"),
        ("https://example.org/u/a>", "u@example.org", "https_url"),
        (HTTPS, "no-address", "mailto"),
        (HTTPS, "https://example.org", "mailto"),
    ],
)
def test_marketing_headers_refuse_unusable_addresses(
    https_url: str, mailto: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        marketing_headers(https_url=https_url, mailto=mailto)
    assert caught.value.extra["field"] == field


def test_plain_http_is_accepted_only_on_this_machine() -> None:
    headers = marketing_headers(https_url="http://127.0.0.1:8000/u/abc", mailto="u@example.org")
    assert headers["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/u/abc>")


@pytest.mark.promise("P04")
def test_marketing_mail_with_headers_is_built(clock: FrozenClock) -> None:
    headers = marketing_headers(https_url=HTTPS, mailto="unsubscribe@example.org")
    message = build_message(
        marketing(headers), sender=SENDER, message_id_domain="example.org", clock=clock
    )
    assert message["List-Unsubscribe"] == headers["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert email.utils.parsedate_to_datetime(str(message["Date"])) == clock.now()
    assert str(message["Message-ID"]).endswith("@example.org>")
    assert message["From"] == SENDER


@pytest.mark.promise("P04")
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"List-Unsubscribe": f"<{HTTPS}>"},
        {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        {
            "List-Unsubscribe": "<mailto:unsubscribe@example.org>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        {"List-Unsubscribe": f"<{HTTPS}>", "List-Unsubscribe-Post": "List-Unsubscribe=Yes"},
    ],
)
def test_marketing_mail_without_both_headers_is_refused(
    headers: dict[str, str], clock: FrozenClock
) -> None:
    with pytest.raises(UnsubscribeMissing) as caught:
        build_message(
            marketing(headers), sender=SENDER, message_id_domain="example.org", clock=clock
        )
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in caught.value.detail
    assert "marketing_headers()" in caught.value.detail
    with pytest.raises(UnsubscribeMissing):
        require_unsubscribe(headers)


def test_header_names_match_case_insensitively(clock: FrozenClock) -> None:
    headers = {
        "list-unsubscribe": f"<{HTTPS}>",
        "LIST-UNSUBSCRIBE-POST": "List-Unsubscribe=One-Click",
    }
    message = build_message(
        marketing(headers), sender=SENDER, message_id_domain="example.org", clock=clock
    )
    assert message["List-Unsubscribe"] == f"<{HTTPS}>"


def test_transactional_mail_needs_no_unsubscribe_and_may_be_text_only(
    clock: FrozenClock,
) -> None:
    mail = OutboundMail(to="anna@example.org", subject="Please confirm", text="Confirm here.\n")
    message = build_message(
        mail,
        sender=SENDER,
        message_id_domain="example.org",
        clock=clock,
        message_id="<fixed.1@example.org>",
    )
    assert message.get_content_type() == "text/plain"
    assert message["List-Unsubscribe"] is None
    assert message["Message-ID"] == "<fixed.1@example.org>"
    assert message.get_content().strip() == "Confirm here."


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"to": "anna@example.org\r\nBcc: eve@example.org"}, "to"),
        ({"to": "nobody"}, "to"),
        ({"subject": "Hi\nBcc: eve@example.org"}, "subject"),
        ({"subject": "  "}, "subject"),
        ({"category": "bulk"}, "category"),
        ({"headers": {"Bcc": "eve@example.org"}}, "headers"),
        ({"headers": {"Content-Type": "text/html"}}, "headers"),
        ({"headers": {"X-Tag": "a\r\nBcc: eve@example.org"}}, "X-Tag"),
        ({"headers": {"X Tag": "a"}}, "headers"),
        ({"headers": {"X-Tag": "ü"}}, "headers"),
    ],
)
def test_outbound_mail_refuses_header_injection(changes: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"to": "anna@example.org", "subject": "Hi", "text": "Hello"}
    values.update(changes)
    with pytest.raises(InvalidInput) as caught:
        OutboundMail(**values)  # type: ignore[arg-type]
    assert caught.value.extra["field"] == field


def test_message_ids_are_random_and_checked(clock: FrozenClock) -> None:
    first, second = new_message_id("example.org"), new_message_id("example.org")
    assert first != second
    assert first.startswith("<")
    assert first.endswith("@example.org>")
    with pytest.raises(InvalidInput):
        new_message_id("exa mple.org")
    mail = OutboundMail(to="anna@example.org", subject="Hi", text="Hello")
    with pytest.raises(InvalidInput) as caught:
        build_message(
            mail, sender=SENDER, message_id_domain="example.org", clock=clock, message_id="x"
        )
    assert caught.value.extra["field"] == "message_id"


def test_sender_domain() -> None:
    assert sender_domain("Example GmbH <Privacy@Example.ORG>") == "example.org"
    assert sender_domain("privacy@example.org") == "example.org"
    assert sender_domain("nobody") == "localhost"


@given(token=st.text(alphabet="ABCDEFabcdef0123456789-_.", min_size=1, max_size=600))
def test_long_unsubscribe_uris_survive_serialisation(token: str) -> None:
    clock = FrozenClock(email.utils.parsedate_to_datetime("Mon, 02 Mar 2026 09:00:00 +0000"))
    url = f"https://privacy.example.org/u/{token}"
    headers = marketing_headers(https_url=url, mailto=f"u@example.org?subject={token}")
    message = build_message(
        marketing(headers), sender=SENDER, message_id_domain="example.org", clock=clock
    )
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert parsed["List-Unsubscribe"] == f"<{url}>, <mailto:u@example.org?subject={token}>"
    for line in message.as_bytes().split(b"\n"):
        assert len(line) <= 998


def test_unsubscribe_uris_reads_the_header_back() -> None:
    headers = marketing_headers(https_url=HTTPS, mailto="unsubscribe@example.org")
    assert unsubscribe_uris(headers["List-Unsubscribe"]) == [
        HTTPS,
        "mailto:unsubscribe@example.org",
    ]
    assert unsubscribe_uris("no brackets") == []

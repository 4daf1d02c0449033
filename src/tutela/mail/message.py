"""Outbound mail: the message value, the unsubscribe headers, the MIME message.

A marketing mail must carry ``List-Unsubscribe`` with an HTTPS address and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 2369, RFC 8058), so
mail programs can offer their own one-click unsubscribe button;
:func:`build_message` refuses one without them. Transactional mail (a
confirmation request, an answer to a request) needs neither.
"""

from __future__ import annotations

import email.policy
import email.utils
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Final, Literal
from urllib.parse import urlsplit

from tutela.clock import Clock
from tutela.errors import InvalidInput
from tutela.mail.errors import UnsubscribeMissing

__all__ = [
    "MAIL_POLICY",
    "Category",
    "OutboundMail",
    "build_message",
    "marketing_headers",
    "new_message_id",
    "require_unsubscribe",
    "sender_domain",
    "unsubscribe_uris",
]

Category = Literal["transactional", "marketing"]
CATEGORIES: Final = ("transactional", "marketing")
ONE_CLICK: Final = "List-Unsubscribe=One-Click"

MAIL_POLICY: Final = email.policy.default.clone(refold_source="none")
"""Headers we set verbatim (``List-Unsubscribe``) keep their URIs intact: the
default policy would turn a long URI into RFC 2047 encoded words, which mail
programs do not decode in this header."""

_RESERVED: Final = frozenset(
    {"from", "to", "cc", "bcc", "subject", "date", "message-id", "mime-version", "sender"}
)
_HEADER_NAME: Final = re.compile(r"^[!-9;-~]{1,76}$")
_DOMAIN: Final = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_MESSAGE_ID: Final = re.compile(r"^<[!-=?-~]{1,200}@[A-Za-z0-9.-]{1,253}>$")
_MAX_HEADER_VALUE: Final = 900
_FOLD_AT: Final = 78
_LOOPBACK: Final = frozenset({"localhost", "127.0.0.1", "::1"})


def _no_line_breaks(name: str, value: str) -> None:
    if "\r" in value or "\n" in value:
        raise InvalidInput(
            f"{name}: line breaks are not allowed in a mail header; remove them.", field=name
        )


@dataclass(frozen=True)
class OutboundMail:
    """One rendered mail to one recipient, ready to become a MIME message."""

    to: str
    subject: str
    text: str
    html: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    category: Category = "transactional"

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise InvalidInput("category: use 'transactional' or 'marketing'.", field="category")
        if not self.to.strip() or "@" not in self.to:
            raise InvalidInput("to: the recipient needs an email address.", field="to")
        _no_line_breaks("to", self.to)
        if not self.subject.strip():
            raise InvalidInput("subject: a mail needs a subject line.", field="subject")
        _no_line_breaks("subject", self.subject)
        for name, value in self.headers.items():
            _check_header(name, value)


def _check_header(name: str, value: str) -> None:
    if not _HEADER_NAME.fullmatch(name):
        raise InvalidInput(
            "headers: a header name is 1 to 76 printable ASCII characters without ':' or "
            "spaces, such as List-Unsubscribe.",
            field="headers",
        )
    if name.lower() in _RESERVED or name.lower().startswith("content-"):
        raise InvalidInput(
            f"headers: {name} is set by Tutela itself; pass it as a field of the mail "
            "instead (to, subject) or leave it out.",
            field="headers",
        )
    _no_line_breaks(name, value)
    if not value.isascii() or not value.isprintable() or len(value) > _MAX_HEADER_VALUE:
        raise InvalidInput(
            f"headers: the value of {name} must be printable ASCII of at most "
            f"{_MAX_HEADER_VALUE} characters; encode addresses in URIs with %-escapes.",
            field="headers",
        )


def _check_uri(name: str, uri: str, *, scheme: str) -> str:
    if any(ch in uri for ch in "<>, \t") or not uri.isascii() or not uri.isprintable():
        raise InvalidInput(
            f"{name}: the address may not contain spaces, commas or angle brackets; "
            "percent-encode them.",
            field=name,
        )
    parts = urlsplit(uri)
    if scheme == "https":
        secure = parts.scheme == "https" or (
            parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK
        )
        if not secure or not parts.hostname:
            raise InvalidInput(
                f"{name}: one-click unsubscribe needs an https:// address (RFC 8058); "
                "set the public base URL to https.",
                field=name,
            )
    elif parts.scheme != "mailto" or "@" not in parts.path:
        raise InvalidInput(
            f"{name}: expected a mailto: address such as mailto:unsubscribe@example.org.",
            field=name,
        )
    return uri


def marketing_headers(*, https_url: str, mailto: str) -> dict[str, str]:
    """``List-Unsubscribe`` (HTTPS and mailto) and ``List-Unsubscribe-Post`` for one recipient.

    ``https_url`` must identify the recipient and list by an opaque token (the
    one-click POST carries no cookie); ``mailto`` may be a bare address.
    """
    if not mailto.lower().startswith("mailto:"):
        mailto = f"mailto:{mailto}"
    https = _check_uri("https_url", https_url, scheme="https")
    mail = _check_uri("mailto", mailto, scheme="mailto")
    return {"List-Unsubscribe": f"<{https}>, <{mail}>", "List-Unsubscribe-Post": ONE_CLICK}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def unsubscribe_uris(value: str) -> list[str]:
    """The URIs of a ``List-Unsubscribe`` value, in order."""
    return re.findall(r"<([^<>]*)>", value)


def require_unsubscribe(headers: Mapping[str, str]) -> None:
    """Raise :class:`UnsubscribeMissing` unless both one-click unsubscribe headers are set."""
    listed = _header(headers, "List-Unsubscribe")
    post = _header(headers, "List-Unsubscribe-Post")
    https = []
    for uri in unsubscribe_uris(listed or ""):
        try:
            https.append(_check_uri("List-Unsubscribe", uri, scheme="https"))
        except InvalidInput:
            continue
    if not https or (post or "").strip() != ONE_CLICK:
        raise UnsubscribeMissing(
            "headers: a marketing mail needs List-Unsubscribe with an https:// address and "
            f"List-Unsubscribe-Post: {ONE_CLICK}; build them with marketing_headers().",
            field="headers",
        )


def sender_domain(sender: str) -> str:
    """The domain of a sender address (for Message-IDs); ``localhost`` when it has none."""
    address = email.utils.parseaddr(sender)[1]
    _local, at, domain = address.rpartition("@")
    domain = domain.strip().lower() if at else ""
    return domain if domain and _DOMAIN.fullmatch(domain) else "localhost"


def new_message_id(domain: str) -> str:
    """A fresh, unguessable ``<random@domain>`` Message-ID."""
    if not _DOMAIN.fullmatch(domain):
        raise InvalidInput(
            "message_id_domain: expected a host name such as example.org.",
            field="message_id_domain",
        )
    return f"<{secrets.token_hex(16)}@{domain}>"


def _folded(name: str, value: str) -> str:
    """Fold a header of comma-separated ``<URI>`` items between the items only."""
    if len(name) + 2 + len(value) <= _FOLD_AT or ">, <" not in value:
        return value
    return ",\n ".join(value.split(", "))


def build_message(
    mail: OutboundMail,
    *,
    sender: str,
    message_id_domain: str,
    clock: Clock,
    message_id: str | None = None,
) -> EmailMessage:
    """The MIME message for ``mail``: text, or multipart/alternative with the HTML part.

    Date comes from ``clock``; ``message_id`` (e.g. kept across retries) or a
    new one under ``message_id_domain``. A marketing mail without both
    one-click unsubscribe headers raises :class:`UnsubscribeMissing`.
    """
    if mail.category == "marketing":
        require_unsubscribe(mail.headers)
    _no_line_breaks("sender", sender)
    if message_id is not None and not _MESSAGE_ID.fullmatch(message_id):
        raise InvalidInput(
            "message_id: expected the form <random@domain>, as made by new_message_id().",
            field="message_id",
        )
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = email.utils.format_datetime(clock.now())
    message["Message-ID"] = message_id or new_message_id(message_id_domain)
    for name, value in mail.headers.items():
        message.set_raw(name, _folded(name, value))
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    return message

"""The proof that comes with a consent event, and its encrypted form.

The channel, the language and the hash of the notice text are stored in the
ledger row itself. Everything that could point to a person — the shortened IP
address, the user agent, the address of the form, free extra facts — is kept
as JSON encrypted under the subject's data key, bound to the event's sequence
number (a sealed proof moved to another event no longer opens). Erasing the
subject makes it unreadable; the chain still covers its digest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from tutela.consent.network import truncate_ip
from tutela.consent.notice import LANGUAGES
from tutela.consent.terms import Channel, parse_channel
from tutela.errors import InvalidInput

__all__ = ["MAX_EXTRA_BYTES", "Proof", "proof_context", "proof_plaintext"]

MAX_USER_AGENT: Final = 512
MAX_FORM_URL: Final = 2048
MAX_EXTRA_BYTES: Final = 4096
_HASH = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, kw_only=True)
class Proof:
    """How an event came about. ``ip`` is shortened before it is stored (never kept whole).

    ``policy_version`` names the published version whose text was shown; without
    it the event is recorded against the version in effect.
    """

    channel: Channel | str
    language: str = "de"
    policy_version: int | None = None
    notice_hash: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    form_url: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def checked(self) -> Proof:
        """A copy with the channel parsed, the IP shortened and every field validated."""
        channel = parse_channel(str(self.channel))
        if self.language not in LANGUAGES:
            raise InvalidInput(
                f"language: {self.language!r} is not a statement language; use de or en.",
                field="language",
            )
        notice = self.notice_hash.strip().lower() if self.notice_hash is not None else None
        if notice is not None and not _HASH.fullmatch(notice):
            raise InvalidInput(
                "notice_hash: expected the 64 hexadecimal characters of the SHA-256 of the "
                "notice text shown; leave it out to record the current text of the purpose.",
                field="notice_hash",
            )
        ip = None
        if self.ip is not None and self.ip.strip():
            try:
                ip = truncate_ip(self.ip)
            except ValueError:
                raise InvalidInput(
                    "ip: not an IPv4 or IPv6 address; send the address the person used, "
                    "such as 203.0.113.7, or leave it out.",
                    field="ip",
                ) from None
        form_url = self.form_url
        if form_url is not None and len(form_url) > MAX_FORM_URL:
            raise InvalidInput(
                f"form_url: longer than {MAX_FORM_URL} characters; send the page address "
                "without its query string.",
                field="form_url",
            )
        user_agent = self.user_agent[:MAX_USER_AGENT] if self.user_agent is not None else None
        extra = dict(self.extra)
        if len(_dumps(extra, "extra").encode("utf-8")) > MAX_EXTRA_BYTES:
            raise InvalidInput(
                f"extra: the extra facts take more than {MAX_EXTRA_BYTES} bytes as JSON; "
                "keep only what proves the event.",
                field="extra",
            )
        if self.policy_version is not None and self.policy_version < 1:
            raise InvalidInput(
                "policy_version: published versions are numbered from 1; leave it out to "
                "record against the version in effect.",
                field="policy_version",
            )
        return Proof(
            channel=channel,
            language=self.language,
            policy_version=self.policy_version,
            notice_hash=notice,
            ip=ip,
            user_agent=user_agent,
            form_url=form_url,
            extra=extra,
        )


def _dumps(value: Any, name: str) -> str:
    try:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"{name}: cannot be stored as JSON ({exc}); use text, numbers, booleans, "
            "lists and objects.",
            field=name,
        ) from None


def proof_plaintext(proof: Proof) -> bytes:
    """The JSON that gets encrypted (from a :meth:`Proof.checked` proof)."""
    document = {
        "ip": proof.ip,
        "user_agent": proof.user_agent,
        "form_url": proof.form_url,
        "extra": dict(proof.extra),
    }
    return _dumps(document, "proof").encode("utf-8")


def proof_context(sequence: int) -> bytes:
    """The associated data that binds a sealed proof to one ledger event."""
    return b"tutela/v1/consent-proof\x00" + str(sequence).encode("ascii")

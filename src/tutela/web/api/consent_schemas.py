"""Request and response bodies of the consent API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tutela.consent import Action, Channel
from tutela.policy.models import ID_PATTERN
from tutela.subjects import IdentityKind

__all__ = ["CheckIn", "CheckOut", "DecisionOut", "EventIn", "EventOut"]


class EventIn(BaseModel):
    """One consent event; name the person by ``subject`` or by ``kind`` and ``value``."""

    model_config = ConfigDict(extra="forbid")

    subject: str | None = Field(default=None, max_length=64, description="Public subject id")
    kind: IdentityKind | None = Field(default=None, description="Identity kind of ``value``")
    value: str | None = Field(default=None, max_length=512, description="The identity value")
    purpose: str = Field(max_length=64, pattern=ID_PATTERN)
    action: Action
    channel: Channel = Channel.API
    language: Literal["de", "en"] | None = Field(
        default=None, description="Language of the text shown (default: the installation's)"
    )
    notice_hash: str | None = Field(
        default=None, description="SHA-256 of the notice text shown; default: the current text"
    )
    policy_version: int | None = Field(default=None, ge=1)
    ip: str | None = Field(default=None, max_length=64, description="Stored shortened only")
    user_agent: str | None = Field(default=None, max_length=2048)
    form_url: str | None = Field(default=None, max_length=2048)
    extra: dict[str, Any] = Field(default_factory=dict)


class DecisionOut(BaseModel):
    allowed: bool
    reason: str = Field(description="Stable reason code, such as consent_confirmed or withdrawn")


class EventOut(BaseModel):
    sequence: int
    subject: str = Field(description="Public subject id")
    purpose: str
    action: str
    occurred_at: str
    channel: str
    policy_version: int
    language: str
    notice_hash: str | None
    hash: str = Field(description="Hash of this ledger entry in the chain")
    decision: DecisionOut = Field(description="The check for this person and purpose afterwards")


class CheckOut(BaseModel):
    purpose: str
    allowed: bool
    reason: str
    policy_version: int


class CheckIn(BaseModel):
    """``POST /check``: the purpose and exactly one way of naming the person."""

    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(pattern=ID_PATTERN, max_length=64)
    subject: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=512)
    phone: str | None = Field(default=None, max_length=512)
    customer_id: str | None = Field(default=None, max_length=512)
    visitor_id: str | None = Field(default=None, max_length=512)

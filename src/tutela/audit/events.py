"""Domain events: the facts a state change records in the audit trail.

Each domain package subclasses :class:`DomainEvent` in its own ``events.py``::

    @dataclass(frozen=True, kw_only=True)
    class PolicyPublished(DomainEvent):
        action: ClassVar[str] = "policy.published"
        version: int
        digest: str

        def target(self) -> str:
            return f"policy_version:{self.version}"

Payloads land in the trail as JSON and are kept for years: put references
(ids, pseudonyms, digests) in events, never raw personal data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any, ClassVar


def json_safe(value: Any) -> Any:
    """``value`` turned into plain JSON types (dates as ISO text, enums as their value)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, Enum):
        return json_safe(value.value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal | uuid.UUID | PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {str(json_safe(key)): json_safe(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((json_safe(item) for item in value), key=repr)
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_safe(dataclasses.asdict(value))
    raise TypeError(f"{type(value).__name__} values cannot be written to the audit trail")


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Base of every event; subclasses set ``action`` and usually override ``target``."""

    action: ClassVar[str]

    def target(self) -> str:
        """What the event is about, as ``kind:id`` (e.g. ``policy_version:3``)."""
        return ""

    def payload(self) -> dict[str, Any]:
        """The event's fields as JSON-safe values."""
        data: dict[str, Any] = json_safe(dataclasses.asdict(self))
        return data

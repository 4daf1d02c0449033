"""Erasure strategies, the default strategy per data category, and keyed rewriting.

A field is erased by one strategy:

``delete_row``  the row goes (the table's whole row, once for all its fields)
``null``        the value becomes NULL (the column must allow NULL)
``mask``        the value becomes a fixed text (the column must hold text that long)
``hash``        keyed HMAC-SHA256 of the value, 64 hex digits (unlinkable without the key)
``pseudonym``   ``erased-`` + 16 hex digits, keyed by the person and the value, so equal
                values of one person stay equal (statistics keep working)
``keep``        the value stays, for a stated reason (a key that links rows)

Fields without a strategy of their own take one from the category defaults below
(the most specific category key wins). A default lists strategies in order of
preference; the store picks the first one its column allows (``null`` needs a
nullable column, ``mask``/``hash``/``pseudonym`` need text of sufficient length).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from tutela.crypto import MasterKey

__all__ = [
    "DEFAULTS",
    "KEY_REASON",
    "PSEUDONYM_LENGTH",
    "ColumnFacts",
    "Default",
    "ErasureKey",
    "Strategy",
    "already_erased",
    "default_for",
    "refusal",
]


class Strategy(StrEnum):
    DELETE_ROW = "delete_row"
    NULL = "null"
    MASK = "mask"
    HASH = "hash"
    PSEUDONYM = "pseudonym"
    KEEP = "keep"


KEY_REASON: Final = (
    "a key that links the person's rows; it identifies no one once the linked fields are erased"
)
DEFAULT_MASK: Final = "[erased]"
HASH_LENGTH: Final = 64
PSEUDONYM_PREFIX: Final = "erased-"
PSEUDONYM_LENGTH: Final = len(PSEUDONYM_PREFIX) + 16
_HASHED = re.compile(r"^[0-9a-f]{64}$")
_PSEUDONYMISED = re.compile(r"^erased-[0-9a-f]{16}$")


@dataclass(frozen=True, slots=True)
class Default:
    """Strategies to try in order for a category, and the reason when one is ``keep``."""

    strategies: tuple[Strategy, ...]
    reason: str | None = None


_S = Strategy
DEFAULTS: Final[Mapping[str, Default]] = MappingProxyType(
    {
        "user": Default((_S.NULL, _S.MASK)),
        "user.unique_id": Default((_S.KEEP,), KEY_REASON),
        "user.contact": Default((_S.NULL, _S.MASK)),
        "user.contact.email": Default((_S.PSEUDONYM, _S.HASH, _S.NULL)),
        "user.account.username": Default((_S.PSEUDONYM, _S.HASH, _S.NULL)),
        "user.name": Default((_S.MASK, _S.NULL)),
        "user.financial": Default((_S.NULL, _S.MASK)),
        "user.financial.bank_account": Default((_S.MASK, _S.NULL)),
        "user.financial.credit_card": Default((_S.MASK, _S.NULL)),
        "user.payment": Default((_S.MASK, _S.NULL)),
        "user.authorization": Default((_S.NULL, _S.MASK)),
    }
)


def default_for(category: str, table: Mapping[str, Default] = DEFAULTS) -> Default | None:
    """The entry of ``table`` for the longest dotted prefix of ``category``."""
    parts = category.split(".")
    for end in range(len(parts), 0, -1):
        found = table.get(".".join(parts[:end]))
        if found is not None:
            return found
    return None


@dataclass(frozen=True, slots=True)
class ColumnFacts:
    """What a store knows about a column, to decide which strategies fit it."""

    nullable: bool = True
    text: bool = True
    length: int | None = None
    primary_key: bool = False
    unique: bool = False
    referenced: bool = False
    """Another table's foreign key points at this column."""
    type_name: str = ""


def refusal(
    strategy: Strategy, facts: ColumnFacts, *, mask: str, keyed: bool, reason: str | None
) -> str | None:
    """Why ``strategy`` cannot be used on a column with ``facts`` (None: it can)."""
    if strategy is Strategy.KEEP:
        return None if reason else "keep needs a reason (or a hold) in the dataset"
    if strategy is Strategy.DELETE_ROW:
        return None
    if strategy is Strategy.NULL:
        if facts.primary_key:
            return "it is part of the primary key, which cannot be NULL"
        if not facts.nullable:
            return "the column is NOT NULL"
        return None
    if not facts.text:
        return f"the column holds {facts.type_name or 'non-text values'}, not text"
    if strategy is Strategy.MASK:
        if facts.primary_key or facts.unique:
            return "the column must be unique, so one fixed mask for every row would collide"
        if facts.length is not None and len(mask) > facts.length:
            return f"the mask {mask!r} is longer than the column ({facts.length} characters)"
        return None
    if (facts.primary_key or facts.unique) and facts.referenced:
        return "other tables point at this column; changing it would break their links"
    if not keyed:
        return "the connector was given no master key to derive the erasure key from"
    needed = HASH_LENGTH if strategy is Strategy.HASH else PSEUDONYM_LENGTH
    if facts.length is not None and facts.length < needed:
        return f"the column holds {facts.length} characters, {strategy.value} needs {needed}"
    return None


def already_erased(strategy: Strategy, value: object, *, mask: str) -> bool:
    """Whether ``value`` is what ``strategy`` leaves behind (so erasing again is a no-op)."""
    if value is None:
        return True
    if strategy is Strategy.MASK:
        return value == mask
    if strategy is Strategy.HASH:
        return isinstance(value, str) and _HASHED.fullmatch(value) is not None
    if strategy is Strategy.PSEUDONYM:
        return isinstance(value, str) and _PSEUDONYMISED.fullmatch(value) is not None
    return False


class ErasureKey:
    """The keyed functions behind ``hash`` and ``pseudonym`` for one store."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("An erasure key needs at least 32 bytes.")
        self._key = bytes(key)

    @classmethod
    def for_store(cls, master: MasterKey, store: str) -> ErasureKey:
        """The store's key, derived from the master key's ``erasure`` sub-key."""
        message = b"tutela/v1/erasure/store\x00" + store.encode("utf-8")
        return cls(hmac.new(master.subkey("erasure"), message, hashlib.sha256).digest())

    def hash(self, value: object) -> str:
        message = b"hash\x00" + str(value).encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def pseudonym(self, value: object, *, person: bytes) -> str:
        message = b"pseudonym\x00" + person + b"\x00" + str(value).encode("utf-8")
        digest = hmac.new(self._key, message, hashlib.sha256).hexdigest()
        return PSEUDONYM_PREFIX + digest[:16]

    def __repr__(self) -> str:
        return "ErasureKey(…)"

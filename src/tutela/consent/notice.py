"""The hash of the notice text a person sees for a purpose.

A consent counts only for the text it was given to. The text of a purpose is
its name and its description in one language, as the declaration holds them;
:func:`notice_hash` is the SHA-256 (hex) of the compact JSON array
``["tutela-notice-v1", purpose id, language, name, description]`` in which each
text is NFC-normalised and every run of whitespace is one space. Re-wrapping
the YAML therefore keeps the hash, while any change a reader could see (a
word, a letter, punctuation) gives a new one and asks everyone again.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Final

from tutela.errors import InvalidInput
from tutela.policy.models import Purpose

__all__ = ["LANGUAGES", "NOTICE_VERSION", "current_notice_hashes", "notice_hash", "notice_text"]

NOTICE_VERSION: Final = "tutela-notice-v1"
LANGUAGES: Final = ("de", "en")


def _canonical(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def notice_text(purpose: Purpose, language: str) -> tuple[str, str]:
    """The name and description of ``purpose`` as shown in ``language`` (canonical form)."""
    if language not in LANGUAGES:
        raise InvalidInput(
            f"language: {language!r} is not a statement language; use de or en.",
            field="language",
        )
    return _canonical(purpose.name.get(language)), _canonical(purpose.description.get(language))


def notice_hash(purpose: Purpose, language: str) -> str:
    """SHA-256 (hex) of the canonical notice of ``purpose`` in ``language``."""
    name, description = notice_text(purpose, language)
    encoded = json.dumps(
        [NOTICE_VERSION, purpose.id, language, name, description],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


_KEPT: Final = 256
_known: dict[int, tuple[Purpose, frozenset[str]]] = {}


def current_notice_hashes(purpose: Purpose) -> frozenset[str]:
    """The hashes of the purpose's current text in every statement language.

    Purposes are immutable, so the answer is kept per purpose object (checks
    ask for it on every call).
    """
    kept = _known.get(id(purpose))
    if kept is not None and kept[0] is purpose:
        return kept[1]
    hashes = frozenset(notice_hash(purpose, language) for language in LANGUAGES)
    if len(_known) >= _KEPT:
        _known.clear()
    _known[id(purpose)] = (purpose, hashes)
    return hashes

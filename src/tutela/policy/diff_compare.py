"""The machinery of the declaration diff: :class:`Change` and the :class:`Comparison` walk.

A :class:`Comparison` holds both declarations and records changes; the section
modules (:mod:`tutela.policy.diff_sections`, :mod:`tutela.policy.diff_purposes`)
call its helpers, which turn "these two values differ" into a :class:`Change`
with the wording both languages need.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel

from tutela.errors import InvalidInput
from tutela.policy import diff_terms as terms
from tutela.policy.diff_text import LANGUAGES, SENTENCES, Phrase
from tutela.policy.models import Declaration, Text
from tutela.policy.taxonomy import Taxonomy

_T = TypeVar("_T")
_V = TypeVar("_V")


@dataclass(frozen=True)
class Change:
    """One change between two declarations.

    ``kind`` is a stable id such as ``purpose.added``; ``path`` names the field
    (entries by id); ``material`` says whether the people concerned must be told
    before it takes effect. ``variant`` picks the wording where it depends on the
    direction (``on``/``off``); ``params`` hold the names and values the sentence
    needs, in both languages.
    """

    kind: str
    path: str
    material: bool
    variant: str = ""
    params: Mapping[str, Phrase] = field(default_factory=dict, hash=False)

    def describe(self, language: str) -> str:
        """The change as one sentence in ``language`` (``de`` or ``en``)."""
        lang = language_code(language)
        key = f"{self.kind}/{self.variant}" if self.variant else self.kind
        values = {name: phrase.get(lang) for name, phrase in self.params.items()}
        sentence = SENTENCES[key].get(lang).format_map(values)
        if sentence.endswith("..") and not sentence.endswith("..."):
            sentence = sentence[:-1]  # a name such as "Cloud Inc." ends the sentence
        return sentence


def language_code(language: str) -> str:
    """``de``/``en`` from ``de``, ``de-DE``, ``en_GB`` …; other languages are refused."""
    lang = language.replace("_", "-").split("-")[0].lower()
    if lang not in LANGUAGES:
        raise InvalidInput(
            f"language: {language!r} is not supported; describe changes in 'de' or 'en'."
        )
    return lang


def text(value: Text) -> Phrase:
    return Phrase(de=value.de, en=value.en)


def same(value: object) -> Phrase:
    return Phrase.same(str(value))


def join(items: Iterable[Phrase]) -> Phrase:
    listed = list(items)
    if not listed:
        return terms.NONE
    return Phrase(de=", ".join(i.de for i in listed), en=", ".join(i.en for i in listed))


def gained(old: Sequence[_T], new: Sequence[_T]) -> list[_T]:
    """Items of ``new`` not in ``old``, in the order of ``new``, without repeats."""
    seen = set(old)
    result: list[_T] = []
    for item in new:
        if item not in seen:
            seen.add(item)
            result.append(item)
    return result


def changed_fields(old: BaseModel, new: BaseModel, labels: Mapping[str, Phrase]) -> Phrase | None:
    """The labels of the fields that differ, joined; ``None`` when none does."""
    changed = [label for name, label in labels.items() if getattr(old, name) != getattr(new, name)]
    return join(changed) if changed else None


class Comparison:
    """One walk over two declarations; the sections record into :attr:`changes`."""

    def __init__(self, old: Declaration, new: Declaration, *, taxonomy: Taxonomy) -> None:
        self.old = old
        self.new = new
        self.taxonomy = taxonomy
        self.changes: list[Change] = []

    def add(
        self, kind: str, path: str, material: bool, variant: str = "", /, **params: Phrase
    ) -> None:
        self.changes.append(Change(kind, path, material, variant, params))

    def value(
        self,
        kind: str,
        path: str,
        pair: tuple[_V, _V],
        words: Callable[[_V], Phrase],
        material: bool = True,
        variant: str = "",
        /,
        **params: Phrase,
    ) -> None:
        """Record ``kind`` with ``old``/``new`` wording when the two values differ."""
        if pair[0] != pair[1]:
            before, after = words(pair[0]), words(pair[1])
            self.add(kind, path, material, variant, old=before, new=after, **params)

    def toggle(
        self, kind: str, path: str, pair: tuple[bool, bool], *, material_on: bool, **params: Phrase
    ) -> None:
        """Record variant ``on``/``off`` of ``kind`` when a flag flips."""
        if pair[0] != pair[1]:
            on = pair[1]
            self.add(kind, path, on is material_on, "on" if on else "off", **params)

    def sets(
        self,
        kind: str,
        path: str,
        pair: tuple[Sequence[str], Sequence[str]],
        words: Callable[[str, bool], Phrase],
        slot: str,
        /,
        **params: Phrase,
    ) -> None:
        """Record ``kind-added`` (material) and ``kind-removed`` for two lists of keys.

        ``words(key, in_new)`` names a key, looked up in the new or the old declaration.
        """
        for suffix, keys, in_new in (
            ("added", gained(pair[0], pair[1]), True),
            ("removed", gained(pair[1], pair[0]), False),
        ):
            if keys:
                listed = join(words(key, in_new) for key in keys)
                self.add(f"{kind}-{suffix}", path, in_new, **params, **{slot: listed})

    def entries(
        self,
        pair: tuple[Sequence[_T], Sequence[_T]],
        key: Callable[[_T], str],
        compare: Callable[[str, _T | None, _T | None], None],
    ) -> None:
        """Match entries by key and compare those that differ: new order first, then the gone."""
        old_by = {key(item): item for item in pair[0]}
        new_by = {key(item): item for item in pair[1]}
        for ident, item in new_by.items():
            if old_by.get(ident) != item:
                compare(ident, old_by.get(ident), item)
        for ident, item in old_by.items():
            if ident not in new_by:
                compare(ident, item, None)

    def category(self, key: str, _in_new: bool = True) -> Phrase:
        """A data category by its name in the taxonomy; a custom category by its key."""
        entry = self.taxonomy.category(key)
        return text(entry.name) if entry is not None else same(key)

    def use(self, key: str) -> Phrase:
        entry = self.taxonomy.use(key)
        return text(entry.name) if entry is not None else same(key)

    def subject(self, key: str, _in_new: bool = True) -> Phrase:
        entry = self.taxonomy.subject(key)
        return text(entry.name) if entry is not None else same(key)

    def recipient_name(self, rid: str, in_new: bool = True) -> Phrase:
        entry = (self.new if in_new else self.old).recipient(rid)
        return same(entry.name if entry is not None else rid)

    def purpose_name(self, pid: str | None, in_new: bool = True) -> Phrase:
        if pid is None:
            return terms.NO_PURPOSE
        entry = (self.new if in_new else self.old).purpose(pid)
        return text(entry.name) if entry is not None else same(pid)

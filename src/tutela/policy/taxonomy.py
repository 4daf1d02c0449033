"""The taxonomy of data categories, data uses and data subjects.

The keys are a vendored snapshot of fideslang (CC BY 4.0, see the header of
``data/taxonomy.yaml``), so declarations stay interoperable with Fides; the names
and descriptions are Tutela's own, in German and English. A key whose first part
starts with ``x_`` is a custom key of the operator and is not in the taxonomy.

The file is parsed once per process on first use (:func:`load_taxonomy`).
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml

from tutela.policy.models import Text

CUSTOM_PREFIX = "x_"


@dataclass(frozen=True, slots=True)
class TaxonomyEntry:
    """One key of the taxonomy with its bilingual name and description."""

    key: str
    name: Text
    description: Text
    parent: str | None = None
    special: bool = False
    """A special category of personal data (GDPR Art. 9)."""
    pan: bool = False
    """Holds payment card numbers (PCI DSS): never to be stored by the controller itself."""


@dataclass(frozen=True, slots=True)
class TaxonomySource:
    """Where the keys come from, for the attribution the licence asks for."""

    name: str
    version: str
    url: str
    licence: str
    licence_url: str
    attribution: str


class Taxonomy:
    """Data categories, data uses and data subjects, looked up by key."""

    def __init__(
        self,
        *,
        source: TaxonomySource,
        categories: Mapping[str, TaxonomyEntry],
        uses: Mapping[str, TaxonomyEntry],
        subjects: Mapping[str, TaxonomyEntry],
    ) -> None:
        self.source = source
        self.categories: Mapping[str, TaxonomyEntry] = MappingProxyType(dict(categories))
        self.uses: Mapping[str, TaxonomyEntry] = MappingProxyType(dict(uses))
        self.subjects: Mapping[str, TaxonomyEntry] = MappingProxyType(dict(subjects))

    def category(self, key: str) -> TaxonomyEntry | None:
        return self.categories.get(key)

    def use(self, key: str) -> TaxonomyEntry | None:
        return self.uses.get(key)

    def subject(self, key: str) -> TaxonomyEntry | None:
        return self.subjects.get(key)

    @staticmethod
    def is_custom(key: str) -> bool:
        """A key of the operator's own (``x_acme.call_recording``), outside the taxonomy."""
        return key.split(".", 1)[0].startswith(CUSTOM_PREFIX)

    def is_special(self, key: str) -> bool:
        """Whether the category or one of its ancestors is an Art. 9 category."""
        return any(entry.special for entry in self._lineage(self.categories, key))

    def holds_pan(self, key: str) -> bool:
        """Whether the category or one of its ancestors holds payment card numbers."""
        return any(entry.pan for entry in self._lineage(self.categories, key))

    def nearest_categories(self, key: str, n: int = 3) -> list[str]:
        """Up to ``n`` existing category keys that ``key`` was probably meant to be."""
        return _nearest(key, self.categories, n)

    def nearest_uses(self, key: str, n: int = 3) -> list[str]:
        return _nearest(key, self.uses, n)

    def nearest_subjects(self, key: str, n: int = 3) -> list[str]:
        return _nearest(key, self.subjects, n)

    @staticmethod
    def _lineage(entries: Mapping[str, TaxonomyEntry], key: str) -> list[TaxonomyEntry]:
        parts = key.split(".")
        prefixes = (".".join(parts[: i + 1]) for i in range(len(parts)))
        return [entries[p] for p in prefixes if p in entries]


def _nearest(key: str, entries: Mapping[str, TaxonomyEntry], n: int) -> list[str]:
    """Close spellings first, then the children of the nearest existing ancestor."""
    if n <= 0:
        return []
    keys = list(entries)
    close = difflib.get_close_matches(key, keys, n=n, cutoff=0.6)
    ancestor = key
    siblings: list[str] = []
    while "." in ancestor:
        ancestor = ancestor.rsplit(".", 1)[0]
        if ancestor in entries:
            siblings = [k for k in keys if entries[k].parent == ancestor]
            siblings.sort(key=lambda k: -difflib.SequenceMatcher(None, key, k).ratio())
            break
    ranked = [k for k in dict.fromkeys([*close, *siblings]) if k != key]
    return ranked[:n]


@functools.cache
def load_taxonomy() -> Taxonomy:
    """The vendored taxonomy, parsed on first use and shared afterwards."""
    text = resources.files("tutela.policy").joinpath("data/taxonomy.yaml").read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data: dict[str, Any] = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    return Taxonomy(
        source=TaxonomySource(**{k: str(v) for k, v in data["source"].items()}),
        categories=_entries(data["data_categories"]),
        uses=_entries(data["data_uses"]),
        subjects=_entries(data["data_subjects"]),
    )


def _entries(section: Mapping[str, Mapping[str, Any]]) -> dict[str, TaxonomyEntry]:
    entries: dict[str, TaxonomyEntry] = {}
    for key, raw in section.items():
        parent = key.rsplit(".", 1)[0] if "." in key else None
        entries[key] = TaxonomyEntry(
            key=key,
            name=Text(**raw["name"]),
            description=Text(**raw["description"]),
            parent=parent,
            special=bool(raw.get("special", False)),
            pan=bool(raw.get("pan", False)),
        )
    return entries

"""The dataset: how one store's tables map to identities, links, categories and erasure.

Two file formats load into the same model:

* Tutela's own (``name:``, ``tables:``), see ``docs/connectors.md``;
* Fides dataset YAML (``dataset: [{fides_key, collections: …}]``) as it is, with an
  optional Tutela override file laid over the converted form.

:func:`load_dataset` reads a file, :func:`parse_dataset` text; both raise
:class:`DatasetError` naming the file, line, table and field of every problem.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from tutela.connectors.hold import Hold
from tutela.connectors.strategy import DEFAULT_MASK, Strategy
from tutela.errors import InvalidInput

__all__ = [
    "Dataset",
    "DatasetError",
    "FieldSpec",
    "Link",
    "TableSpec",
    "load_dataset",
    "parse_dataset",
]


class DatasetError(InvalidInput):
    """A dataset file has problems; ``extra["problems"]`` lists each one."""

    code = "invalid-dataset"
    title = "The dataset file is not valid"


def is_personal_category(category: str) -> bool:
    return category == "user" or category.startswith("user.")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One declared column.

    ``strategies`` are the erasure strategies to try in order (one when the dataset
    names it); ``held`` False keeps the field out of its table's hold (it is erased
    even while the row is kept).
    """

    name: str
    categories: tuple[str, ...] = ()
    identity: str | None = None
    strategies: tuple[Strategy, ...] = ()
    mask: str | None = None
    reason: str | None = None
    held: bool = True
    secret: bool | None = None
    card: bool = False
    casefold: bool = False
    where: str = ""

    @property
    def personal(self) -> bool:
        """Declared personal: a ``user.*`` category, or an erasure strategy of its own."""
        return any(is_personal_category(c) for c in self.categories) or bool(self.strategies)

    @property
    def category(self) -> str | None:
        personal = [c for c in self.categories if is_personal_category(c)]
        ordered = personal or list(self.categories)
        return ordered[0] if ordered else None


@dataclass(frozen=True, slots=True)
class Link:
    """Rows of ``target_table`` whose ``target_column`` equals ``source_column`` of found rows."""

    source_table: str
    source_column: str
    target_table: str
    target_column: str


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    fields: Mapping[str, FieldSpec] = field(default_factory=lambda: MappingProxyType({}))
    primary_key: tuple[str, ...] = ()
    delete_rows: bool = False
    hold: Hold | None = None
    restriction: str | None = None
    where: str = ""

    def hold_for(self, spec: FieldSpec) -> Hold | None:
        """The table's hold if it keeps ``spec`` (a field with ``held: false`` is not kept)."""
        return self.hold if spec.held else None

    @property
    def personal_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(spec for spec in self.fields.values() if spec.personal)

    @property
    def identity_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(spec for spec in self.fields.values() if spec.identity)


@dataclass(frozen=True, slots=True)
class Dataset:
    """The mapping of one store (immutable; share it between requests)."""

    name: str
    tables: Mapping[str, TableSpec]
    links: tuple[Link, ...] = ()
    mask: str = DEFAULT_MASK
    source: str = ""
    description: str | None = None
    warnings: tuple[str, ...] = ()

    def identity_kinds(self) -> frozenset[str]:
        """The identity kinds that seed a search in this store."""
        return frozenset(
            spec.identity
            for table in self.tables.values()
            for spec in table.fields.values()
            if spec.identity
        )

    def categories(self) -> frozenset[str]:
        """Every data category declared in this store."""
        return frozenset(
            category
            for table in self.tables.values()
            for spec in table.fields.values()
            for category in spec.categories
        )

    def fields_for_category(self, category: str) -> tuple[str, ...]:
        """``table.column`` of every field declared with ``category`` or a child of it."""
        prefix = category + "."
        return tuple(
            f"{table.name}.{spec.name}"
            for table in self.tables.values()
            for spec in table.fields.values()
            if any(c == category or c.startswith(prefix) for c in spec.categories)
        )

    def personal_fields(self) -> Iterator[tuple[TableSpec, FieldSpec]]:
        for table in self.tables.values():
            for spec in table.personal_fields:
                yield table, spec

    def links_from(self, table: str) -> tuple[Link, ...]:
        return tuple(link for link in self.links if link.source_table == table)

    def walk_order(self) -> tuple[str, ...]:
        """Tables reachable from an identity field, breadth-first from the seeded ones."""
        seeded = [name for name, table in self.tables.items() if table.identity_fields]
        order: dict[str, None] = dict.fromkeys(seeded)
        queue = deque(seeded)
        while queue:
            for link in self.links_from(queue.popleft()):
                if link.target_table not in order:
                    order[link.target_table] = None
                    queue.append(link.target_table)
        return tuple(order)

    def unreachable(self) -> tuple[str, ...]:
        """Tables with personal fields that no identity field or link reaches."""
        reached = set(self.walk_order())
        return tuple(
            name
            for name, table in self.tables.items()
            if name not in reached and table.personal_fields
        )


def parse_dataset(
    text: str,
    *,
    source: str = "<dataset>",
    overrides: str | None = None,
    overrides_source: str = "<overrides>",
    key: str | None = None,
) -> Dataset:
    """A dataset from YAML text in Tutela's or Fides' format.

    ``overrides`` (Tutela format, every key optional) is laid over the file; ``key``
    picks one dataset from a Fides file that holds several.
    """
    from tutela.connectors.dataset_file import build_dataset
    from tutela.connectors.fides_dataset import convert_fides, is_fides
    from tutela.connectors.yaml_source import load_located, merge

    document = load_located(text, source=source)
    if is_fides(document.data):
        document = convert_fides(document, key=key)
    elif key is not None and document.data.get("name") != key:
        raise DatasetError(
            f"{source} is a Tutela dataset named {document.data.get('name')!r}, not {key!r}; "
            "drop the key or point at the right file.",
            problems=[],
        )
    if overrides is not None:
        patch = load_located(overrides, source=overrides_source)
        if patch.data is not None:
            if not isinstance(patch.data, dict):
                raise DatasetError(
                    f"{overrides_source}: the override file must be a mapping "
                    "(name, mask, strategies, tables); see docs/connectors.md.",
                    problems=[],
                )
            document = merge(document, patch)
    return build_dataset(document)


def load_dataset(
    path: str | Path, *, overrides: str | Path | None = None, key: str | None = None
) -> Dataset:
    """Read a dataset file (and an optional override file); see :func:`parse_dataset`."""
    source = Path(path)
    text = _read(source)
    extra = None if overrides is None else _read(Path(overrides))
    return parse_dataset(
        text,
        source=source.name,
        overrides=extra,
        overrides_source=Path(overrides).name if overrides is not None else "<overrides>",
        key=key,
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(
            f"The dataset file {path} cannot be read ({exc}); check the path and that it "
            "is UTF-8 text.",
            problems=[],
        ) from exc

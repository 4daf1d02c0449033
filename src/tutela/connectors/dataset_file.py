"""Tutela's dataset file format, validated with pydantic, built into a :class:`Dataset`.

Every problem is reported at once, each with its place (``shop.yaml line 12``), the
table and field, what is wrong and what to do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from tutela.connectors.dataset import Dataset, DatasetError, FieldSpec, Link, TableSpec
from tutela.connectors.hold import Hold
from tutela.connectors.strategy import DEFAULT_MASK, DEFAULTS, Default, Strategy, default_for
from tutela.connectors.yaml_source import Located, NodePath
from tutela.policy.taxonomy import load_taxonomy

__all__ = ["DatasetFile", "build_dataset"]

Name = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")]
Category = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$", max_length=200)
]
Reference = Annotated[str, StringConstraints(pattern=r"^[^.\x00-\x1f]+\.[^.\x00-\x1f]+$")]


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Categories = Annotated[list[Category], BeforeValidator(_one_or_many)]
References = Annotated[list[Reference], BeforeValidator(_one_or_many)]
Names = Annotated[list[Name], BeforeValidator(_one_or_many)]
Strategies = Annotated[list[Strategy], BeforeValidator(_one_or_many)]
_IDENTITY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class HoldFile(_Model):
    rule: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    years: int = Field(ge=0, le=100)
    from_: Name = Field(alias="from", description="the date column the period counts from")


class FieldFile(_Model):
    category: Categories | None = None
    identity: str | None = None
    strategy: Strategy | None = None
    mask: Annotated[str, StringConstraints(max_length=200)] | None = None
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
    held: bool = True
    secret: bool | None = None
    card: bool = False
    match: Literal["exact", "casefold"] = "exact"
    found_by: References | None = None
    leads_to: References | None = None


class TableFile(_Model):
    description: str | None = None
    primary_key: Names | None = None
    erase: Literal["update", "delete_row"] = "update"
    restriction: Name | None = None
    hold: HoldFile | None = None
    fields: dict[Name, FieldFile | None] = Field(default_factory=dict)


class DatasetFile(_Model):
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    description: str | None = None
    mask: Annotated[str, StringConstraints(max_length=200)] = DEFAULT_MASK
    strategies: dict[Category, Strategies] = Field(default_factory=dict)
    tables: dict[Name, TableFile] = Field(min_length=1)


def _listed(value: list[str] | None) -> list[str]:
    return [] if value is None else list(value)


def build_dataset(document: Located) -> Dataset:
    """Validate ``document`` (Tutela format) and build the dataset, or raise DatasetError."""
    if not isinstance(document.data, dict):
        raise DatasetError(
            f"{document.source}: a dataset file is a mapping with 'name' and 'tables' (or a "
            "Fides file with 'dataset:'); see docs/connectors.md.",
            problems=[],
        )
    try:
        parsed = DatasetFile.model_validate(document.data)
    except ValidationError as exc:
        problems = [_explain(error, document) for error in exc.errors()]
        raise _failure(document.source, problems) from None
    return _Builder(parsed, document).build()


def _failure(source: str, problems: list[str]) -> DatasetError:
    listing = "\n".join(f"- {p}" for p in problems)
    noun = "problem" if len(problems) == 1 else "problems"
    return DatasetError(f"{source} has {len(problems)} {noun}:\n{listing}", problems=problems)


def _context(path: NodePath) -> str:
    """``table 'people', field 'phone', found_by item 2`` for a path into the file."""

    def show(parts: tuple[str | int, ...]) -> str:
        return " ".join(f"item {p + 1}" if isinstance(p, int) else str(p) for p in parts)

    if len(path) >= 2 and path[0] == "tables":
        text = f"table {path[1]!r}"
        if len(path) >= 4 and path[2] == "fields":
            text += f", field {path[3]!r}"
            rest = path[4:]
        else:
            rest = path[2:]
        return text + (f", {show(rest)}" if rest else "")
    return show(path) or "the file"


def _explain(error: Mapping[str, Any], document: Located) -> str:
    loc: NodePath = tuple(str(p) if not isinstance(p, int) else p for p in error["loc"])
    path = loc
    kind = error["type"]
    if kind == "extra_forbidden":
        what = f"unknown key {path[-1]!r}; check its spelling (see docs/connectors.md)"
    elif kind == "missing":
        what = f"{path[-1]!r} is required; add it"
    elif kind == "enum":
        what = f"{error['msg'].lower()}"
    elif kind == "string_pattern_mismatch" and "category" in path:
        what = "a category is a dotted lowercase key such as user.contact.email"
    elif kind == "string_pattern_mismatch" and ("found_by" in path or "leads_to" in path):
        what = "a reference is written table.column, for example customers.id"
    else:
        what = error["msg"][0].lower() + error["msg"][1:]
    return f"{document.where(path)}, {_context(path)}: {what}"


class _Builder:
    def __init__(self, parsed: DatasetFile, document: Located) -> None:
        self.parsed = parsed
        self.document = document
        self.problems: list[str] = []
        self.warnings: list[str] = list(document.notes)
        overrides = {key: Default(tuple(v)) for key, v in parsed.strategies.items()}
        self.defaults: Mapping[str, Default] = {**DEFAULTS, **overrides}

    def problem(self, path: NodePath, text: str) -> None:
        self.problems.append(f"{self.document.where(path)}, {_context(path)}: {text}")

    def build(self) -> Dataset:
        tables = {name: self.table(name, spec) for name, spec in self.parsed.tables.items()}
        links = self.links(tables)
        if not any(t.identity_fields for t in tables.values()):
            self.problem(
                ("tables",),
                "no field has an identity, so no one's records can be found; mark the columns "
                "that hold an email, customer id or phone with 'identity:'",
            )
        if self.problems:
            raise _failure(self.document.source, self.problems)
        dataset = Dataset(
            name=self.parsed.name,
            tables=MappingProxyType(tables),
            links=tuple(links),
            mask=self.parsed.mask,
            source=self.document.source,
            description=self.parsed.description,
        )
        for name in dataset.unreachable():
            self.warnings.append(
                f"{self.document.where(('tables', name))}, table {name!r}: no identity field "
                "or reference reaches it, so its personal fields are never found; erasure "
                "and access report it as not handled"
            )
        return Dataset(
            name=dataset.name,
            tables=dataset.tables,
            links=dataset.links,
            mask=dataset.mask,
            source=dataset.source,
            description=dataset.description,
            warnings=tuple(self.warnings),
        )

    def hold(self, given: HoldFile | None) -> Hold | None:
        if given is None:
            return None
        return Hold(rule=given.rule, years=given.years, date_column=given.from_)

    def table(self, name: str, spec: TableFile) -> TableSpec:
        path: NodePath = ("tables", name)
        fields = {
            column: self.field(path, column, given or FieldFile(), table_hold=spec.hold)
            for column, given in spec.fields.items()
        }
        return TableSpec(
            name=name,
            fields=MappingProxyType(fields),
            primary_key=tuple(_listed(spec.primary_key)),
            delete_rows=spec.erase == "delete_row"
            or any(Strategy.DELETE_ROW in f.strategies[:1] for f in fields.values()),
            hold=self.hold(spec.hold),
            restriction=spec.restriction,
            where=self.document.where(path),
        )

    def field(
        self, table: NodePath, column: str, given: FieldFile, *, table_hold: HoldFile | None
    ) -> FieldSpec:
        path: NodePath = (*table, "fields", column)
        categories = tuple(_listed(given.category))
        self.check_categories(path, categories)
        if given.identity is not None and not _IDENTITY.fullmatch(given.identity):
            self.problem(
                (*path, "identity"),
                f"identity {given.identity!r} is not a valid kind; use lowercase letters, "
                "digits and '_' (email, phone, customer_id, visitor_id or your own)",
            )
        strategies, reason = self.strategies(categories, given)
        held = table_hold is not None and given.held
        if strategies[:1] == (Strategy.KEEP,) and not reason:
            if held:
                self.problem(
                    (*path, "strategy"),
                    "the field is held, and 'keep' says nothing about the time after the hold; "
                    "name the strategy for then (null, mask, hash, pseudonym or delete_row), "
                    "or give a 'reason' to keep it for good",
                )
            else:
                self.problem(
                    (*path, "strategy"),
                    "'keep' needs a 'reason' (why the value may stay after an erasure), or "
                    "choose null, mask, hash, pseudonym or delete_row",
                )
        return FieldSpec(
            name=column,
            categories=categories,
            identity=given.identity,
            strategies=strategies,
            mask=given.mask,
            reason=reason,
            held=given.held,
            secret=given.secret,
            card=given.card or any(self.holds_pan(c) for c in categories),
            casefold=given.match == "casefold",
            where=self.document.where(path),
        )

    def strategies(
        self, categories: tuple[str, ...], given: FieldFile
    ) -> tuple[tuple[Strategy, ...], str | None]:
        if given.strategy is not None:
            return (given.strategy,), given.reason
        personal = [c for c in categories if c == "user" or c.startswith("user.")]
        if not personal:
            return (), given.reason
        default = default_for(personal[0], self.defaults)
        if default is None:
            return (), given.reason
        return default.strategies, given.reason or default.reason

    def check_categories(self, path: NodePath, categories: tuple[str, ...]) -> None:
        taxonomy = load_taxonomy()
        for category in categories:
            if taxonomy.category(category) is None and not taxonomy.is_custom(category):
                hint = ", ".join(taxonomy.nearest_categories(category)) or "user.contact.email"
                self.warnings.append(
                    f"{self.document.where((*path, 'category'))}, {_context(path)}: category "
                    f"{category!r} is not in the taxonomy (did you mean {hint}?)"
                )

    @staticmethod
    def holds_pan(category: str) -> bool:
        return load_taxonomy().holds_pan(category)

    def links(self, tables: Mapping[str, TableSpec]) -> list[Link]:
        found: dict[Link, None] = {}
        for name, spec in self.parsed.tables.items():
            for column, given in spec.fields.items():
                if given is None:
                    continue
                path: NodePath = ("tables", name, "fields", column)
                for ref in _listed(given.found_by):
                    target = self.reference(tables, (*path, "found_by"), ref)
                    if target:
                        found[Link(target[0], target[1], name, column)] = None
                for ref in _listed(given.leads_to):
                    target = self.reference(tables, (*path, "leads_to"), ref)
                    if target:
                        found[Link(name, column, target[0], target[1])] = None
        return list(found)

    def reference(
        self, tables: Mapping[str, TableSpec], path: NodePath, ref: str
    ) -> tuple[str, str] | None:
        table, _, column = ref.partition(".")
        if table not in tables:
            known = ", ".join(sorted(tables))
            self.problem(
                path,
                f"{ref!r} names the table {table!r}, which the dataset does not declare; "
                f"declare it or use one of: {known}",
            )
            return None
        return table, column

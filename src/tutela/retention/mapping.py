"""The retention mapping: which tables of the connected stores each purpose's retention governs.

The declaration says how long each purpose keeps its data and from which event
the period runs; a dataset says which categories each column holds. What neither
says is which *table* serves which purpose and which column dates the event. The
mapping file (``retention.yaml`` next to the stores file) says that, per store and
table::

    shop:                         # a store named in the stores file
      logins:                     # a table of its dataset
        purposes: [server_logs]   # purposes of the published declaration
        dates:
          collection: last_login_at
      contracts:
        purposes: [vat_place_of_supply]
        dates:
          contract_end: ended_on  # empty while the contract runs: nothing expires
      invoices:
        purposes: [invoicing]
        dates: {collection: issued_on}

``dates`` maps a retention event (``collection``, ``contract_end``,
``account_closed`` …) to the column holding its date; every purpose of the table
needs the column of its own event. ``hold_from`` (optional) names the document
date statutory holds count from; without it they count from the ``collection``
column, else from the purpose's own event column. An empty mapping is written
``{}``. The file is separate from the stores file and the datasets, which keep
their own formats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from tutela.config import Settings
from tutela.connectors.dataset import DatasetError
from tutela.connectors.yaml_source import Located, load_located
from tutela.errors import ConfigurationError
from tutela.policy.models import Identifier
from tutela.policy.terms import RetentionEvent

__all__ = ["MAPPING_FILE", "RetentionMapping", "TableMapping", "load_mapping", "parse_mapping"]

MAPPING_FILE: Final = "retention.yaml"
Column = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")]
_EVENTS: Final = ", ".join(event.value for event in RetentionEvent)


class _TableFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    purposes: list[Identifier] = Field(min_length=1)
    dates: dict[RetentionEvent, Column] = Field(default_factory=dict)
    hold_from: Column | None = None


@dataclass(frozen=True, slots=True)
class TableMapping:
    """One table of one store: the purposes it serves and the columns dating their events."""

    store: str
    table: str
    purposes: tuple[str, ...]
    dates: Mapping[RetentionEvent, str]
    hold_from: str | None
    where: str
    """``retention.yaml line 4``, for messages."""

    @property
    def key(self) -> str:
        return f"{self.store}.{self.table}"


@dataclass(frozen=True, slots=True)
class RetentionMapping:
    tables: tuple[TableMapping, ...]
    source: str

    def for_store(self, store: str) -> tuple[TableMapping, ...]:
        return tuple(t for t in self.tables if t.store == store)


def _problem(source: str, text: str) -> ConfigurationError:
    return ConfigurationError(f"{source}: {text}", field="retention_mapping")


def _explain(error: Mapping[str, Any], document: Located, base: tuple[str, str]) -> str:
    loc = tuple(str(p) for p in error["loc"])
    where = document.where((*base, *loc))
    place = f"store {base[0]!r}, table {base[1]!r}" + (f", {'.'.join(loc)}" if loc else "")
    kind = error["type"]
    if kind == "extra_forbidden":
        what = f"unknown key {loc[-1]!r}; use purposes, dates and hold_from"
    elif kind == "missing":
        what = f"{loc[-1]!r} is required; name the purposes whose retention applies"
    elif kind == "enum" or (len(loc) >= 2 and loc[0] == "dates" and kind != "string_type"):
        what = f"not a retention event; use one of {_EVENTS}"
    elif kind == "string_pattern_mismatch" and loc and loc[0] == "purposes":
        what = "a purpose id is lowercase letters, digits, '_' or '-' (as in the declaration)"
    else:
        what = error["msg"][0].lower() + error["msg"][1:]
    return f"{where}, {place}: {what}"


def parse_mapping(text: str, *, source: str = MAPPING_FILE) -> RetentionMapping:
    """The mapping in ``text``; a ConfigurationError lists every problem with its line."""
    try:
        document = load_located(text, source=source)
    except DatasetError as error:
        raise _problem(source, error.detail) from None
    data = document.data
    if data is None:
        raise _problem(
            source,
            "the file maps no table and does not say that none is mapped; map each table "
            "(store: {table: {purposes: [...], dates: {...}}}) or write {} for none.",
        )
    if not isinstance(data, dict):
        raise _problem(source, "the file must be a mapping of store names to their tables.")
    tables: list[TableMapping] = []
    problems: list[str] = []
    for store, entries in data.items():
        if not isinstance(entries, dict):
            problems.append(
                f"{document.where((str(store),))}, store {store!r}: list its tables as a "
                "mapping (table: {purposes: [...]})"
            )
            continue
        for table, raw in entries.items():
            base = (str(store), str(table))
            try:
                parsed = _TableFile.model_validate(raw if raw is not None else {})
            except ValidationError as exc:
                problems.extend(_explain(e, document, base) for e in exc.errors())
                continue
            tables.append(
                TableMapping(
                    store=str(store),
                    table=str(table),
                    purposes=tuple(dict.fromkeys(parsed.purposes)),
                    dates=MappingProxyType(dict(parsed.dates)),
                    hold_from=parsed.hold_from,
                    where=document.where(base),
                )
            )
    if problems:
        listing = "\n".join(f"- {p}" for p in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        raise ConfigurationError(
            f"{source} has {len(problems)} {noun}:\n{listing}",
            field="retention_mapping",
            problems=problems,
        )
    return RetentionMapping(tables=tuple(tables), source=source)


def mapping_path(settings: Settings) -> Path:
    """``retention.yaml`` in the folder of the stores file."""
    return settings.resolved_stores_file.expanduser().parent / MAPPING_FILE


def load_mapping(settings: Settings) -> RetentionMapping:
    """Read the mapping file next to the stores file (ConfigurationError when missing)."""
    path = mapping_path(settings)
    if not path.exists():
        raise ConfigurationError(
            f"{path}: the retention mapping does not exist. Create it and map each table that "
            "holds personal data to the purposes whose retention applies (see "
            "docs/retention.md), or write {} when no connected table is swept.",
            field="retention_mapping",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise _problem(str(path), f"cannot be read ({error}); check its permissions.") from None
    return parse_mapping(text, source=str(path))

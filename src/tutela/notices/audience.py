"""Account holders in the connected SQL stores: which tables, and reading them in chunks.

The file ``notices.yaml`` next to the stores file names them::

    audience:
      - name: customers          # shown in the status; 1-64 letters, digits, _ . -
        store: shop              # a sql store of the stores file (its url and schema)
        table: customers
        email: email             # the column holding the address
        language: locale         # optional: de, en, de-DE …; else the default language
        key: id                  # optional: a unique, ordered column (default: primary key)
      - name: crm-contacts
        url: postgresql+psycopg://tutela@crm/crm   # instead of store:
        table: contacts
        email: mail

``audience: []`` says that only people with a current consent are told. Without
the file every table of a connected SQL store whose dataset marks an ``email``
identity field is read, so no one the stores know by address is left out.
Tables are read by key in chunks (``key > last ORDER BY key LIMIT n``), so a
run that stops resumes where it was; a composite primary key is compared as a
whole (``(a, b) > (last_a, last_b)``). A table that cannot be read — it is
missing, lacks a named column, or has neither a primary key nor ``key:`` —
raises :class:`AudienceUnreadable`: the recipient search skips that table,
reports it and goes on with the others. The connections only read (on SQLite
they never take the write lock).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
import yaml
from sqlalchemy import exc as sa_exc

from tutela.config import Settings
from tutela.connectors.dataset import Dataset
from tutela.crypto import MasterKey
from tutela.dsr.stores import load_stores
from tutela.errors import ConfigurationError
from tutela.storage import make_engine
from tutela.storage.engine import READ_ONLY

__all__ = [
    "AUDIENCE_FILE",
    "AudienceReader",
    "AudienceSpec",
    "AudienceUnreadable",
    "Cursor",
    "Holder",
    "audience_path",
    "load_audience",
    "parse_audience",
]

AUDIENCE_FILE: Final = "notices.yaml"
_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_KEYS: Final = frozenset({"name", "store", "url", "table", "email", "language", "key", "schema"})
_EMAIL_IDENTITY: Final = "email"

Key = int | str
Cursor = Key | list[Key]
"""Where reading a table goes on: the last key read (a list for a composite key)."""


class AudienceUnreadable(ConfigurationError):
    """An audience table cannot be read as configured; the message says what to change."""


@dataclass(frozen=True, slots=True)
class AudienceSpec:
    """One table of account holders: where it is and which columns to read."""

    name: str
    url: str
    table: str
    email: str
    language: str | None = None
    key: str | None = None
    schema: str | None = None


@dataclass(frozen=True, slots=True)
class Holder:
    """One row read from an audience table (the address is as stored)."""

    key: Cursor
    email: str
    language: str | None


def audience_path(settings: Settings) -> Path:
    """Where ``notices.yaml`` is looked for: next to the stores file."""
    return settings.resolved_stores_file.expanduser().parent / AUDIENCE_FILE


def _problem(path: Path, where: str, message: str) -> ConfigurationError:
    return ConfigurationError(f"{path}: {where}: {message}", field="notices_file")


def _text(raw: Mapping[str, Any], name: str, path: Path, where: str, *, required: bool) -> Any:
    value = raw.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _problem(path, f"{where}, field {name}", "give the name as text.")
    return value.strip()


def _store_settings(stores_file: Path) -> dict[str, tuple[str, str | None]]:
    """name → (url, schema) of every sql store in the stores file (raw, as written)."""
    try:
        loaded = yaml.safe_load(stores_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigurationError(
            f"{stores_file}: the stores file cannot be read ({error.__class__.__name__}); "
            "fix it first (tutela requests checks it too).",
            field="stores_file",
        ) from None
    found: dict[str, tuple[str, str | None]] = {}
    for entry in loaded if isinstance(loaded, list) else []:
        if not isinstance(entry, Mapping) or entry.get("kind") != "sql":
            continue
        config = entry.get("config")
        if isinstance(config, Mapping) and isinstance(config.get("url"), str):
            schema = config.get("schema")
            found[str(entry.get("name"))] = (
                str(config["url"]),
                str(schema) if isinstance(schema, str) else None,
            )
    return found


def _entry(
    raw: object, position: int, path: Path, stores: Mapping[str, tuple[str, str | None]] | None
) -> AudienceSpec:
    where = f"audience entry {position}"
    if not isinstance(raw, Mapping):
        raise _problem(
            path, where, "each entry is a mapping with name, store or url, table, email."
        )
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise _problem(
            path, f"{where}, field name", "use 1-64 letters, digits, '_', '.' or '-' (customers)."
        )
    where = f"audience {name!r}"
    unknown = sorted(str(key) for key in raw if key not in _KEYS)
    if unknown:
        raise _problem(
            path, where, f"unknown field(s) {', '.join(unknown)}; use {', '.join(sorted(_KEYS))}."
        )
    store, url = raw.get("store"), raw.get("url")
    if (store is None) == (url is None):
        raise _problem(path, where, "name either store: (a sql store) or url:, not both.")
    schema = _text(raw, "schema", path, where, required=False)
    if store is not None:
        known = stores or {}
        if not isinstance(store, str) or store not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise _problem(
                path, f"{where}, field store", f"no sql store {store!r}; the sql stores: {listed}."
            )
        url, store_schema = known[store]
        schema = schema or store_schema
    return AudienceSpec(
        name=name,
        url=_text({"url": url}, "url", path, where, required=True),
        table=_text(raw, "table", path, where, required=True),
        email=_text(raw, "email", path, where, required=True),
        language=_text(raw, "language", path, where, required=False),
        key=_text(raw, "key", path, where, required=False),
        schema=schema,
    )


def parse_audience(
    text: str, *, path: Path, stores: Mapping[str, tuple[str, str | None]] | None = None
) -> tuple[AudienceSpec, ...]:
    """The audience tables of a ``notices.yaml`` text (``stores``: name → url, schema)."""
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise _problem(path, "the file", f"not valid YAML ({error.__class__.__name__}).") from None
    if not isinstance(loaded, Mapping) or "audience" not in loaded:
        raise _problem(
            path, "top level", "write audience: followed by a list of tables, or audience: []."
        )
    entries = loaded["audience"] or []
    if not isinstance(entries, list):
        raise _problem(path, "field audience", "the audience must be a list of tables.")
    specs = tuple(_entry(raw, n, path, stores) for n, raw in enumerate(entries, start=1))
    names = [spec.name for spec in specs]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise _problem(path, "field audience", f"the name(s) {', '.join(twice)} are used twice.")
    return specs


def _derived(settings: Settings, master: MasterKey) -> tuple[AudienceSpec, ...]:
    """Every table with an ``email`` identity field in a connected sql store."""
    raw = _store_settings(settings.resolved_stores_file.expanduser())
    specs: list[AudienceSpec] = []
    for store in load_stores(settings, master=master):
        dataset = getattr(store, "dataset", None)
        if store.name not in raw or not isinstance(dataset, Dataset):
            continue
        url, schema = raw[store.name]
        for table in dataset.tables.values():
            email = next(
                (s.name for s in table.fields.values() if s.identity == _EMAIL_IDENTITY), None
            )
            if email is None:
                continue
            key = table.primary_key[0] if len(table.primary_key) == 1 else None
            specs.append(
                AudienceSpec(
                    name=f"{store.name}.{table.name}"[:64],
                    url=url,
                    table=table.name,
                    email=email,
                    key=key,
                    schema=schema,
                )
            )
    return tuple(specs)


def load_audience(settings: Settings, *, master: MasterKey) -> tuple[AudienceSpec, ...]:
    """The audience tables: from ``notices.yaml`` if it exists, else from the stores' datasets."""
    path = audience_path(settings)
    if not path.exists():
        return _derived(settings, master)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise _problem(
            path, "the file", f"cannot be read ({error}); check its permissions."
        ) from None
    stores_file = settings.resolved_stores_file.expanduser()
    stores = _store_settings(stores_file) if stores_file.exists() else {}
    return parse_audience(text, path=path, stores=stores)


@dataclass(frozen=True, slots=True)
class _Bound:
    keys: tuple[sa.ColumnElement[Any], ...]
    email: sa.ColumnElement[Any]
    language: sa.ColumnElement[Any] | None
    table: sa.Table


def _plain(value: object) -> Key:
    return value if isinstance(value, int | str) else str(value)


def _after(keys: tuple[sa.ColumnElement[Any], ...], after: Cursor) -> sa.ColumnElement[bool]:
    """Rows whose key comes after ``after`` (a composite key compared as a whole)."""
    values = after if isinstance(after, list) else [after]
    if len(values) != len(keys):
        raise AudienceUnreadable(
            "the table's key changed while its account holders were being read, so the rest "
            "of it cannot be found again; keep the key stable while notices are queued.",
            field="notices_file",
        )
    if len(keys) == 1:
        return keys[0] > values[0]
    return sa.tuple_(*keys) > sa.tuple_(
        *(sa.literal(value, key.type) for key, value in zip(keys, values, strict=True))
    )


class AudienceReader:
    """Reads the audience tables chunk by chunk; one engine per database, reused."""

    def __init__(self, specs: Sequence[AudienceSpec]) -> None:
        self.specs = tuple(specs)
        self._engines: dict[str, sa.Engine] = {}
        self._bound: dict[int, _Bound] = {}

    def _engine(self, spec: AudienceSpec) -> sa.Engine:
        engine = self._engines.get(spec.url)
        if engine is None:
            engine = self._engines[spec.url] = make_engine(spec.url, check=False)
        return engine.execution_options(**{READ_ONLY: True})

    def _bind(self, index: int, conn: sa.Connection) -> _Bound:
        bound = self._bound.get(index)
        if bound is not None:
            return bound
        spec = self.specs[index]
        where = f"audience {spec.name!r}"
        try:
            table = sa.Table(spec.table, sa.MetaData(), autoload_with=conn, schema=spec.schema)
        except sa_exc.NoSuchTableError:
            raise AudienceUnreadable(
                f"{where}: the table {spec.table!r} does not exist; check table: in notices.yaml.",
                field="notices_file",
            ) from None

        def column(name: str, field: str) -> sa.ColumnElement[Any]:
            if name not in table.c:
                raise AudienceUnreadable(
                    f"{where}: the table {spec.table!r} has no column {name!r}; check {field}: "
                    "in notices.yaml.",
                    field="notices_file",
                )
            return table.c[name]

        names = [spec.key] if spec.key else [c.name for c in table.primary_key.columns]
        if not names:
            raise AudienceUnreadable(
                f"{where}: the table {spec.table!r} has no primary key, so it cannot be read in "
                "a stable order; name a unique column with key: in notices.yaml.",
                field="notices_file",
            )
        keys = tuple(column(name, "key") for name in names)
        language = column(spec.language, "language") if spec.language else None
        bound = _Bound(keys, column(spec.email, "email"), language, table)
        self._bound[index] = bound
        return bound

    def chunk(self, index: int, *, after: Cursor | None, limit: int) -> list[Holder]:
        """Up to ``limit`` rows of audience ``index`` with a key after ``after``, by key."""
        spec = self.specs[index]
        with self._engine(spec).connect() as conn:
            bound = self._bind(index, conn)
            width = len(bound.keys)
            columns = [*bound.keys, bound.email]
            if bound.language is not None:
                columns.append(bound.language)
            query = sa.select(*columns).where(bound.email.is_not(None))
            if after is not None:
                query = query.where(_after(bound.keys, after))
            rows = conn.execute(query.order_by(*bound.keys).limit(limit)).all()
        holders: list[Holder] = []
        for row in rows:
            keys = [_plain(value) for value in row[:width]]
            language = row[width + 1] if bound.language is not None else None
            holders.append(
                Holder(
                    key=keys[0] if width == 1 else keys,
                    email=str(row[width]),
                    language=language if isinstance(language, str) else None,
                )
            )
        return holders

    def close(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        self._bound.clear()

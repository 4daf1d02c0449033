"""The operator's connected stores: the stores file and a directory over them.

The stores file (setting ``stores_file``, default ``<data_dir>/stores.yaml``) lists
each store Tutela reaches for requests::

    - name: shop
      kind: sql
      config:
        url: postgresql+psycopg://tutela@db/shop
        dataset: shop.dataset.yaml      # relative paths: next to the stores file
    - name: crm
      kind: manual
      config: {system: the CRM}

``kind`` is a connector kind (``sql``, ``manual`` or a plug-in). The file must say
what is connected: when no store holds personal data, it says so with an empty
list, ``[]``. A missing file, or one with nothing but comments, is a configuration
error — answering every request "no data held" while the operator's databases hold
data would be the worst way to fail. :class:`StoreDirectory` answers the intake job
whether a store holds a person and which email address it holds for them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import yaml

from tutela.config import Settings
from tutela.connectors import Connector, IdentitySet, StoreError, create
from tutela.connectors.dataset import Dataset
from tutela.crypto import MasterKey
from tutela.dsr.notices import OnFile
from tutela.errors import ConfigurationError, InvalidInput

__all__ = ["EMAIL_CATEGORY", "NO_STORES", "StoreDirectory", "load_stores", "parse_stores"]

EMAIL_CATEGORY: Final = "user.contact.email"
_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_PATH_KEYS: Final = ("dataset", "overrides", "secret_file")
_ENTRY_KEYS: Final = frozenset({"name", "kind", "config"})
NO_STORES: Final = """\
# The stores Tutela reaches for privacy requests (see docs/requests.md).
# [] states that no database, service or team holds personal data for requests:
# every request is then answered from Tutela's own records only.
[]
"""
_SAY_WHAT: Final = (
    "list the stores that hold personal data (- name: shop, kind: sql, config: {…}), or write "
    '[] to state that none does; otherwise every request would be answered "no data held".'
)


def _problem(path: Path, where: str, message: str) -> ConfigurationError:
    return ConfigurationError(f"{path}: {where}: {message}", field="stores_file")


def _resolve_paths(config: dict[str, Any], folder: Path) -> None:
    for key in _PATH_KEYS:
        value = config.get(key)
        if isinstance(value, str) and value.strip() and not Path(value).is_absolute():
            config[key] = str((folder / value).resolve())


def _entry(raw: object, position: int, path: Path, master: MasterKey) -> Connector:
    where = f"entry {position}"
    if not isinstance(raw, Mapping):
        raise _problem(path, where, "each store is a mapping with name, kind and config.")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise _problem(
            path,
            f"{where}, field name",
            "give the store a name of 1-64 letters, digits, '_', '.' or '-' (for example shop).",
        )
    where = f"store {name!r}"
    unknown = sorted(str(key) for key in raw if key not in _ENTRY_KEYS)
    if unknown:
        raise _problem(
            path, where, f"unknown field(s) {', '.join(unknown)}; use name, kind and config."
        )
    kind = raw.get("kind")
    if not isinstance(kind, str) or not kind:
        raise _problem(path, f"{where}, field kind", "name the connector kind (sql, manual …).")
    given = raw.get("config") or {}
    if not isinstance(given, Mapping):
        raise _problem(path, f"{where}, field config", "the settings must be a mapping.")
    config: dict[str, Any] = dict(given)
    if "name" in config and config["name"] != name:
        raise _problem(
            path, f"{where}, field config.name", "leave it out; the entry's name is used."
        )
    config["name"] = name
    _resolve_paths(config, path.parent)
    if kind == "sql":
        config.setdefault("master_key", master)
    try:
        return create(kind, config)
    except (ConfigurationError, InvalidInput) as error:
        raise _problem(path, f"{where} (kind {kind})", error.detail) from error


def parse_stores(text: str, *, path: Path, master: MasterKey) -> tuple[Connector, ...]:
    """The connectors of a stores file's ``text`` (``path`` names it and anchors relative paths)."""
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark is not None else "the file"
        raise _problem(
            path, line, f"not valid YAML ({getattr(error, 'problem', error)})."
        ) from None
    if loaded is None:
        raise ConfigurationError(
            f"{path}: the stores file names no stores and does not say there are none: {_SAY_WHAT}",
            field="stores_file",
        )
    if not isinstance(loaded, list):
        raise _problem(path, "top level", "the file must be a list of stores (- name: …).")
    stores = tuple(_entry(raw, n, path, master) for n, raw in enumerate(loaded, start=1))
    seen: set[str] = set()
    for store in stores:
        if store.name in seen:
            raise _problem(path, f"store {store.name!r}", "the name is used twice; rename one.")
        seen.add(store.name)
    return stores


def load_stores(settings: Settings, *, master: MasterKey) -> tuple[Connector, ...]:
    """The connected stores from the stores file (``[]`` in it: none).

    A missing file is a :class:`ConfigurationError` naming the file and what to write.
    """
    path = settings.resolved_stores_file.expanduser()
    if not path.exists():
        raise ConfigurationError(
            f"{path}: the stores file does not exist. Create it and {_SAY_WHAT} "
            "(TUTELA_STORES_FILE names another file.)",
            field="stores_file",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        message = f"cannot be read ({error}); check its permissions."
        raise _problem(path, "the file", message) from None
    return parse_stores(text, path=path, master=master)


def _email_fields(dataset: Dataset, kind: str) -> list[tuple[str, str | None]]:
    """``(table, email column or None)`` of every table an identity of ``kind`` seeds."""
    tables: list[tuple[str, str | None]] = []
    prefix = EMAIL_CATEGORY + "."
    for table in dataset.tables.values():
        if not any(spec.identity == kind for spec in table.fields.values()):
            continue
        email = next(
            (
                spec.name
                for spec in table.fields.values()
                if any(c == EMAIL_CATEGORY or c.startswith(prefix) for c in spec.categories)
            ),
            None,
        )
        tables.append((table.name, email))
    return tables


class StoreDirectory:
    """Whether a connected store holds an identity, and the email address it holds.

    A store holds the person when its access finds any record. The address is the
    ``user.contact.email`` field of the table the identity itself lives in (the
    first such row). A store that is down raises, so the asking job retries.
    """

    def __init__(self, stores: Sequence[Connector]) -> None:
        self._stores = tuple(stores)

    def on_file(self, *, kind: str, value: str) -> OnFile:
        known = False
        for store in self._stores:
            answer = self._ask(store, kind, value)
            if answer.address is not None:
                return answer
            known = known or answer.known
        return OnFile(known=known, address=None)

    @staticmethod
    def _ask(store: Connector, kind: str, value: str) -> OnFile:
        dataset = getattr(store, "dataset", None)
        if isinstance(dataset, Dataset):
            if kind not in dataset.identity_kinds():
                return OnFile(known=False)
            own = dict(_email_fields(dataset, kind))
        else:
            own = {}
        identities = IdentitySet.of(**{kind: value})
        try:
            return _first_address(store, identities, own)
        except StoreError:  # the identity names more than one person there: no link, staff
            return OnFile(known=True)


def _first_address(store: Connector, identities: IdentitySet, own: dict[str, str | None]) -> OnFile:
    """Whether ``store`` holds the identity, and the address of its own table's row."""
    with store.access(identities) as result:
        for table, row in result:
            if table not in own:
                if not own:
                    return OnFile(known=True)
                continue
            column = own[table]
            address = row.get(column) if column is not None else None
            return OnFile(known=True, address=address if isinstance(address, str) else None)
    return OnFile(known=bool(sum(result.rows.values())))

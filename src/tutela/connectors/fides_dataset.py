"""Fides dataset YAML, accepted as it is and converted into Tutela's dataset format.

Mapping (``fides_meta`` of a field):

* ``identity: email`` → ``identity: email``; ``primary_key: true`` → the table's key;
* ``references: [{dataset, field: orders.id, direction}]`` → ``direction: from`` means
  the rows here are found from the referenced rows (``found_by``), ``to`` that the
  referenced rows are found from these (``leads_to``), none means both;
* ``data_categories`` → categories; the strategy comes from the category defaults,
  since Fides keeps strategies in policies, not datasets (see ``strategy.py``);
* a collection's ``masking_strategy_override: {strategy: delete}`` → ``erase: delete_row``.

References to another dataset (another store) are not followed; they and nested
fields (document stores) are listed in the dataset's warnings.
"""

from __future__ import annotations

from typing import Any

from tutela.connectors.dataset import DatasetError
from tutela.connectors.yaml_source import Located, NodePath

__all__ = ["convert_fides", "is_fides"]

_FIELD_STRATEGIES = {
    "null_rewrite": "null",
    "string_rewrite": "mask",
    "hash": "hash",
    "hmac": "hash",
    "random_string_rewrite": "pseudonym",
}


def is_fides(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("dataset"), list)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class _Converter:
    def __init__(self, document: Located) -> None:
        self.document = document
        self.places: dict[NodePath, str] = {}
        self.warnings: list[str] = []

    def place(self, target: NodePath, origin: NodePath) -> None:
        self.places[target] = self.document.where(origin)

    def pick(self, key: str | None) -> tuple[int, dict[str, Any]]:
        entries = [(i, _dict(d)) for i, d in enumerate(self.document.data["dataset"])]
        keys = [str(d.get("fides_key")) for _, d in entries]
        if key is not None:
            for index, entry in entries:
                if entry.get("fides_key") == key:
                    return index, entry
            raise DatasetError(
                f"{self.document.source} holds no Fides dataset {key!r} (it holds: "
                f"{', '.join(keys) or 'none'}); pass one of these keys.",
                problems=[],
            )
        if len(entries) != 1:
            raise DatasetError(
                f"{self.document.source} holds {len(entries)} Fides datasets ("
                f"{', '.join(keys) or 'none'}); pass the key of the one this store holds.",
                problems=[],
            )
        return entries[0]

    def convert(self, key: str | None) -> Located:
        index, entry = self.pick(key)
        origin: NodePath = ("dataset", index)
        own = str(entry.get("fides_key") or "")
        self.place((), origin)
        self.place(("name",), (*origin, "fides_key"))
        tables: dict[str, Any] = {}
        for c_index, raw in enumerate(_list(entry.get("collections"))):
            collection = _dict(raw)
            name = str(collection.get("name") or "")
            c_origin: NodePath = (*origin, "collections", c_index)
            self.place(("tables", name), c_origin)
            tables[name] = self.collection(name, collection, c_origin, own)
        self.place(("tables",), (*origin, "collections"))
        data: dict[str, Any] = {"name": own, "tables": tables}
        if entry.get("description"):
            data["description"] = str(entry["description"])
        return Located(data=data, source=self.document.source, places=self.places)

    def collection(
        self, name: str, collection: dict[str, Any], origin: NodePath, own: str
    ) -> dict[str, Any]:
        table: dict[str, Any] = {"fields": {}}
        meta = _dict(collection.get("fides_meta"))
        override = _dict(meta.get("masking_strategy_override")).get("strategy")
        if override == "delete":
            table["erase"] = "delete_row"
        keys: list[str] = []
        for f_index, raw in enumerate(_list(collection.get("fields"))):
            spec = _dict(raw)
            column = str(spec.get("name") or "")
            f_origin: NodePath = (*origin, "fields", f_index)
            target: NodePath = ("tables", name, "fields", column)
            self.place(target, f_origin)
            converted, primary = self.field(name, column, spec, f_origin, target, own)
            table["fields"][column] = converted
            if primary:
                keys.append(column)
        if keys:
            table["primary_key"] = keys
        return table

    def field(
        self,
        table: str,
        column: str,
        spec: dict[str, Any],
        origin: NodePath,
        target: NodePath,
        own: str,
    ) -> tuple[dict[str, Any], bool]:
        meta = _dict(spec.get("fides_meta"))
        out: dict[str, Any] = {}
        categories = [str(c) for c in _list(spec.get("data_categories"))]
        nested = _list(spec.get("fields"))
        if nested:
            categories.extend(self.nested(table, column, nested, origin))
        if categories:
            out["category"] = list(dict.fromkeys(categories))
            self.place((*target, "category"), (*origin, "data_categories"))
        if meta.get("identity"):
            out["identity"] = str(meta["identity"])
            self.place((*target, "identity"), (*origin, "fides_meta", "identity"))
        strategy = _dict(meta.get("masking_strategy_override")).get("strategy")
        if strategy in _FIELD_STRATEGIES:
            out["strategy"] = _FIELD_STRATEGIES[strategy]
        for r_index, raw in enumerate(_list(meta.get("references"))):
            ref_origin: NodePath = (*origin, "fides_meta", "references", r_index)
            self.reference(table, column, _dict(raw), ref_origin, target, own, out)
        return out, bool(meta.get("primary_key"))

    def reference(
        self,
        table: str,
        column: str,
        ref: dict[str, Any],
        origin: NodePath,
        target: NodePath,
        own: str,
        out: dict[str, Any],
    ) -> None:
        dataset = ref.get("dataset")
        field = str(ref.get("field") or "")
        where = self.document.where(origin)
        if dataset not in (None, own):
            self.warnings.append(
                f"{where}, table {table!r}, field {column!r}: the reference to {dataset}.{field} "
                "leads to another store and is not followed here"
            )
            return
        direction = ref.get("direction")
        if direction in (None, "from"):
            out.setdefault("found_by", []).append(field)
            self.place((*target, "found_by"), origin)
        if direction in (None, "to"):
            out.setdefault("leads_to", []).append(field)
            self.place((*target, "leads_to"), origin)
        if direction not in (None, "from", "to"):
            self.warnings.append(
                f"{where}, table {table!r}, field {column!r}: reference direction "
                f"{direction!r} is neither 'from' nor 'to' and is ignored"
            )

    def nested(self, table: str, column: str, nested: list[Any], origin: NodePath) -> list[str]:
        self.warnings.append(
            f"{self.document.where(origin)}, table {table!r}, field {column!r}: nested fields "
            "are for document stores; their categories apply to the whole column here"
        )
        found: list[str] = []
        for raw in nested:
            spec = _dict(raw)
            found.extend(str(c) for c in _list(spec.get("data_categories")))
            deeper = _list(spec.get("fields"))
            if deeper:
                found.extend(self.nested(table, column, deeper, origin))
        return found


def convert_fides(document: Located, *, key: str | None = None) -> Located:
    """The Fides dataset in ``document`` as a Tutela-format document (places kept)."""
    converter = _Converter(document)
    converted = converter.convert(key)
    converted.notes.extend(converter.warnings)
    return converted

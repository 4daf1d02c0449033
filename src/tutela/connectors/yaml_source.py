"""YAML documents that remember where each value came from, for error messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from tutela.connectors.dataset import DatasetError

__all__ = ["Located", "NodePath", "load_located", "merge"]

NodePath = tuple[str | int, ...]
_MAX_BYTES = 2_000_000
_MAX_NODES = 200_000


@dataclass(slots=True)
class Located:
    """Plain data (dicts, lists, scalars) plus ``path → "file line N"`` for its nodes."""

    data: Any
    source: str
    places: dict[NodePath, str] = field(default_factory=dict)
    nodes: int = 0
    notes: list[str] = field(default_factory=list)
    """Warnings found while reading (kept with the dataset)."""

    def where(self, path: NodePath) -> str:
        """``"shop.yaml line 12"`` for the deepest known node on ``path``."""
        for end in range(len(path), -1, -1):
            place = self.places.get(path[:end])
            if place is not None:
                return place
        return self.source


def load_located(text: str, *, source: str) -> Located:
    """Parse one YAML document safely, keeping line numbers (1-based)."""
    if len(text.encode("utf-8")) > _MAX_BYTES:
        raise DatasetError(
            f"{source} is larger than {_MAX_BYTES // 1_000_000} MB; a dataset file maps "
            "tables and fields and should be far smaller — check the file.",
            problems=[],
        )
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        located = Located(data=None, source=source)
        if node is not None:
            located.data = _convert(loader, node, (), located)
        return located
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source} line {mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise DatasetError(
            f"{where}: the file is not valid YAML ({problem}); fix the indentation or "
            "quoting there.",
            problems=[],
        ) from exc
    finally:
        loader.dispose()


def _convert(loader: yaml.SafeLoader, node: yaml.Node, path: NodePath, doc: Located) -> Any:
    doc.nodes += 1
    if doc.nodes > _MAX_NODES:
        raise DatasetError(
            f"{doc.source} expands to more than {_MAX_NODES} values (YAML aliases?); a "
            "dataset file should be far smaller — remove the repeated aliases.",
            problems=[],
        )
    doc.places.setdefault(path, f"{doc.source} line {node.start_mark.line + 1}")
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise DatasetError(
                    f"{doc.source} line {key_node.start_mark.line + 1}: a key must be plain "
                    "text; remove the nested structure used as a key.",
                    problems=[],
                )
            key = loader.construct_object(key_node)
            child = (*path, str(key))
            doc.places[child] = f"{doc.source} line {key_node.start_mark.line + 1}"
            result[key] = _convert(loader, value_node, child, doc)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(loader, item, (*path, index), doc) for index, item in enumerate(node.value)
        ]
    return loader.construct_object(node)


def merge(base: Located, patch: Located) -> Located:
    """``patch`` laid over ``base``: mappings merge key by key, anything else replaces."""
    places = dict(base.places)
    places.update({path: place for path, place in patch.places.items() if path})
    return Located(
        data=_merge(base.data, patch.data),
        source=base.source,
        places=places,
        notes=[*base.notes, *patch.notes],
    )


def _merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        result = dict(base)
        for key, value in patch.items():
            result[key] = _merge(base.get(key), value)
        return result
    return patch

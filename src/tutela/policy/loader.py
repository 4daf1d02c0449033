"""Reading a declaration from YAML, with every problem reported at its line and column.

Only safe YAML is read (no tags that build objects); duplicate keys are refused
because YAML would silently keep the last one. ``yes``/``no``/``on``/``off`` stay
text (YAML 1.2 style), so a country code such as ``NO`` is not read as false.
Validation errors are mapped back to the position of the offending value
(:mod:`tutela.policy.problems`), so every problem says where, what and what to do.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from pathlib import Path
from typing import Any, NoReturn

import yaml
from pydantic import ValidationError
from yaml.nodes import MappingNode, Node, SequenceNode

from tutela.policy.models import Declaration
from tutela.policy.problems import (
    DeclarationError,
    LoadProblem,
    describe,
    mark_of,
    problems_from_validation,
)

__all__ = ["DeclarationError", "LoadProblem", "load_declaration", "parse_declaration"]

MAX_BYTES = 5 * 1024 * 1024
MAX_NODES = 1_000_000
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_YAML_HINTS = (
    ("mapping values are not allowed", "put a value that contains `: ` in quotes"),
    ("cannot start any token", "indent with spaces, not tabs; quote values starting with @ or `"),
    ("end of stream", "close the quotes or brackets that are still open"),
    ("single document", "keep one document per file: remove the `---` line"),
    ("alias", "define the anchor (`&name`) before using it, and not inside itself"),
    ("aliases expand", "write the values out instead of nesting aliases"),
)


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loading that refuses duplicate keys and reads only true/false as booleans."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # the base class reports unhashable keys with their position
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key `{key}` (first written on line {seen[key]}): "
                    "remove one of the two",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line + 1
        result: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return result


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))


def load_declaration(path: Path) -> Declaration:
    """Read and validate the declaration in ``path``."""
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            _too_large(source, size)
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        _fail(source, f"cannot read the file ({reason}): check the path and the permissions")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        head = raw[: exc.start].decode("utf-8", "replace")
        message = f"the file is not UTF-8 text (byte {exc.start}): save it as UTF-8"
        _fail(source, message, *_position(head, len(head)))
    return parse_declaration(text, source=source)


def parse_declaration(text: str, *, source: str = "<text>") -> Declaration:
    """Parse and validate a declaration given as YAML text."""
    size = len(text) if len(text) > MAX_BYTES else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        _too_large(source, size)
    node, data = _read_yaml(text, source)
    if node is None:
        message = "the declaration is empty: start with `controller:` and the other sections"
        _fail(source, message, 1, 1)
    if not isinstance(node, MappingNode) or not isinstance(data, dict):
        message = "the declaration must be a mapping of sections such as `controller:` and"
        _fail(source, f"{message} `purposes:`, not {describe(data)}", *_mark(node))
    try:
        return Declaration.model_validate(data)
    except ValidationError as exc:
        raise DeclarationError(problems_from_validation(exc, node, source)) from None


def _fail(source: str, message: str, line: int | None = None, col: int | None = None) -> NoReturn:
    """Raise a :class:`DeclarationError` with one problem."""
    raise DeclarationError([LoadProblem(source, line, col, "", message)])


def _too_large(source: str, size: int) -> NoReturn:
    message = f"the declaration is too large ({size} bytes, at most {MAX_BYTES}): it describes"
    _fail(source, message + " processing, it does not hold data")


def _read_yaml(text: str, source: str) -> tuple[Node | None, Any]:
    bad = next((i for i, ch in enumerate(text) if "\ud800" <= ch <= "\udfff"), None)
    if bad is not None:
        message = "the text contains an invalid character (a lone surrogate): save it as UTF-8"
        _fail(source, message, *_position(text[:bad], bad))
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_size(node)
        return node, loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        _fail(source, _yaml_message(exc), *(mark_of(mark) if mark else (None, None)))
    except yaml.reader.ReaderError as exc:
        char = exc.character
        code = f"U+{char:04X}" if isinstance(char, int) else f"U+{ord(str(char)[:1] or '?'):04X}"
        message = f"the character {code} is not allowed in YAML: remove it"
        _fail(source, message, *_position(text[: exc.position], exc.position))
    except yaml.YAMLError as exc:
        _fail(source, f"invalid YAML: {exc}")
    except RecursionError:
        _fail(source, "the document is nested too deeply to read")
    finally:
        loader.dispose()


def _yaml_message(exc: yaml.MarkedYAMLError) -> str:
    parts = [p for p in (exc.context, exc.problem) if p]
    text = "; ".join(parts) or "the YAML cannot be read"
    if "could not determine a constructor" in text:
        return f"{text}: tags that create objects are not allowed; remove the `!` tag"
    if exc.context is None and exc.problem and exc.problem.startswith("duplicate key"):
        return exc.problem
    hint = next((h for clue, h in _YAML_HINTS if clue in text), "check the indentation")
    return f"invalid YAML: {text}: {hint}"


def _check_size(root: Node) -> None:
    """Refuse alias bombs: count the nodes as the aliases would expand them."""
    memo: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Node) -> int:
        ident = id(node)
        if ident in memo:
            return memo[ident]
        if ident in active:
            raise yaml.constructor.ConstructorError(
                None, None, "an alias refers to the node that contains it", node.start_mark
            )
        active.add(ident)
        total = 1
        if isinstance(node, SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, MappingNode):
            total += sum(size(key) + size(value) for key, value in node.value)
        active.discard(ident)
        if total > MAX_NODES:
            raise yaml.constructor.ConstructorError(
                None, None, f"the aliases expand to more than {MAX_NODES} values", node.start_mark
            )
        memo[ident] = total
        return total

    size(root)


def _position(before: str, offset: int) -> tuple[int, int]:
    line = before.count("\n") + 1
    return line, offset - (before.rfind("\n") + 1) + 1


def _mark(node: Node) -> tuple[int, int]:
    return mark_of(node.start_mark)

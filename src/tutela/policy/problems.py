"""Problems found while reading a declaration, and how validation errors become plain sentences.

A validation error from the models names a location such as ``("purposes", 2,
"legal_basis")``; here it is mapped back to the YAML node at that location (or,
for a missing field, the mapping that lacks it) and worded so that it says what
is wrong and what to write instead.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import types
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tutela.errors import InvalidInput
from tutela.policy import models
from tutela.policy.models import Declaration

Loc = tuple[str | int, ...]

_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DUPLICATE = re.compile(r"^duplicate entry '(?P<ident>.*)'$")
_PATTERN_HINTS = {
    models.KEY_PATTERN: (
        "is not a valid key: use lowercase letters, digits and underscores in parts "
        "joined by dots, e.g. `user.contact.email`"
    ),
    models.ID_PATTERN: (
        "is not a valid id: start with a lowercase letter, then use lowercase letters, "
        "digits, `_` or `-`, e.g. `newsletter`"
    ),
    models.COUNTRY_PATTERN: (
        "is not a country code: use two capital letters (ISO 3166-1), e.g. `DE`"
    ),
}


@dataclass(frozen=True, slots=True)
class LoadProblem:
    """One thing wrong with a declaration, with its place in the file (1-based)."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class DeclarationError(InvalidInput):
    """The declaration cannot be read; ``problems`` lists every reason found."""

    code = "invalid-declaration"
    title = "The declaration cannot be read"

    def __init__(self, problems: Sequence[LoadProblem]) -> None:
        self.problems = list(problems)
        super().__init__(
            "\n".join(str(p) for p in self.problems),
            problems=[asdict(p) for p in self.problems],
        )


# --- validation errors ------------------------------------------------------------------------


def mark_of(mark: Any) -> tuple[int, int]:
    """The 1-based line and column of a YAML mark."""
    return mark.line + 1, mark.column + 1


def problems_from_validation(exc: ValidationError, root: Node, source: str) -> list[LoadProblem]:
    """One problem per location named by the validation error, in file order."""
    errors = exc.errors(include_url=False)
    cleaned = [(loc, len(loc) != len(e["loc"])) for e in errors for loc in [_clean(e["loc"], root)]]
    union_paths = {loc for loc, from_union in cleaned if from_union}
    grouped: dict[Loc, list[ErrorDetails]] = {}
    for error, (loc, from_union) in zip(errors, cleaned, strict=True):
        deeper = any(len(other) > len(loc) and other[: len(loc)] == loc for other in union_paths)
        if from_union and deeper:
            continue  # another member of the same union got further: its error says more
        grouped.setdefault(loc, []).append(error)
    problems = [_problem(loc, group, root, source) for loc, group in grouped.items()]
    return sorted(problems, key=lambda p: (p.line or 0, p.column or 0))


def _clean(loc: Sequence[str | int], root: Node) -> Loc:
    """Drop the union-member tags pydantic inserts (``function-before[...]``, ``list[...]``).

    A part that names a key or an index present in the document is data; a part
    that is not present but could be a field name is a missing field; anything
    else is a tag.
    """
    node: Node | None = root
    out: list[str | int] = []
    for part in loc:
        child = _child(node, part, key=False) if node is not None else None
        if child is not None or isinstance(part, int) or _FIELD_NAME.match(part):
            out.append(part)
            node = child
    return tuple(out)


def _problem(loc: Loc, group: list[ErrorDetails], root: Node, source: str) -> LoadProblem:
    first = group[0]
    kind = first["type"]
    if kind == "value_error" and (match := _DUPLICATE.match(str(first["ctx"]["error"]))):
        loc = _duplicate_loc(loc, match["ident"], root)
        message = f"`{match['ident']}` is used twice: give every entry its own id"
    else:
        message = _union_message(loc, group) if len(group) > 1 else _message(loc, first)
    node, _ = _locate(root, loc, key=kind in {"extra_forbidden", "invalid_key"})
    line, column = mark_of(node.start_mark)
    path = _format_path(loc[:-1] if kind == "invalid_key" else loc)
    return LoadProblem(source, line, column, path, message)


def _union_message(loc: Loc, group: list[ErrorDetails]) -> str:
    """One sentence for a value that fits none of the alternatives of a union."""
    words = [_message(loc, e) for e in group if e["type"] != "literal_error"]
    if len(words) < len(group):
        words.append(" or ".join(f"write `{c}`" for c in _choices(_annotation_at(loc))))
    return "; or ".join(words)


def _format_path(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _locate(root: Node, loc: Loc, *, key: bool) -> tuple[Node, bool]:
    """The node at ``loc``; when it does not exist, the closest enclosing node."""
    node = root
    for index, part in enumerate(loc):
        child = _child(node, part, key=key and index == len(loc) - 1)
        if child is None:
            return node, False
        node = child
    return node, True


def _child(node: Node, part: str | int, *, key: bool) -> Node | None:
    """The entry ``part`` of a sequence or mapping node (the key node itself if ``key``)."""
    if isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        child: Node = node.value[part]
        return child
    if isinstance(node, MappingNode):
        for key_node, value_node in reversed(node.value):  # merged keys come first
            if isinstance(key_node, ScalarNode) and key_node.value == str(part):
                found: Node = key_node if key else value_node
                return found
    return None


def _duplicate_loc(loc: Loc, ident: str, root: Node) -> Loc:
    node, found = _locate(root, loc, key=False)
    if not found or not isinstance(node, SequenceNode):
        return loc
    hits = 0
    for index, item in enumerate(node.value):
        if not isinstance(item, MappingNode):
            continue
        for key_node, value_node in item.value:
            if key_node.value in {"id", "key"} and getattr(value_node, "value", None) == ident:
                hits += 1
                if hits == 2:
                    return (*loc, index, str(key_node.value))
    return loc


def _message(loc: Loc, error: ErrorDetails) -> str:
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    value = error.get("input")
    name = str(loc[-1]) if loc else ""
    if kind == "missing":
        return f"field required: add `{name}`{_hint(_annotation_at(loc))}"
    if kind == "extra_forbidden":
        return _unknown_field(loc, name)
    if kind in {"enum", "literal_error"}:
        return _bad_choice(loc, value, ctx)
    if kind == "string_pattern_mismatch":
        hint = _PATTERN_HINTS.get(ctx.get("pattern", ""), "does not have the expected form")
        return f"`{value}` {hint}"
    simple = {
        "string_type": "expected text",
        "model_type": "expected a mapping of fields (`name: value` lines)",
        "model_attributes_type": "expected a mapping of fields (`name: value` lines)",
        "dict_type": "expected a mapping of fields (`name: value` lines)",
        "list_type": "expected a list (one `- ` line per entry)",
        "bool_type": "expected true or false",
        "bool_parsing": "expected true or false",
        "int_type": "expected a whole number",
        "int_parsing": "expected a whole number",
        "int_from_float": "expected a whole number",
        "date_type": "expected a date such as 2026-01-31",
        "date_parsing": "expected a date such as 2026-01-31",
        "date_from_datetime_parsing": "expected a date such as 2026-01-31",
        "date_from_datetime_inexact": "expected a date without a time, such as 2026-01-31",
    }
    if kind in simple:
        return f"{simple[kind]}, but found {describe(value)}"
    if kind == "string_too_short":
        return "must not be empty: write a text or remove the field"
    if kind == "string_too_long":
        return f"is too long: at most {ctx.get('max_length')} characters"
    if kind == "too_short":
        count = int(ctx.get("min_length", 1))
        return f"needs at least {count} {'entry' if count == 1 else 'entries'}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}, but is {value}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}, but is {value}"
    if kind == "invalid_key":
        return f"`{value}` is not a field name: field names are words such as `purposes`"
    if kind == "recursion_loop":
        return "an alias refers to the node that contains it"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    msg = error["msg"]
    return msg[:1].lower() + msg[1:]


def describe(value: Any) -> str:
    """How a YAML value reads to a person: "the number `5`", "a list"."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the yes/no value `{str(value).lower()}`"
    if isinstance(value, int | float):
        return f"the number `{value}` (put it in quotes if it is meant as text)"
    if isinstance(value, dt.date):
        return f"the date `{value.isoformat()}` (put it in quotes if it is meant as text)"
    if isinstance(value, str):
        return f"the text `{value[:60]}`"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _unknown_field(loc: Loc, name: str) -> str:
    model = _model(_annotation_at(loc[:-1]))
    fields = list(model.model_fields) if model else []
    best = difflib.get_close_matches(name, fields, n=1, cutoff=0.6)
    if best:
        return f"unknown field `{name}`; did you mean `{best[0]}`?"
    if fields:
        return f"unknown field `{name}`; the fields here are: {', '.join(fields)}"
    return f"unknown field `{name}`"


def _bad_choice(loc: Loc, value: Any, ctx: dict[str, Any]) -> str:
    choices = _choices(_annotation_at(loc))
    listed = ", ".join(choices) if choices else str(ctx.get("expected", ""))
    message = f"`{value}` is not allowed here: use one of {listed}"
    best = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.6)
    return f"{message}; did you mean `{best[0]}`?" if best else message


def _hint(annotation: Any) -> str:
    choices = _choices(annotation)
    if choices:
        shown = ", ".join(choices[:6]) + (", …" if len(choices) > 6 else "")
        return f" (one of {shown})"
    model = _model(annotation)
    if model is models.Text:
        return " with a German `de:` and an English `en:` text"
    if model is not None:
        required = [n for n, f in model.model_fields.items() if f.is_required()]
        if required:
            return f" (a mapping with {', '.join(f'`{n}`' for n in required)})"
        return f" (a mapping with any of {', '.join(f'`{n}`' for n in model.model_fields)})"
    if _candidates(annotation) and any(get_origin(c) is list for c in _candidates(annotation)):
        return " (a list)"
    return ""


# --- walking the model types along an error location -----------------------------------------


def _candidates(annotation: Any) -> list[Any]:
    """The alternatives of a type, with ``Annotated`` and ``Optional`` unwrapped."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _candidates(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [c for arg in get_args(annotation) for c in _candidates(arg)]
    return [annotation]


def _annotation_at(loc: Loc) -> Any:
    current: Any = Declaration
    for part in loc:
        current = _step(current, part)
        if current is None:
            return None
    return current


def _step(annotation: Any, part: str | int) -> Any:
    for candidate in _candidates(annotation):
        if isinstance(part, int) and get_origin(candidate) is list:
            return get_args(candidate)[0]
        model = _model(candidate)
        if isinstance(part, str) and model is not None and part in model.model_fields:
            return model.model_fields[part].annotation
    return None


def _model(annotation: Any) -> type[BaseModel] | None:
    for candidate in _candidates(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _choices(annotation: Any) -> list[str]:
    out: list[str] = []
    for candidate in _candidates(annotation):
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            out.extend(str(member.value) for member in candidate)
        elif get_origin(candidate) is Literal:
            out.extend(str(arg) for arg in get_args(candidate))
    return out

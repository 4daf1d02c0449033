"""The JSON Schema of a declaration: dialect, identity, structure, and the example fits it."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import pytest
import yaml

from tutela.policy.models import ChannelKind, CookieCategory, LegalBasis, Safeguard
from tutela.policy.schema import SCHEMA_DIALECT, declaration_schema


def example_as_json() -> Any:
    """The example declaration as plain JSON values (dates become strings)."""
    text = resources.files("tutela.policy").joinpath("examples/example.yaml").read_text("utf-8")
    return json.loads(json.dumps(yaml.safe_load(text), default=str))


def check(schema: dict[str, Any], value: Any, root: dict[str, Any], path: str = "$") -> list[str]:
    """A small validator for the keywords the generated schema uses."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return check(root["$defs"][name], value, root, path)
    if "anyOf" in schema:
        failures = [check(option, value, root, path) for option in schema["anyOf"]]
        return [] if any(not f for f in failures) else [f"{path}: no alternative fits"]
    errors: list[str] = []
    kind = schema.get("type")
    types = {
        "object": dict,
        "array": list,
        "string": str,
        "integer": int,
        "boolean": bool,
        "null": type(None),
    }
    if kind is not None and not isinstance(value, types[kind]):
        return [f"{path}: expected {kind}"]
    if kind == "integer" and isinstance(value, bool):
        return [f"{path}: expected integer"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in enum")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: {value!r} is not {schema['const']!r}")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, str) and len(value) < schema.get("minLength", 0):
        errors.append(f"{path}: too short")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        errors += [f"{path}.{k}: required" for k in schema.get("required", []) if k not in value]
        for key, item in value.items():
            if key in properties:
                errors += check(properties[key], item, root, f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}.{key}: not allowed")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{path}: too few items")
        for index, item in enumerate(value):
            errors += check(schema.get("items", {}), item, root, f"{path}[{index}]")
    return errors


def test_header_and_key_order() -> None:
    schema = declaration_schema()
    assert list(schema)[:4] == ["$schema", "$id", "title", "description"]
    assert schema["$schema"] == SCHEMA_DIALECT == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("https://")
    assert schema["title"] == "Tutela declaration"
    assert list(schema["$defs"]) == sorted(schema["$defs"])


def test_output_is_stable() -> None:
    first = json.dumps(declaration_schema())
    assert json.dumps(declaration_schema()) == first


def test_required_top_level_sections() -> None:
    schema = declaration_schema()
    assert set(schema["required"]) == {
        "controller",
        "supervisory_authority",
        "data_categories",
        "purposes",
        "rights_channels",
        "change_notice",
    }
    assert schema["additionalProperties"] is False
    assert schema["properties"]["purposes"]["minItems"] == 1


@pytest.mark.parametrize(
    ("definition", "enum"),
    [
        ("LegalBasis", LegalBasis),
        ("Safeguard", Safeguard),
        ("CookieCategory", CookieCategory),
        ("ChannelKind", ChannelKind),
    ],
)
def test_enums_match_the_models(definition: str, enum: type[Any]) -> None:
    schema = declaration_schema()
    assert schema["$defs"][definition]["enum"] == [member.value for member in enum]


def test_purpose_requires_its_core_fields() -> None:
    purpose = declaration_schema()["$defs"]["Purpose"]
    assert {"id", "data_use", "name", "description", "legal_basis", "categories"} <= set(
        purpose["required"]
    )
    assert purpose["additionalProperties"] is False


def test_duration_pattern() -> None:
    retention = declaration_schema()["$defs"]["Retention"]
    option = next(o for o in retention["properties"]["period"]["anyOf"] if "pattern" in o)
    pattern = re.compile(option["pattern"])
    for good in ("P8Y", "P6M", "P30D", "PT30M", "P1Y6M"):
        assert pattern.match(good), good
    for bad in ("P", "8Y", "P8X", "30 days"):
        assert not pattern.match(bad), bad


def test_example_fits_the_schema() -> None:
    schema = declaration_schema()
    assert check(schema, example_as_json(), schema) == []


def test_validator_notices_a_broken_example() -> None:
    schema = declaration_schema()
    broken = example_as_json()
    broken["purposes"][0]["legal_basis"] = "because"
    del broken["change_notice"]
    broken["cookies"][0]["lifetime"] = "forever"
    errors = check(schema, broken, schema)
    assert "$.change_notice: required" in errors
    assert "$.purposes[0].legal_basis: 'because' not in enum" in errors
    assert "$.cookies[0].lifetime: no alternative fits" in errors


def test_example_fits_the_schema_with_jsonschema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator(declaration_schema()).validate(example_as_json())

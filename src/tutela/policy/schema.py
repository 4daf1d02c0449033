"""The JSON Schema of a declaration, for editors and other tools.

Generated from :class:`tutela.policy.models.Declaration`, so it never drifts from
what the loader accepts. The schema checks structure only; the legal rules that
need the whole declaration are the lint's (:mod:`tutela.policy.lint`).
"""

from __future__ import annotations

from typing import Any

from tutela.policy.models import Declaration

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://tutela.dev/schemas/declaration-v1.json"
SCHEMA_TITLE = "Tutela declaration"
SCHEMA_DESCRIPTION = (
    "What a controller processes, why, on which legal basis, for how long and with whom; "
    "the source of the privacy statement, consent, requests and retention."
)


def declaration_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a declaration, with a stable key order."""
    generated = Declaration.model_json_schema()
    definitions = generated.pop("$defs", {})
    generated.pop("title", None)
    generated.pop("description", None)
    schema: dict[str, Any] = {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": SCHEMA_TITLE,
        "description": SCHEMA_DESCRIPTION,
    }
    schema["type"] = generated.pop("type", "object")
    schema.update(generated)
    schema["$defs"] = {name: definitions[name] for name in sorted(definitions)}
    return schema

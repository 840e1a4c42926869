"""Field tables from a pydantic model's JSON Schema: the schema is what validates a file, so
the table can never list a field the model does not have."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from . import markdown as md

CONSTRAINTS = (
    ("minimum", ">= {}"),
    ("exclusiveMinimum", "> {}"),
    ("maximum", "<= {}"),
    ("exclusiveMaximum", "< {}"),
    ("minLength", "at least {} character(s)"),
    ("maxLength", "at most {} character(s)"),
    ("minItems", "at least {} item(s)"),
)


def type_of(prop: dict[str, Any]) -> str:
    """A short type name: `integer`, `string or null`, `list of Artifact`, `object`..."""
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in prop:
        return " or ".join(type_of(p) for p in prop["anyOf"])
    if "enum" in prop:
        return "one of " + ", ".join(md.code(v) for v in prop["enum"])
    kind = prop.get("type", "any")
    if kind == "array":
        return "list of " + type_of(prop.get("items", {}))
    if kind == "string" and "format" in prop:
        return f"string ({prop['format']})"
    if kind == "object" and isinstance(prop.get("additionalProperties"), dict):
        return "object of " + type_of(prop["additionalProperties"])
    return str(kind)


def constraints_of(prop: dict[str, Any]) -> str:
    found = [text.format(prop[key]) for key, text in CONSTRAINTS if key in prop]
    for option in prop.get("anyOf", []):
        found += [text.format(option[key]) for key, text in CONSTRAINTS if key in option]
    return ", ".join(found)


def field_rows(
    schema: dict[str, Any],
    notes: dict[str, str],
    prefix: str,
    required_keys: Collection[str] = (),
) -> list[tuple[str, str, str, str, str, str]]:
    """(field, type, required, default, constraints, meaning) for each property, in order.

    The meaning is the model's own field description when it has one, else `notes`;
    `required_keys` adds keys a loader requires beyond the model's own list."""
    required = set(schema.get("required", [])) | set(required_keys)
    rows = []
    for name, prop in schema.get("properties", {}).items():
        default = md.code(_json(prop["default"])) if "default" in prop else ""
        rows.append(
            (
                md.code(name),
                type_of(prop),
                "yes" if name in required else "no",
                default,
                constraints_of(prop),
                prop.get("description") or notes.get(f"{prefix}.{name}", ""),
            )
        )
    return rows


def model_section(
    title: str,
    schema: dict[str, Any],
    notes: dict[str, str],
    prefix: str,
    level: int = 3,
    required_keys: Collection[str] = (),
) -> str:
    headers = ["field", "type", "required", "default", "constraints", "meaning"]
    extra = schema.get("additionalProperties") is False
    closing = "\n\nNo other keys are allowed." if extra else ""
    described = schema.get("description", "").strip()
    intro = f"{described}\n\n" if described else ""
    rows = field_rows(schema, notes, prefix, required_keys)
    return f"{'#' * level} {title}\n\n{intro}{md.table(headers, rows)}{closing}"


def _json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)

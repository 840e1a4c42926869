"""Reading and writing `assets/.prometeu/index.json`: strict parse, canonical atomic write."""

from __future__ import annotations

import json
import math
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..canonical_json import pretty
from ..models.diagnostic import Diagnostic, error
from ..models.diagnostic_codes import registry_duplicate_uuid, registry_unreadable
from ..models.registry import REGISTRY_SCHEMA_VERSION, Registry
from .atomic import write_atomic

REGISTRY_LABEL = "assets/.prometeu/index.json"
# Every key of the file is required: `Registry()` defaults exist for `init` only.
REQUIRED_KEYS = ("assets", "next_asset_id", "schema_version")


def registry_bytes(registry: Registry) -> bytes:
    """The canonical spelling: sorted keys, entries by asset_id, 2-space indent.

    Exactly `pretty(registry.model_dump())` with the entries sorted, spelled out by hand: the
    standard library's indenting encoder is pure Python (~50 us per entry, most of loading a
    large registry), while each string here goes through its C encoder."""
    if type(registry.next_asset_id) is not int or type(registry.schema_version) is not int:
        data = registry.model_dump(mode="json", by_alias=True, exclude_none=True)  # unparsed
        data["assets"].sort(key=lambda e: e["asset_id"])
        return pretty(data)
    text = _str_json
    entries = [
        f'    {{\n      "asset_id": {int(e.asset_id)},\n'
        f'      "asset_uuid": {text(e.asset_uuid)},\n'
        f'      "included_in_build": {"true" if e.included_in_build else "false"},\n'
        f'      "root": {text(e.root)}\n    }}'
        for e in sorted(registry.assets, key=lambda e: e.asset_id)
    ]
    assets = "[\n" + ",\n".join(entries) + "\n  ]" if entries else "[]"
    schema = "" if registry.json_schema is None else f'  "$schema": {text(registry.json_schema)},\n'
    return (
        f'{{\n{schema}  "assets": {assets},\n  "next_asset_id": {registry.next_asset_id},\n'
        f'  "schema_version": {registry.schema_version}\n}}\n'
    ).encode()


def _str_json(value: str) -> str:
    """`json.dumps(value, ensure_ascii=False)` without its per-call set-up."""
    return _encode_str(value)


_encode_str: Callable[[str], str] = json.encoder.encode_basestring


def save_registry(path: Path, registry: Registry) -> None:
    write_atomic(path, registry_bytes(registry))


def describe_validation(exc: ValidationError) -> str:
    """A short, human list of pydantic errors: `field.path: message`."""
    parts = []
    for err in exc.errors()[:8]:
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        parts.append(f"{loc}: {err['msg']}")
    more = len(exc.errors()) - 8
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value (RFC 8259 has no NaN or Infinity)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is too large to represent")
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
MAX_NESTING = 64  # far beyond any packer file; deeper input would only exhaust recursion


def nesting_depth(value: Any) -> int:
    """How deep arrays/objects nest (iterative, so hostile input cannot exhaust the stack)."""
    if not isinstance(value, dict | list):
        return 0
    deepest, stack = 1, [(value, 1)]
    while stack:  # only containers are stacked: scalars, most of a file, cost one check
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return deepest


def parse_json_bytes(data: bytes, label: str, code_prefix: str) -> tuple[Any, Diagnostic | None]:
    """Decode UTF-8 JSON, turning every defect into one diagnostic with line and column."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, error(
            f"{code_prefix}.invalid_json",
            f"{label} is not UTF-8 text (byte {exc.start})",
            "save the file as UTF-8 JSON",
        )
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
        if _SURROGATE_ESCAPE.search(text):  # only a \uD800-\uDFFF escape makes one
            json.dumps(value, ensure_ascii=False).encode("utf-8")  # can it be written back?
        # Depth is bounded by the number of brackets: walk only when that bound is high.
        if text.count("[") + text.count("{") > MAX_NESTING and nesting_depth(value) > MAX_NESTING:
            raise RecursionError
    except json.JSONDecodeError as exc:
        return None, error(
            f"{code_prefix}.invalid_json",
            f"{label} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            "fix the JSON syntax at that position",
        )
    except RecursionError:
        return None, error(
            f"{code_prefix}.invalid_json",
            f"{label} nests arrays or objects too deeply to be read",
            "flatten the file; a packer file never needs that much nesting",
        )
    except UnicodeEncodeError:  # "\\udfff": a lone surrogate escape is not text
        return None, error(
            f"{code_prefix}.invalid_json",
            f"{label} holds a \\u escape of a lone UTF-16 surrogate, which is not a character",
            "remove the \\uD800-\\uDFFF escape",
        )
    except ValueError as exc:  # e.g. an integer literal longer than Python's digit limit
        return None, error(
            f"{code_prefix}.invalid_json",
            f"{label} holds a value that cannot be read: {exc}",
            "fix the value; packer files hold only small integers and text",
        )
    return value, None


def load_registry(path: Path) -> tuple[Registry | None, list[Diagnostic]]:
    """Parse the registry; structural defects come back as blocking diagnostics."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO would block every command
            return None, [registry_unreadable(REGISTRY_LABEL, "it is not a regular file")]
        data = path.read_bytes()
    except FileNotFoundError:
        return None, [
            error(
                "registry.missing",
                f"{REGISTRY_LABEL} does not exist",
                "run `prometeu-packer init` in the project folder",
            )
        ]
    except OSError as exc:
        return None, [registry_unreadable(REGISTRY_LABEL, str(exc.strerror))]
    raw, problem = parse_json_bytes(data, REGISTRY_LABEL, "registry")
    if problem is not None:
        return None, [problem]
    if not isinstance(raw, dict):
        return None, [
            error(
                "registry.schema",
                f"{REGISTRY_LABEL} is not a JSON object (found {type(raw).__name__})",
                "restore the registry from version control; it is an object with "
                "assets, next_asset_id and schema_version",
            )
        ]
    if "schema_version" in raw and raw["schema_version"] != REGISTRY_SCHEMA_VERSION:
        return None, [
            error(
                "registry.schema_version_unsupported",
                f"{REGISTRY_LABEL} has schema_version "
                f"{raw['schema_version']!r}; this packer reads version "
                f"{REGISTRY_SCHEMA_VERSION}",
                "use a packer that knows this version; nothing was migrated",
            )
        ]
    missing = [key for key in REQUIRED_KEYS if key not in raw]
    if missing:  # defaults serve `init`, never a file: a lost allocator would reuse ids
        return None, [
            error(
                "registry.schema",
                f"{REGISTRY_LABEL} lacks the required key(s) {', '.join(missing)}",
                "restore the registry from version control; nothing was written over it",
            )
        ]
    try:
        registry = Registry.model_validate(raw, strict=True)
    except ValidationError as exc:
        return None, [
            error(
                "registry.schema",
                f"{REGISTRY_LABEL} does not match the registry schema: {describe_validation(exc)}",
                "fix the listed fields (see `prometeu-packer schema registry`)",
            )
        ]
    diagnostics = registry_problems(registry)
    if data != registry_bytes(registry):
        diagnostics.append(_not_canonical())
    return registry, diagnostics


def _not_canonical() -> Diagnostic:
    from ..models.diagnostic import warning

    return warning(
        "registry.not_canonical",
        f"{REGISTRY_LABEL} is not in canonical form (sorted keys, 2-space indent, "
        "entries by asset_id, trailing newline)",
        "run `prometeu-packer doctor --fix --yes` to rewrite it canonically",
        fix="canonicalize_registry",
    )


def registry_problems(registry: Registry) -> list[Diagnostic]:
    """Cross-entry rules the schema alone cannot state."""
    out: list[Diagnostic] = []
    seen_ids: set[int] = set()
    seen_roots: dict[str, int] = {}
    seen_uuids: dict[str, int] = {}
    for e in registry.assets:
        if e.asset_id in seen_ids:
            out.append(
                error(
                    "registry.duplicate_id",
                    f"asset_id {e.asset_id} appears twice in {REGISTRY_LABEL}",
                    "give each entry its own id",
                )
            )
        seen_ids.add(e.asset_id)
        # An invalid root is reported on the asset itself by the snapshot.
        if e.root in seen_roots:
            out.append(
                error(
                    "registry.duplicate_root",
                    f"root {e.root!r} is registered twice (asset_id "
                    f"{seen_roots[e.root]} and {e.asset_id})",
                    "remove one of the entries with `prometeu-packer remove`",
                ).located(e.asset_id, e.root)
            )
        seen_roots.setdefault(e.root, e.asset_id)
        if e.asset_uuid in seen_uuids:
            out.append(
                registry_duplicate_uuid(
                    e.asset_uuid, f"asset {seen_uuids[e.asset_uuid]}", f"asset {e.asset_id}"
                ).located(e.asset_id, e.root)
            )
        seen_uuids.setdefault(e.asset_uuid, e.asset_id)
        if e.asset_id >= registry.next_asset_id:
            out.append(
                error(
                    "registry.allocator_behind",
                    f"next_asset_id {registry.next_asset_id} is not above asset_id "
                    f"{e.asset_id}; a new registration could reuse an id",
                    "set next_asset_id above every id ever issued",
                    fix="advance_allocator",
                ).located(e.asset_id, e.root)
            )
    return out

"""The asset.json and registry page, plus their JSON Schema files, from the pydantic models
that validate them and the family objects that give each field its meaning."""

from __future__ import annotations

import ast
import inspect
from typing import Any

from ..families import FAMILIES, Family, ScaffoldRequest
from ..families.glyph_bank import CAPACITY as GLYPH_CAPACITY
from ..models.declaration import (
    ASSET_SCHEMA_VERSION,
    ArtifactDecl,
    AssetDeclaration,
    PreloadDecl,
)
from ..models.json_schemas import asset_schema, registry_schema
from ..models.registry import Registry
from ..workspace.registry_store import REQUIRED_KEYS
from . import markdown as md
from .schema_text import model_section

EXAMPLE_UUID = "00000000-0000-4000-8000-000000000000"

# What each field means, in words; the field list itself always comes from the schema.
NOTES = {
    "AssetDeclaration.$schema": "optional: the JSON Schema an editor applies; kept, not read",
    "Registry.$schema": "optional: the JSON Schema an editor applies; kept, not read",
    "AssetDeclaration.schema_version": f"`{ASSET_SCHEMA_VERSION}`; any other value is refused",
    "AssetDeclaration.asset_uuid": "lower-case UUID4; the asset's identity, kept across moves",
    "AssetDeclaration.name": "a label for people; not identity, not unique",
    "AssetDeclaration.type": "the family: one of the family sections below",
    "AssetDeclaration.inputs": "role → paths relative to the asset root (one file is a list)",
    "AssetDeclaration.artifacts": "the build selection; order comes from `index` only",
    "AssetDeclaration.output": "what the runtime receives",
    "AssetDeclaration.preload": "whether the runtime loads this asset at boot",
    "ArtifactDecl.index": "position in the bank (tile id, sample id): exactly 0..n-1",
    "ArtifactDecl.file": "one of the declared inputs",
    "ArtifactDecl.loop_start": "sound_bank: first frame of the loop (with `loop_end`)",
    "ArtifactDecl.loop_end": "sound_bank: frame after the loop (`loop_start < loop_end <= frames`)",
    "OutputDecl.format": "the family's runtime format, e.g. `GLYPH/indexed_v1`",
    "OutputDecl.codec": "`NONE` (the only codec of v1)",
    "OutputDecl.metadata": "runtime parameters; integers only (a float is blocking)",
    "OutputDecl.pipeline": "tooling-only settings; never copied into the runtime header",
    "PreloadDecl.enabled": "required, `true` or `false`",
    "PreloadDecl.slot": "explicit slot in this bank type; omit to get the lowest free one",
    "Registry.assets": "one entry per registered root, sorted by `asset_id`",
    "Registry.next_asset_id": "the allocator: the next id to hand out; ids are never reused",
    "Registry.schema_version": "`1`",
    "RegistryEntry.asset_id": "the asset's number, allocated at registration",
    "RegistryEntry.asset_uuid": "must equal the `asset_uuid` in the root's asset.json",
    "RegistryEntry.included_in_build": "`false` keeps the asset out of the build set",
    "RegistryEntry.root": "folder relative to `assets/`, `/` separators, no `..`",
}

# Family-specific keys that the generic schema leaves open (written by hand, per family).
FAMILY_KEYS = {
    "glyph_bank": [
        (
            "output.metadata.tile_size",
            "required: "
            + ", ".join(f"{size} (up to {n} tiles)" for size, n in sorted(GLYPH_CAPACITY.items()))
            + "; pixels per tile side",
        ),
        (
            "output.pipeline.palettes",
            'optional: `[{"index": 0..63, "palette": {"colors": ["#rrggbb", …]}}]`, at most '
            "64 palettes of at most 16 colours; without it palette 0 is derived",
        ),
    ],
    "sound_bank": [
        ("artifacts[].loop_start / loop_end", "optional, as a pair, in frames"),
    ],
}


def schema_files() -> dict[str, str]:
    """The JSON Schema files editors can point at (same as `prometeu-packer schema`)."""
    return {
        "asset.schema.json": md.json_file(asset_schema()),
        "registry.schema.json": md.json_file(registry_schema()),
    }


def render() -> str:
    asset = AssetDeclaration.model_json_schema()
    registry = Registry.model_json_schema()
    sections = [
        _asset_section(asset),
        _families_section(),
        _registry_section(registry),
    ]
    intro = (
        "An asset is a folder under `assets/` (its *root*) holding exactly one `asset.json`; "
        "the registry `assets/.prometeu/index.json` says which roots are registered, under "
        "which `asset_id`, and whether each is in the build. These tables are generated from "
        "the pydantic models that validate both files; the same schemas are in "
        "[asset.schema.json](asset.schema.json) and [registry.schema.json](registry.schema.json) "
        "(also printed by `prometeu-packer schema asset|registry`).\n\n"
        "Both files are written canonically: keys sorted, 2-space indent, UTF-8, a final "
        "newline. Every path is relative to the asset root (`inputs`, `artifacts[].file`) "
        "or to `assets/` (`root`), uses `/`, and may not leave its folder (`..`, absolute "
        "paths and links that escape are blocking)."
    )
    return md.page("asset.json and the registry", intro, sections)


def _asset_section(schema: dict[str, Any]) -> str:
    defs = schema.get("$defs", {})
    parts = [
        "## asset.json",
        model_section("AssetDeclaration (the file)", schema, NOTES, "AssetDeclaration"),
    ]
    for name in sorted(defs):
        parts.append(model_section(name, defs[name], NOTES, name))
    return "\n\n".join(parts)


def _registry_section(schema: dict[str, Any]) -> str:
    defs = schema.get("$defs", {})
    parts = [
        "## The registry (`assets/.prometeu/index.json`)",
        model_section(
            "Registry (the file)", schema, NOTES, "Registry", required_keys=REQUIRED_KEYS
        ),
        "The defaults only describe what `init` writes: a registry file must hold every key "
        "above (a missing one is `registry.schema`, and nothing is written over it).",
    ]
    for name in sorted(defs):
        parts.append(model_section(name, defs[name], NOTES, name))
    return "\n\n".join(parts)


def _families_section() -> str:
    parts = ["## Families"]
    for type_name in sorted(FAMILIES):
        parts.append(_family(FAMILIES[type_name]))
    return "\n\n".join(parts)


def _family(family: Family) -> str:
    facts = [
        ("`type`", md.code(family.type_name)),
        ("`output.format`", md.code(family.format)),
        ("header `bank_type`", md.code(family.bank_type)),
        ("`output.codec`", ", ".join(md.code(c) for c in family.codecs)),
        ("input role (used by `new`)", md.code(family.input_role)),
        ("input files", ", ".join(md.code(s) for s in family.input_suffixes)),
        ("artifacts", f"{family.min_artifacts} to {family.max_artifacts(None)} (at most)"),
    ]
    keys = FAMILY_KEYS.get(family.type_name, [])
    key_table = (
        "\n\nFamily keys:\n\n" + md.table(["key", "meaning"], [(md.code(k), v) for k, v in keys])
        if keys
        else ""
    )
    about = _family_notes(family)
    return (
        f"### {family.type_name}\n\n"
        + md.table(["", ""], facts)
        + key_table
        + (f"\n\nFrom the family's source:\n\n{about}" if about else "")
        + "\n\nWhat `prometeu-packer new` scaffolds for two files:\n\n"
        + md.json_block(_example(family))
    )


def _family_notes(family: Family) -> str:
    """The family module's docstring up to its code list (the catalogue has the codes)."""
    module = inspect.getmodule(type(family))
    doc = ast.get_docstring(ast.parse(inspect.getsource(module))) if module else None
    text = md.scrub((doc or "").split("Diagnostic codes")[0].strip())
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def _example(family: Family) -> dict[str, Any]:
    suffix = family.input_suffixes[0] if family.input_suffixes else ""
    files = [f"first{suffix}", f"second{suffix}"]
    decl = AssetDeclaration(
        schema_version=ASSET_SCHEMA_VERSION,
        asset_uuid=EXAMPLE_UUID,
        name="example",
        type=family.type_name,
        inputs={family.input_role: files},
        artifacts=[ArtifactDecl(index=i, file=f) for i, f in enumerate(files)],
        output=family.scaffold_output(ScaffoldRequest(files=files)),
        preload=PreloadDecl(enabled=False),
    )
    return decl.to_json_dict()

"""JSON Schemas of `asset.json` and the registry, for editors (`prometeu-packer schema`).

Written out rather than generated from the pydantic models: an editor needs what the
families check too (tile sizes, palette limits, slot range, formats and codecs per family),
and a description on every field. Pure data; no family module is imported.
"""

from __future__ import annotations

from typing import Any

DRAFT = "https://json-schema.org/draft/2020-12/schema"
ASSET_SCHEMA_ID = "urn:prometeu-packer:schema:asset:1"
REGISTRY_SCHEMA_ID = "urn:prometeu-packer:schema:registry:1"
FAMILY_NAMES = ("glyph_bank", "sound_bank")

_UUID4 = "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
# A root-relative POSIX path: no leading '/', no backslash, no '.' or '..' component.
_REL_PATH = r"^(?!/)(?!.*\\)(?!(.*/)?\.\.?(/|$))[^\x00-\x1f]+$"


def _schema_key() -> dict[str, Any]:
    return {
        "type": "string",
        "description": "The JSON Schema this file follows (for editors; the packer ignores "
        "it and keeps it when it rewrites the file).",
    }


def _path(what: str, suffix: str | None = None) -> dict[str, Any]:
    pattern = _REL_PATH
    if suffix is not None:  # any case, as the families accept it
        ext = "".join(f"[{c.lower()}{c.upper()}]" for c in suffix.lstrip("."))
        pattern = _REL_PATH[:-1] + rf"\.{ext}$"
    return {
        "type": "string",
        "minLength": 1,
        "pattern": pattern,
        "description": f"{what}: a path relative to the asset root, with '/' separators; "
        "it must stay inside the root.",
    }


def _artifact(family: str | None) -> dict[str, Any]:
    props: dict[str, Any] = {
        "index": {
            "type": "integer",
            "minimum": 0,
            "description": "Position in the bank (tile_id or sample_id); indices run 0..n-1 "
            "without gaps or duplicates.",
        },
        "file": _path("The input file this artifact is built from (one of `inputs`)"),
    }
    if family != "glyph_bank":
        props["loop_start"] = {
            "type": "integer",
            "minimum": 0,
            "description": "sound_bank: first frame of the loop (with loop_end; start < end).",
        }
        props["loop_end"] = {
            "type": "integer",
            "minimum": 1,
            "description": "sound_bank: frame after the loop's last (at most the sample's "
            "frame count).",
        }
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["index", "file"],
        "properties": props,
        "dependentRequired": {"loop_start": ["loop_end"], "loop_end": ["loop_start"]},
        "description": "One entry of the ordered build selection; order comes from `index`.",
    }


def _glyph_output() -> dict[str, Any]:
    palette = {
        "type": "object",
        "additionalProperties": False,
        "required": ["index", "palette"],
        "properties": {
            "index": {
                "type": "integer",
                "minimum": 0,
                "maximum": 63,
                "description": "Palette slot 0..63; palette 0 maps the tiles' colours.",
            },
            "palette": {
                "type": "object",
                "additionalProperties": False,
                "required": ["colors"],
                "properties": {
                    "colors": {
                        "type": "array",
                        "maxItems": 16,
                        "items": {
                            "type": "string",
                            "pattern": "^#[0-9a-fA-F]{6}$",
                            "description": "A colour as #rrggbb (stored as RGB565).",
                        },
                        "description": "Up to 16 colours; entry 0 is transparent at runtime.",
                    }
                },
                "description": "The palette's colours.",
            },
        },
        "description": "One declared palette.",
    }
    return _output(
        "GLYPH/indexed_v1",
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["tile_size"],
            "properties": {
                "tile_size": {
                    "enum": [8, 16, 32],
                    "description": "Tile width and height in pixels; every PNG must be "
                    "exactly this size. Capacity: 1024 / 256 / 64 tiles.",
                }
            },
            "description": "Runtime metadata of a glyph bank.",
        },
        {
            "type": "object",
            "properties": {
                "palettes": {
                    "type": "array",
                    "maxItems": 64,
                    "items": palette,
                    "description": "Declared palettes (none: palette 0 is derived from the "
                    "tiles, black first).",
                }
            },
            "description": "Tooling-only data (never in the runtime header).",
        },
    )


def _sound_output() -> dict[str, Any]:
    return _output(
        "SOUNDS/pcm16le_v1",
        {
            "type": "object",
            "maxProperties": 0,
            "description": "A sound bank takes no runtime metadata (the packer writes it).",
        },
        {"type": "object", "description": "Tooling-only data (never in the runtime header)."},
    )


def _output(fmt: str, metadata: dict[str, Any], pipeline: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["format", "codec"],
        "properties": {
            "format": {"const": fmt, "description": "The runtime format this family produces."},
            "codec": {"enum": ["NONE"], "description": "Payload codec; NONE is the only one."},
            "metadata": metadata,
            "pipeline": pipeline,
        },
        "description": "What is built: runtime format, codec, metadata and tooling data.",
    }


def _family_rules(family: str) -> dict[str, Any]:
    role, suffix = ("tiles", ".png") if family == "glyph_bank" else ("samples", ".wav")
    return {
        "properties": {
            "inputs": {
                "type": "object",
                "properties": {
                    role: {
                        "type": "array",
                        "items": _path(f"A {suffix} input", suffix),
                        "description": f"The {suffix} files of this {family}.",
                    }
                },
                "description": "Role → files relative to the asset root.",
            },
            "artifacts": {
                "type": "array",
                "items": _artifact(family),
                "description": f"The ordered build selection of this {family}.",
            },
            "output": _glyph_output() if family == "glyph_bank" else _sound_output(),
        }
    }


def asset_schema(family: str | None = None) -> dict[str, Any]:
    """The schema of `asset.json` (version 1), for one family or for any of them."""
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": ASSET_SCHEMA_ID + (f":{family}" if family else ""),
        "title": "PROMETEU asset.json" + (f" ({family})" if family else ""),
        "description": "One asset root's declaration. Registry-owned facts (asset_id, build "
        "inclusion, root) never live here.",
        "type": "object",
        "additionalProperties": False,
        "required": [
            "schema_version",
            "asset_uuid",
            "name",
            "type",
            "inputs",
            "artifacts",
            "output",
            "preload",
        ],
        "properties": {
            "$schema": _schema_key(),
            "schema_version": {"const": 1, "description": "asset.json format version."},
            "asset_uuid": {
                "type": "string",
                "pattern": _UUID4,
                "description": "Stable identity (UUID4, lower case), kept across moves.",
            },
            "name": {"type": "string", "minLength": 1, "description": "A label, not identity."},
            "type": {
                "enum": [family] if family else list(FAMILY_NAMES),
                "description": "The asset family.",
            },
            "inputs": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": _path("An input file")},
                "description": "Role → list of files relative to the asset root.",
            },
            "artifacts": {
                "type": "array",
                "items": _artifact(family),
                "description": "The ordered build selection (order from `index`).",
            },
            "output": {"type": "object", "description": "What is built."},
            "preload": {
                "type": "object",
                "additionalProperties": False,
                "required": ["enabled"],
                "properties": {
                    "enabled": {"type": "boolean", "description": "Load at boot."},
                    "slot": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 15,
                        "description": "Explicit preload slot of its bank type (else the "
                        "lowest free one).",
                    },
                },
                "description": "Whether the runtime loads this asset at boot, and where.",
            },
        },
    }
    families = [family] if family else list(FAMILY_NAMES)
    schema["allOf"] = [
        {
            "if": {
                "properties": {"type": {"const": f, "description": f"A {f}."}},
                "required": ["type"],
            },
            "then": _family_rules(f),
        }
        for f in families
    ]
    return schema


def registry_schema() -> dict[str, Any]:
    """The schema of `assets/.prometeu/index.json` (version 1)."""
    entry = {
        "type": "object",
        "additionalProperties": False,
        "required": ["asset_id", "asset_uuid", "included_in_build", "root"],
        "properties": {
            "asset_id": {
                "type": "integer",
                "minimum": 1,
                "description": "Allocated at registration; never reused.",
            },
            "asset_uuid": {
                "type": "string",
                "pattern": _UUID4,
                "description": "The asset.json's asset_uuid.",
            },
            "included_in_build": {"type": "boolean", "description": "In the build set."},
            "root": _path("The asset root, relative to assets/"),
        },
        "description": "One registered asset.",
    }
    return {
        "$schema": DRAFT,
        "$id": REGISTRY_SCHEMA_ID,
        "title": "PROMETEU asset registry",
        "description": "The authoritative registry of a project (written by the packer).",
        "type": "object",
        "additionalProperties": False,
        "required": ["assets", "next_asset_id", "schema_version"],
        "properties": {
            "$schema": _schema_key(),
            "assets": {
                "type": "array",
                "items": entry,
                "description": "Entries sorted by asset_id.",
            },
            "next_asset_id": {
                "type": "integer",
                "minimum": 1,
                "description": "The allocator: above every id ever issued.",
            },
            "schema_version": {"const": 1, "description": "Registry format version."},
        },
    }

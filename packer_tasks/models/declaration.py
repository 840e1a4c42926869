"""`asset.json` version 1 (SPEC §3): what one asset root declares about itself.

The model is strict about structure (types, required keys) but leaves family-specific
meaning (tile sizes, palettes, loop points) to the family, which reports named diagnostics.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

ASSET_SCHEMA_VERSION = 1
ASSET_FILE = "asset.json"


class ArtifactDecl(BaseModel):
    """One entry of the ordered build selection; order comes from `index`, never position."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    index: StrictInt = Field(ge=0)
    file: StrictStr = Field(min_length=1)
    loop_start: StrictInt | None = None
    loop_end: StrictInt | None = None


class OutputDecl(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: StrictStr
    codec: StrictStr
    metadata: dict[str, Any] = Field(default_factory=dict)
    pipeline: dict[str, Any] = Field(default_factory=dict)


class PreloadDecl(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: StrictBool
    slot: StrictInt | None = Field(default=None, ge=0, le=15)


class AssetDeclaration(BaseModel):
    """The whole of `asset.json`. Registry-owned facts (id, inclusion, root) never live here."""

    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)

    # `"$schema"`: which JSON Schema an editor should apply; kept, never interpreted.
    json_schema: StrictStr | None = Field(
        default=None, alias="$schema", exclude_if=lambda v: v is None
    )
    schema_version: StrictInt
    asset_uuid: StrictStr
    name: StrictStr = Field(min_length=1)
    type: StrictStr
    inputs: dict[str, list[StrictStr]]
    artifacts: list[ArtifactDecl]
    output: OutputDecl
    preload: PreloadDecl

    def sorted_artifacts(self) -> list[ArtifactDecl]:
        return sorted(self.artifacts, key=lambda a: a.index)

    def input_files(self) -> list[str]:
        """Every declared input path, each once, in declaration order."""
        seen: dict[str, None] = {}
        for paths in self.inputs.values():
            for p in paths:
                seen.setdefault(p, None)
        return list(seen)

    def to_json_dict(self) -> dict[str, Any]:
        """The canonical on-disk form (None loop fields dropped, slot kept only if set)."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)

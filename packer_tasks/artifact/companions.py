"""The three companion JSON files written next to `assets.pa` (SPEC §5).

`asset_table.json` and `preload.json` are the header's two halves verbatim, so tools can read
them without parsing the binary; `asset_table_metadata.json` is the tooling-only view (roots,
uuids, input digests, cache keys, pipeline) that the runtime never sees.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..canonical_json import pretty
from ..workspace.project import OUTPUT_NAMES as OUTPUT_NAMES

METADATA_SCHEMA_VERSION = 1


def companion_files(
    header: Mapping[str, Any], tooling: Sequence[Mapping[str, Any]]
) -> dict[str, bytes]:
    """Companion file name → bytes. `tooling` entries come from the caller, one per asset
    (root, asset_uuid, format, inputs [{file, blake3}], cache_key, pipeline)."""
    return {
        "asset_table.json": pretty(header["asset_table"]),
        "preload.json": pretty(header["preload"]),
        "asset_table_metadata.json": pretty(
            {"assets": [dict(t) for t in tooling], "schema_version": METADATA_SCHEMA_VERSION}
        ),
    }

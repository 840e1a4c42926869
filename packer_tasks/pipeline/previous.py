"""The build already in build/, as a source of payloads for the next one.

An asset whose cache key is one the previous build was made with has exactly the bytes and
header metadata it had then (the key covers both), so the next pack copies its range of the
previous `assets.pa` instead of reading and re-verifying the cache entry: a one-asset edit
reads one asset's inputs, not every payload. The previous files are trusted only when they
match the build record (size and blake3, by the digest memo's stat shortcut or hashed);
anything else means "no previous build" and the cache answers, as before.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometeu_cache.digests import DigestMemo

from ..artifact.build_record import output_problem, read_record
from ..artifact.writer import PRELUDE_SIZE, PRELUDE_STRUCT

TABLE = "asset_table.json"
TOOLING = "asset_table_metadata.json"
PA = "assets.pa"


@dataclass(frozen=True)
class PreviousPayload:
    """One asset's bytes in the previous assets.pa and what its header said of them."""

    offset: int  # absolute, in the previous assets.pa
    size: int
    decoded_size: int
    metadata: dict[str, Any]
    payload_blake3: str


@dataclass(frozen=True)
class PreviousBuild:
    path: Path
    by_key: dict[str, PreviousPayload]


def load_previous(build_dir: Path, memo: DigestMemo) -> PreviousBuild | None:
    """The previous build's payloads by cache key, or None when build/ holds no intact
    build (never raises)."""
    record = read_record(build_dir)
    if record is None:
        return None
    for name in (PA, TABLE, TOOLING):
        size, digest = record.outputs[name]
        if output_problem(build_dir, name, size, digest, memo) is not None:
            return None
    try:
        with open(build_dir / PA, "rb") as fh:
            payload_offset = PRELUDE_STRUCT.unpack(fh.read(PRELUDE_SIZE))[5]
        table = json.loads((build_dir / TABLE).read_bytes())
        tooling = json.loads((build_dir / TOOLING).read_bytes())["assets"]
        keys = {
            int(t["asset_id"]): (str(t["cache_key"]), str(t["payload_blake3"])) for t in tooling
        }
        by_key: dict[str, PreviousPayload] = {}
        for row in table:
            key, digest = keys[int(row["asset_id"])]
            by_key[key] = PreviousPayload(
                payload_offset + int(row["offset"]),
                int(row["size"]),
                int(row["decoded_size"]),
                dict(row["metadata"]),
                digest,
            )
    except (OSError, ValueError, KeyError, TypeError, struct.error):
        return None
    return PreviousBuild(build_dir / PA, by_key)

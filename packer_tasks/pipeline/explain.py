"""`explain`: why an asset would (or would not) re-materialize, named by key component.

The last build's key material sits in `build/asset_table_metadata.json`; the current one
is recomputed from the declaration and the input digests. The difference, path by path,
is translated into sentences about files, fields and the packer version.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometeu_cache.keys import diff_material

_ART = re.compile(r"^artifacts\[(\d+)\](?:\.(\w+))?$")


def previous_material(build_dir: Path, asset_id: int) -> tuple[str | None, dict[str, Any] | None]:
    """The cache key and key material the last successful pack used for this asset."""
    try:
        data = json.loads((build_dir / "asset_table_metadata.json").read_text("utf-8"))
        for entry in data.get("assets", []):
            if entry.get("asset_id") == asset_id:
                return entry.get("cache_key"), entry.get("key_material")
    except (OSError, ValueError, AttributeError):
        pass
    return None, None


def describe_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human sentences for each differing key component."""
    out: list[str] = []
    old_arts, new_arts = old.get("artifacts", []), new.get("artifacts", [])
    for path in diff_material(old, new):
        m = _ART.match(path)
        if path == "packer_format_version":
            out.append(f"packer payload format changed ({old.get(path)} → {new.get(path)})")
        elif m:
            i, field = int(m.group(1)), m.group(2)
            before = old_arts[i] if i < len(old_arts) else None
            after = new_arts[i] if i < len(new_arts) else None
            if before is None:
                out.append(f"artifact {i} added ({after and after.get('file')})")
            elif after is None:
                out.append(f"artifact {i} removed ({before.get('file')})")
            elif field == "blake3":
                out.append(f"content of {after.get('file')} changed")
            else:
                out.append(f"artifact {i} {field}: {before.get(field)!r} → {after.get(field)!r}")
        elif path.startswith("metadata"):
            out.append(f"output.{path} changed")
        elif path.startswith("pipeline"):
            out.append(f"output.{path} changed (pipeline data that affects bytes)")
        else:
            out.append(f"{path} changed")
    return out

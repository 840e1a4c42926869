"""Finding asset roots: every folder under `assets/` that holds an `asset.json`."""

from __future__ import annotations

import os
from pathlib import Path

from ..models.declaration import ASSET_FILE
from .project import META_DIR


def find_asset_roots(assets_dir: Path) -> list[str]:
    """Root paths relative to `assets/`, POSIX, sorted; `.prometeu/` is never scanned."""
    found: list[str] = []
    if not assets_dir.is_dir():
        return found
    for dirpath, dirnames, filenames in os.walk(assets_dir):
        rel = os.path.relpath(dirpath, assets_dir)
        if rel == ".":
            dirnames[:] = [d for d in dirnames if d != META_DIR]
        dirnames.sort()
        if ASSET_FILE in filenames and rel != ".":
            found.append(Path(rel).as_posix())
    return sorted(found)


def list_root_files(root_dir: Path) -> list[str]:
    """Every regular file under an asset root (root-relative POSIX), for hygiene checks."""
    out: list[str] = []
    if os.path.islink(root_dir):  # os.walk would follow a linked top folder
        return out
    for dirpath, dirnames, filenames in os.walk(root_dir):
        dirnames.sort()
        for name in filenames:
            out.append(Path(os.path.relpath(os.path.join(dirpath, name), root_dir)).as_posix())
    return sorted(out)

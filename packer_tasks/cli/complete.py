"""Shell completion of asset ids and roots, cheap enough to run on every <TAB>: it reads
the registry as plain JSON (no pydantic, no service) from the project found like git."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem

FAMILY_NAMES = ("glyph_bank", "sound_bank")
# The keys of `set` (packer_tasks.service.asset_settings.SETTINGS, without importing it).
SETTING_NAMES = ("tile-size", "palette", "preload", "loop", "order", "add", "remove", "name")


def _registry_file(ctx: click.Context) -> Path | None:
    root = ctx.find_root()
    given = root.params.get("project_dir") if root is not None else None
    start = Path(os.path.abspath(given)) if given else Path.cwd()
    for folder in (start, *start.parents):
        candidate = folder / "assets" / ".prometeu" / "index.json"
        if candidate.is_file():
            return candidate
    return None


def complete_asset(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Registered asset roots and ids that start with what was typed."""
    path = _registry_file(ctx)
    if path is None:
        return []
    try:
        entries = json.loads(path.read_text("utf-8")).get("assets", [])
    except (OSError, ValueError, AttributeError):
        return []
    items: list[Any] = []
    for e in entries if isinstance(entries, list) else []:
        if not isinstance(e, dict):
            continue
        root, asset_id = str(e.get("root", "")), str(e.get("asset_id", ""))
        if root.startswith(incomplete):
            items.append(CompletionItem(root, help=f"asset {asset_id}"))
        elif asset_id.startswith(incomplete) and incomplete:
            items.append(CompletionItem(asset_id, help=root))
    return items


def complete_family(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    return [CompletionItem(f) for f in FAMILY_NAMES if f.startswith(incomplete)]

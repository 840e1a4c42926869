"""Where the cache lives: `--cache-dir`, then PROMETEU_PACKER_CACHE, then the game's
`[tool.prometeu-packer] cache-dir` in pyproject.toml, then `.prometeu-cache/` (SPEC §2)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .project import DEFAULT_CACHE_DIR, Project

ENV_CACHE = "PROMETEU_PACKER_CACHE"
DEFAULT_SIZE_LIMIT = 2 * 1024**3


@dataclass(frozen=True)
class CacheConfig:
    directory: Path | None  # None: caching disabled (`--no-cache`)
    size_limit: int = DEFAULT_SIZE_LIMIT
    source: str = "default"


def _tool_table(project: Project) -> dict[str, object]:
    try:
        data = tomllib.loads((project.root / "pyproject.toml").read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}
    table = data.get("tool", {}).get("prometeu-packer", {})
    return table if isinstance(table, dict) else {}


def resolve_cache(
    project: Project, cli_dir: Path | None = None, *, disabled: bool = False
) -> CacheConfig:
    table = _tool_table(project)
    size = table.get("cache-size-limit", DEFAULT_SIZE_LIMIT)
    size_limit = size if isinstance(size, int) and size > 0 else DEFAULT_SIZE_LIMIT
    if disabled:
        return CacheConfig(None, size_limit, "disabled")
    if cli_dir is not None:
        return CacheConfig(Path(os.path.abspath(cli_dir)), size_limit, "--cache-dir")
    env = os.environ.get(ENV_CACHE)
    if env:
        return CacheConfig(Path(os.path.abspath(env)), size_limit, ENV_CACHE)
    configured = table.get("cache-dir")
    if isinstance(configured, str) and configured:
        return CacheConfig((project.root / configured).absolute(), size_limit, "pyproject.toml")
    return CacheConfig(project.root / DEFAULT_CACHE_DIR, size_limit, "default")

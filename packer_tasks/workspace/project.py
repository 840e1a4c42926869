"""Project discovery, like git: walk up from a folder to the nearest packer project."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ASSETS_DIR = "assets"
META_DIR = ".prometeu"
REGISTRY_FILE = "index.json"
QUARANTINE_DIR = "quarantine"
BUILD_DIR = "build"
STAGING_DIR = ".staging"
DEFAULT_CACHE_DIR = ".prometeu-cache"
# What a pack publishes into build/ (SPEC §5, §8): the four outputs, then the build record.
OUTPUT_NAMES = ("assets.pa", "asset_table.json", "preload.json", "asset_table_metadata.json")
RECORD_FILE = ".prometeu-build.json"
PUBLISHED = (*OUTPUT_NAMES, RECORD_FILE)


class ProjectNotFound(Exception):
    """No project at or above the start folder; the message says where we looked."""


@dataclass(frozen=True)
class Project:
    """Where a project's files live. Everything else addresses files relative to these."""

    root: Path

    @property
    def assets_dir(self) -> Path:
        return self.root / ASSETS_DIR

    @property
    def meta_dir(self) -> Path:
        return self.assets_dir / META_DIR

    @property
    def registry_path(self) -> Path:
        return self.meta_dir / REGISTRY_FILE

    @property
    def quarantine_dir(self) -> Path:
        return self.meta_dir / QUARANTINE_DIR

    @property
    def lock_path(self) -> Path:
        return self.meta_dir / ".write.lock"

    @property
    def build_dir(self) -> Path:
        return self.root / BUILD_DIR

    @property
    def staging_dir(self) -> Path:
        return self.build_dir / STAGING_DIR

    @property
    def project_id(self) -> str:
        """A display id for events: the folder name (never part of any cache key)."""
        return self.root.name

    def root_dir(self, asset_root: str) -> Path:
        return self.assets_dir.joinpath(*asset_root.split("/"))


def is_project(path: Path) -> bool:
    return (path / ASSETS_DIR / META_DIR / REGISTRY_FILE).is_file()


def find_project(start: Path | None = None) -> Project:
    """The nearest folder at or above `start` whose `assets/.prometeu/index.json` exists."""
    here = Path(os.path.abspath(start or Path.cwd()))
    for candidate in (here, *here.parents):
        if is_project(candidate):
            return Project(candidate)
    raise ProjectNotFound(
        f"no prometeu project at or above {here} (looked for "
        f"{ASSETS_DIR}/{META_DIR}/{REGISTRY_FILE}); run `prometeu-packer init` in the game "
        "folder or pass --project DIR"
    )


def open_project(path: Path) -> Project:
    """The project at exactly `path` (`--project`): it must exist and be a project root, not
    a folder inside one's `assets/` (which would start a second, nested project)."""
    here = Path(os.path.abspath(path))
    if is_project(here):
        return Project(here)
    parent = nested_in_assets(here)
    if parent is not None:
        raise ProjectNotFound(
            f"no prometeu project at {here}: it is inside the {ASSETS_DIR}/ folder of "
            f"the project at {parent}; pass --project {parent}"
        )
    what = (
        "does not exist" if not here.exists() else f"has no {ASSETS_DIR}/{META_DIR}/{REGISTRY_FILE}"
    )
    raise ProjectNotFound(
        f"no prometeu project at {here} (the folder {what}); run `prometeu-packer init` "
        "there or pass the game folder to --project"
    )


def nested_in_assets(path: Path) -> Path | None:
    """The project whose `assets/` holds `path`, if any (`init` must not start one there)."""
    here = Path(os.path.abspath(path))
    for parent in here.parents:
        if is_project(parent) and here.is_relative_to(parent / ASSETS_DIR):
            return parent
    return None

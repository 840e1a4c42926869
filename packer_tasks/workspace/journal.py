"""The relocation journal: a move of an asset root must survive a kill at any instant.

A relocate copies the root (hard links where possible), switches the registry atomically,
then deletes the old folder. `relocation.json` (beside the registry) records the move
before anything is touched, so a run killed half-way is finished by the next mutation:
whichever root the registry names is kept, the other (a complete or partial copy the
packer made) is removed. At every instant the registry names a complete root.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

from ..canonical_json import pretty
from ..models.registry import Registry
from .atomic import write_atomic
from .project import Project

JOURNAL_FILE = ".relocation.json"


def journal_path(project: Project) -> Path:
    return project.meta_dir / JOURNAL_FILE


def begin(project: Project, asset_id: int, src: str, dst: str) -> None:
    write_atomic(journal_path(project), pretty({"asset_id": asset_id, "from": src, "to": dst}))


def end(project: Project) -> None:
    with contextlib.suppress(FileNotFoundError):
        journal_path(project).unlink()


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def copy_root(src: Path, dst: Path) -> None:
    """Copy a root; hard links keep it cheap, and the source stays whole meanwhile."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src, dst, symlinks=True, copy_function=_link_or_copy)


def prune_empty_parents(folder: Path, stop: Path) -> None:
    """Remove folders left empty by a move or delete, up to (not including) `stop`."""
    folder, stop = folder.absolute(), stop.absolute()
    while folder != stop and stop in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def remove_root(folder: Path, stop: Path) -> None:
    """Delete an asset root folder and the empty parents it leaves under `stop`."""
    shutil.rmtree(folder, ignore_errors=True)
    prune_empty_parents(folder.parent, stop)


def recover(project: Project, registry: Registry | None) -> str | None:
    """Finish an interrupted relocation; returns what was done, or None."""
    path = journal_path(project)
    try:
        record = json.loads(path.read_text("utf-8"))
        asset_id, src, dst = record["asset_id"], record["from"], record["to"]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        end(project)
        return "discarded an unreadable relocation journal"
    entry = registry.by_id(asset_id) if registry is not None else None
    if entry is None:
        end(project)
        return None
    if entry.root == dst:  # the switch happened: drop the old folder
        remove_root(project.root_dir(src), project.assets_dir)
        done = f"finished moving asset {asset_id} to {dst}"
    elif entry.root == src:  # it did not: drop the (partial) copy we made
        remove_root(project.root_dir(dst), project.assets_dir)
        done = f"rolled back an interrupted move of asset {asset_id}"
    else:
        done = None
    end(project)
    return done

"""The relocation journal: a move of an asset root must survive a kill at any instant.

A relocate copies the root (hard links where possible), switches the registry atomically,
then deletes the old folder. `relocation.json` (beside the registry) records the move
before anything is touched, so a run killed half-way is finished by the next mutation:
whichever root the registry names is kept, the other (a complete or partial copy the
packer made) is removed. At every instant the registry names a complete root.

`remove --delete-files` uses the same file (a record with `"kind": "remove"`): it is
written before the registry entry goes, so a run killed while the folder is half deleted
is finished by the next command (the entry is gone: the rest of the folder goes too), and
one killed before the registry changed is simply dropped (the asset stays, whole).

Nothing is ever deleted through a symbolic link or outside `assets/`: the recovery checks a
root again (`paths.root_problem`) before it touches it, whatever the journal says.
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
from .paths import root_problem
from .project import Project

JOURNAL_FILE = ".relocation.json"


def journal_path(project: Project) -> Path:
    return project.meta_dir / JOURNAL_FILE


def begin(project: Project, asset_id: int, src: str, dst: str) -> None:
    write_atomic(journal_path(project), pretty({"asset_id": asset_id, "from": src, "to": dst}))


def begin_remove(project: Project, asset_id: int, asset_uuid: str, root: str) -> None:
    """Record a `remove --delete-files` before the registry entry goes."""
    write_atomic(
        journal_path(project),
        pretty({"kind": "remove", "asset_id": asset_id, "asset_uuid": asset_uuid, "root": root}),
    )


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


def delete_root(project: Project, root: str) -> bool:
    """Delete `assets/<root>` (a journaled removal), only if it is a safe root; False if
    it was refused. Files go one by one (links unlinked, never followed), so the
    `remove_partly_deleted` crash point can stop it half-way for the kill tests."""
    if root_problem(project.assets_dir, root) is not None:
        return False
    from ..artifact.staging import crashpoint

    folder = project.root_dir(root)
    first = True
    for dirpath, dirnames, filenames in os.walk(folder, topdown=False):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(dirpath, name))
            if first:
                first = False
                crashpoint("remove_partly_deleted")
    remove_root(folder, project.assets_dir)  # the (now empty) folders
    return True


def _recover_remove(
    project: Project, registry: Registry, asset_id: object, root: object
) -> str | None:
    """Finish (or abandon) an interrupted `remove --delete-files`."""
    if not isinstance(asset_id, int) or not isinstance(root, str):
        return None
    entry = registry.by_id(asset_id)
    if entry is not None:  # killed before the registry changed: nothing was deleted
        return f"abandoned an interrupted removal of asset {asset_id}; it is still registered"
    if registry.by_root(root) is not None:  # the root belongs to another asset now
        return None
    if not delete_root(project, root):
        return None
    return f"finished deleting the files of removed asset {asset_id} ({root})"


def recover(project: Project, registry: Registry | None) -> str | None:
    """Finish an interrupted relocation; returns what was done, or None."""
    path = journal_path(project)
    try:
        record = json.loads(path.read_text("utf-8"))
        if record.get("kind") == "remove":
            asset_id, root = record["asset_id"], record["root"]
        else:
            asset_id, src, dst = record["asset_id"], record["from"], record["to"]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        end(project)
        return "discarded an unreadable relocation journal"
    if record.get("kind") == "remove":
        if registry is None:  # an unreadable registry: keep the journal for later
            return None
        done = _recover_remove(project, registry, asset_id, root)
        end(project)
        return done
    entry = registry.by_id(asset_id) if registry is not None else None
    if entry is None or not isinstance(src, str) or not isinstance(dst, str):
        end(project)
        return None
    safe = root_problem(project.assets_dir, src) is None and (
        root_problem(project.assets_dir, dst) is None
    )
    if not safe:  # never delete through a link or outside assets/, whatever the file says
        done = None
    elif entry.root == dst:  # the switch happened: drop the old folder
        remove_root(project.root_dir(src), project.assets_dir)
        done = f"finished moving asset {asset_id} to {dst}"
    elif entry.root == src:  # it did not: drop the (partial) copy we made
        remove_root(project.root_dir(dst), project.assets_dir)
        done = f"rolled back an interrupted move of asset {asset_id}"
    else:
        done = None
    end(project)
    return done

"""doit task creators: one task per build-set asset plus a final `assemble`.

`doit pack` runs the group. Asset tasks depend (file_dep) on their `asset.json` and inputs
and materialize the asset into the cache; only changed assets re-run. `assemble` asks the
service whether build/ holds the current build (build/'s own record and files, after
recovering an interrupted publication) and, if not, publishes through `PackerService.pack`.
Every pack task tears the run down through doit's teardown, whatever reporter runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from doit.exceptions import TaskFailed
from doit.tools import config_changed

from ..artifact.build_record import RECORD_FILE
from ..artifact.companions import OUTPUT_NAMES
from ..events.sink import EventSink
from ..models.declaration import ASSET_FILE
from ..pipeline.materialize import PAYLOAD_FORMAT_VERSION
from ..service import PackerService
from ..workspace.project import Project, ProjectNotFound, find_project
from ..workspace.snapshot import RegisteredAsset
from .host import DoitHost
from .reporter import GROUP
from .sinks import run_sink


def asset_deps(prefix: str, asset: RegisteredAsset) -> list[str]:
    """asset.json plus each declared input that exists inside the root (never an escape),
    spelled as `prefix + project-relative path`."""
    base = f"{prefix}assets/{asset.entry.root}/"
    has_decl = asset.loaded.declaration is not None or asset.loaded.declaration_mtime_ns
    deps = [base + ASSET_FILE] if has_decl else []
    deps += [base + f.rel for f in asset.loaded.inputs]
    return deps


def fail_action(message: str) -> TaskFailed:
    return TaskFailed(message)


def pack_tasks(
    project_dir: str | os.PathLike[str] | None = None, *, sink: EventSink | None = None
) -> Iterator[dict[str, Any]]:
    """Yield the `pack` group's subtasks for the project at (or above) `project_dir`.
    `sink` receives the run's events (default: PROMETEU_PACKER_EVENTS and, on a terminal,
    a live progress bar)."""
    try:
        project = (
            Project(Path(os.path.abspath(project_dir)))
            if project_dir is not None
            else find_project(Path.cwd())
        )
    except ProjectNotFound as exc:
        # Listing and help still work; running says what is missing, without a traceback.
        yield {
            "name": "assemble",
            "doc": "write build/assets.pa and its companions",
            "actions": [(fail_action, [str(exc)])],
            "verbosity": 0,
        }
        return
    service = PackerService(project, sink=sink if sink is not None else run_sink())
    snap = service.snapshot()
    host = DoitHost(service, snap)
    rel = os.path.relpath(project.root)
    prefix = "" if rel == "." else Path(rel).as_posix() + "/"
    version = config_changed({"packer_format_version": PAYLOAD_FORMAT_VERSION})
    names: list[str] = []
    for asset in snap.build_set():
        asset_id = asset.entry.asset_id
        host.build_set.append(asset_id)
        names.append(f"{GROUP}:asset-{asset_id}")
        yield {
            "name": f"asset-{asset_id}",
            "doc": f"materialize {asset.entry.root} into the cache",
            "actions": [(host.materialize, [asset_id])],
            "file_dep": asset_deps(prefix, asset),
            "uptodate": [version],
            "teardown": [host.close],
            "verbosity": 0,
        }
    yield {
        "name": "assemble",
        "doc": "write build/assets.pa and its companions",
        "actions": [host.assemble],
        "targets": [f"{prefix}build/{n}" for n in (*OUTPUT_NAMES, RECORD_FILE)],
        "clean": True,
        "task_dep": names,
        "uptodate": [host.build_is_current],
        "teardown": [host.close],
        "verbosity": 0,
    }

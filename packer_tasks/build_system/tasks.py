"""doit task creator: `pack:assemble`, one task over the whole build set.

It depends (file_dep, blake3 content checker) on the registry, every build-set
`asset.json` and every declared input; its `uptodate` asks whether build/ already holds the
current build — the stat manifest answers a no-op with one stat per file, the service's
full check (build/'s own record and files) answers everything else — and its action
publishes through `PackerService.pack`, which materializes what changed (cache first) and
reuses the rest. One task instead of one per asset: doit's per-task bookkeeping was most of
a no-op's cost, and the service already knows which assets changed. Importing this module
does not import the packer's pipeline; a no-op never does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doit.exceptions import TaskFailed
from doit.tools import config_changed

from ..format_versions import PAYLOAD_FORMAT_VERSION
from ..workspace.project import BUILD_DIR, PUBLISHED, Project, ProjectNotFound, find_project
from .host import DoitHost

if TYPE_CHECKING:
    from ..events.sink import EventSink


def fail_action(message: str) -> TaskFailed:
    return TaskFailed(message)


def pack_tasks(
    project_dir: str | os.PathLike[str] | None = None, *, sink: EventSink | None = None
) -> Iterator[dict[str, Any]]:
    """Yield the `pack` group's task for the project at (or above) `project_dir`.
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
    host = DoitHost(project, sink)
    rel = os.path.relpath(project.root)
    prefix = "" if rel == "." else Path(rel).as_posix() + "/"
    sources, assets = host.build_sources()
    yield {
        "name": "assemble",
        "doc": "write build/assets.pa and its companions",
        "actions": [host.assemble],
        "file_dep": [prefix + s for s in sources],
        "targets": [f"{prefix}{BUILD_DIR}/{n}" for n in PUBLISHED],
        "clean": True,
        "uptodate": [
            config_changed({"packer_format_version": PAYLOAD_FORMAT_VERSION}),
            host.build_is_current,
        ],
        "teardown": [host.close],
        "meta": {"assets": assets},
        "verbosity": 0,
    }

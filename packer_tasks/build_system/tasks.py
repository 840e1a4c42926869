"""doit task creators: one task per build-set asset plus a final `assemble`.

`doit pack` runs the group. Asset tasks depend (file_dep) on their `asset.json` and inputs
and put the materialized payload in the cache; only changed assets re-run. `assemble`
depends on the registry and on everything, and writes build/ through the service's pack
(which reads every payload back from the cache). Task names never clash with doit commands.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from doit.exceptions import TaskFailed
from doit.task import UptodateCalculator
from doit.tools import config_changed
from prometeu_cache.keys import blake3_hex

from ..artifact.companions import OUTPUT_NAMES
from ..cli.render import diagnostic_line
from ..models.declaration import ASSET_FILE
from ..models.diagnostic import Diagnostic
from ..pipeline.materialize import PAYLOAD_FORMAT_VERSION
from ..workspace.project import ProjectNotFound
from ..workspace.snapshot import RegisteredAsset
from .run import DoitRun, label_for, start_run

GROUP = "pack"


def _plain(diags: list[Diagnostic]) -> str:
    from rich.text import Text

    return "\n".join(Text.from_markup(diagnostic_line(d)).plain for d in diags)


def _rel(path: Path) -> str:
    return os.path.relpath(path)


def asset_deps(run: DoitRun, asset: RegisteredAsset) -> list[str]:
    """asset.json plus each declared input that exists inside the root (never an escape),
    spelled as `dep_prefix + project-relative path` (cheap for the checker to label)."""
    base = f"{run.dep_prefix}assets/{asset.entry.root}/"
    has_decl = asset.loaded.declaration is not None or asset.loaded.declaration_mtime_ns
    deps = [base + ASSET_FILE] if has_decl else []
    deps += [base + f.rel for f in asset.loaded.inputs]
    return deps


def materialize_action(asset_id: int) -> dict[str, Any] | TaskFailed:
    run = start_run()
    run.announce()
    run.executed.add(asset_id)
    asset = run.snapshot.find(asset_id)
    assert asset is not None
    blocking = [d for d in asset.diagnostics if d.blocking]
    if blocking or asset.loaded.declaration is None:
        run.failed.add(asset_id)
        return TaskFailed(_plain(blocking or list(asset.diagnostics)))
    try:
        report = run.session.materializer.materialize(asset, want_payload=False)
    finally:
        # Input bytes the checker froze for this asset are no longer needed.
        run.session.frozen.release([label_for(d) for d in asset_deps(run, asset)])
        if run.is_worker:
            run.session.memo.flush()  # a worker process never reaches end_run()
    if report.build is None:
        run.failed.add(asset_id)
        return TaskFailed(
            _plain([d for d in report.diagnostics if d.blocking] or report.diagnostics)
        )
    return {"cache_key": report.build.cache_key, "cache_hit": report.build.cache_hit}


def assemble_action() -> dict[str, Any] | TaskFailed:
    run = start_run()
    run.announce()
    m = run.session.materializer
    for asset in run.snapshot.build_set():
        if asset.entry.asset_id not in run.executed:
            m.outcomes.setdefault(asset.entry.asset_id, "up_to_date")
    with run.service.lane():
        from ..pipeline.pack import run_pack

        result = run.result = run_pack(
            run.project, run.session, run.emitter, run.snapshot, announce=False
        )
    if run.is_worker:
        run.session.memo.flush()
    if result.status.value != "success":
        return TaskFailed(f"{result.summary}\n{_plain(result.diagnostics)}")
    # Task values travel back to the reporting process, also from `doit -n N` workers.
    return {
        "packed_assets": result.packed_assets,
        "outcomes": {str(k): v for k, v in sorted(m.outcomes.items())},
    }


def fail_action(message: str) -> TaskFailed:
    return TaskFailed(message)


def pack_tasks(project_dir: str | os.PathLike[str] | None = None) -> Iterator[dict[str, Any]]:
    """Yield the `pack` group's subtasks for the project at (or above) `project_dir`."""
    try:
        run = start_run(project_dir)
    except ProjectNotFound as exc:
        # Listing and help still work; running says what is missing, without a traceback.
        yield {
            "name": "assemble",
            "doc": "write build/assets.pa and its companions",
            "actions": [(fail_action, [str(exc)])],
            "verbosity": 0,
        }
        return
    snap = run.snapshot
    names: list[str] = []
    # assemble depends on the registry and the declarations (names, preload) directly, and
    # on the inputs only through the asset tasks' cache keys: each input is checked once.
    all_deps: set[str] = {_rel(run.project.registry_path)}
    version = config_changed({"packer_format_version": PAYLOAD_FORMAT_VERSION})
    for asset in snap.build_set():
        deps = asset_deps(run, asset)
        all_deps.update(d for d in deps if os.path.basename(d) == ASSET_FILE)
        name = f"asset-{asset.entry.asset_id}"
        names.append(f"{GROUP}:{name}")
        yield {
            "name": name,
            "doc": f"materialize {asset.entry.root} into the cache",
            "actions": [(materialize_action, [asset.entry.asset_id])],
            "file_dep": deps,
            "uptodate": [version],
            "verbosity": 0,
        }
    yield {
        "name": "assemble",
        "doc": "write build/assets.pa and its companions",
        "actions": [assemble_action],
        "file_dep": sorted(all_deps),
        "targets": [_rel(run.project.build_dir / n) for n in OUTPUT_NAMES],
        "task_dep": names,
        "uptodate": [version, AssetResults(names)],
        "verbosity": 0,
    }


class AssetResults(UptodateCalculator):  # type: ignore[misc]
    """assemble is up to date while every asset task's cache key is what it was when
    assemble last ran (one digest over all of them, saved with assemble's values)."""

    VALUE = "_asset_cache_keys"

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = names

    def _digest(self) -> str:
        keys = []
        for name in self.names:
            result = self.get_val(name, "result:")
            keys.append([name, result.get("cache_key") if isinstance(result, dict) else None])
        return blake3_hex(json.dumps(keys).encode())

    def __call__(self, task: Any, values: dict[str, Any]) -> bool:
        current = self._digest()
        task.value_savers.append(lambda: {self.VALUE: self._digest()})
        return bool(values.get(self.VALUE) == current)

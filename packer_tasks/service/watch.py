"""`watch`: rebuild on change. File events become `asset_changed` packer events, the
runtime's freshness check reports what moved, and a pack follows. It only ever writes
`build/` (through pack); user-authored files are never touched."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..events.sink import OperationEmitter
from ..models.event import AssetRef, EventKind
from ..models.results import PackResult
from ..workspace.project import META_DIR, REGISTRY_FILE
from ..workspace.snapshot import WorkspaceSnapshot

if TYPE_CHECKING:
    from . import PackerService

# How long the watcher waits for a change before yielding an empty batch (ms).
_IDLE_MS = 200
_IGNORED_SUFFIXES = (
    ".tmp",
    ".lock",
    ".gate",
    ".sqlite",
    ".sqlite-wal",
    ".sqlite-shm",
    ".sqlite-journal",
    ".relocation.json",
)


def relevant(path: str) -> bool:
    """Changes that can affect the build: not the packer's own state or temp files."""
    name = Path(path).name
    return not (name.startswith(".") and name.endswith(_IGNORED_SUFFIXES)) and not name.endswith(
        _IGNORED_SUFFIXES
    )


def affected_assets(
    service: PackerService, paths: Iterable[str], snap: WorkspaceSnapshot | None = None
) -> tuple[list[AssetRef], bool]:
    """Map changed paths to registered assets (longest root prefix) of `snap` (default: the
    service's current snapshot); True if the registry itself changed."""
    snap = snap or service.runtime.snapshot_if_loaded() or service.snapshot()
    assets_dir = service.project.assets_dir.resolve()
    roots = sorted(
        ((a.entry.root, a.entry.asset_id) for a in snap.registered), key=lambda r: -len(r[0])
    )
    refs: dict[str, AssetRef] = {}
    registry_changed = False
    for p in paths:
        try:
            rel = Path(p).resolve().relative_to(assets_dir).as_posix()
        except ValueError:
            continue
        if rel == f"{META_DIR}/{REGISTRY_FILE}":
            registry_changed = True
            continue
        for root, asset_id in roots:
            if rel == root or rel.startswith(root + "/"):
                refs.setdefault(root, AssetRef(asset_id=asset_id, root=root))
                break
        else:
            top = rel.split("/")[0]
            if top != META_DIR:
                refs.setdefault(rel, AssetRef(root=rel))
    return list(refs.values()), registry_changed


def declared_changes(
    service: PackerService, paths: Iterable[str], snap: WorkspaceSnapshot
) -> list[str]:
    """The changed paths (relative to assets/) a build reads: the registry, a registered
    asset's asset.json or one of its declared inputs. Other files are not the build's."""
    assets_dir = service.project.assets_dir.resolve()
    declared = {f"{META_DIR}/{REGISTRY_FILE}"}
    for a in snap.registered:
        declared.add(f"{a.entry.root}/asset.json")
        decl = a.loaded.declaration
        declared.update(f"{a.entry.root}/{f}" for f in (decl.input_files() if decl else ()))
    out: list[str] = []
    for p in paths:
        try:
            rel = Path(p).resolve().relative_to(assets_dir).as_posix()
        except ValueError:
            continue
        if rel in declared and rel not in out:
            out.append(rel)
    return sorted(out)


def watch(
    service: PackerService,
    *,
    on_result: Callable[[PackResult], None],
    stop_event: threading.Event | None = None,
    debounce_ms: int = 300,
    max_packs: int | None = None,
    on_change: Callable[[list[str]], None] | None = None,
) -> int:
    """Pack once, then again after every relevant change; returns the number of packs."""
    from watchfiles import watch as watch_files

    em = OperationEmitter(service.sink, service.project.project_id)
    packs = 0
    # The first pack waits for the watcher's first (empty) timeout yield, so the watcher is
    # already live while it runs: an edit saved during or right after that pack is seen.
    for changes in watch_files(
        service.project.assets_dir,
        stop_event=stop_event,
        debounce=debounce_ms,
        step=50,
        rust_timeout=_IDLE_MS,
        yield_on_timeout=True,
        watch_filter=lambda _c, p: relevant(p),
        raise_interrupt=False,
    ):
        if packs == 0:
            on_result(service.pack())
            packs = 1
            if max_packs is not None and packs >= max_packs:
                break
            continue
        if not changes:
            continue
        # Freshness first: the runtime reports what moved (stale/diverged) and, when it
        # auto-reconciles, reloads, so paths map onto the registry as it now is.
        before = service.runtime.snapshot_if_loaded()
        snap = service.snapshot()
        paths = [p for _c, p in changes]
        # Declared by the registry as it was or as it now is (a relocation moves them).
        changed = declared_changes(service, paths, snap)
        if before is not None and before is not snap:
            changed = sorted({*changed, *declared_changes(service, paths, before)})
        if not changed:
            continue  # files no asset declares: nothing to build
        refs, registry_changed = affected_assets(service, paths, snap)
        if not refs and not registry_changed:
            continue
        if on_change is not None:
            on_change(changed)
        for ref in refs:
            em.emit(EventKind.ASSET_CHANGED, f"{ref.root} changed on disk", assets=[ref])
        if registry_changed:
            em.emit(EventKind.ASSET_CHANGED, "the registry changed on disk")
        on_result(service.pack())
        packs += 1
        if max_packs is not None and packs >= max_packs:
            break
    return packs

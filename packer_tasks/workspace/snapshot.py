"""A workspace snapshot: the registry and every asset root as one coherent, immutable view.

Reads are served from a snapshot; writes build a new one. A snapshot also carries a
fingerprint (the stat facts it was built from) so the runtime can tell when files changed
behind it (SPEC §9 freshness).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..allocation import bulk_allocation
from ..models.declaration import ASSET_FILE
from ..models.diagnostic import Diagnostic, error
from ..models.registry import Registry, RegistryEntry
from .declarations import LoadedAsset, load_asset
from .paths import relative_path_problem
from .project import ASSETS_DIR, META_DIR, REGISTRY_FILE, Project
from .registry_store import load_registry
from .scan import find_asset_roots

# (name, size, mtime_ns, ctime_ns, inode): ctime and inode catch a same-size rewrite whose
# mtime was put back (an editor's atomic save, `cp -p`, a revert).
StatFacts = tuple[str, int, int, int, int]
Fingerprint = tuple[StatFacts, ...]


@dataclass(frozen=True)
class RegisteredAsset:
    entry: RegistryEntry
    loaded: LoadedAsset

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        return self.loaded.diagnostics


@dataclass(frozen=True)
class WorkspaceSnapshot:
    project: Project
    registry: Registry | None
    registry_diagnostics: tuple[Diagnostic, ...]
    registered: tuple[RegisteredAsset, ...]
    unregistered: tuple[LoadedAsset, ...] | None  # None when the workspace was not scanned
    fingerprint: Fingerprint = field(default=(), compare=False)

    def find(self, ref: str | int) -> RegisteredAsset | None:
        """By asset_id or root, in O(1): the index is built once per snapshot."""
        return self._by_ref.get(ref)

    @cached_property
    def _by_ref(self) -> dict[str | int, RegisteredAsset]:
        index: dict[str | int, RegisteredAsset] = {}
        for asset in reversed(self.registered):  # the first match wins, as a scan would
            index[asset.entry.root] = asset
            index[asset.entry.asset_id] = asset
        return index

    def build_set(self) -> list[RegisteredAsset]:
        return [a for a in self.registered if a.entry.included_in_build]

    def build_sources(self) -> list[str]:
        """Every file the build set is made from, project-relative (POSIX): the registry,
        each build-set asset.json and each declared input that exists in its root."""
        out = [f"{ASSETS_DIR}/{META_DIR}/{REGISTRY_FILE}"]
        for asset in self.build_set():
            base = f"{ASSETS_DIR}/{asset.entry.root}/"
            loaded = asset.loaded
            if loaded.declaration is not None or loaded.declaration_mtime_ns:
                out.append(base + ASSET_FILE)
            out.extend(base + f.rel for f in loaded.inputs)
        return out

    def source_facts(self) -> dict[str, tuple[int, int, int, int]]:
        """The stat facts the snapshot was made from, keyed like `build_sources`."""
        return {
            (
                f"{ASSETS_DIR}/{META_DIR}/{REGISTRY_FILE}"
                if name == REGISTRY_FILE
                else f"{ASSETS_DIR}/{name}"
            ): (size, mtime, ctime, ino)
            for name, size, mtime, ctime, ino in self.fingerprint
        }


def _stat_key(path: str | Path) -> tuple[int, int, int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (-1, -1, -1, -1)
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def take_snapshot(project: Project, *, scan: bool = False) -> WorkspaceSnapshot:
    """Load the registry and each registered root; with `scan`, also every unregistered root."""
    with bulk_allocation():
        return _take_snapshot(project, scan=scan)


def _take_snapshot(project: Project, *, scan: bool) -> WorkspaceSnapshot:
    registry, reg_diags = load_registry(project.registry_path)
    fp: list[StatFacts] = [(REGISTRY_FILE, *_stat_key(project.registry_path))]
    registered: list[RegisteredAsset] = []
    if registry is not None:
        for entry in registry.assets:
            bad_root = relative_path_problem(entry.root, "registry root")
            if bad_root is not None:  # e.g. '../x': never read files outside assets/
                loaded = LoadedAsset(
                    entry.root,
                    None,
                    (bad_root.model_copy(update={"code": "registry.root_invalid"}),),
                    (),
                    0,
                )
                registered.append(RegisteredAsset(entry, _check_identity(entry, loaded)))
                continue
            loaded = load_asset(project.assets_dir, entry.root)
            loaded = _check_identity(entry, loaded)
            registered.append(RegisteredAsset(entry, loaded))
            fp.append(
                (
                    f"{entry.root}/{ASSET_FILE}",
                    *_stat_key(project.root_dir(entry.root) / ASSET_FILE),
                )
            )
            fp.extend(
                (f"{entry.root}/{f.rel}", f.size, f.mtime_ns, f.ctime_ns, f.ino)
                for f in loaded.inputs
            )
    unregistered: tuple[LoadedAsset, ...] | None = None
    if scan:
        known = {a.entry.root for a in registered}
        unregistered = tuple(
            load_asset(project.assets_dir, root)
            for root in find_asset_roots(project.assets_dir)
            if root not in known
        )
    return WorkspaceSnapshot(
        project, registry, tuple(reg_diags), tuple(registered), unregistered, tuple(fp)
    )


def _check_identity(entry: RegistryEntry, loaded: LoadedAsset) -> LoadedAsset:
    """Locate diagnostics on the asset and flag a uuid that disagrees with the registry."""
    diags = [d.located(entry.asset_id, entry.root) for d in loaded.diagnostics]
    decl = loaded.declaration
    if decl is not None and decl.asset_uuid != entry.asset_uuid:
        diags.append(
            error(
                "asset.uuid_mismatch",
                f"asset.json of {entry.root!r} has asset_uuid {decl.asset_uuid}, "
                f"but the registry holds {entry.asset_uuid} for asset_id "
                f"{entry.asset_id}",
                "restore the original asset.json, or remove and re-register the "
                "asset if it really is a different one",
            ).located(entry.asset_id, entry.root)
        )
    return LoadedAsset(
        loaded.root, loaded.declaration, tuple(diags), loaded.inputs, loaded.declaration_mtime_ns
    )


def current_fingerprint(project: Project, snapshot: WorkspaceSnapshot) -> Fingerprint:
    """Re-stat exactly what the snapshot was built from."""
    assets = str(project.assets_dir)
    registry = str(project.registry_path)
    return tuple(
        (name, *_stat_key(registry if name == REGISTRY_FILE else os.path.join(assets, name)))
        for name, *_facts in snapshot.fingerprint
    )

"""Reads served from the runtime snapshot: list, details, pack summary."""

from __future__ import annotations

from ..families import get_family
from ..models.declaration import (
    ASSET_FILE,
)
from ..models.diagnostic import any_blocking
from ..models.diagnostic_codes import asset_not_found
from ..models.event import AssetRef, EventKind
from ..models.results import (
    AssetDetails,
    AssetDetailsResult,
    InputInfo,
    ListAssetsResult,
    PackSummaryResult,
    Status,
    SummaryEntry,
)
from ..workspace.declarations import load_asset
from ..workspace.paths import relative_path_problem
from ..workspace.snapshot import RegisteredAsset
from .base import ServiceBase, parse_ref


class ReadOps(ServiceBase):
    def list_assets(self) -> ListAssetsResult:
        """Registered and unregistered roots, with build status."""
        em = self.emitter()
        snap = self.snapshot(scan=True)
        rows = [self._summary(a.entry, a.loaded) for a in snap.registered]
        rows += [self._summary(None, u) for u in snap.unregistered or ()]
        for u in snap.unregistered or ():
            em.emit(
                EventKind.ASSET_DISCOVERED,
                f"unregistered asset root {u.root}",
                assets=[AssetRef(root=u.root)],
            )
        n_reg = len(snap.registered)
        n_in = len(snap.build_set())
        status = Status.SUCCESS if snap.registry is not None else Status.FAILED
        return ListAssetsResult(
            runtime_state=self.runtime.state,
            operation="list_assets",
            operation_id=em.operation_id,
            status=status,
            summary=f"{n_reg} registered ({n_in} in the build), "
            f"{len(snap.unregistered or ())} unregistered",
            diagnostics=list(snap.registry_diagnostics),
            blockers=[d for d in snap.registry_diagnostics if d.blocking],
            assets=rows,
        )

    def get_asset_details(self, ref: str | int) -> AssetDetailsResult:
        em = self.emitter()
        snap = self.snapshot()
        key = parse_ref(ref)
        found: RegisteredAsset | None = snap.find(key)
        entry = found.entry if found else None
        if found is not None:
            loaded = found.loaded
        elif (
            isinstance(key, str)
            and relative_path_problem(key, "asset root") is None
            and (self.project.root_dir(key) / ASSET_FILE).exists()
        ):
            loaded = load_asset(self.project.assets_dir, key)
        else:
            diag = asset_not_found(ref)
            return AssetDetailsResult(
                runtime_state=self.runtime.state,
                operation="get_asset_details",
                operation_id=em.operation_id,
                status=Status.FAILED,
                summary=diag.message,
                diagnostics=[diag],
                blockers=[diag],
            )
        decl = loaded.declaration
        sizes = {f.rel: f.size for f in loaded.inputs}
        inputs: list[InputInfo] = []
        if decl is not None:
            for rel in decl.input_files():
                roles = [r for r, paths in decl.inputs.items() if rel in paths]
                inputs.append(
                    InputInfo(file=rel, roles=roles, size=sizes.get(rel), exists=rel in sizes)
                )
        base = self._summary(entry, loaded)
        details = AssetDetails(
            **base.model_dump(),
            declaration=decl.to_json_dict() if decl else None,
            inputs=inputs,
            output=decl.output.model_dump(mode="json") if decl else None,
            preload=decl.preload.model_dump(mode="json", exclude_none=True) if decl else None,
            last_modified=loaded.last_modified_ms,
        )
        return AssetDetailsResult(
            runtime_state=self.runtime.state,
            operation="get_asset_details",
            operation_id=em.operation_id,
            status=Status.SUCCESS,
            summary=f"{loaded.root}: {base.family or 'unreadable'}, "
            f"{base.artifact_count} artifact(s)" + (", blocked" if base.blocking else ""),
            affected_assets=[AssetRef(asset_id=base.asset_id, root=loaded.root)],
            diagnostics=list(loaded.diagnostics),
            blockers=[d for d in loaded.diagnostics if d.blocking],
            asset=details,
        )

    def pack_summary(self) -> PackSummaryResult:
        """The build set at a glance, from the snapshot only (no PNG/WAV decoding)."""
        em = self.emitter()
        snap = self.snapshot()
        rows: list[SummaryEntry] = []
        for asset in snap.build_set():
            decl = asset.loaded.declaration
            family = get_family(decl.type) if decl else None
            rows.append(
                SummaryEntry(
                    asset_id=asset.entry.asset_id,
                    name=decl.name if decl else asset.entry.root,
                    family=decl.type if decl else "unknown",
                    min_artifact_count=family.min_artifacts if family else 0,
                    max_artifact_count=family.max_artifacts(decl) if family else 0,
                    last_modified=asset.loaded.last_modified_ms,
                )
            )
        registry_blocked = any_blocking(snap.registry_diagnostics)
        return PackSummaryResult(
            runtime_state=self.runtime.state,
            operation="pack_summary",
            operation_id=em.operation_id,
            status=Status.BLOCKED if registry_blocked else Status.SUCCESS,
            summary=f"{len(rows)} asset(s) in the build set",
            total=len(rows),
            assets=rows,
            diagnostics=list(snap.registry_diagnostics),
            blockers=[d for d in snap.registry_diagnostics if d.blocking],
        )

"""Reads served from the runtime snapshot: list, details, pack summary."""

from __future__ import annotations

from ..families import get_family
from ..models.declaration import (
    ASSET_FILE,
)
from ..models.diagnostic import Diagnostic, any_blocking
from ..models.event import AssetRef, EventKind
from ..models.results import (
    AssetDetails,
    AssetDetailsResult,
    AssetSummary,
    InputInfo,
    ListAssetsResult,
    PackSummaryResult,
    Status,
    SummaryEntry,
)
from ..pipeline.session import BuildSession
from ..workspace.declarations import LoadedAsset, load_asset
from ..workspace.lane import read_lane
from ..workspace.paths import relative_path_problem
from ..workspace.quarantine import QuarantineRecord, read_records
from ..workspace.snapshot import (
    RegisteredAsset,
    WorkspaceSnapshot,
    current_fingerprint,
    take_snapshot,
)
from .asset_checks import loaded_verdict, registered_verdicts
from .base import ServiceBase, parse_ref


def plural(n: int, noun: str) -> str:
    """`1 asset`, `2 assets`: counts that read as words."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _quarantined_row(record: QuarantineRecord) -> AssetSummary:
    """A quarantined root, listed and marked: out of the build until restored."""
    return AssetSummary(
        asset_id=record.asset_id,
        asset_uuid=record.asset_uuid,
        root=record.original_root,
        name=record.asset_name,
        family=None,
        registered=False,
        included_in_build=False,
        quarantined=True,
        artifact_count=len(record.files),
        blocking=False,
    )


class ReadOps(ServiceBase):
    def list_assets(self, *, check: bool = True) -> ListAssetsResult:
        """Registered, unregistered and quarantined roots, with build status. With `check`
        each state is the gate's verdict (cache hits skip decoding); without it only
        declarations are read and rows say `checked: false`."""
        em = self.emitter()
        # Declarations and contents read under one shared lane: never half a write.
        with read_lane(self.project.lock_path, self.lane_timeout):
            snap = take_snapshot(self.project, scan=True)
            rows = self._registered_rows(snap, check)
            unregistered = [
                (u, loaded_verdict(self.project.root_dir(u.root), u) if check else None)
                for u in snap.unregistered or ()
            ]
        for u, verdict in unregistered:
            rows.append(self._verdict_row(self._summary(None, u), verdict))
            em.emit(
                EventKind.ASSET_DISCOVERED,
                f"unregistered asset root {u.root}",
                assets=[AssetRef(root=u.root)],
            )
        records, record_problems = read_records(self.project)
        rows += [_quarantined_row(r) for r in records]
        n_reg = len(snap.registered)
        n_in = len(snap.build_set())
        n_blocked = sum(1 for r in rows if r.blocking and r.registered)
        status = Status.SUCCESS if snap.registry is not None else Status.FAILED
        summary = (
            f"{plural(n_reg, 'registered asset')} ({n_in} in the build), "
            f"{len(snap.unregistered or ())} unregistered"
        )
        if records:
            summary += f", {len(records)} quarantined"
        if check:
            summary += f"; {n_blocked} blocked" if n_blocked else "; all checked, none blocked"
        else:
            summary += "; contents not checked (run without --quick, or `validate`)"
        diagnostics = list(snap.registry_diagnostics) + record_problems
        return ListAssetsResult(
            runtime_state=self.runtime.state,
            operation="list_assets",
            operation_id=em.operation_id,
            status=status,
            summary=summary,
            diagnostics=diagnostics,
            blockers=[d for d in diagnostics if d.blocking],
            assets=rows,
        )

    def _registered_rows(self, snap: WorkspaceSnapshot, check: bool) -> list[AssetSummary]:
        if not check:
            return [self._summary(a.entry, a.loaded) for a in snap.registered]
        with BuildSession(self.project, self.cache_config, self.emitter()) as session:
            verdicts = registered_verdicts(snap, snap.registered, session)
        return [
            self._verdict_row(self._summary(a.entry, a.loaded), verdicts[a.entry.asset_id])
            for a in snap.registered
        ]

    @staticmethod
    def _verdict_row(row: AssetSummary, verdict: list[Diagnostic] | None) -> AssetSummary:
        if verdict is None:
            return row
        codes = list(dict.fromkeys(d.code for d in verdict if d.blocking))
        return row.model_copy(update={"blocking": bool(codes), "checked": True, "problems": codes})

    def get_asset_details(self, ref: str | int) -> AssetDetailsResult:
        """One asset with the gate's verdict on it (what `validate` would say)."""
        em = self.emitter()
        key = parse_ref(ref)
        snap = self.snapshot()
        loaded: LoadedAsset | None = None
        # The declaration and the bytes checked are read under one shared lane.
        with read_lane(self.project.lock_path, self.lane_timeout):
            # A write landed since the runtime's view: read it whole (unless the host asked
            # to see a stale view reported rather than reloaded).
            stale = current_fingerprint(self.project, snap) != snap.fingerprint
            if stale and self.runtime.auto_reconcile:
                snap = take_snapshot(self.project)
            found: RegisteredAsset | None = snap.find(key)
            entry = found.entry if found else None
            if found is not None:
                loaded = found.loaded
                with BuildSession(self.project, self.cache_config, em) as session:
                    verdict = registered_verdicts(snap, [found], session)[found.entry.asset_id]
            elif (
                isinstance(key, str)
                and relative_path_problem(key, "asset root") is None
                and (self.project.root_dir(key) / ASSET_FILE).exists()
            ):
                loaded = load_asset(self.project.assets_dir, key)
                verdict = loaded_verdict(self.project.root_dir(key), loaded)
        if loaded is None:
            diag = self.not_found(ref, [a.entry.root for a in snap.registered])
            return AssetDetailsResult(
                runtime_state=self.runtime.state,
                operation="get_asset_details",
                operation_id=em.operation_id,
                status=Status.BLOCKED,
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
        base = self._verdict_row(self._summary(entry, loaded), verdict)
        details = AssetDetails(
            **base.model_dump(),
            declaration=decl.to_json_dict() if decl else None,
            inputs=inputs,
            output=decl.output.model_dump(mode="json") if decl else None,
            preload=decl.preload.model_dump(mode="json", exclude_none=True) if decl else None,
            last_modified=loaded.last_modified_ms,
        )
        blockers = [d for d in verdict if d.blocking]
        return AssetDetailsResult(
            runtime_state=self.runtime.state,
            operation="get_asset_details",
            operation_id=em.operation_id,
            status=Status.BLOCKED if blockers else Status.SUCCESS,
            summary=f"{loaded.root}: {base.family or 'unreadable'}, "
            f"{plural(base.artifact_count, 'artifact')}"
            + (f", blocked by {plural(len(blockers), 'problem')}" if blockers else ", packable"),
            affected_assets=[AssetRef(asset_id=base.asset_id, root=loaded.root)],
            diagnostics=verdict,
            blockers=blockers,
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
            summary=f"{plural(len(rows), 'asset')} in the build set",
            total=len(rows),
            assets=rows,
            diagnostics=list(snap.registry_diagnostics),
            blockers=[d for d in snap.registry_diagnostics if d.blocking],
        )

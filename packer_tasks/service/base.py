"""What every operation shares: project, sink, runtime, the write lane, mutation plumbing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..events.sink import EventSink, NullSink, OperationEmitter
from ..models.diagnostic import Diagnostic, any_blocking
from ..models.diagnostic_codes import asset_not_found, io_failed, lane_busy
from ..models.event import AssetRef, EventKind
from ..models.registry import Registry, RegistryEntry
from ..models.results import (
    Action,
    AssetSummary,
    MutationResult,
    OperationResult,
    RuntimeState,
    Status,
)
from ..workspace import journal
from ..workspace.declarations import LoadedAsset
from ..workspace.lane import LaneBusy, read_lane, write_lane
from ..workspace.paths import normalize_root
from ..workspace.project import Project
from ..workspace.registry_store import load_registry
from ..workspace.settings import CacheConfig, resolve_cache
from ..workspace.snapshot import WorkspaceSnapshot, take_snapshot
from .runtime import ProjectRuntime
from .suggest import suggestions

# Packer-owned state kept beside the registry; never committed.
PACKER_STATE_IGNORES = b".write.lock*\n.digests.sqlite*\n.relocation.json\n.build-manifest.json*\n"


def applied(
    em: OperationEmitter,
    operation: str,
    actions: list[Action],
    refs: list[AssetRef],
    *,
    summary: str,
    diagnostics: list[Diagnostic] | None = None,
    asset: AssetSummary | None = None,
) -> MutationResult:
    """The result of a mutation that ran: what it changed (`actions`, possibly none)."""
    return MutationResult(
        operation=operation,
        operation_id=em.operation_id,
        status=Status.SUCCESS,
        applied_actions=actions,
        affected_assets=refs,
        summary=summary,
        diagnostics=diagnostics or [],
        asset=asset,
    )


def preview(
    em: OperationEmitter,
    operation: str,
    actions: list[Action],
    refs: list[AssetRef],
    *,
    summary: str,
    diagnostics: list[Diagnostic] | None = None,
) -> MutationResult:
    """The result of a sensitive mutation asked without consent: what would change."""
    result = applied(em, operation, [], refs, summary=summary, diagnostics=diagnostics)
    return result.model_copy(update={"status": Status.PREVIEW, "proposed_actions": actions})


class OperationError(Exception):
    """A mutation that cannot proceed; carries the blocking diagnostics for the result."""

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = list(diagnostics)


def parse_ref(ref: str | int) -> str | int:
    """CLI addressing: a number is an asset_id, anything else a root relative to assets/."""
    if isinstance(ref, int):
        return ref
    text = ref.strip()
    return int(text) if text.isdigit() else normalize_root(text)


class ServiceBase:
    """One project's packer. Construct with the host's event sink to receive its events."""

    def __init__(
        self,
        project: Project,
        sink: EventSink | None = None,
        lane_timeout: float = 120.0,
        cache: CacheConfig | None = None,
    ) -> None:
        self.project = project
        self.sink: EventSink = sink if sink is not None else NullSink()
        self.lane_timeout = lane_timeout
        self.cache_config = cache if cache is not None else resolve_cache(project)
        self._runtime_emitter = OperationEmitter(self.sink, project.project_id)
        self.runtime = ProjectRuntime(project, notify=self._on_runtime_state)

    def _on_runtime_state(self, old: RuntimeState, new: RuntimeState, why: str) -> None:
        self._runtime_emitter.emit(
            EventKind.RUNTIME_STATE_CHANGED,
            f"runtime {old.value} → {new.value}: {why}",
            data={"from": old.value, "to": new.value},
        )

    # -- plumbing -----------------------------------------------------------------------

    def emitter(self) -> OperationEmitter:
        return OperationEmitter(self.sink, self.project.project_id)

    def snapshot(self, *, scan: bool = False) -> WorkspaceSnapshot:
        """The current view for reads: the runtime's snapshot, or a fresh workspace scan."""
        if not scan:
            return self.runtime.snapshot()
        with read_lane(self.project.lock_path, self.lane_timeout):
            return take_snapshot(self.project, scan=True)

    def lane(self) -> Any:
        return write_lane(self.project.lock_path, self.lane_timeout)

    def _recover_workspace(self) -> None:
        """Finish what a killed mutation left half-done (call inside the write lane)."""
        if journal.journal_path(self.project).exists():
            journal.recover(self.project, load_registry(self.project.registry_path)[0])
        # A writer killed mid-write leaves its temp file; we hold the lane, so none is live.
        for tmp in self.project.meta_dir.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)

    def _registry_for_write(self) -> Registry:
        registry, diags = load_registry(self.project.registry_path)
        blocking = [d for d in diags if d.blocking]
        if registry is None or blocking:
            raise OperationError(blocking or diags)
        return registry

    def _resolve(self, registry: Registry, ref: str | int) -> RegistryEntry:
        key = parse_ref(ref)
        entry = registry.by_id(key) if isinstance(key, int) else registry.by_root(key)
        if entry is None:
            raise OperationError([self.not_found(ref, [e.root for e in registry.assets])])
        return entry

    def not_found(self, ref: str | int, roots: Sequence[str]) -> Diagnostic:
        """The one "no such asset" every command reports, with close roots as suggestions."""
        return asset_not_found(ref, suggestions(str(parse_ref(ref)), roots))

    def _finish(self, em: OperationEmitter, result: OperationResult) -> OperationResult:
        result.runtime_state = self.runtime.state
        refs = result.affected_assets
        if result.status is Status.PREVIEW:
            em.emit(EventKind.PREVIEW_READY, result.summary, assets=refs)
        elif result.status is Status.SUCCESS:  # also when nothing needed changing
            em.emit(
                EventKind.ACTION_APPLIED,
                result.summary,
                assets=refs,
                data={"changed": bool(result.applied_actions)},
            )
        else:
            em.emit(EventKind.ACTION_FAILED, result.summary, assets=refs)
        return result

    def _mutation(self, operation: str, em: OperationEmitter, body: Any) -> MutationResult:
        """Run `body()` in the write lane; OperationError becomes a blocked result."""
        try:
            with self.lane():
                self.runtime.committing()
                ok = False
                try:
                    self._recover_workspace()
                    result: MutationResult = body()
                    ok = True
                except OperationError:
                    ok = True  # refused before writing anything
                    raise
                finally:
                    self.runtime.committed(ok)
        except LaneBusy as exc:
            diag = lane_busy(str(exc))
            result = MutationResult(
                operation=operation,
                operation_id=em.operation_id,
                status=Status.FAILED,
                summary=diag.message,
                diagnostics=[diag],
                blockers=[diag],
            )
        except OperationError as exc:
            result = MutationResult(
                operation=operation,
                operation_id=em.operation_id,
                status=Status.BLOCKED,
                summary=f"{operation} refused: {exc.diagnostics[0].message}",
                diagnostics=exc.diagnostics,
                blockers=exc.diagnostics,
            )
        except OSError as exc:
            diag = io_failed(operation, exc)
            result = MutationResult(
                operation=operation,
                operation_id=em.operation_id,
                status=Status.FAILED,
                summary=diag.message,
                diagnostics=[diag],
                blockers=[diag],
            )
        self._finish(em, result)
        return result

    def _summary(self, entry: RegistryEntry | None, loaded: LoadedAsset) -> AssetSummary:
        decl = loaded.declaration
        return AssetSummary(
            asset_id=entry.asset_id if entry else None,
            asset_uuid=entry.asset_uuid if entry else (decl.asset_uuid if decl else None),
            root=loaded.root,
            name=decl.name if decl else None,
            family=decl.type if decl else None,
            registered=entry is not None,
            included_in_build=bool(entry and entry.included_in_build),
            artifact_count=len(decl.artifacts) if decl else 0,
            blocking=any_blocking(loaded.diagnostics),
        )

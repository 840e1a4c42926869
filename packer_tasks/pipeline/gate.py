"""The pack gate: which build-set assets block, without reading input bytes (structural)
and with them (family decoding), shared by `validate`, `pack` and `doctor`."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..artifact.preload import PreloadRequest, assign_preload
from ..events.sink import OperationEmitter
from ..families import get_family
from ..models.diagnostic import Diagnostic, any_blocking
from ..models.event import AssetRef, EventKind
from ..workspace.snapshot import RegisteredAsset, WorkspaceSnapshot
from .materialize import Materializer


@dataclass
class GateReport:
    """Blocking findings keyed by asset_id (0 for project-wide ones such as the registry)."""

    by_asset: dict[int, list[Diagnostic]] = field(default_factory=dict)

    def add(self, asset_id: int, diags: list[Diagnostic]) -> None:
        blocking = [d for d in diags if d.blocking]
        if blocking:
            self.by_asset.setdefault(asset_id, []).extend(blocking)

    @property
    def blocked(self) -> bool:
        return bool(self.by_asset)

    def all(self) -> list[Diagnostic]:
        return [d for k in sorted(self.by_asset) for d in self.by_asset[k]]


def structural_gate(snap: WorkspaceSnapshot) -> GateReport:
    """Registry and declaration problems plus preload clashes; no input bytes are read."""
    report = GateReport()
    report.add(0, list(snap.registry_diagnostics))
    for asset in snap.build_set():
        report.add(asset.entry.asset_id, list(asset.diagnostics))
    _, preload_diags = preload_for(snap.build_set())
    for d in preload_diags:
        report.add(d.asset_id or 0, [d])
    return report


def preload_for(assets: list[RegisteredAsset]) -> tuple[list[dict[str, int]], list[Diagnostic]]:
    requests = []
    for a in assets:
        decl = a.loaded.declaration
        family = get_family(decl.type) if decl else None
        if decl is None or family is None or not decl.preload.enabled:
            continue
        requests.append(
            PreloadRequest(a.entry.asset_id, a.entry.root, family.bank_type, decl.preload.slot)
        )
    return assign_preload(requests)


def packable(asset: RegisteredAsset) -> bool:
    return asset.loaded.declaration is not None and not any_blocking(asset.diagnostics)


def content_diagnostics(
    assets: list[RegisteredAsset], materializer: Materializer, em: OperationEmitter
) -> list[Diagnostic]:
    """Decode each packable asset (cache hits skip decoding) and return family findings,
    reporting progress per asset. Shared by `validate` and `doctor`."""
    out: list[Diagnostic] = []
    to_decode = [a for a in assets if packable(a)]
    for n, asset in enumerate(to_decode, 1):
        em.emit(
            EventKind.PROGRESS_UPDATED,
            f"checking the contents of {asset.entry.root}",
            progress=(n, len(to_decode)),
            assets=[AssetRef(asset_id=asset.entry.asset_id, root=asset.entry.root)],
        )
        out += materializer.materialize(asset, want_payload=False).diagnostics
    return out

"""The Assets workspace: `list_assets` rows joined with `doctor --workspace` findings.

Both are service reads; the badges are doctor's counts and blocking flag (doctor's blocking
findings are exactly the pack gate's, so a red badge is what `validate` would say). While a
pack holds the write lane, a workspace read would wait for it, so the last view is served
instead, marked `busy`, and refreshed when the pack ends.
"""

from __future__ import annotations

import threading
from typing import Any

from ..models.declaration import AssetDeclaration
from ..models.results import AssetSummary, DoctorAssetReport, DoctorResult, ListAssetsResult
from ..service import PackerService, parse_ref


class WorkspaceView:
    """Builds (and remembers the last of) the workspace view for one Studio."""

    def __init__(self, service: PackerService) -> None:
        self.service = service
        self._lock = threading.Lock()
        self._last: dict[str, Any] | None = None
        self.doctor: DoctorResult | None = None

    def current(self, *, busy: bool) -> dict[str, Any]:
        """A fresh view; while `busy` (a pack running), the last one if there is one."""
        if busy:
            with self._lock:
                if self._last is not None:
                    return {**self._last, "busy": True}
        listed = self.service.list_assets()
        doctor = self.service.doctor(workspace=True)
        view = build_view(listed, doctor)
        with self._lock:
            self._last, self.doctor = view, doctor
        return {**view, "busy": busy}

    def findings(self, root: str) -> list[dict[str, Any]]:
        """Doctor's findings for one root from the last view (details panel)."""
        with self._lock:
            doctor = self.doctor
        if doctor is None:
            return []
        report = next((r for r in doctor.assets if r.root == root), None)
        return [d.model_dump(mode="json") for d in report.diagnostics] if report else []


def _badge(report: DoctorAssetReport | None) -> dict[str, Any]:
    if report is None:
        return {"errors": 0, "warnings": 0, "infos": 0, "blocking": False}
    return {
        "errors": report.errors,
        "warnings": report.warnings,
        "infos": report.infos,
        "blocking": any(d.blocking for d in report.diagnostics),
    }


def build_state(asset: AssetSummary) -> str:
    """The build column, in the words `list` uses."""
    if asset.quarantined:
        return "quarantined"
    if asset.included_in_build:
        return "included"
    return "excluded" if asset.registered else "unregistered"


def build_view(listed: ListAssetsResult, doctor: DoctorResult) -> dict[str, Any]:
    """One row per asset root with its badge; the project-level findings beside them."""
    reports = {r.root: r for r in doctor.assets}
    rows = []
    for asset in listed.assets:
        row = asset.model_dump(mode="json")
        row["badge"] = _badge(reports.get(asset.root))
        row["build"] = build_state(asset)
        rows.append(row)
    return {
        "summary": listed.summary,
        "doctor_summary": doctor.summary,
        "blocking": doctor.blocking,
        "runtime_state": doctor.runtime_state.value,
        "assets": rows,
        "project": [d.model_dump(mode="json") for d in doctor.project],
        # What `list` found about the project that doctor did not already say.
        "diagnostics": [
            d.model_dump(mode="json")
            for d in listed.diagnostics
            if (d.code, d.message) not in {(p.code, p.message) for p in doctor.project}
        ],
    }


def input_rows(decl: AssetDeclaration, sizes: dict[str, int]) -> list[dict[str, Any]]:
    """The inputs table: every declared file, its roles, and its size when it exists."""
    return [
        {
            "file": rel,
            "roles": [r for r, paths in decl.inputs.items() if rel in paths],
            "size": sizes.get(rel),
            "exists": rel in sizes,
        }
        for rel in decl.input_files()
    ]


def snapshot_details(
    service: PackerService, ref: str, view: WorkspaceView
) -> dict[str, Any] | None:
    """Details of a registered asset while a pack holds the write lane.

    `get_asset_details` reads under the shared lane, so it waits for the pack to end. The
    runtime's in-memory snapshot (the view the pack itself started from) and doctor's last
    findings answer at once instead, marked as such; the page asks the service again when
    the pack is over. None when the snapshot does not hold the asset.
    """
    snap = service.runtime.snapshot_if_loaded()
    found = snap.find(parse_ref(ref)) if snap is not None and ref else None
    if found is None:
        return None
    entry, loaded = found.entry, found.loaded
    decl = loaded.declaration
    findings = view.findings(entry.root)
    inputs = input_rows(decl, {f.rel: f.size for f in loaded.inputs}) if decl else []
    asset = {
        "asset_id": entry.asset_id,
        "asset_uuid": entry.asset_uuid,
        "root": entry.root,
        "name": decl.name if decl else None,
        "family": decl.type if decl else None,
        "registered": True,
        "included_in_build": entry.included_in_build,
        "artifact_count": len(decl.artifacts) if decl else 0,
        "blocking": any(d["blocking"] for d in findings),
        "declaration": decl.to_json_dict() if decl else None,
        "inputs": inputs,
        "output": decl.output.model_dump(mode="json") if decl else None,
        "preload": decl.preload.model_dump(mode="json", exclude_none=True) if decl else None,
    }
    return {
        "status": "success",
        "summary": f"{entry.root}: from the runtime snapshot while a pack runs",
        "runtime_state": service.runtime.state.value,
        "diagnostics": findings,
        "findings": findings,
        "asset": asset,
        "while_packing": True,
    }

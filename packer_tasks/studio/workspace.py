"""The Assets workspace: `list_assets` rows joined with `doctor --workspace` findings.

Both are service reads; the badges are doctor's counts and blocking flag (doctor's blocking
findings are exactly the pack gate's, so a red badge is what `validate` would say). While a
pack holds the write lane, a workspace read would wait for it, so the last view is served
instead, marked `busy`, and refreshed when the pack ends.
"""

from __future__ import annotations

import threading
from typing import Any

from ..models.results import AssetSummary, DoctorAssetReport, DoctorResult, ListAssetsResult
from ..service import PackerService


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
        "diagnostics": [d.model_dump(mode="json") for d in listed.diagnostics],
    }

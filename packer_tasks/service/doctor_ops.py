"""Doctor operations (SPEC §7): run the diagnosis, preview and apply the safe fixes.

What doctor finds and which fixes it plans is computed in `packer_tasks/doctor/`; this
mixin takes the snapshot, opens the build session, applies fixes in the write lane and
publishes the events.
"""

from __future__ import annotations

from dataclasses import replace

from prometeu_cache.digests import DigestMemo

from ..doctor.fixes import IDENTITY_FIXES, PlannedFix, apply_fixes, consented, plan_fixes
from ..doctor.report import doctor_result, findings
from ..events.sink import OperationEmitter
from ..models.diagnostic_codes import io_failed, lane_busy
from ..models.event import EventKind
from ..models.results import Action, DoctorResult, Status
from ..pipeline.session import BuildSession
from ..workspace.lane import LaneBusy
from ..workspace.quarantine import quarantined_ids, read_records
from ..workspace.snapshot import take_snapshot
from .base import ServiceBase


class DoctorOps(ServiceBase):
    def _diagnose(
        self, em: OperationEmitter, *, workspace: bool, use_cache: bool
    ) -> tuple[DoctorResult, list[PlannedFix]]:
        """The doctor pass. Without `use_cache` nothing at all is written (a fix preview)."""
        project = self.project
        snap = self.snapshot(scan=workspace)
        records, _ = read_records(project)
        fixes = plan_fixes(project, snap, quarantined_ids(records))
        config = self.cache_config if use_cache else replace(self.cache_config, directory=None)
        memo = None if use_cache else DigestMemo(None)  # in memory only: nothing is written
        with BuildSession(project, config, em, memo) as session:
            diags = findings(project, snap, session, em, records, workspace=workspace)
        result = doctor_result(
            snap,
            diags,
            fixes,
            records,
            operation_id=em.operation_id,
            workspace=workspace,
            runtime_state=self.runtime.state,
        )
        return result, fixes

    def doctor(self, *, workspace: bool = False) -> DoctorResult:
        """Diagnose the registered world (or, with `workspace`, all of assets/): read-only
        apart from warming the cache."""
        em = self.emitter()
        result, _ = self._diagnose(em, workspace=workspace, use_cache=True)
        em.emit(
            EventKind.DIAGNOSTICS_UPDATED,
            result.summary,
            assets=result.affected_assets,
            data=dict(result.counts),
        )
        return result

    def doctor_fix(
        self, *, apply: bool = False, workspace: bool = False, drop_missing: bool = False
    ) -> DoctorResult:
        """`doctor --fix` previews (writes nothing, not even cache); with `apply`, fixes in
        the write lane. The safe set never changes which ids exist: dropping the entry of a
        root found nowhere needs `drop_missing` too.

        Applying re-plans from a fresh snapshot inside the write lane, then re-runs doctor so
        the result shows what is left.
        """
        em = self.emitter()
        if not apply:
            return self._preview_fixes(em, workspace=workspace)
        try:
            actions = self._apply_fixes(workspace=workspace, drop_missing=drop_missing)
        except (OSError, RuntimeError, LaneBusy) as exc:
            return _fixes_failed(em, exc, workspace=workspace)
        after, _ = self._diagnose(em, workspace=workspace, use_cache=True)
        n = len(actions)
        summary = (f"applied {n} fix{'' if n == 1 else 'es'}" if actions else "no fix applied") + (
            f"; now {after.summary}"
        )
        if actions:
            em.emit(EventKind.ACTION_APPLIED, summary, assets=after.affected_assets)
        return after.model_copy(
            update={
                "operation": "doctor_fix",
                "summary": summary,
                "applied_actions": actions,
                "operation_id": em.operation_id,
            }
        )

    def _preview_fixes(self, em: OperationEmitter, *, workspace: bool) -> DoctorResult:
        """Doctor's findings plus the fixes it would apply; nothing is written."""
        result, fixes = self._diagnose(em, workspace=workspace, use_cache=False)
        safe = [f for f in fixes if f.fix_id not in IDENTITY_FIXES]
        drops = len(fixes) - len(safe)
        files = sorted({f.action.path or "" for f in safe})
        summary = (
            f"{len(safe)} safe fix{'' if len(safe) == 1 else 'es'} would change "
            f"{len(files)} file{'' if len(files) == 1 else 's'}; pass --yes to apply them"
            if safe
            else "no safe fix applies"
        )
        if drops:
            summary += (
                f"; {drops} registry entr{'y' if drops == 1 else 'ies'} whose root is gone "
                "would be dropped only with --yes --drop-missing (their ids are retired)"
            )
        summary += f" ({result.summary})"
        result = result.model_copy(
            update={
                "operation": "doctor_fix",
                "summary": summary,
                "status": Status.PREVIEW if fixes else result.status,
            }
        )
        if fixes:
            em.emit(EventKind.PREVIEW_READY, summary, assets=result.affected_assets)
        return result

    def _apply_fixes(self, *, workspace: bool, drop_missing: bool) -> list[Action]:
        """Plan the fixes again inside the write lane, from a fresh snapshot, and apply them."""
        project = self.project
        with self.lane():
            self.runtime.committing()
            try:
                snap = take_snapshot(project, scan=workspace)
                records, _ = read_records(project)
                planned = plan_fixes(project, snap, quarantined_ids(records))
                return apply_fixes(project, consented(planned, drop_missing=drop_missing))
            finally:
                self.runtime.committed()


def _fixes_failed(
    em: OperationEmitter, exc: OSError | RuntimeError | LaneBusy, *, workspace: bool
) -> DoctorResult:
    """The result of fixes that could not be applied: the lane was busy or a write failed."""
    diag = (
        lane_busy(str(exc))
        if isinstance(exc, LaneBusy)
        else io_failed("applying fixes", exc if isinstance(exc, OSError) else str(exc))
    )
    em.emit(EventKind.ACTION_FAILED, diag.message)
    return DoctorResult(
        operation="doctor_fix",
        operation_id=em.operation_id,
        status=Status.FAILED,
        summary=diag.message,
        workspace=workspace,
        diagnostics=[diag],
        blockers=[diag],
        project=[diag],
    )

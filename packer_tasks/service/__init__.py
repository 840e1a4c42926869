"""The per-project service: every operation of SPEC §6 as a method with a pydantic result.

Front ends (CLI, doit, an editor) call these and render the results and events; they never
re-derive packer semantics. Mutations run inside the project's write lane and re-read the
registry there, so a preview computed earlier can never be applied against stale state.
"""

from __future__ import annotations

from ..models.results import DoctorResult, MutationResult
from .base import PACKER_STATE_IGNORES, OperationError, ServiceBase, parse_ref
from .build_ops import BuildOps
from .cache_ops import CacheOps
from .read_ops import ReadOps
from .workspace_ops import WorkspaceOps

__all__ = ["PACKER_STATE_IGNORES", "OperationError", "PackerService", "ServiceBase", "parse_ref"]


class PackerService(WorkspaceOps, ReadOps, BuildOps, CacheOps):
    """One project's packer. Construct with the host's event sink to receive its events."""

    # -- doctor and hygiene (implemented in packer_tasks/doctor/) ------------------------

    def doctor(self, *, workspace: bool = False) -> DoctorResult:
        """Diagnose the registered world (or, with `workspace`, all of assets/)."""
        from ..doctor import run_doctor

        return run_doctor(self, workspace=workspace)

    def doctor_fix(self, *, apply: bool = False, workspace: bool = False) -> DoctorResult:
        """Preview (or, with `apply`, apply in the write lane) the safe mechanical fixes."""
        from ..doctor import run_fixes

        return run_fixes(self, apply=apply, workspace=workspace)

    def quarantine_asset(self, ref: str | int, *, apply: bool = False) -> MutationResult:
        """Move a root into assets/.prometeu/quarantine/, reversibly; excluded from builds."""
        from ..doctor.quarantine import quarantine

        return quarantine(self, ref, apply=apply)

    def restore_asset(self, ref: str, *, apply: bool = False) -> MutationResult:
        """Bring a quarantined root back byte-for-byte, with its identity."""
        from ..doctor.quarantine import restore

        return restore(self, ref, apply=apply)

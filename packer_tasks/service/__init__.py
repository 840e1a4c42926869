"""The per-project service: every operation of SPEC §6 as a method with a pydantic result.

Front ends (CLI, doit, an editor) call these and render the results and events; they never
re-derive packer semantics. Mutations run inside the project's write lane and re-read the
registry there, so a preview computed earlier can never be applied against stale state.
"""

from __future__ import annotations

from .base import PACKER_STATE_IGNORES, OperationError, ServiceBase, parse_ref
from .build_ops import BuildOps
from .cache_ops import CacheOps
from .doctor_ops import DoctorOps
from .edit_ops import EditOps
from .quarantine_ops import QuarantineOps
from .read_ops import ReadOps
from .workspace_ops import WorkspaceOps

__all__ = ["PACKER_STATE_IGNORES", "OperationError", "PackerService", "ServiceBase", "parse_ref"]


class PackerService(WorkspaceOps, EditOps, QuarantineOps, ReadOps, DoctorOps, BuildOps, CacheOps):
    """One project's packer. Construct with the host's event sink to receive its events."""

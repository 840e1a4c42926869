"""Request/result models of SPEC §6. Every result carries the shared structured fields."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .diagnostic import Diagnostic
from .event import AssetRef


class RuntimeState(StrEnum):
    HEALTHY = "healthy"
    STALE = "stale"
    DIVERGED = "diverged"
    COMMITTING = "committing"
    RECONCILING = "reconciling"
    FAILED = "failed"


class Status(StrEnum):
    SUCCESS = "success"
    BLOCKED = "blocked"
    FAILED = "failed"
    PREVIEW = "preview"


class Action(BaseModel):
    """One change a mutation or fix proposes or applied, file by file."""

    model_config = ConfigDict(frozen=True)

    kind: str
    description: str
    path: str | None = None
    target: str | None = None


class OperationResult(BaseModel):
    """Fields every operation's result shares; front ends render these and nothing else."""

    operation: str
    operation_id: str
    status: Status
    summary: str
    runtime_state: RuntimeState = RuntimeState.HEALTHY
    affected_assets: list[AssetRef] = Field(default_factory=list)
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    proposed_actions: list[Action] = Field(default_factory=list)
    applied_actions: list[Action] = Field(default_factory=list)
    blockers: list[Diagnostic] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in (Status.SUCCESS, Status.PREVIEW)


class InputInfo(BaseModel):
    file: str
    roles: list[str]
    size: int | None
    exists: bool


class AssetSummary(BaseModel):
    """One line of `list`: identity, place and build status."""

    asset_id: int | None
    asset_uuid: str | None
    root: str
    name: str | None
    family: str | None
    registered: bool
    included_in_build: bool
    quarantined: bool = False
    artifact_count: int
    blocking: bool
    # True when `blocking` is the gate's verdict (inputs decoded or found in the cache);
    # False when only the declaration was read (`list --quick`, mutation results).
    checked: bool = False
    # The codes of its blocking diagnostics, as `validate` reports them.
    problems: list[str] = Field(default_factory=list)


class AssetDetails(AssetSummary):
    declaration: dict[str, Any] | None
    inputs: list[InputInfo]
    output: dict[str, Any] | None
    preload: dict[str, Any] | None
    last_modified: int


class ListAssetsResult(OperationResult):
    assets: list[AssetSummary] = Field(default_factory=list)


class AssetDetailsResult(OperationResult):
    asset: AssetDetails | None = None


class MutationResult(OperationResult):
    """Result of a workspace or registry mutation; `asset` is the asset after it, if any."""

    asset: AssetSummary | None = None


class SummaryEntry(BaseModel):
    asset_id: int
    name: str
    family: str
    min_artifact_count: int
    max_artifact_count: int
    last_modified: int


class PackSummaryResult(OperationResult):
    total: int = 0
    assets: list[SummaryEntry] = Field(default_factory=list)


class ValidationEntry(BaseModel):
    asset_id: int | None
    name: str | None
    root: str
    last_modified: int
    diagnostics: list[Diagnostic]


class ValidatePackResult(OperationResult):
    green: bool = True
    assets: list[ValidationEntry] = Field(default_factory=list)


class PackFailureStage(StrEnum):
    MATERIALIZATION = "materialization"
    PROMOTION = "promotion"


class PackResult(OperationResult):
    failure_stage: PackFailureStage | None = None
    execution_began: bool = False
    assets_pa: str | None = None
    companions: list[str] = Field(default_factory=list)
    packed_assets: int = 0
    # False when build/ already held exactly this build (its record and files checked).
    published: bool = False
    cache_hits: int = 0
    remote_hits: int = 0  # of the cache hits, those the remote tier answered
    cache_misses: int = 0
    up_to_date: int = 0
    elapsed_ms: int = 0


class InspectResult(OperationResult):
    """What `inspect` found in an `assets.pa`: its table, preload and structural problems."""

    path: str = ""
    file_size: int = 0
    header_len: int | None = None
    payload_offset: int | None = None
    asset_table: list[dict[str, Any]] = Field(default_factory=list)
    preload: list[dict[str, Any]] = Field(default_factory=list)
    extracted: list[str] = Field(default_factory=list)


class DoctorAssetReport(BaseModel):
    """Doctor's findings for one asset root (registered or not)."""

    asset_id: int | None
    root: str
    name: str | None
    registered: bool
    diagnostics: list[Diagnostic]
    errors: int
    warnings: int
    infos: int


class DoctorResult(OperationResult):
    """`doctor`: findings grouped by asset; `project` holds the ones that belong to none."""

    workspace: bool = False
    blocking: bool = False
    project: list[Diagnostic] = Field(default_factory=list)
    assets: list[DoctorAssetReport] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)


class QuarantinedAsset(BaseModel):
    """One line of `quarantine --list`."""

    name: str
    original_root: str
    asset_id: int | None
    asset_uuid: str | None
    asset_name: str | None
    included_in_build: bool | None
    quarantined_at: str
    file_count: int
    total_size: int


class QuarantineListResult(OperationResult):
    """`quarantine --list`: what sits in assets/.prometeu/quarantine/."""

    entries: list[QuarantinedAsset] = Field(default_factory=list)


class CacheResult(OperationResult):
    """`cache stats|verify|prune|clear`: the directory and what the command found or did."""

    directory: str | None = None
    source: str = ""
    entries: int = 0
    volume_bytes: int = 0
    size_limit: int = 0
    checked: int = 0
    evicted: int = 0
    evicted_keys: list[str] = Field(default_factory=list)
    recovered: str | None = None


class ExplainResult(OperationResult):
    """`explain ASSET`: would it rebuild, and which key component changed since last build."""

    would_rebuild: bool = False
    cache_key: str | None = None
    previous_cache_key: str | None = None
    cached: bool = False
    changes: list[str] = Field(default_factory=list)

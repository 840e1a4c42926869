"""The event envelope of SPEC §10: what every front end sees of a running operation."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class EventKind(StrEnum):
    ASSET_DISCOVERED = "asset_discovered"
    ASSET_CHANGED = "asset_changed"
    DIAGNOSTICS_UPDATED = "diagnostics_updated"
    BUILD_STARTED = "build_started"
    BUILD_FINISHED = "build_finished"
    CACHE_HIT = "cache_hit"
    CACHE_MISS = "cache_miss"
    PREVIEW_READY = "preview_ready"
    ACTION_APPLIED = "action_applied"
    ACTION_FAILED = "action_failed"
    PROGRESS_UPDATED = "progress_updated"
    RUNTIME_STATE_CHANGED = "runtime_state_changed"


TERMINAL_KINDS = frozenset(
    {
        EventKind.BUILD_STARTED,
        EventKind.BUILD_FINISHED,
        EventKind.PREVIEW_READY,
        EventKind.ACTION_APPLIED,
        EventKind.ACTION_FAILED,
    }
)


class Progress(BaseModel):
    model_config = ConfigDict(frozen=True)

    current: int
    total: int


class AssetRef(BaseModel):
    """How results and events point at an asset: id when registered, root always."""

    model_config = ConfigDict(frozen=True)

    asset_id: int | None = None
    root: str


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    project_id: str
    operation_id: str
    sequence: int
    kind: EventKind
    timestamp: datetime
    summary: str
    progress: Progress | None = None
    affected_assets: list[AssetRef] = Field(default_factory=list)
    data: dict[str, object] = Field(default_factory=dict)

"""Host-bus adapters (SPEC §10): translate packer events into a host's view models.

A host (an editor such as a Studio, a doit reporter) owns its typed event bus and hands it
in; the packer only posts onto it and never creates a bus of its own. The translation is
mechanical: every message corresponds to exactly one packer event (same `operation_id` and
`sequence`), so a host never sees an event the packer did not publish, and order is kept.
Only `progress_updated` is coalesced, as the spec allows.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from ..models.event import Event, EventKind
from .coalesce import Clock, CoalescingSink

Level = Literal["info", "success", "warning", "error"]


@runtime_checkable
class HostBus(Protocol):
    """The only thing the packer needs from a host's bus."""

    def post(self, message: object) -> None: ...


class ActivityEntry(BaseModel):
    """One line of a host's activity log, for every event that is not progress."""

    model_config = ConfigDict(frozen=True)

    timestamp: datetime
    operation_id: str
    sequence: int
    kind: EventKind
    level: Level
    title: str
    detail: str | None = None
    asset_roots: list[str]


class ProgressModel(BaseModel):
    """The state of one operation's progress bar after a `progress_updated` event."""

    model_config = ConfigDict(frozen=True)

    operation_id: str
    sequence: int
    current: int
    total: int
    fraction: float
    label: str
    done: bool


def level_of(event: Event) -> Level:
    """How loud an event is. Derived from what the packer reported, never re-judged."""
    kind = event.kind
    if kind is EventKind.ACTION_FAILED:
        return "error"
    if kind is EventKind.ACTION_APPLIED:
        return "success"
    if kind is EventKind.BUILD_FINISHED:
        status = event.data.get("status")
        return "success" if status == "success" else "error"
    if kind is EventKind.CACHE_MISS and event.data.get("evicted_corrupt"):
        return "warning"
    if kind is EventKind.DIAGNOSTICS_UPDATED and event.data.get("blocked_assets"):
        return "warning"
    return "info"


def _detail(event: Event) -> str | None:
    data = event.data
    if event.kind is EventKind.BUILD_FINISHED and "packed_assets" in data:
        return (
            f"{data.get('packed_assets')} packed, {data.get('cache_hits')} hit(s), "
            f"{data.get('cache_misses')} miss(es), {data.get('elapsed_ms')} ms"
        )
    if event.kind is EventKind.CACHE_MISS and "reason" in data:
        return str(data["reason"])
    return None


def activity_entry(event: Event) -> ActivityEntry:
    return ActivityEntry(
        timestamp=event.timestamp,
        operation_id=event.operation_id,
        sequence=event.sequence,
        kind=event.kind,
        level=level_of(event),
        title=event.summary,
        detail=_detail(event),
        asset_roots=[a.root for a in event.affected_assets],
    )


def progress_model(event: Event) -> ProgressModel:
    current, total = (event.progress.current, event.progress.total) if event.progress else (0, 0)
    done = current >= total
    fraction = 1.0 if total <= 0 else max(0.0, min(1.0, current / total))
    return ProgressModel(
        operation_id=event.operation_id,
        sequence=event.sequence,
        current=current,
        total=total,
        fraction=fraction,
        label=event.summary,
        done=done,
    )


class _Translator:
    """The sink behind the coalescer: one event in, one host message out."""

    def __init__(self, bus: HostBus) -> None:
        self.bus = bus

    def publish(self, event: Event) -> None:
        if event.kind is EventKind.PROGRESS_UPDATED:
            self.bus.post(progress_model(event))
        else:
            self.bus.post(activity_entry(event))


class HostAdapter:
    """An EventSink that posts ActivityEntry / ProgressModel messages onto the host's bus.

    Pass it as `PackerService(project, sink=HostAdapter(bus))`. Progress is coalesced to at
    most one message per `min_interval` per operation; call `flush()` (or `close()`) when an
    operation is over to post the last pending progress, if any.
    """

    def __init__(
        self, bus: HostBus, *, min_interval: float = 0.05, clock: Clock = time.monotonic
    ) -> None:
        self.bus = bus
        self._sink = CoalescingSink(_Translator(bus), min_interval, clock)

    def publish(self, event: Event) -> None:
        self._sink.publish(event)

    def flush(self) -> None:
        self._sink.flush()

    def close(self) -> None:
        self._sink.close()

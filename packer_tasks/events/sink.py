"""Sinks: where packer events go. A host hands in its own; the packer never makes a bus."""

from __future__ import annotations

import secrets
import string
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from ..models.event import AssetRef, Event, EventKind, Progress

_ALPHABET = string.ascii_letters + string.digits


def new_operation_id() -> str:
    """20 random alphanumerics (SPEC §8), also the staging folder name of a pack."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(20))


@runtime_checkable
class EventSink(Protocol):
    """Anything with `publish(event)`: a host's typed bus, a JSONL writer, a test list."""

    def publish(self, event: Event) -> None: ...


class NullSink:
    def publish(self, event: Event) -> None:
        return None


class CollectingSink:
    """Keeps every event in order; thread-safe. Used by tests and by result assembly."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def publish(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def kinds(self) -> list[str]:
        return [e.kind.value for e in self.events]


class OperationEmitter:
    """Stamps events of one operation: stable operation_id, strictly increasing sequence."""

    def __init__(self, sink: EventSink, project_id: str, operation_id: str | None = None):
        self.sink = sink
        self.project_id = project_id
        self.operation_id = operation_id or new_operation_id()
        self._sequence = 0
        self._lock = threading.Lock()

    def emit(
        self,
        kind: EventKind,
        summary: str,
        *,
        progress: tuple[int, int] | None = None,
        assets: Iterable[AssetRef] = (),
        data: dict[str, Any] | None = None,
    ) -> None:
        with self._lock:
            self._sequence += 1
            event = Event(
                project_id=self.project_id,
                operation_id=self.operation_id,
                sequence=self._sequence,
                kind=kind,
                timestamp=datetime.now(UTC),
                summary=summary,
                progress=Progress(current=progress[0], total=progress[1]) if progress else None,
                affected_assets=list(assets),
                data=data or {},
            )
            # Publish under the lock so one operation's events reach the sink in order.
            self.sink.publish(event)

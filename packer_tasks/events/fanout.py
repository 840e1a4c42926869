"""One publisher, several sinks: e.g. a JSONL stream for tools plus a progress bar for people."""

from __future__ import annotations

import threading

from ..models.event import Event
from .sink import EventSink


class FanoutSink:
    """Publishes every event to each sink in order, under one lock.

    The lock keeps all sinks seeing the same global order. Every sink is tried even if an
    earlier one raises; the first error is re-raised afterwards so a fault is never silent.
    """

    def __init__(self, *sinks: EventSink) -> None:
        self.sinks: tuple[EventSink, ...] = sinks
        self._lock = threading.RLock()

    def publish(self, event: Event) -> None:
        with self._lock:
            first: BaseException | None = None
            for sink in self.sinks:
                try:
                    sink.publish(event)
                except Exception as exc:
                    first = first or exc
            if first is not None:
                raise first

    def close(self) -> None:
        """Close every sink that can be closed (flushing coalesced progress, files)."""
        with self._lock:
            first: BaseException | None = None
            for sink in self.sinks:
                close = getattr(sink, "close", None)
                if callable(close):
                    try:
                        close()
                    except Exception as exc:
                        first = first or exc
            if first is not None:
                raise first

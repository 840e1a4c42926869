"""The event lane adapter: packer events → browser messages over server-sent events.

The service publishes from whatever thread runs an operation (a pack's worker thread, the
file watcher, a request's thread). `EventLane` is the sink it publishes to: it feeds the
packer's own `HostAdapter` (one activity entry per event, progress coalesced, lifecycle
events never) and keeps what comes out, numbered, in a bounded backlog that every open page
reads as a stream. Runtime freshness transitions also become a `runtime` message, so the
page can show a stale or diverged snapshot plainly.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel

from ..events.host import ActivityEntry, HostAdapter, ProgressModel
from ..models.event import Event, EventKind

BACKLOG = 2000  # messages a page that connects late still sees
HEARTBEAT_S = 10.0


class EventLane:
    """A thread-safe EventSink (for the service) and message source (for the pages)."""

    def __init__(self, backlog: int = BACKLOG) -> None:
        self._lock = threading.Lock()
        self._messages: deque[dict[str, Any]] = deque(maxlen=backlog)
        self._next_id = 1
        self._subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[int]]] = []
        self._closed = False
        self.adapter = HostAdapter(self)

    # -- the packer side --------------------------------------------------------------------

    def publish(self, event: Event) -> None:
        """EventSink: runtime transitions get their own message, then the host adapter."""
        if event.kind is EventKind.RUNTIME_STATE_CHANGED:
            self._append(
                "runtime",
                {
                    "state": event.data.get("to"),
                    "previous": event.data.get("from"),
                    "why": event.summary,
                },
            )
        self.adapter.publish(event)

    def post(self, message: object) -> None:
        """HostBus: one translated message from the adapter."""
        if isinstance(message, ProgressModel):
            self._append("progress", _dump(message))
        elif isinstance(message, ActivityEntry):
            self._append("activity", _dump(message))

    def flush(self) -> None:
        """Deliver pending coalesced progress (an operation ended)."""
        self.adapter.flush()

    def note(self, kind: str, payload: dict[str, Any]) -> None:
        """A Studio message that is not a packer event (e.g. a pack job ended)."""
        self._append(kind, payload)

    def _append(self, kind: str, payload: dict[str, Any]) -> None:
        with self._lock:
            message = {"id": self._next_id, "type": kind, **payload}
            self._next_id += 1
            self._messages.append(message)
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, message["id"])
            except RuntimeError:  # that page's loop is gone
                continue

    # -- the page side ----------------------------------------------------------------------

    def since(self, after: int) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self._messages if m["id"] > after]

    def close(self) -> None:
        """Server shutdown: every open stream ends."""
        with self._lock:
            self._closed = True
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, 0)
            except RuntimeError:
                continue

    async def stream(self, after: int) -> AsyncIterator[str]:
        """SSE frames: the backlog after `after`, then live messages, with heartbeats."""
        queue: asyncio.Queue[int] = asyncio.Queue()
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            self._subscribers.append(entry)
        try:
            last = after
            while not self._closed:
                for message in self.since(last):
                    last = message["id"]
                    yield f"id: {last}\ndata: {json.dumps(message)}\n\n"
                try:
                    await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
        finally:
            with self._lock:
                self._subscribers.remove(entry)


def _dump(model: BaseModel) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json")
    return data

"""The Pack Wizard's one moving part: a pack running in a worker thread.

A pack holds the write lane and can take minutes; it never runs on the server's event loop
(nor in its request thread pool), so the page keeps answering while it runs. Summary and
Validation are plain service reads served by their routes; the job only starts the pack,
remembers its result, and tells the lane when it is over.
"""

from __future__ import annotations

import threading
from typing import Any

from ..events.sink import OperationEmitter
from ..models.results import PackResult
from ..service import PackerService
from .lane import EventLane


class PackJob:
    """At most one pack at a time per Studio; its state is read by the page."""

    def __init__(self, service: PackerService, lane: EventLane) -> None:
        self.service = service
        self.lane = lane
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.operation_id: str | None = None
        self.result: PackResult | None = None
        self.error: str | None = None
        self._finished = True

    @property
    def running(self) -> bool:
        with self._lock:
            return not self._finished

    def start(self) -> str | None:
        """Start a pack; its operation_id, or None when one is already running."""
        with self._lock:
            if self._thread is not None and not self._finished:
                return None
            self._finished = False
            emitter = self.service.emitter()
            self.operation_id, self.result, self.error = emitter.operation_id, None, None
            self._thread = threading.Thread(
                target=self._run, args=(emitter,), name="studio-pack", daemon=True
            )
            self._thread.start()
            return emitter.operation_id

    def _run(self, emitter: OperationEmitter) -> None:
        try:
            self.result = self.service.pack(emitter=emitter)
        except Exception as exc:  # a bug or an I/O failure: reported, never a dead thread
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.lane.flush()
            with self._lock:
                self._finished = True
            self.lane.note("job", self.view())

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def view(self) -> dict[str, Any]:
        """What the Packing and Result phases show."""
        return {
            "running": self.running,
            "operation_id": self.operation_id,
            "error": self.error,
            "result": self.result.model_dump(mode="json") if self.result else None,
        }

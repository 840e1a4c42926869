"""Coalescing of `progress_updated` events (SPEC §10).

A build can report progress far faster than a person (or a UI thread) can look at it. This
sink thins out *only* repeated `progress_updated` events of one operation; every other kind,
terminal lifecycle events above all, passes through individually and in publication order.
The newest pending progress of an operation is always delivered before that operation's next
non-progress event, so a progress bar never ends short of what the packer reported.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType

from ..models.event import TERMINAL_KINDS, Event, EventKind
from .sink import EventSink

Clock = Callable[[], float]

# Kinds after which an operation reports nothing more worth throttling; their state is freed
# so a long-lived sink does not grow with every operation it has seen.
_ENDING_KINDS = TERMINAL_KINDS - {EventKind.BUILD_STARTED}


class CoalescingSink:
    """Forwards events to `inner`, keeping at most one progress event per `min_interval`.

    Thread-safe: one re-entrant lock covers both the bookkeeping and the call into `inner`,
    so events of one operation reach `inner` in the order they were published even when
    `flush()` runs on another thread. The delivered stream is always a subsequence of the
    published one: nothing is invented, changed or reordered.
    """

    def __init__(
        self, inner: EventSink, min_interval: float = 0.05, clock: Clock = time.monotonic
    ) -> None:
        if min_interval < 0:
            raise ValueError("min_interval must be >= 0")
        self.inner = inner
        self.min_interval = min_interval
        self._clock = clock
        self._lock = threading.RLock()
        self._pending: dict[str, Event] = {}
        self._last_progress_at: dict[str, float] = {}

    def publish(self, event: Event) -> None:
        with self._lock:
            now = self._clock()
            op = event.operation_id
            if event.kind is EventKind.PROGRESS_UPDATED:
                last = self._last_progress_at.get(op)
                if last is None or now - last >= self.min_interval:
                    # Any pending progress of this operation is older: superseded, not lost.
                    self._pending.pop(op, None)
                    self._deliver_progress(event, now)
                else:
                    self._pending[op] = event
            else:
                pending = self._pending.pop(op, None)
                if pending is not None:
                    self._deliver_progress(pending, now)
                self.inner.publish(event)
                if event.kind in _ENDING_KINDS:
                    self._last_progress_at.pop(op, None)
            self._flush_due(now)

    def flush_due(self) -> None:
        """Deliver pending progress whose interval has elapsed (for hosts with a UI tick)."""
        with self._lock:
            self._flush_due(self._clock())

    def flush(self) -> None:
        """Deliver every pending progress event now (end of a command, shutdown)."""
        with self._lock:
            now = self._clock()
            while self._pending:
                op = next(iter(self._pending))
                self._deliver_progress(self._pending.pop(op), now)

    def close(self) -> None:
        """Flush; the inner sink belongs to whoever created it and is left open."""
        self.flush()

    def __enter__(self) -> CoalescingSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _flush_due(self, now: float) -> None:
        due = [
            op
            for op in self._pending
            if now - self._last_progress_at.get(op, now) >= self.min_interval
        ]
        for op in due:
            self._deliver_progress(self._pending.pop(op), now)

    def _deliver_progress(self, event: Event, now: float) -> None:
        self._last_progress_at[event.operation_id] = now
        self.inner.publish(event)

"""Where a doit run's events go, resolved once when the tasks are created: a JSONL stream
(`PROMETEU_PACKER_EVENTS=jsonl|FILE`, like the CLI's `--events`) and, on a terminal, the
same live progress bar the CLI shows. Opened on the first event, closed at teardown."""

from __future__ import annotations

import os
import sys
import threading

from ..events.sink import EventSink
from ..models.event import Event

EVENTS_ENV = "PROMETEU_PACKER_EVENTS"


class RunSink:
    """Creates its sinks on the first event, so a no-op run opens nothing."""

    def __init__(self, events: str | None, progress: bool) -> None:
        self.events = events
        self.progress = progress
        self._sink: EventSink | None = None
        self._closers: list[object] = []
        self._lock = threading.Lock()

    def publish(self, event: Event) -> None:
        with self._lock:
            if self._sink is None:
                self._sink = self._open()
        self._sink.publish(event)

    def _open(self) -> EventSink:
        from ..events.coalesce import CoalescingSink
        from ..events.fanout import FanoutSink
        from ..events.jsonl import open_jsonl_sink

        sinks: list[EventSink] = []
        if self.events:
            try:
                sinks.append(open_jsonl_sink(self.events))
            except OSError as exc:
                sys.stderr.write(f"packer: cannot open {EVENTS_ENV}={self.events!r}: {exc}\n")
        if self.progress:
            from rich.console import Console

            from ..events.terminal import ProgressSink

            # doit captures a quiet task's stderr; the bar is for the person at the terminal.
            terminal = Console(file=sys.__stderr__ or sys.stderr)
            sinks.append(CoalescingSink(ProgressSink(terminal)))
        return FanoutSink(*sinks)

    def close(self) -> None:
        with self._lock:
            sink, self._sink = self._sink, None
        close = getattr(sink, "close", None)
        if callable(close):
            close()


def run_sink() -> RunSink:
    return RunSink(os.environ.get(EVENTS_ENV) or None, sys.stderr.isatty())

"""`--events jsonl` / `--events FILE`: raw event envelopes, one JSON object per line.

Other tools (CI log parsers, editors driving the CLI) read these; each line is flushed as
soon as it is written so a reader following the stream sees events while the build runs.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import TextIO

from ..models.event import Event

STDOUT_SPECS = frozenset({"jsonl", "-"})


class JsonlSink:
    """Writes `event.model_dump_json()` plus a newline per event; thread-safe.

    Closes the stream on `close()` only when it opened it (`owns_stream`), so wrapping
    `sys.stdout` never closes the process's stdout.
    """

    def __init__(self, stream: TextIO, *, owns_stream: bool = False) -> None:
        self.stream = stream
        self.owns_stream = owns_stream
        self._lock = threading.Lock()
        self._closed = False

    def publish(self, event: Event) -> None:
        line = event.model_dump_json() + "\n"
        with self._lock:
            if self._closed:
                raise ValueError("publish on a closed JsonlSink")
            self.stream.write(line)
            self.stream.flush()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self.owns_stream:
                self.stream.close()
            else:
                self.stream.flush()

    def __enter__(self) -> JsonlSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def writes_to_stdout(spec: str) -> bool:
    """Whether `--events SPEC` claims stdout (then human output must move to stderr)."""
    return spec in STDOUT_SPECS


def open_jsonl_sink(spec: str) -> JsonlSink:
    """`"jsonl"` or `"-"` streams to stdout; anything else is a file path, truncated on open.

    Truncating (not appending) keeps one file = one invocation, so a reader never mixes runs.
    """
    if writes_to_stdout(spec):
        return JsonlSink(sys.stdout)
    path = Path(spec)
    # newline="\n": the same bytes on every OS; utf-8 because summaries may hold any root name.
    return JsonlSink(path.open("w", encoding="utf-8", newline="\n"), owns_stream=True)

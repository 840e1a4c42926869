"""Interactive progress for people: a rich progress bar and activity lines, from events only.

Everything shown here comes from the packer's event lane (SPEC §10): the CLI does not peek
into the build to decide what to show, so an editor fed the same events shows the same story.
"""

from __future__ import annotations

import threading

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from ..models.event import TERMINAL_KINDS, Event, EventKind

_ENDING_KINDS = TERMINAL_KINDS - {EventKind.BUILD_STARTED}


def activity_line(event: Event, *, verbose: bool = False, finish_line: bool = True) -> str | None:
    """The one log line an event deserves, or None for kinds the bar (or, without
    `finish_line`, the command's own summary) already conveys. Per-asset lines (cache
    misses) only when `verbose`."""
    text = escape(event.summary)
    match event.kind:
        case EventKind.CACHE_MISS if verbose:
            return f"  [yellow]miss[/] {text}"
        case EventKind.BUILD_FINISHED if not finish_line:
            return None  # the command prints the result's one summary line
        case EventKind.ACTION_APPLIED:
            return f"  [green]applied[/] {text}"
        case EventKind.ACTION_FAILED:
            return f"  [red]failed[/] {text}"
        case EventKind.BUILD_FINISHED:
            colour = "green" if event.data.get("status") == "success" else "red"
            return f"[{colour}]build finished[/] {text}"
        case _:
            return None


class ProgressSink:
    """Renders `progress_updated` as one rich task per operation, plus activity lines.

    Meant to sit behind a CoalescingSink: rich redraws on its own timer, but each update
    still costs a lock and a task lookup. Thread-safe; `close()` stops the live display.
    """

    def __init__(self, console: Console, *, verbose: bool = True, finish_line: bool = True) -> None:
        self.console = console
        self.verbose = verbose
        self.finish_line = finish_line
        self._lock = threading.Lock()
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._active: set[str] = set()

    def publish(self, event: Event) -> None:
        with self._lock:
            if event.kind is EventKind.PROGRESS_UPDATED and event.progress is not None:
                self._update(event)
            line = activity_line(event, verbose=self.verbose, finish_line=self.finish_line)
            if line is not None:
                self.console.print(line)
            if event.kind in _ENDING_KINDS:
                self._active.discard(event.operation_id)
                if not self._active:
                    self._stop()

    def close(self) -> None:
        with self._lock:
            self._active.clear()
            self._stop()

    def _update(self, event: Event) -> None:
        assert event.progress is not None
        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=False,
            )
            self._progress.start()
            self._tasks.clear()
        op = event.operation_id
        self._active.add(op)
        label = escape(event.summary)
        task = self._tasks.get(op)
        if task is None:  # the right total from the first frame (rich's default is 100)
            task = self._tasks[op] = self._progress.add_task(
                label, total=event.progress.total, completed=event.progress.current
            )
        # Redraw now rather than on rich's next tick: updates are already coalesced, and a
        # short build would otherwise show a bar that lags the activity lines printed above.
        self._progress.update(
            task,
            description=label,
            total=event.progress.total,
            completed=event.progress.current,
            refresh=True,
        )

    def _stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

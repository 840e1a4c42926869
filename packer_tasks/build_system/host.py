"""One `doit` run's view of the packer: a thin host over `PackerService`.

The task creator makes one `DoitHost` and hands it to every action as an argument (no
module globals). Asset tasks materialize through the service into the cache; `assemble`
asks the service whether build/ already holds the current build and, if not, publishes
through `PackerService.pack` — the same path as the CLI, `watch` and an embedding host.
The run's lifecycle (build_started … build_finished) is closed from doit's teardown, which
the runner calls whatever reporter is in use.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

from doit.exceptions import TaskFailed

from ..events.sink import OperationEmitter
from ..models.diagnostic import Diagnostic
from ..models.event import AssetRef, EventKind
from ..models.results import PackResult, Status
from ..pipeline.session import BuildSession
from ..service import PackerService
from ..workspace.snapshot import WorkspaceSnapshot

INTERRUPTED_EXIT = 130


def plain_diagnostics(diags: list[Diagnostic]) -> str:
    """Diagnostics as plain text lines (doit prints task failures itself)."""
    lines = []
    for d in diags:
        block = " (blocking)" if d.blocking else ""
        lines.append(f"  {d.severity.value}{block} {d.code} {d.where}: {d.message}")
        if d.hint:
            lines.append(f"      hint: {d.hint}")
    return "\n".join(lines)


class Interrupted(Exception):
    """Ctrl-C (or SIGTERM) arrived while a pack task ran."""


class DoitHost:
    """The service, the run's event emitter and the build session its tasks share."""

    def __init__(self, service: PackerService, snapshot: WorkspaceSnapshot) -> None:
        self.service = service
        self.snapshot = snapshot  # what the tasks were made from
        self.emitter: OperationEmitter = service.emitter()
        self._session: BuildSession | None = None
        self._pid = os.getpid()
        self.started = False
        self.finished = False
        self.interrupted = False
        self.failed: dict[int, str] = {}
        self.build_set: list[int] = []  # asset ids with a task, in task order
        self.executed: set[int] = set()  # asset tasks that ran in this process
        self._held: dict[int, Any] = {}  # signal handlers replaced while the run is active

    # -- the session, per process (doit -n N forks workers) ----------------------------

    def session(self) -> BuildSession:
        if self._session is None or self._pid != os.getpid():
            # A forked worker never uses its parent's sqlite connections.
            self._session = self.service.open_build(self.emitter)
            self._pid = os.getpid()
            self.started = self.finished = False
        return self._session

    def begin(self) -> None:
        self.session()
        if not self.started:
            self.started = True
            self._catch_interrupts()
            self.emitter.emit(
                EventKind.BUILD_STARTED, f"doit pack of {self.service.project.project_id} started"
            )

    # -- actions --------------------------------------------------------------------------

    def materialize(self, asset_id: int) -> dict[str, Any] | TaskFailed:
        """`pack:asset-N`: materialize one asset into the cache."""
        if self.interrupted:
            return TaskFailed("interrupted")
        with self._guard():
            self.begin()
            self.executed.add(asset_id)
            report = self.service.materialize_asset(asset_id, self.session(), self.snapshot)
            self.session().memo.flush()
            asset = self.snapshot.find(asset_id)
            self.emitter.emit(
                EventKind.PROGRESS_UPDATED,
                f"materialized {asset.entry.root if asset else asset_id}",
                progress=(len(self.executed), len(self.build_set)),
                assets=[AssetRef(asset_id=asset_id, root=asset.entry.root)] if asset else [],
            )
            if report.build is None:
                self.failed[asset_id] = "blocked"
                blocking = [d for d in report.diagnostics if d.blocking] or report.diagnostics
                return TaskFailed(plain_diagnostics(blocking))
            return {"cache_key": report.build.cache_key, "cache_hit": report.build.cache_hit}
        return TaskFailed("interrupted")

    def assemble(self) -> dict[str, Any] | TaskFailed:
        """`pack:assemble`: publish through the service's one pack path."""
        if self.interrupted:
            return TaskFailed("interrupted")
        with self._guard():
            self.begin()
            result = self.service.pack(
                session=self.session(),
                emitter=self.emitter,
                announce=False,
                unchanged=[i for i in self.build_set if i not in self.executed],
            )
            self.finished = True  # the pack published build_finished itself
            self.session().memo.flush()
            if result.status is not Status.SUCCESS:
                return TaskFailed(f"{result.summary}\n{plain_diagnostics(result.diagnostics)}")
            return _values(result, self.session().materializer.outcomes)
        return TaskFailed("interrupted")

    def build_is_current(self, task: Any, values: dict[str, Any]) -> bool:
        """doit `uptodate` of assemble: build/'s record and files against the sources,
        after recovering any interrupted publication. Never doit's own memory."""
        with self._guard():
            reason = self.service.build_status(self._session)
            if reason is None:
                return True
            task.value_savers.append(lambda: {"stale_because": reason})
            return False
        return False  # interrupted: run the action, which stops at once

    def close(self) -> None:
        """doit teardown (runs whatever the reporter): close the lifecycle the run
        opened, release the session; after Ctrl-C, exit 130 with one line."""
        if self._session is not None and self._pid == os.getpid():
            if self.started and not self.finished:
                self.finished = True
                status = (
                    "interrupted" if self.interrupted else "blocked" if self.failed else "failed"
                )
                self.emitter.emit(
                    EventKind.BUILD_FINISHED,
                    f"doit pack {status}",
                    data={"status": status, "packed_assets": 0, **self._counts()},
                )
            self._session.close()
            self._session = None
        self._release_interrupts()
        close_sink = getattr(self.service.sink, "close", None)
        if callable(close_sink):
            close_sink()
        if self.interrupted:
            # doit captures a quiet task's output, teardown included: this line is for
            # the person who pressed Ctrl-C, so it goes to the process's own stderr.
            stream = sys.__stderr__ or sys.stderr
            stream.write("packer: interrupted: build/ holds the last complete build\n")
            stream.flush()
            raise SystemExit(INTERRUPTED_EXIT)

    def _catch_interrupts(self) -> None:
        """From the first action to the teardown, Ctrl-C (or SIGTERM) asks the run to
        stop: the task that is running finishes, the next one does not start, and the
        teardown exits 130. doit's own bookkeeping is never cut in half."""
        if threading.current_thread() is not threading.main_thread() or self._held:
            return

        def stop(_signum: int, _frame: object) -> None:
            self.interrupted = True

        for signum in (signal.SIGINT, signal.SIGTERM):
            self._held[signum] = signal.signal(signum, stop)

    def _release_interrupts(self) -> None:
        held, self._held = self._held, {}
        for signum, previous in held.items():
            signal.signal(signum, previous)

    def _counts(self) -> dict[str, int]:
        m = self._session.materializer if self._session else None
        return {
            "cache_hits": m.hits if m else 0,
            "cache_misses": m.misses if m else 0,
        }

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn Ctrl-C inside a task into a clean stop: doit records the task as failed,
        stops, and the teardown exits 130."""
        try:
            yield
        except KeyboardInterrupt:
            self.interrupted = True


def _values(result: PackResult, outcomes: dict[int, str]) -> dict[str, Any]:
    """What assemble returns to doit (and, through doit, to the reporter): the pack's
    own cache lookups, per asset (task values must be JSON)."""
    return {
        "packed_assets": result.packed_assets,
        "published": result.published,
        "looked_up": {str(k): v for k, v in sorted(outcomes.items()) if v in ("hit", "miss")},
    }

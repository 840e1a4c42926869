"""One `doit` run's view of the packer: a thin host over `PackerService`.

The task creator makes one `DoitHost` and hands it to the task as an argument (no module
globals). `assemble` asks whether build/ already holds the current build — first by the
stat manifest (one stat per file, without importing the packer's pipeline), then, when
anything moved, by the service's full check — and, if not, publishes through
`PackerService.pack`: the same path as the CLI, `watch` and an embedding host. The run's
lifecycle (build_started … build_finished) is closed from doit's teardown, which the
runner calls whatever reporter is in use.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from doit.exceptions import TaskFailed

from ..format_versions import manifest_versions
from ..workspace.project import Project
from ..workspace.stat_manifest import StatManifest, read_manifest, unchanged

if TYPE_CHECKING:
    from ..events.sink import EventSink, OperationEmitter
    from ..models.diagnostic import Diagnostic
    from ..models.results import PackResult
    from ..pipeline.session import BuildSession
    from ..service import PackerService

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
    """The service (made on first need), the run's event emitter and build session."""

    def __init__(self, project: Project, sink: EventSink | None) -> None:
        self.project = project
        self._sink = sink
        self._service: PackerService | None = None
        self._emitter: OperationEmitter | None = None
        self._session: BuildSession | None = None
        self._pid = os.getpid()
        self.started = False
        self.finished = False
        self.interrupted = False
        self.failed = False
        self._held: dict[int, Any] = {}  # signal handlers replaced while the run is active
        self.manifest: StatManifest | None = read_manifest(project.root, manifest_versions())
        # Decided when the task is made: nothing moved since the last full check.
        self.unchanged = self.manifest is not None and unchanged(project.root, self.manifest)

    @property
    def service(self) -> PackerService:
        if self._service is None:
            from ..service import PackerService
            from .sinks import run_sink

            sink = self._sink if self._sink is not None else run_sink()
            self._service = PackerService(self.project, sink=sink)
        return self._service

    @property
    def emitter(self) -> OperationEmitter:
        if self._emitter is None:
            self._emitter = self.service.emitter()
        return self._emitter

    def build_sources(self) -> tuple[list[str], int]:
        """What the task depends on (project-relative) and the build set's size: the
        manifest's when nothing moved, else the current snapshot's."""
        if self.unchanged and self.manifest is not None:
            return list(self.manifest.sources), self.manifest.assets
        snap = self.service.snapshot()
        return snap.build_sources(), len(snap.build_set())

    # -- the session, per process (doit -n N forks workers) ----------------------------

    def session(self) -> BuildSession:
        if self._session is None or self._pid != os.getpid():
            # A forked worker never uses its parent's sqlite connections.
            self._session = self.service.open_build(self.emitter)
            self._pid = os.getpid()
            self.started = self.finished = False
        return self._session

    def begin(self) -> None:
        from ..models.event import EventKind

        self.session()
        if not self.started:
            self.started = True
            self._catch_interrupts()
            self.emitter.emit(
                EventKind.BUILD_STARTED, f"doit pack of {self.service.project.project_id} started"
            )

    # -- actions --------------------------------------------------------------------------

    def assemble(self) -> dict[str, Any] | TaskFailed:
        """`pack:assemble`: publish through the service's one pack path."""
        if self.interrupted:
            return TaskFailed("interrupted")
        with self._guard():
            self.begin()
            result = self.service.pack(session=self.session(), emitter=self.emitter, announce=False)
            self.finished = True  # the pack published build_finished itself
            self.session().memo.flush()
            if result.status.value != "success":
                self.failed = True
                return TaskFailed(f"{result.summary}\n{plain_diagnostics(result.diagnostics)}")
            return _values(result, self.session())
        return TaskFailed("interrupted")

    def build_is_current(self, task: Any, values: dict[str, Any]) -> bool:
        """doit `uptodate` of assemble: nothing moved since the last full check (the stat
        manifest), or else build/'s record and files against the sources, after
        recovering any interrupted publication. Never doit's own memory."""
        if self.unchanged:
            return True
        with self._guard():
            # The action's own session: the keys this check computes are not computed again.
            reason = self.service.build_status(self.session())
            # doit checks the file dependencies next, through its own memo connection:
            # what this check hashed must be findable there.
            self.session().memo.flush()
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
                from ..models.event import EventKind

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
        close_sink = getattr(self._service.sink, "close", None) if self._service else None
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


def _values(result: PackResult, session: BuildSession) -> dict[str, Any]:
    """What assemble returns to doit (and, through doit, to the reporter): the pack's
    own counts (task values must be JSON), and its build/config warnings (e.g. the
    remote cache was down) for the reporter to print."""
    remote = session.config.remote is not None
    return {
        "packed_assets": result.packed_assets,
        "published": result.published,
        "cache_hits": result.cache_hits,
        "cache_misses": result.cache_misses,
        "up_to_date": result.up_to_date,
        "remote_hits": session.materializer.remote_hits if remote else None,
        "warnings": [
            f"{d.code}: {d.message}"
            for d in result.diagnostics
            if not d.blocking and d.code.startswith(("build.", "config."))
        ],
    }

"""The runtime of SPEC §9: one coherent in-memory snapshot per project, and its freshness.

Reads are served from the current snapshot (an immutable object swapped by reference, so a
reader sees the whole old state or the whole new one). Writes commit to disk first, then
swap in a new snapshot. Before a read, the stat facts the snapshot was built from are
re-checked; a change made behind the service's back moves the state to `stale` (input
contents changed) or `diverged` (the registry or a declaration changed), which is reported
as an event and in results. With `auto_reconcile` the runtime then reloads (`reconciling`
→ `healthy`); it never rewrites user-authored files to "repair" anything.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .models.results import RuntimeState
from .workspace.lane import read_lane
from .workspace.project import Project
from .workspace.snapshot import (
    Fingerprint,
    WorkspaceSnapshot,
    current_fingerprint,
    take_snapshot,
)

Notify = Callable[[RuntimeState, RuntimeState, str], None]


def classify_change(old: Fingerprint, new: Fingerprint) -> tuple[RuntimeState, list[str]]:
    """`diverged` when structure (registry, asset.json) moved; `stale` when only inputs did."""
    changed = [a[0] for a, b in zip(old, new, strict=True) if a != b]
    if not changed:
        return RuntimeState.HEALTHY, []
    structural = any(name == "index.json" or name.endswith("/asset.json") for name in changed)
    return (RuntimeState.DIVERGED if structural else RuntimeState.STALE), changed


class ProjectRuntime:
    def __init__(self, project: Project, notify: Notify | None = None,
                 auto_reconcile: bool = True) -> None:
        self.project = project
        self.auto_reconcile = auto_reconcile
        self._notify = notify
        self._lock = threading.Lock()  # guards state transitions, never held during I/O reads
        self._snapshot: WorkspaceSnapshot | None = None
        self._state = RuntimeState.HEALTHY
        self.last_changes: list[str] = []

    @property
    def state(self) -> RuntimeState:
        return self._state

    def _set(self, state: RuntimeState, why: str) -> None:
        with self._lock:
            old, self._state = self._state, state
        if old != state and self._notify is not None:
            self._notify(old, state, why)

    def load(self) -> WorkspaceSnapshot:
        """A fresh snapshot from disk, read under the shared lane (never half a write)."""
        with read_lane(self.project.lock_path):
            return take_snapshot(self.project)

    def snapshot(self) -> WorkspaceSnapshot:
        """The snapshot reads should use, after a freshness check."""
        snap = self._snapshot
        if snap is None:
            if self._state is not RuntimeState.HEALTHY:
                return self.reconcile()
            snap = self._snapshot = self.load()
            return snap
        state, _ = self.check()
        if state is RuntimeState.HEALTHY or not self.auto_reconcile:
            return self._snapshot or snap
        return self.reconcile()

    def check(self) -> tuple[RuntimeState, list[str]]:
        """Compare the snapshot's stat facts with the disk; report a change as a state."""
        snap = self._snapshot
        if snap is None:
            return self._state, []
        state, changed = classify_change(snap.fingerprint,
                                         current_fingerprint(self.project, snap))
        if state is not RuntimeState.HEALTHY:
            self.last_changes = changed
            self._set(state, f"{len(changed)} file(s) changed behind the snapshot: "
                             + ", ".join(changed[:5]))
        return self._state, changed

    def reconcile(self) -> WorkspaceSnapshot:
        """Reload from disk (explicitly, with a state transition), then healthy again."""
        self._set(RuntimeState.RECONCILING, "reloading the workspace from disk")
        try:
            snap = self.load()
        except Exception:
            self._set(RuntimeState.FAILED, "reloading the workspace failed")
            raise
        self._snapshot = snap
        self._set(RuntimeState.HEALTHY, "snapshot reloaded")
        return snap

    def committing(self) -> None:
        self._set(RuntimeState.COMMITTING, "a write is being committed")

    def committed(self, ok: bool = True) -> None:
        """After a durable commit: swap a new snapshot in (copy-on-write), or mark failure."""
        if not ok:
            self._set(RuntimeState.FAILED, "the write failed; reloading on next read")
            self._snapshot = None
            return
        self._snapshot = None  # the next read loads the committed state (copy-on-write)
        self._set(RuntimeState.HEALTHY, "write committed")

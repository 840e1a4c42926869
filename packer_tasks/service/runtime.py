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

from ..models.results import RuntimeState
from ..workspace.lane import read_lane
from ..workspace.project import Project
from ..workspace.snapshot import (
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
    def __init__(
        self, project: Project, notify: Notify | None = None, auto_reconcile: bool = True
    ) -> None:
        self.project = project
        self.auto_reconcile = auto_reconcile
        self._notify = notify
        # Guards state, snapshot and epoch; state changes are notified while it is held, so
        # the published transitions form one chain (each `from` is the previous `to`). It is
        # re-entrant for a notify callback that reads the state; it is never held during
        # workspace I/O.
        self._lock = threading.RLock()
        # One reload at a time: readers that find the same change share one reconciliation.
        self._reloading = threading.Lock()
        self._snapshot: WorkspaceSnapshot | None = None
        self._state = RuntimeState.HEALTHY
        # Bumped when one of our own writes starts and when it commits. A snapshot loaded or
        # a change detected under an older epoch may predate (or straddle) that write, so it
        # is neither installed nor reported: our own commit is not a change "behind" us.
        self._epoch = 0
        self.last_changes: list[str] = []

    @property
    def state(self) -> RuntimeState:
        return self._state

    def _set(
        self,
        state: RuntimeState,
        why: str,
        *,
        epoch: int | None = None,
        unless: tuple[RuntimeState, ...] = (),
    ) -> bool:
        with self._lock:
            if (epoch is not None and epoch != self._epoch) or self._state in unless:
                return False
            old, self._state = self._state, state
            if old != state and self._notify is not None:
                self._notify(old, state, why)
            return True

    def _view(self) -> tuple[WorkspaceSnapshot | None, RuntimeState, int]:
        with self._lock:
            return self._snapshot, self._state, self._epoch

    def _install(self, snap: WorkspaceSnapshot, epoch: int) -> bool:
        with self._lock:
            if epoch != self._epoch:
                return False
            self._snapshot = snap
            return True

    def snapshot_if_loaded(self) -> WorkspaceSnapshot | None:
        """The snapshot in memory as it is, without a freshness check or a load: None before
        the first read and right after a commit (the next read loads the committed state)."""
        with self._lock:
            return self._snapshot

    def load(self) -> WorkspaceSnapshot:
        """A fresh snapshot from disk, read under the shared lane (never half a write)."""
        with read_lane(self.project.lock_path):
            return take_snapshot(self.project)

    def snapshot(self) -> WorkspaceSnapshot:
        """The snapshot reads should use, after a freshness check."""
        snap, state, epoch = self._view()
        if state is RuntimeState.COMMITTING and snap is not None:
            return snap  # our own write is in flight: the last committed view is whole
        if snap is None:
            if state in (RuntimeState.HEALTHY, RuntimeState.COMMITTING):
                loaded = self.load()  # first read, or the first since a commit
                self._install(loaded, epoch)
                return loaded
            return self._refresh(None)
        state, _ = self._check(snap, epoch)
        if state is RuntimeState.HEALTHY or not self.auto_reconcile:
            return snap
        return self._refresh(snap)

    def check(self) -> tuple[RuntimeState, list[str]]:
        """Compare the snapshot's stat facts with the disk; report a change as a state."""
        snap, state, epoch = self._view()
        if snap is None:
            return state, []
        return self._check(snap, epoch)

    def _check(self, snap: WorkspaceSnapshot, epoch: int) -> tuple[RuntimeState, list[str]]:
        if self._state is RuntimeState.COMMITTING:
            return RuntimeState.COMMITTING, []  # files are mid-write by us; not a change
        state, changed = classify_change(snap.fingerprint, current_fingerprint(self.project, snap))
        # Not reported when a write of ours began meanwhile (the change may be our own) or
        # while another reader is already reloading.
        why = f"{len(changed)} file(s) changed behind the snapshot: " + ", ".join(changed[:5])
        if state is not RuntimeState.HEALTHY and self._set(
            state, why, epoch=epoch, unless=(RuntimeState.COMMITTING, RuntimeState.RECONCILING)
        ):
            self.last_changes = changed
        return self._state, changed

    def _refresh(self, behind: WorkspaceSnapshot | None) -> WorkspaceSnapshot:
        """Auto-reconcile: reload once, even when several readers noticed the change."""
        with self._reloading:
            snap, state, epoch = self._view()
            if state is RuntimeState.HEALTHY and (snap is None or snap is not behind):
                if snap is not None:
                    return snap  # another reader (or a commit) already brought it up to date
                loaded = self.load()
                self._install(loaded, epoch)
                return loaded
            return self._reload()

    def reconcile(self) -> WorkspaceSnapshot:
        """Reload from disk (explicitly, with a state transition), then healthy again."""
        with self._reloading:
            return self._reload()

    def _reload(self) -> WorkspaceSnapshot:
        _, _, epoch = self._view()
        self._set(
            RuntimeState.RECONCILING,
            "reloading the workspace from disk",
            epoch=epoch,
            unless=(RuntimeState.COMMITTING,),
        )
        try:
            snap = self.load()
        except Exception:
            self._set(RuntimeState.FAILED, "reloading the workspace failed", epoch=epoch)
            raise
        with self._lock:
            if self._install(snap, epoch):
                self._set(RuntimeState.HEALTHY, "snapshot reloaded")
        return snap

    def committing(self) -> None:
        with self._lock:
            self._epoch += 1
            self._set(RuntimeState.COMMITTING, "a write is being committed")

    def committed(self, ok: bool = True) -> None:
        """After a durable commit: swap a new snapshot in (copy-on-write), or mark failure."""
        with self._lock:
            self._epoch += 1
            self._snapshot = None  # the next read loads the committed state (copy-on-write)
            if ok:
                self._set(RuntimeState.HEALTHY, "write committed")
            else:
                self._set(RuntimeState.FAILED, "the write failed; reloading on next read")

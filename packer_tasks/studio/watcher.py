"""Edits made outside the page (an editor saving a PNG, `git checkout`, the CLI) reach it
without a reload.

A watcher thread (watchfiles, like `prometeu-packer watch`) hears changes under assets/,
asks the service for its snapshot (the runtime's freshness check reports stale/diverged and
reloads), maps the paths onto assets with the service's own `affected_assets`, and publishes
`asset_changed` events. The page marks those assets and refreshes them. It never packs and
never writes.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ..events.sink import OperationEmitter
from ..models.event import EventKind
from ..service import PackerService
from ..service.watch import affected_assets, relevant
from .lane import EventLane


class ChangeWatcher:
    """Runs until `stop()`; one per Studio."""

    def __init__(self, service: PackerService, lane: EventLane, debounce_ms: int = 150) -> None:
        self.service = service
        self.lane = lane
        self.debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="studio-watch", daemon=True)
        self.ready = threading.Event()
        self._built: tuple[int, int, int] | None = _stat_facts(
            service.project.build_dir / "assets.pa"
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            self._watch()
        except (OSError, RuntimeError) as exc:  # e.g. out of inotify watches
            self.lane.note(
                "notice",
                {
                    "text": f"edits made outside the page are not followed ({exc}); "
                    "reload the page to see them"
                },
            )
        finally:
            self.ready.set()

    def _watch(self) -> None:
        from watchfiles import watch as watch_files

        for changes in watch_files(
            self.service.project.assets_dir,
            stop_event=self._stop,
            debounce=self.debounce_ms,
            step=50,
            rust_timeout=200,
            yield_on_timeout=True,
            watch_filter=lambda _c, p: relevant(p),
            raise_interrupt=False,
        ):
            self.ready.set()
            if changes:
                self.report([p for _c, p in changes])
            self.check_build()

    def check_build(self) -> None:
        """A pack published from elsewhere (a terminal, doit) replaces build/assets.pa:
        tell the page, so previews and marks follow. Checked by stat on each tick."""
        facts = _stat_facts(self.service.project.build_dir / "assets.pa")
        if facts != self._built:
            self.lane.note("build_changed", {"exists": facts is not None})
        self._built = facts

    def report(self, paths: list[str]) -> None:
        """Freshness first (stale/diverged, then reload), then one event per asset."""
        try:
            snap = self.service.snapshot()
            refs, registry_changed = affected_assets(self.service, paths, snap)
        except Exception:  # the runtime has reported `failed`; the watcher lives on
            return
        em = OperationEmitter(self.service.sink, self.service.project.project_id)
        for ref in refs:
            em.emit(EventKind.ASSET_CHANGED, f"{ref.root} changed on disk", assets=[ref])
        if registry_changed:
            em.emit(EventKind.ASSET_CHANGED, "the registry changed on disk")


def _stat_facts(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)

"""Everything one running Studio holds: the service, its event lane, the pack job, the
workspace view, the packed file and the change watcher. One object per app, no globals."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from ..events.sink import EventSink
from ..service import PackerService
from ..workspace.project import Project
from ..workspace.settings import CacheConfig
from .lane import EventLane
from .previews import PackedFile
from .security import Guard
from .watcher import ChangeWatcher
from .wizard import PackJob
from .workspace import WorkspaceView

ServiceFactory = Callable[[EventSink], PackerService]


@dataclass
class StudioState:
    service: PackerService
    lane: EventLane
    job: PackJob
    view: WorkspaceView
    packed: PackedFile
    watcher: ChangeWatcher
    guard: Guard

    @classmethod
    def open(
        cls,
        project: Project,
        guard: Guard,
        *,
        cache: CacheConfig | None = None,
        make_service: ServiceFactory | None = None,
    ) -> StudioState:
        """The service publishes into the lane (or into what `make_service` wraps it in)."""
        lane = EventLane()
        if make_service is None:
            service = PackerService(project, sink=lane, cache=cache)
        else:
            service = make_service(lane)
        with contextlib.suppress(OSError):  # a read-only checkout still browses
            service.recover()  # as every CLI command does first
        return cls(
            service=service,
            lane=lane,
            job=PackJob(service, lane),
            view=WorkspaceView(service),
            packed=PackedFile(service.project.build_dir / "assets.pa"),
            watcher=ChangeWatcher(service, lane),
            guard=guard,
        )

    def start(self) -> None:
        self.watcher.start()

    def close(self) -> None:
        """Stop the watcher, end the page streams, let a running pack finish its renames."""
        self.watcher.stop()
        self.lane.close()
        self.job.join(timeout=60)

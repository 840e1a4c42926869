"""The state of one `doit` process: the project, its service, one build session and one
operation (event stamps) shared by every task, so each file is hashed once per run."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from cache.digests import DigestMemo

from ..events.sink import EventSink, NullSink, OperationEmitter
from ..models.event import EventKind
from ..models.results import PackResult
from ..pipeline.session import BuildSession
from ..service import PackerService
from ..workspace.project import Project, find_project
from ..workspace.snapshot import WorkspaceSnapshot

_fallback_memo = DigestMemo(None)


@dataclass
class DoitRun:
    service: PackerService
    snapshot: WorkspaceSnapshot
    emitter: OperationEmitter
    session: BuildSession
    started: float = field(default_factory=time.monotonic)
    announced: bool = False
    executed: set[int] = field(default_factory=set)
    failed: set[int] = field(default_factory=set)
    result: PackResult | None = None

    @property
    def project(self) -> Project:
        return self.service.project

    def announce(self) -> None:
        if not self.announced:
            self.announced = True
            self.emitter.emit(EventKind.BUILD_STARTED,
                              f"doit pack of {self.project.project_id} started")


_RUN: DoitRun | None = None


def start_run(project_dir: str | os.PathLike[str] | None = None,
              sink: EventSink | None = None) -> DoitRun:
    """Create (once per process) the run context for the project at or above the folder."""
    global _RUN
    if _RUN is None:
        project = (Project(Path(os.path.abspath(project_dir))) if project_dir is not None
                   else find_project(Path.cwd()))
        service = PackerService(project, sink=sink or _sink_from_env())
        emitter = service.emitter()
        _RUN = DoitRun(service, service.snapshot(), emitter,
                       BuildSession(project, service.cache_config, emitter))
    return _RUN


def current_run() -> DoitRun | None:
    return _RUN


def end_run() -> None:
    global _RUN
    if _RUN is not None:
        _RUN.session.close()
        _RUN = None


def current_memo() -> DigestMemo:
    return _RUN.session.memo if _RUN is not None else _fallback_memo


def label_for(path: str) -> str:
    """Digest-memo label of a dependency: project-relative when inside the project."""
    absolute = os.path.abspath(path)
    if _RUN is not None:
        rel = os.path.relpath(absolute, _RUN.project.root)
        if not rel.startswith(".."):
            return Path(rel).as_posix()
    return absolute


def _sink_from_env() -> EventSink:
    """`PROMETEU_PACKER_EVENTS=jsonl|PATH` streams the doit run's events like `--events`."""
    spec = os.environ.get("PROMETEU_PACKER_EVENTS")
    if not spec:
        return NullSink()
    try:
        from ..events.jsonl import open_jsonl_sink
    except ImportError:  # pragma: no cover - the JSONL sink ships with the package
        return NullSink()
    sink: EventSink = open_jsonl_sink(spec)
    return sink


def heal_dep_file(path: str) -> str | None:
    """A corrupt doit state file must cost one re-hash, not a crash: move it aside."""
    if not os.path.exists(path):
        return None
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            db.execute("SELECT name FROM sqlite_master").fetchall()
            tables = {r[0] for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and "doit" not in tables:
                raise sqlite3.DatabaseError("not a doit state file")
            if "doit" in tables:
                for (data,) in db.execute("SELECT task_data FROM doit"):
                    json.loads(data)
        return None
    except (sqlite3.Error, ValueError, TypeError) as exc:
        aside = f"{path}.corrupt"
        os.replace(path, aside)
        return f"doit state {path} was unreadable ({exc}); moved to {aside}, rebuilding"
